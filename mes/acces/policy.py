"""The access policy: which actor may open which part of the portal.

Route-level decisions by role live here; later decisions about a citizen's data (care team, blocks,
hidden documents, app scopes) join them so that the whole policy stays in one module. Decisions fail
closed: an unknown role or an anonymous user is refused.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import wraps

from dateutil.relativedelta import relativedelta
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from mes.comptes.models import Citizen, Role, User

# Where each role lands after signing in.
HOME_URL_NAMES: dict[str, str] = {
    Role.CITIZEN: "citizen_home",
    Role.PROFESSIONAL: "pro_home",
    Role.EDITOR: "editor_home",
    Role.COMMISSION: "commission_home",
    Role.ADMIN: "admin:index",
}


def home_url_for(user) -> str:
    name = HOME_URL_NAMES.get(getattr(user, "role", None), "citizen_home")
    return reverse(name)


def user_has_role(user, roles: tuple[str, ...]) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in roles)


def forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "403.html", {"home_url": home_url_for(request.user)}, status=403)


def role_required(*roles: str) -> Callable:
    """Open a view to the given roles only: anonymous users sign in first, other roles get a 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user_has_role(request.user, roles):
                return forbidden(request)
            return view(request, *args, **kwargs)

        wrapper.allowed_roles = roles  # read by the permission-matrix test
        return wrapper

    return decorator


MAJORITY_AGE = 18


def majority_cutoff(today: date | None = None) -> date:
    """People born on or before this date are adults today (born 29 February: adults on 1 March)."""
    return (today or timezone.localdate()) - relativedelta(years=MAJORITY_AGE)


def may_act_for(user, citizen) -> bool:
    """May ``user`` open ``citizen``'s space: their own, or a minor child whose legal representative they are.

    Fails closed: anyone but an active citizen account is refused, and so is a representative once the child
    has come of age, even before the daily majority job has removed the link.
    """
    if citizen is None or not user_has_role(user, (Role.CITIZEN,)):
        return False
    if citizen.user_id is not None and citizen.user_id == user.pk:
        return True
    if citizen.birth_date <= majority_cutoff():
        return False
    return citizen.legal_representatives.filter(pk=user.pk).exists()


@dataclass(frozen=True)
class CitizenAccess:
    """What an actor may do in one citizen's space, decided once per request and applied by every selector.

    ``kind`` says who acts: ``citizen`` (their own space) or ``representative`` (a parent for a minor child).
    Professionals and apps get their own kinds with the care team and the appariements; until then they get no
    access at all (fail closed).
    """

    actor: User
    citizen: Citizen
    kind: str
    may_write: bool
    sees_hidden_documents: bool

    @property
    def is_citizen_side(self) -> bool:
        """The person or their legal representative: they see and manage everything of the space."""
        return self.kind in (ACCESS_CITIZEN, ACCESS_REPRESENTATIVE)


ACCESS_CITIZEN = "citizen"
ACCESS_REPRESENTATIVE = "representative"


def citizen_access(actor, citizen: Citizen | None) -> CitizenAccess | None:
    """The access of ``actor`` to ``citizen``'s space, or ``None``: no space (opposed, closed), or no right."""
    if citizen is None or not citizen.has_space or actor is None or not may_act_for(actor, citizen):
        return None
    kind = ACCESS_CITIZEN if citizen.user_id == actor.pk else ACCESS_REPRESENTATIVE
    return CitizenAccess(actor=actor, citizen=citizen, kind=kind, may_write=True, sees_hidden_documents=True)
