"""The commission's work on a dossier: conflicts of interest, private comments, votes and the adopted opinion.

Votes and opinions belong to the dossier's current round of examination (``Dossier.commission_round``; a new round
opens when the dossier comes back after an adjournment). Only commission members vote and adopt the opinion;
administrators read everything and may comment, but never vote. A member who declared a conflict of interest on a
dossier can neither vote on it nor adopt its opinion, and their vote of the open round, if any, is withdrawn.
Each write is journaled; the opinion moves the dossier through the workflow (``adopt_opinion`` or ``adjourn``).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.acces.journal import register_action
from mes.acces.services import journal_append
from mes.comptes.models import User
from referencement.access import is_administrator, is_commission_member
from referencement.models import (
    CommissionComment,
    ConflictOfInterest,
    Dossier,
    Opinion,
    OpinionResult,
    State,
    Vote,
)
from referencement.services.instruction import (
    deadline_end_of_day,
    deadline_errors,
    require_state,
    text_errors,
)
from referencement.workflow import dossier_transition

__all__ = [
    "ADJOURNMENT_MAX_DAYS",
    "comment_add",
    "conflict_declare",
    "opinion_adopt",
    "quorum",
    "vote_cast",
    "votes_tally",
]

CONFLICT_DECLARED = "referencement.commission.conflit_declare"
COMMENT_ADDED = "referencement.commission.commentaire"
VOTE_CAST = "referencement.commission.vote"
register_action(CONFLICT_DECLARED, gettext_lazy("Conflit d’intérêts déclaré sur un dossier de référencement"))
register_action(COMMENT_ADDED, gettext_lazy("Commentaire de la commission sur un dossier de référencement"))
register_action(VOTE_CAST, gettext_lazy("Vote sur un dossier de référencement"))

# The longest time the commission may give an editor to answer its questions.
ADJOURNMENT_MAX_DAYS = 60
COMMENT_MAX_LENGTH = 4000
CONFLICT_MAX_LENGTH = 1000
VOTE_REASON_MAX_LENGTH = 2000


def quorum() -> int:
    return settings.REFERENCEMENT_COMMISSION_QUORUM


def votes_tally(dossier: Dossier) -> dict[str, int]:
    """The count of votes per choice in the dossier's current round, e.g. ``{"favorable": 4, "reserves": 1}``."""
    choices = Vote.objects.filter(dossier=dossier, round=dossier.commission_round).values_list("choice", flat=True)
    counts = Counter(choices)
    return {choice: counts[choice] for choice in OpinionResult.values if counts[choice]}


def _require_member(actor: User, message: str) -> None:
    if not is_commission_member(actor):
        raise PermissionDenied(message)


def _locked(dossier: Dossier) -> Dossier:
    return Dossier.objects.select_for_update().get(pk=dossier.pk)


def _require_reviewable(dossier: Dossier) -> None:
    # A draft is the editor's own business: the commission does not see it (referencement.access).
    if dossier.state == State.DRAFT:
        raise PermissionDenied(_("Ce dossier n’a pas encore été déposé."))


def _has_conflict(dossier: Dossier, actor: User) -> bool:
    return ConflictOfInterest.objects.filter(dossier=dossier, member=actor).exists()


def _require_no_conflict(dossier: Dossier, actor: User) -> None:
    if _has_conflict(dossier, actor):
        raise ValidationError(
            _("Vous avez déclaré un conflit d’intérêts sur ce dossier : vous ne pouvez pas prendre part à l’avis."),
            code="conflict",
        )


def _require_open_round(dossier: Dossier) -> None:
    if dossier.state != State.COMMISSION:
        raise ValidationError(
            _("Le vote n’est ouvert que pendant l’examen du dossier par la commission (le dossier est « %(state)s »).")
            % {"state": dossier.get_state_display()},
            code="state",
        )
    if Opinion.objects.filter(dossier=dossier, round=dossier.commission_round).exists():
        raise ValidationError(_("L’avis de cette séance est déjà adopté."), code="adopted")


@transaction.atomic
def conflict_declare(*, actor: User, dossier: Dossier, reason: str) -> ConflictOfInterest:
    """A member declares a conflict of interest on ``dossier``: from now on they cannot vote on it."""
    _require_member(actor, _("Seuls les membres de la commission déclarent leurs conflits d’intérêts."))
    locked = _locked(dossier)
    _require_reviewable(locked)
    reason = (reason or "").strip()
    if errors := text_errors(
        reason, missing=_("Décrivez la nature de votre lien d’intérêts."), max_length=CONFLICT_MAX_LENGTH
    ):
        raise ValidationError({"reason": errors})
    if _has_conflict(locked, actor):
        raise ValidationError(_("Vous avez déjà déclaré un conflit d’intérêts sur ce dossier."), code="duplicate")
    conflict = ConflictOfInterest.objects.create(dossier=locked, member=actor, reason=reason)
    # A vote cast before the declaration cannot count: it is withdrawn while the round is open.
    withdrawn = 0
    if locked.state == State.COMMISSION:
        withdrawn, _deleted = Vote.objects.filter(dossier=locked, round=locked.commission_round, member=actor).delete()
    journal_append(
        actor=actor,
        action=CONFLICT_DECLARED,
        obj=locked,
        details={"reference": locked.reference, "vote_withdrawn": bool(withdrawn)},
    )
    return conflict


@transaction.atomic
def comment_add(*, actor: User, dossier: Dossier, body: str) -> CommissionComment:
    """A private comment between members and administrators (never shown to the editor)."""
    if not (is_commission_member(actor) or is_administrator(actor)):
        raise PermissionDenied(_("Seuls les membres de la commission et les administrateurs commentent un dossier."))
    _require_reviewable(dossier)
    body = (body or "").strip()
    if errors := text_errors(body, missing=_("Écrivez votre commentaire."), max_length=COMMENT_MAX_LENGTH):
        raise ValidationError({"body": errors})
    comment = CommissionComment.objects.create(dossier=dossier, author=actor, body=body)
    journal_append(actor=actor, action=COMMENT_ADDED, obj=dossier, details={"reference": dossier.reference})
    return comment


@transaction.atomic
def vote_cast(*, actor: User, dossier: Dossier, choice: str, reason: str = "") -> Vote:
    """A member's vote in the current round; cast again, it replaces the previous one until the opinion is adopted.

    Anything but a favourable vote says why.
    """
    _require_member(actor, _("Seuls les membres de la commission votent."))
    locked = _locked(dossier)
    _require_open_round(locked)
    _require_no_conflict(locked, actor)
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {"choice": [], "reason": []}
    if choice not in OpinionResult.values:
        errors["choice"].append(_("Choisissez votre vote."))
    elif choice != OpinionResult.FAVOURABLE:
        errors["reason"] = text_errors(
            reason,
            missing=_("Motivez votre vote : seul un vote favorable peut se passer de motif."),
            max_length=VOTE_REASON_MAX_LENGTH,
        )
    if not errors["reason"]:
        errors["reason"] = text_errors(reason, max_length=VOTE_REASON_MAX_LENGTH)
    if any(errors.values()):
        raise ValidationError({field: messages for field, messages in errors.items() if messages})
    vote, created = Vote.objects.update_or_create(
        dossier=locked,
        round=locked.commission_round,
        member=actor,
        defaults={"choice": choice, "reason": reason},
    )
    journal_append(
        actor=actor,
        action=VOTE_CAST,
        obj=locked,
        details={
            "reference": locked.reference,
            "round": locked.commission_round,
            "choice": choice,
            "changed": not created,
        },
    )
    return vote


@transaction.atomic
def opinion_adopt(
    *,
    actor: User,
    dossier: Dossier,
    result: str,
    reasons: str,
    reservations: str = "",
    questions: str = "",
    deadline: date | None = None,
    now: datetime | None = None,
) -> Opinion:
    """Adopt the commission's opinion of the current round, once at least ``quorum()`` members have voted.

    The result is the commission's choice (usually the majority of the votes, whose tally is stored with it); the
    reasons are required, and so are the reservations of a « favorable avec réserves ». An adjournment asks the
    editor ``questions`` to answer before ``deadline`` (at most ``ADJOURNMENT_MAX_DAYS`` days): the dossier goes
    back to the editor (``adjourn``); any other result moves it on to the decision (``adopt_opinion``).
    """
    _require_member(actor, _("Seuls les membres de la commission adoptent l’avis."))
    locked = _locked(dossier)
    require_state(locked, "adopt_opinion")
    _require_open_round(locked)
    _require_no_conflict(locked, actor)
    now = now or timezone.now()
    tally = votes_tally(locked)
    votes = sum(tally.values())
    if votes < quorum():
        raise ValidationError(
            _(
                "Le quorum n’est pas atteint : %(votes)s vote(s) exprimé(s) sur les %(quorum)s nécessaires pour "
                "adopter l’avis."
            )
            % {"votes": votes, "quorum": quorum()},
            code="quorum",
        )
    reasons = (reasons or "").strip()
    reservations = (reservations or "").strip()
    questions = (questions or "").strip()
    errors: dict[str, list[str]] = {
        "result": [],
        "reasons": text_errors(reasons, missing=_("Indiquez les motifs de l’avis.")),
        "reservations": [],
        "questions": [],
        "deadline": [],
    }
    if result not in OpinionResult.values:
        errors["result"].append(_("Choisissez l’avis de la commission."))
    if result == OpinionResult.RESERVATIONS:
        errors["reservations"] = text_errors(
            reservations, missing=_("Un avis favorable avec réserves énonce ses réserves.")
        )
    elif reservations:
        errors["reservations"].append(
            _("Seul un avis favorable avec réserves comporte des réserves : videz ce champ ou changez d’avis.")
        )
    if result == OpinionResult.ADJOURNED:
        errors["questions"] = text_errors(
            questions, missing=_("Indiquez les informations que la commission demande à l’éditeur.")
        )
        errors["deadline"] = deadline_errors(deadline, max_days=ADJOURNMENT_MAX_DAYS, today=timezone.localdate(now))
    if any(errors.values()):
        raise ValidationError({field: messages for field, messages in errors.items() if messages})
    opinion = Opinion.objects.create(
        dossier=locked,
        round=locked.commission_round,
        result=result,
        reasons=reasons,
        reservations=reservations,
        tally=tally,
        adopted_by=actor,
    )
    details = {"round": locked.commission_round, "result": result, "tally": tally}
    if result == OpinionResult.ADJOURNED:
        details["deadline"] = deadline.isoformat()
        dossier_transition(
            actor=actor,
            dossier=locked,
            transition="adjourn",
            comment=questions,
            details=details,
            changes={"response_deadline": deadline_end_of_day(deadline)},
            now=now,
        )
    else:
        dossier_transition(actor=actor, dossier=locked, transition="adopt_opinion", details=details, now=now)
    dossier.refresh_from_db(fields=["state", "state_changed_at", "response_deadline"])
    return opinion
