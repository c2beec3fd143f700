"""The access policy: which actor may open which part of the portal.

Route-level decisions by role, and the decision about a citizen's data (``citizen_access``: the person, their legal
representative, the care team, temporary codes, blocks, emergency access, hidden documents, the per-profession
matrix of document categories) live here, so that the whole policy stays in one module. Decisions fail closed: an
unknown role, an anonymous user or a missing right is refused.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import wraps

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.acces import scopes as app_scopes
from mes.acces.models import (
    AccessDelegation,
    AppHabilitation,
    CareTeamMember,
    EmergencyAccess,
    Pairing,
    ProfessionalBlock,
    Scope,
)
from mes.comptes.models import Citizen, ProfessionalProfile, Role, User

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


ACCESS_CITIZEN = "citizen"
ACCESS_REPRESENTATIVE = "representative"
ACCESS_TREATING_DOCTOR = "treating_doctor"
ACCESS_CARE_TEAM = "care_team"
ACCESS_DELEGATION = "delegation"
ACCESS_EMERGENCY = "emergency"
ACCESS_APP = "app"
PROFESSIONAL_KINDS = (ACCESS_TREATING_DOCTOR, ACCESS_CARE_TEAM, ACCESS_DELEGATION, ACCESS_EMERGENCY)

ALL_SCOPES: frozenset[str] = frozenset(Scope.values)
NO_SCOPE: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CitizenAccess:
    """What an actor may do in one citizen's space, decided once per request and applied by every selector.

    ``kind`` says who acts: ``citizen`` (their own space), ``representative`` (a parent for a minor child), or a
    professional through the care team (``treating_doctor``, ``care_team``), a temporary code (``delegation``) or
    an emergency access (``emergency``). ``read_scopes`` and ``write_scopes`` are the parts of the space (``Scope``)
    it may read and feed; ``document_categories`` is ``None`` when every category of document is visible, else the
    categories the profession may see (matrice d'habilitation); ``until`` ends a temporary access.
    """

    actor: "User | AppActor"
    citizen: Citizen
    kind: str
    read_scopes: frozenset[str] = ALL_SCOPES
    write_scopes: frozenset[str] = ALL_SCOPES
    sees_hidden_documents: bool = True
    document_categories: frozenset[str] | None = None
    until: datetime | None = None
    # For a paired app: its pairing, and the SMART permissions it holds (``"Observation.c"``, ...).
    pairing: Pairing | None = None
    app_permissions: frozenset[str] = frozenset()

    @property
    def is_citizen_side(self) -> bool:
        """The person or their legal representative: they see and manage everything of the space."""
        return self.kind in (ACCESS_CITIZEN, ACCESS_REPRESENTATIVE)

    @property
    def is_professional(self) -> bool:
        return self.kind in PROFESSIONAL_KINDS

    @property
    def is_app(self) -> bool:
        return self.kind == ACCESS_APP

    def app_may(self, resource: str, interaction: str) -> bool:
        """Whether the paired app holds the SMART permission ``<resource>.<interaction>`` (``c r u d s``)."""
        return self.is_app and f"{resource}.{interaction}" in self.app_permissions

    @property
    def may_write(self) -> bool:
        return bool(self.write_scopes)

    def can_read(self, scope: str) -> bool:
        return scope in self.read_scopes

    def can_write(self, scope: str) -> bool:
        return scope in self.write_scopes


def citizen_side_required(access: CitizenAccess) -> None:
    """Only the person or their legal representative manage who may access the space (care team, codes, blocks)."""
    if not access.is_citizen_side:
        raise PermissionDenied(_("Seule la personne ou son représentant légal gère les accès à son espace."))


def citizen_access(actor, citizen: Citizen | None, *, now: datetime | None = None) -> CitizenAccess | None:
    """The access of ``actor`` to ``citizen``'s space, or ``None``: no space (opposed, closed), or no right.

    Pure decision, no journal row: the views that serve a professional record each grant and each refusal
    (``mes.acces.services.access_trace``).
    """
    if citizen is None or not citizen.has_space or actor is None or not getattr(actor, "is_authenticated", False):
        return None
    if user_has_role(actor, (Role.CITIZEN,)):
        if not may_act_for(actor, citizen):
            return None
        kind = ACCESS_CITIZEN if citizen.user_id == actor.pk else ACCESS_REPRESENTATIVE
        return CitizenAccess(actor=actor, citizen=citizen, kind=kind)
    if user_has_role(actor, (Role.PROFESSIONAL,)):
        return professional_access(actor, citizen, now=now)
    return None


def profession_document_categories(profession: str) -> frozenset[str] | None:
    """The document categories a profession may see, ``None`` for all (setting PROFESSION_DOCUMENT_CATEGORIES)."""
    categories = settings.PROFESSION_DOCUMENT_CATEGORIES.get(profession, [])
    return None if "*" in categories else frozenset(categories)


def professional_access(actor: User, citizen: Citizen, *, now: datetime | None = None) -> CitizenAccess | None:
    """A professional's access: none when blocked; else through the care team, a used code, or an emergency access.

    Care team and emergency open every part; codes open the union of the parts of the professional's active codes.
    Only the *médecin traitant* sees hidden documents. A professional may add documents where they may read them.
    """
    profile = ProfessionalProfile.objects.filter(user=actor).first()
    if profile is None or ProfessionalBlock.objects.filter(citizen=citizen, professional=actor).exists():
        return None
    now = now or timezone.now()
    categories = profession_document_categories(profile.profession)
    member = CareTeamMember.objects.filter(citizen=citizen, professional=actor).first()
    if member is not None:
        kind = ACCESS_TREATING_DOCTOR if member.is_treating_doctor else ACCESS_CARE_TEAM
        return _professional(actor, citizen, kind, ALL_SCOPES, categories, hidden=member.is_treating_doctor)
    delegations = list(
        AccessDelegation.objects.filter(
            citizen=citizen, professional=actor, ended_at__isnull=True, expires_at__gt=now
        ).values_list("scopes", "expires_at")
    )
    if delegations:
        scopes = frozenset(scope for row_scopes, _expires in delegations for scope in row_scopes) & ALL_SCOPES
        until = max(expires for _scopes, expires in delegations)
        return _professional(actor, citizen, ACCESS_DELEGATION, scopes, categories, until=until)
    if profile.emergency_role and not citizen.emergency_access_refused:
        emergency = (
            EmergencyAccess.objects.filter(
                citizen=citizen, professional=actor, ended_at__isnull=True, expires_at__gt=now
            )
            .order_by("-expires_at")
            .first()
        )
        if emergency is not None:
            return _professional(actor, citizen, ACCESS_EMERGENCY, ALL_SCOPES, categories, until=emergency.expires_at)
    return None


def _professional(
    actor: User,
    citizen: Citizen,
    kind: str,
    scopes: frozenset[str],
    categories: frozenset[str] | None,
    *,
    hidden: bool = False,
    until: datetime | None = None,
) -> CitizenAccess:
    return CitizenAccess(
        actor=actor,
        citizen=citizen,
        kind=kind,
        read_scopes=scopes,
        write_scopes=scopes & {Scope.DOCUMENTS},
        sees_hidden_documents=hidden,
        document_categories=categories,
        until=until,
    )


@dataclass(frozen=True)
class AppActor:
    """A paired app acting in a citizen's space: not an account, so it signs the journal with its name."""

    habilitation: AppHabilitation

    is_authenticated = False
    pk = None

    @property
    def display_name(self) -> str:
        return self.habilitation.name

    @property
    def journal_label(self) -> str:
        return _("Service « %(name)s »") % {"name": self.habilitation.name}

    @property
    def journal_details(self) -> dict:
        return {"acces": ACCESS_APP, "application": str(self.habilitation.public_id)}


def app_pairing(*, user, application) -> Pairing | None:
    """The active pairing behind an OAuth2 token (its user and its client), with its habilitation and citizen."""
    if user is None or application is None or not user_has_role(user, (Role.CITIZEN,)):
        return None
    return (
        Pairing.objects.filter(citizen__user=user, habilitation__application=application, revoked_at__isnull=True)
        .select_related("habilitation", "citizen")
        .first()
    )


def app_access(pairing: Pairing | None, token_scopes) -> CitizenAccess | None:
    """A paired app's access: only while the pairing is active, the habilitation not suspended and the space open;
    only the scopes that are in the token, consented (the pairing) and approved at référencement (the
    habilitation) — the three are intersected, so a scope removed from any of them is refused at once."""
    if pairing is None or not pairing.is_active or not pairing.habilitation.is_active:
        return None
    citizen = pairing.citizen
    if not citizen.has_space:
        return None
    granted = (
        app_scopes.permissions(token_scopes)
        & app_scopes.permissions(pairing.scopes)
        & app_scopes.permissions(pairing.habilitation.approved_scopes)
    )
    return CitizenAccess(
        actor=AppActor(pairing.habilitation),
        citizen=citizen,
        kind=ACCESS_APP,
        read_scopes=app_scopes.parts(granted, "rs"),
        write_scopes=app_scopes.parts(granted, "cud"),
        sees_hidden_documents=True,
        document_categories=None,
        pairing=pairing,
        app_permissions=granted,
    )
