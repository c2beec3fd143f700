"""Reads about the profile a citizen account is acting for: their own space, or a minor child's."""

from django.db.models import Q
from django.http import HttpRequest

from mes.acces.models import JournalEntry
from mes.acces.policy import majority_cutoff, may_act_for
from mes.comptes.models import Citizen, Role, User
from mes.comptes.services.majority import MAJORITY_REACHED

# The session key holding the public id of the citizen the account acts for (absent: the account's own space).
ACTIVE_PROFILE_SESSION_KEY = "mes_active_citizen"


def active_citizen(request: HttpRequest) -> Citizen | None:
    """The citizen the signed-in account acts for: the child chosen in the header, else the account's own.

    The choice is checked again on every request, so a representation that ended (majority, court decision)
    takes effect at once: the session falls back to the account's own space.
    """
    own = Citizen.objects.filter(user=request.user).first() if request.user.is_authenticated else None
    chosen = request.session.get(ACTIVE_PROFILE_SESSION_KEY)
    if not chosen:
        return own
    citizen = Citizen.objects.filter(public_id=chosen).first()
    if citizen is not None and may_act_for(request.user, citizen):
        return citizen
    request.session.pop(ACTIVE_PROFILE_SESSION_KEY, None)
    return own


def switchable_profiles(user: User) -> list[Citizen]:
    """The account's own space first, then the minor children it represents, in one query."""
    if not user.is_authenticated:
        return []
    citizens = (
        Citizen.objects.filter(Q(user=user) | Q(legal_representatives=user, birth_date__gt=majority_cutoff()))
        .distinct()
        .order_by("birth_date", "pk")
    )
    return sorted(citizens, key=lambda citizen: citizen.user_id != user.pk)


def profile_switcher(request: HttpRequest) -> dict:
    """What the header's profile switcher shows, in one query: the profiles and the one being acted for.

    Empty for anyone who has no child's space to switch to.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.role != Role.CITIZEN:
        return {}
    profiles = switchable_profiles(user)
    if not any(profile.user_id != user.pk for profile in profiles):
        return {}
    chosen = request.session.get(ACTIVE_PROFILE_SESSION_KEY)
    own = next((profile for profile in profiles if profile.user_id == user.pk), None)
    active = next((profile for profile in profiles if str(profile.public_id) == chosen), own)
    return {"profiles": profiles, "active": active, "own": own}


def spaces_come_of_age(user: User) -> list[Citizen]:
    """The children whose space became their own at majority while ``user`` was their legal representative."""
    if not user.is_authenticated:
        return []
    handed_over = JournalEntry.objects.filter(
        action=MAJORITY_REACHED, details__contains={"former_representatives": [user.pk]}
    ).values("citizen_id")
    return list(Citizen.objects.filter(pk__in=handed_over).order_by("birth_date", "pk"))
