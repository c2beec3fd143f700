"""Temporary access codes: the citizen gives one professional access to parts of the space, for a while.

A code is new for every delegation (``mes.comptes.codes``: 10 characters of Crockford's base 32, 50 bits, typed
with or without the dash, only a keyed hash stored). The first professional who enters it gets the access, for the
scopes and until the end the citizen chose; the code cannot be used again. Five wrong codes in a row lock code
entry for that professional (settings ``ACCESS_CODE_MAX_FAILURES`` and ``ACCESS_CODE_LOCK_MINUTES``); the views
also rate-limit entries per account and per IP address.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.acces.journal import register_action
from mes.acces.models import AccessDelegation, CodeEntryGuard, ProfessionalBlock, Scope
from mes.acces.policy import CitizenAccess, citizen_side_required
from mes.acces.services import journal_append
from mes.comptes.codes import code_generate, code_hash, code_normalize
from mes.comptes.models import User
from mes.comptes.services.notifications import notify_space

DELEGATION_CREATED = "acces.code.cree"
DELEGATION_USED = "acces.code.utilise"
DELEGATION_ENDED = "acces.code.arrete"
CODE_REFUSED = "acces.code.refuse"
register_action(DELEGATION_CREATED, gettext_lazy("Création d’un code d’accès temporaire"))
register_action(DELEGATION_USED, gettext_lazy("Utilisation d’un code d’accès temporaire"))
register_action(DELEGATION_ENDED, gettext_lazy("Fin d’un accès temporaire"))
register_action(CODE_REFUSED, gettext_lazy("Code d’accès temporaire refusé"))


def scopes_label(scopes) -> str:
    """« documents, mesures de santé » in the order of ``Scope``, or « tout l’espace »."""
    chosen = [scope for scope in Scope if scope.value in set(scopes)]
    if len(chosen) == len(Scope):
        return _("tout l’espace")
    return ", ".join(str(scope.label).lower() for scope in chosen)


@transaction.atomic
def delegation_create(
    *, access: CitizenAccess, scopes: list[str], duration: timedelta, now: datetime | None = None
) -> tuple[AccessDelegation, str]:
    """Create a delegation and return it with its code (shown once, never stored in clear)."""
    citizen_side_required(access)
    chosen = sorted(set(scopes), key=list(Scope.values).index) if set(scopes) <= set(Scope.values) else None
    if not chosen:
        raise ValidationError({"scopes": _("Choisissez au moins une partie de votre espace à partager.")})
    shortest = timedelta(hours=settings.ACCESS_DELEGATION_MIN_HOURS)
    longest = timedelta(days=settings.ACCESS_DELEGATION_MAX_DAYS)
    if not shortest <= duration <= longest:
        raise ValidationError(
            {
                "duration": _("La durée doit être comprise entre %(min)s heure(s) et %(max)s jours.")
                % {"min": settings.ACCESS_DELEGATION_MIN_HOURS, "max": settings.ACCESS_DELEGATION_MAX_DAYS}
            }
        )
    now = now or timezone.now()
    for _attempt in range(5):  # a collision of 50-bit codes is astronomically rare; try again if it happens
        code = code_generate()
        try:
            with transaction.atomic():
                delegation = AccessDelegation.objects.create(
                    citizen=access.citizen,
                    created_by=access.actor,
                    scopes=chosen,
                    expires_at=now + duration,
                    code_hash=code_hash(code),
                )
            break
        except IntegrityError:
            continue
    else:  # pragma: no cover - five collisions in a row
        raise RuntimeError("No free access code")
    journal_append(
        actor=access.actor,
        action=DELEGATION_CREATED,
        citizen=access.citizen,
        obj=delegation,
        details={"perimetre": chosen, "fin": delegation.expires_at.isoformat()},
    )
    return delegation, code


class CodeRefused(Exception):
    """The code was not accepted; ``message`` says why, in French."""

    def __init__(self, message: str, *, locked_until: datetime | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.locked_until = locked_until


@dataclass(frozen=True)
class _Outcome:
    delegation: AccessDelegation | None
    error: CodeRefused | None


def _guard(professional: User) -> CodeEntryGuard:
    CodeEntryGuard.objects.get_or_create(professional=professional)
    return CodeEntryGuard.objects.select_for_update().get(professional=professional)


def _locked_message(until: datetime) -> str:
    local = timezone.localtime(until)
    return _(
        "Trop de codes erronés : la saisie de code est bloquée jusqu’à %(time)s. Demandez à la personne de vérifier "
        "son code."
    ) % {"time": formats.time_format(local, "H:i")}


@transaction.atomic
def _redeem(*, professional: User, code: str, now: datetime) -> _Outcome:
    guard = _guard(professional)
    if guard.locked_until and guard.locked_until > now:
        return _Outcome(None, CodeRefused(_locked_message(guard.locked_until), locked_until=guard.locked_until))
    normalized = code_normalize(code)
    delegation = None
    if normalized:
        delegation = (
            AccessDelegation.objects.select_for_update()
            .select_related("citizen")
            .filter(code_hash=code_hash(normalized))
            .first()
        )
    usable = (
        delegation is not None
        and delegation.used_at is None
        and delegation.ended_at is None
        and delegation.expires_at > now
        and delegation.citizen.has_space
        and not ProfessionalBlock.objects.filter(citizen=delegation.citizen, professional=professional).exists()
    )
    if not usable:
        guard.consecutive_failures += 1
        locked_until = None
        if guard.consecutive_failures >= settings.ACCESS_CODE_MAX_FAILURES:
            locked_until = now + timedelta(minutes=settings.ACCESS_CODE_LOCK_MINUTES)
            guard.locked_until, guard.consecutive_failures = locked_until, 0
        guard.save(update_fields=["consecutive_failures", "locked_until"])
        journal_append(
            actor=professional,
            action=CODE_REFUSED,
            details={"verrouillage": locked_until.isoformat() if locked_until else None},
        )
        message = (
            _locked_message(locked_until)
            if locked_until
            else _("Ce code n’est pas valide : il est erroné, a déjà servi, a expiré ou a été arrêté par la personne.")
        )
        return _Outcome(None, CodeRefused(message, locked_until=locked_until))
    guard.consecutive_failures, guard.locked_until = 0, None
    guard.save(update_fields=["consecutive_failures", "locked_until"])
    delegation.professional, delegation.used_at = professional, now
    delegation.save(update_fields=["professional", "used_at"])
    citizen = delegation.citizen
    journal_append(
        actor=professional,
        action=DELEGATION_USED,
        citizen=citizen,
        obj=delegation,
        details={"perimetre": delegation.scopes, "fin": delegation.expires_at.isoformat()},
    )
    until = formats.date_format(timezone.localtime(delegation.expires_at), "j F Y à H:i")
    notify_space(
        citizen=citizen,
        title=_("Un professionnel a utilisé votre code d’accès"),
        body=_("%(who)s a utilisé votre code d’accès temporaire. Accès : %(scopes)s, jusqu’au %(until)s.")
        % {"who": professional_label(professional), "scopes": scopes_label(delegation.scopes), "until": until},
        link=reverse("access_settings"),
    )
    return _Outcome(delegation, None)


def delegation_redeem(*, professional: User, code: str, now: datetime | None = None) -> AccessDelegation:
    """Give ``professional`` the access of the delegation whose code this is, or raise ``CodeRefused``.

    A refusal is committed (the count of wrong codes, the lock, the journal row) before it is raised.
    """
    outcome = _redeem(professional=professional, code=code, now=now or timezone.now())
    if outcome.error is not None:
        raise outcome.error
    return outcome.delegation


@transaction.atomic
def delegation_end(*, access: CitizenAccess, delegation: AccessDelegation, now: datetime | None = None) -> None:
    """End a delegation at once: the professional's next request is refused."""
    citizen_side_required(access)
    if delegation.citizen_id != access.citizen.pk:
        raise PermissionDenied(_("Cet accès ne concerne pas cet espace."))
    updated = AccessDelegation.objects.filter(pk=delegation.pk, ended_at__isnull=True).update(
        ended_at=now or timezone.now(), ended_by=access.actor
    )
    if updated:
        journal_append(actor=access.actor, action=DELEGATION_ENDED, citizen=access.citizen, obj=delegation)


def professional_label(user: User) -> str:
    """« Dr Sophie Lefebvre (Médecin) »: how a professional is named to citizens."""
    profile = getattr(user, "professional", None)
    name = user.get_full_name() or user.email
    if profile is None:
        return name
    prefix = _("Dr ") if profile.profession == "medecin" else ""
    return f"{prefix}{name} ({profile.get_profession_display()})"
