"""The lifecycle of a citizen's space, as a state machine with timestamps (décret 2021-1048).

``imported`` → ``notified`` → ``activated`` (the person signs up) | ``opposed`` (the person objects; they may
still activate later) | ``created_automatically`` (the deadline passed) → ``closed`` (by the person, or on
death). Every transition writes one journal row; entering a state where the space exists assigns the MSS address.
Set-based jobs use ``JOURNAL_ACTIONS`` and ``ALLOWED`` so that they follow the same rules as this module.
"""

from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mes.acces.journal import register_action
from mes.acces.services import journal_append
from mes.comptes.models import Citizen, CitizenStatus, ClosureReason, User, mss_address_for

S = CitizenStatus

ALLOWED: dict[str, frozenset[str]] = {
    S.IMPORTED: frozenset({S.NOTIFIED, S.CLOSED}),
    S.NOTIFIED: frozenset({S.ACTIVATED, S.OPPOSED, S.CREATED_AUTOMATICALLY, S.CLOSED}),
    S.OPPOSED: frozenset({S.ACTIVATED, S.CLOSED}),
    S.CREATED_AUTOMATICALLY: frozenset({S.ACTIVATED, S.CLOSED}),
    S.ACTIVATED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}

# The timestamp field set when entering each state.
TIMESTAMP_FIELDS: dict[str, str] = {
    S.NOTIFIED: "notified_at",
    S.ACTIVATED: "activated_at",
    S.OPPOSED: "opposed_at",
    S.CREATED_AUTOMATICALLY: "auto_created_at",
    S.CLOSED: "closed_at",
}

JOURNAL_ACTIONS: dict[str, str] = {
    S.NOTIFIED: "compte.espace.notifie",
    S.ACTIVATED: "compte.espace.active",
    S.OPPOSED: "compte.espace.oppose",
    S.CREATED_AUTOMATICALLY: "compte.espace.cree_automatiquement",
    S.CLOSED: "compte.espace.ferme",
}
register_action(JOURNAL_ACTIONS[S.NOTIFIED], _("Information sur la création de votre espace envoyée"))
register_action(JOURNAL_ACTIONS[S.ACTIVATED], _("Activation de votre espace"))
register_action(JOURNAL_ACTIONS[S.OPPOSED], _("Opposition à la création de votre espace"))
register_action(JOURNAL_ACTIONS[S.CREATED_AUTOMATICALLY], _("Création automatique de votre espace"))
register_action(JOURNAL_ACTIONS[S.CLOSED], _("Fermeture de votre espace"))


class TransitionRefused(ValidationError):
    pass


def optout_deadline(sent_at: datetime) -> datetime:
    """Sending date + the objection delay, on calendar months (default 1 month and 10 days)."""
    return sent_at + relativedelta(months=settings.OPTOUT_DELAY_MONTHS, days=settings.OPTOUT_DELAY_DAYS)


def transition_allowed(current: str, target: str) -> bool:
    return target in ALLOWED.get(current, frozenset())


@transaction.atomic
def citizen_transition(
    *,
    citizen: Citizen,
    to: str,
    actor: User | None,
    at: datetime | None = None,
    closure_reason: str = "",
    details: dict | None = None,
) -> Citizen:
    """Move one space to state ``to``, or refuse with a French message; journal the transition."""
    at = at or timezone.now()
    locked = Citizen.objects.select_for_update().get(pk=citizen.pk)
    if not transition_allowed(locked.status, to):
        raise TransitionRefused(
            _("Impossible de passer l’espace de l’état « %(current)s » à l’état « %(target)s ».")
            % {"current": CitizenStatus(locked.status).label, "target": CitizenStatus(to).label},
            code="transition",
        )
    previous = locked.status
    locked.status = to
    fields = ["status", TIMESTAMP_FIELDS[to]]
    setattr(locked, TIMESTAMP_FIELDS[to], at)
    if to == S.NOTIFIED:
        locked.deadline = optout_deadline(at)
        fields.append("deadline")
    if to in (S.ACTIVATED, S.CREATED_AUTOMATICALLY) and not locked.mss_address:
        locked.mss_address = mss_address_for(locked.ins)
        fields.append("mss_address")
    if to == S.CLOSED:
        if closure_reason not in ClosureReason.values:
            raise TransitionRefused(_("Le motif de fermeture est obligatoire."), code="closure_reason")
        locked.closure_reason = closure_reason
        if closure_reason == ClosureReason.PERSON:
            locked.content_deletion_due_at = at + timedelta(days=settings.SPACE_CLOSURE_GRACE_DAYS)
        else:
            locked.content_deletion_due_at = at + relativedelta(years=settings.CLOSED_SPACE_ARCHIVE_YEARS)
        fields += ["closure_reason", "content_deletion_due_at"]
    locked.save(update_fields=fields)
    journal_append(
        actor=actor,
        action=JOURNAL_ACTIONS[to],
        citizen=locked,
        obj=locked,
        details={"from": previous, "to": to, **(details or {})},
    )
    return locked
