"""Reads of the citizen's page « Accès à mon espace »: care team, temporary accesses, blocks, emergency accesses.

Every function takes the citizen of the space being managed and looks only inside it, so an id of another space
finds nothing.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from mes.acces.models import AccessDelegation, CareTeamMember, EmergencyAccess, JournalEntry, ProfessionalBlock
from mes.comptes.models import Citizen, Role, User
from mes.text import fold

RECENT_DELEGATIONS = 10
EMERGENCY_HISTORY_DAYS = 365
SEARCH_RESULTS = 50


def care_team_members(citizen: Citizen) -> list[CareTeamMember]:
    """The care team, the *médecin traitant* first, then by name."""
    return list(
        CareTeamMember.objects.filter(citizen=citizen)
        .select_related("professional__professional")
        .order_by("-is_treating_doctor", "professional__last_name", "professional__first_name", "pk")
    )


def care_team_member(citizen: Citizen, member_id: int) -> CareTeamMember | None:
    return (
        CareTeamMember.objects.filter(citizen=citizen, pk=member_id)
        .select_related("professional__professional")
        .first()
    )


def treating_doctor(citizen: Citizen) -> CareTeamMember | None:
    return (
        CareTeamMember.objects.filter(citizen=citizen, is_treating_doctor=True)
        .select_related("professional__professional")
        .first()
    )


def is_in_care_team(citizen: Citizen, professional: User) -> bool:
    return CareTeamMember.objects.filter(citizen=citizen, professional=professional).exists()


def _delegations(citizen: Citizen) -> QuerySet[AccessDelegation]:
    return AccessDelegation.objects.filter(citizen=citizen).select_related("professional__professional")


def delegations_current(citizen: Citizen, *, now: datetime | None = None) -> list[AccessDelegation]:
    """Delegations neither ended nor expired, the newest first."""
    now = now or timezone.now()
    return list(_delegations(citizen).filter(ended_at__isnull=True, expires_at__gt=now).order_by("-created_at"))


def delegations_past(
    citizen: Citizen, *, now: datetime | None = None, limit: int = RECENT_DELEGATIONS
) -> list[AccessDelegation]:
    """The latest delegations that were ended or have expired."""
    now = now or timezone.now()
    return list(
        _delegations(citizen).filter(Q(ended_at__isnull=False) | Q(expires_at__lte=now)).order_by("-created_at")[:limit]
    )


def delegation_current(citizen: Citizen, public_id, *, now: datetime | None = None) -> AccessDelegation | None:
    now = now or timezone.now()
    return _delegations(citizen).filter(public_id=public_id, ended_at__isnull=True, expires_at__gt=now).first()


def professional_blocks(citizen: Citizen) -> list[ProfessionalBlock]:
    return list(
        ProfessionalBlock.objects.filter(citizen=citizen)
        .select_related("professional__professional")
        .order_by("-created_at", "-pk")
    )


def professional_block(citizen: Citizen, block_id: int) -> ProfessionalBlock | None:
    return (
        ProfessionalBlock.objects.filter(citizen=citizen, pk=block_id)
        .select_related("professional__professional")
        .first()
    )


def emergency_accesses(citizen: Citizen, *, now: datetime | None = None) -> list[EmergencyAccess]:
    """Emergency accesses opened in the last twelve months, the newest first."""
    since = (now or timezone.now()) - timedelta(days=EMERGENCY_HISTORY_DAYS)
    return list(
        EmergencyAccess.objects.filter(citizen=citizen, started_at__gte=since)
        .select_related("professional__professional")
        .order_by("-started_at")
    )


def _known_professional_ids(citizen: Citizen) -> QuerySet:
    """Professionals known to the space: its care team, and the professionals who acted on it (journal)."""
    team = CareTeamMember.objects.filter(citizen=citizen).values("professional_id")
    actors = JournalEntry.objects.filter(citizen=citizen, actor__role=Role.PROFESSIONAL).values("actor_id").distinct()
    return User.objects.filter(
        Q(pk__in=team) | Q(pk__in=actors), role=Role.PROFESSIONAL, professional__isnull=False
    ).values("pk")


@dataclass
class KnownProfessional:
    user: User
    in_care_team: bool

    @property
    def professional(self) -> User:
        return self.user


def professionals_known(citizen: Citizen, query: str = "", *, limit: int = SEARCH_RESULTS) -> list[KnownProfessional]:
    """Professionals known to the space and not blocked, whose name or RPPS number matches ``query``.

    The set is small (a care team and the professionals who opened this one space), so the case- and
    accent-insensitive match runs on it in Python.
    """
    blocked = ProfessionalBlock.objects.filter(citizen=citizen).values("professional_id")
    users = (
        User.objects.filter(pk__in=_known_professional_ids(citizen))
        .exclude(pk__in=blocked)
        .select_related("professional")
        .order_by("last_name", "first_name", "pk")
    )
    team = set(CareTeamMember.objects.filter(citizen=citizen).values_list("professional_id", flat=True))
    words = fold(query).split()
    found = []
    for user in users:
        haystack = fold(f"{user.first_name} {user.last_name} {user.email} {user.professional.rpps}")
        if all(word in haystack for word in words):
            found.append(KnownProfessional(user=user, in_care_team=user.pk in team))
            if len(found) >= limit:
                break
    return found


def professional_known(citizen: Citizen, professional_id: int) -> User | None:
    """The professional with this id if they are known to the space, else ``None``."""
    return (
        User.objects.filter(pk=professional_id)
        .filter(pk__in=_known_professional_ids(citizen))
        .select_related("professional")
        .first()
    )


def is_blocked(citizen: Citizen, professional: User) -> bool:
    return ProfessionalBlock.objects.filter(citizen=citizen, professional=professional).exists()
