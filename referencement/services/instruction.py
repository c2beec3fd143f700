"""The administrators' steps of the instruction, acting for the ministry: admissibility, requests for completion,
referral to the commission, and the decision taken after the commission's opinion.

Each service checks the business rules of its step, then moves the dossier through
``referencement.workflow.dossier_transition`` (which locks it, records the timeline's step and the journal row, and
e-mails the editor after the commit). Refusals are ``ValidationError`` in French, keyed by field where a form field
is at fault; an actor who is not an administrator gets ``PermissionDenied``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalogue.models import DataExchange
from mes.comptes.models import User
from referencement.access import is_administrator
from referencement.models import Decision, DecisionResult, Dossier, Opinion, State
from referencement.selectors_sandbox import sandbox_checklist
from referencement.services.convention import convention_generate
from referencement.workflow import TRANSITIONS, TransitionRefused, dossier_transition

__all__ = [
    "COMPLETION_MAX_DAYS",
    "deadline_end_of_day",
    "decision_take",
    "dossier_admissible",
    "dossier_completion_request",
    "dossier_refer_to_commission",
]

# The longest time an editor may be given to complete a dossier.
COMPLETION_MAX_DAYS = 90
TEXT_MAX_LENGTH = 4000


def _require_administrator(actor: User) -> None:
    if not is_administrator(actor):
        raise PermissionDenied(_("Seul un administrateur peut instruire un dossier de référencement."))


def _locked(dossier: Dossier) -> Dossier:
    return Dossier.objects.select_for_update().get(pk=dossier.pk)


def require_state(dossier: Dossier, transition: str) -> None:
    """Refuse early, with the workflow's own words, a step the dossier's current state does not allow."""
    if dossier.state not in TRANSITIONS[transition].sources:
        raise TransitionRefused(
            _("Cette étape n’est pas possible : le dossier est « %(state)s ».")
            % {"state": dossier.get_state_display()},
            code="state",
        )


def deadline_end_of_day(deadline: date) -> datetime:
    """A deadline given as a day lasts until the end of that day, in France."""
    return timezone.make_aware(datetime.combine(deadline, time(23, 59, 59)))


def deadline_errors(deadline: date | None, *, max_days: int, today: date) -> list[str]:
    """What is wrong with a response deadline: missing, not in the future, or further than ``max_days``."""
    if deadline is None:
        return [_("Indiquez la date limite de réponse.")]
    if deadline <= today:
        return [_("La date limite doit être postérieure à aujourd’hui.")]
    if deadline > today + timedelta(days=max_days):
        latest = today + timedelta(days=max_days)
        return [
            _("La date limite ne peut pas dépasser %(days)s jours, soit le %(date)s au plus tard.")
            % {"days": max_days, "date": latest.strftime("%d/%m/%Y")}
        ]
    return []


def text_errors(value: str, *, missing: str = "", max_length: int = TEXT_MAX_LENGTH) -> list[str]:
    """What is wrong with a text: empty when it is required (``missing`` is then the message), or too long."""
    if not value:
        return [missing] if missing else []
    if len(value) > max_length:
        return [
            _("Ce texte compte %(length)s caractères : %(max)s au plus.") % {"length": len(value), "max": max_length}
        ]
    return []


@transaction.atomic
def dossier_admissible(*, actor: User, dossier: Dossier, comment: str = "") -> Dossier:
    """SUBMITTED → INSTRUCTION: the dossier is complete, its instruction starts."""
    _require_administrator(actor)
    comment = (comment or "").strip()
    if errors := text_errors(comment):
        raise ValidationError({"comment": errors})
    return dossier_transition(actor=actor, dossier=dossier, transition="declare_admissible", comment=comment)


@transaction.atomic
def dossier_completion_request(
    *, actor: User, dossier: Dossier, requests: str, deadline: date | None, now: datetime | None = None
) -> Dossier:
    """SUBMITTED or INSTRUCTION → COMPLETION: ask the editor for what is missing, before ``deadline`` (a day, in
    the future, at most ``COMPLETION_MAX_DAYS`` away). The requests are the step's comment, so the editor reads
    them in the e-mail and on the timeline."""
    _require_administrator(actor)
    locked = _locked(dossier)
    require_state(locked, "request_completion")
    now = now or timezone.now()
    requests = (requests or "").strip()
    errors = {
        "requests": text_errors(requests, missing=_("Indiquez les compléments demandés à l’éditeur.")),
        "deadline": deadline_errors(deadline, max_days=COMPLETION_MAX_DAYS, today=timezone.localdate(now)),
    }
    if any(errors.values()):
        raise ValidationError({field: messages for field, messages in errors.items() if messages})
    response_deadline = deadline_end_of_day(deadline)
    return dossier_transition(
        actor=actor,
        dossier=locked,
        transition="request_completion",
        comment=requests,
        details={"deadline": deadline.isoformat()},
        changes={"response_deadline": response_deadline},
        now=now,
    )


@transaction.atomic
def dossier_refer_to_commission(*, actor: User, dossier: Dossier, comment: str = "") -> Dossier:
    """INSTRUCTION (simple procedure) or TECHNICAL_TESTS (every test passed) → COMMISSION, in a new round."""
    _require_administrator(actor)
    locked = _locked(dossier)
    require_state(locked, "refer_to_commission")
    comment = (comment or "").strip()
    if errors := text_errors(comment):
        raise ValidationError({"comment": errors})
    if locked.state == State.INSTRUCTION and locked.with_data_exchange:
        raise ValidationError(
            _(
                "Une demande avec échange de données passe d’abord par les tests d’accrochage : ouvrez-les, "
                "puis transmettez le dossier à la commission quand ils sont tous réussis."
            ),
            code="tests_required",
        )
    if locked.state == State.TECHNICAL_TESTS:
        checklist = sandbox_checklist(locked)
        if not checklist.complete:
            missing = ", ".join(f"« {item.label} »" for item in checklist.items if not item.done)
            raise ValidationError(
                _("Les tests d’accrochage ne sont pas tous réussis. Restent à réussir : %(missing)s.")
                % {"missing": missing},
                code="tests_incomplete",
            )
    round_number = locked.commission_round + 1
    return dossier_transition(
        actor=actor,
        dossier=locked,
        transition="refer_to_commission",
        comment=comment,
        details={"round": round_number},
        changes={"commission_round": round_number},
    )


@transaction.atomic
def decision_take(
    *, actor: User, dossier: Dossier, result: str, granted_exchanges: Iterable[str], reasons: str
) -> Decision:
    """OPINION → CONVENTION (granted) or REFUSED: the decision taken for the minister, after the commission's opinion.

    A grant may give fewer data exchanges than requested, never others, and none for the simple procedure; it
    generates the convention in the same transaction. The minister is not bound by the opinion: an unfavourable
    opinion may be followed by a grant, and the reasons (always required) say why.
    """
    _require_administrator(actor)
    locked = _locked(dossier)
    require_state(locked, "grant")
    reasons = (reasons or "").strip()
    granted = list(dict.fromkeys(granted_exchanges or []))
    errors: dict[str, list[str]] = {
        "reasons": text_errors(reasons, missing=_("Indiquez les motifs de la décision.")),
        "granted_exchanges": [],
        "result": [],
    }
    if result not in DecisionResult.values:
        errors["result"].append(_("Choisissez d’accorder ou de refuser le référencement."))
    unknown = [code for code in granted if code not in DataExchange.values]
    requested = set(locked.requested_exchanges.values_list("exchange", flat=True))
    if unknown:
        errors["granted_exchanges"].append(_("Donnée inconnue : %(codes)s.") % {"codes": ", ".join(unknown)})
    elif result == DecisionResult.REFUSED and granted:
        errors["granted_exchanges"].append(_("Un refus n’accorde aucune donnée : décochez les données."))
    elif result == DecisionResult.GRANTED and not locked.with_data_exchange and granted:
        errors["granted_exchanges"].append(
            _("La procédure simple ne donne accès à aucune donnée : décochez les données.")
        )
    elif result == DecisionResult.GRANTED and locked.with_data_exchange:
        not_requested = [code for code in granted if code not in requested]
        if not_requested:
            labels = ", ".join(f"« {DataExchange(code).label} »" for code in not_requested)
            errors["granted_exchanges"].append(
                _("La décision ne peut accorder que des données demandées par l’éditeur ; non demandées : %(labels)s.")
                % {"labels": labels}
            )
        elif not granted:
            errors["granted_exchanges"].append(
                _(
                    "Accordez au moins l’une des données demandées, ou refusez le référencement : une demande avec "
                    "échange de données n’est pas référencée sans aucun échange."
                )
            )
    if any(errors.values()):
        raise ValidationError({field: messages for field, messages in errors.items() if messages})
    # Stored in the order of the list of exchanges, whatever the order of the form.
    granted = [code for code in DataExchange.values if code in granted]
    opinion = Opinion.objects.filter(dossier=locked, round=locked.commission_round).first()
    details = {
        "result": result,
        "granted": granted,
        "opinion": opinion.result if opinion else "",
    }
    if result == DecisionResult.GRANTED:
        locked = dossier_transition(
            actor=actor,
            dossier=locked,
            transition="grant",
            comment=reasons,
            details=details,
            changes={"granted_exchanges": granted},
        )
    else:
        locked = dossier_transition(actor=actor, dossier=locked, transition="refuse", comment=reasons, details=details)
    decision = Decision.objects.create(
        dossier=locked, result=result, granted_exchanges=granted, reasons=reasons, decided_by=actor
    )
    if result == DecisionResult.GRANTED:
        convention_generate(dossier=locked)
    dossier.state = locked.state
    dossier.granted_exchanges = locked.granted_exchanges
    return decision
