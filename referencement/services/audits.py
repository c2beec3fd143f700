"""Random audits of the published services (arrêté of 20 November 2023), and the deadlines the platform enforces.

Each month ``audits_draw`` draws a share of the published référencements (``REFERENCEMENT_AUDIT_SHARE``, at least one
when any is published) and opens an audit on each: the evidence asked (``REFERENCEMENT_AUDIT_EVIDENCE``) and a
deadline (``REFERENCEMENT_AUDIT_DAYS``). A draw is made once a month: the audits carry the month they were drawn for
(a unique constraint per dossier and month), and a second run the same month only completes the share if it fell
short. The editor answers with a text and files (checked like the documents of the dossier médical); an
administrator concludes (conforme, non conforme — and may suspend at once). An audit left unanswered past its
deadline expires and, unless ``REFERENCEMENT_AUDIT_SUSPEND_ON_EXPIRY`` is off, the service is suspended.

``responses_expire`` closes the dossiers whose editor let the deadline of a request for completion (or of the
commission's adjournment) pass.
"""

from __future__ import annotations

import logging
import random
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dossier.models.documents import DocumentFormat
from dossier.uploads import DocumentRefused, filename_sanitize, store_upload
from mes.acces.journal import register_action
from mes.acces.services import journal_append
from mes.comptes.models import Membership, Role, User
from mes.uploads import discard_unless_committed
from referencement.models import Audit, AuditFile, AuditState, Dossier, State
from referencement.services.publication import PLATFORM_LABEL, dossier_suspend
from referencement.workflow import dossier_transition, email_organisation

logger = logging.getLogger(__name__)

AUDIT_OPENED = "referencement.audit.opened"
AUDIT_ANSWERED = "referencement.audit.answered"
AUDIT_CONCLUDED = "referencement.audit.concluded"
AUDIT_EXPIRED = "referencement.audit.expired"
register_action(AUDIT_OPENED, gettext_lazy("Audit d’un service référencé ouvert"))
register_action(AUDIT_ANSWERED, gettext_lazy("Réponse de l’éditeur à un audit"))
register_action(AUDIT_CONCLUDED, gettext_lazy("Conclusion d’un audit"))
register_action(AUDIT_EXPIRED, gettext_lazy("Audit sans réponse dans le délai"))

RESPONSE_MAX_LENGTH = 4000
CONCLUSION_MAX_LENGTH = 4000
# Evidence is read by people: documents and pictures, as the Convergence evidence (no CDA).
AUDIT_FILE_FORMATS = (DocumentFormat.PDF, DocumentFormat.JPEG, DocumentFormat.PNG)
# Draws of the same month wait for each other (a second scheduler, a manual run): the share is counted once.
_DRAW_LOCK = 0x52454641  # "REFA"


def _day(value: datetime) -> str:
    return formats.date_format(timezone.localtime(value), "j F Y à H:i")


def _email_organisation(audit: Audit, subject: str, lines: list[str]) -> None:
    dossier = audit.dossier
    email_organisation(
        dossier,
        subject=subject,
        heading=_("Service %(name)s — dossier %(reference)s")
        % {"name": dossier.name or dossier.product.name, "reference": dossier.reference},
        lines=["", *lines],
        link_label=_("Suivre l’audit : %(url)s"),
        link=reverse("referencement_audit", args=[dossier.public_id, audit.public_id]),
    )


# --- The monthly draw ----------------------------------------------------------------------------------------------


def audit_month(now: datetime) -> date:
    return timezone.localdate(now).replace(day=1)


def audit_target(published: int, share: float) -> int:
    """How many audits a month for ``published`` services: the share rounded half up, at least one."""
    if published <= 0 or share <= 0:
        return 0
    return min(published, max(1, int(published * share + 0.5)))


@transaction.atomic
def audits_draw(*, now: datetime | None = None, rng: random.Random | None = None) -> list[Audit]:
    """Draw this month's audits among the published référencements; returns the audits opened by this run."""
    now = now or timezone.now()
    month = audit_month(now)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DRAW_LOCK])
    published = Dossier.objects.filter(state=State.PUBLISHED)
    wanted = audit_target(published.count(), settings.REFERENCEMENT_AUDIT_SHARE)
    wanted -= Audit.objects.filter(drawn_for=month).count()
    if wanted <= 0:
        return []
    candidates = list(published.exclude(audits__drawn_for=month).order_by("pk").values_list("pk", flat=True))
    chosen = (rng or random.SystemRandom()).sample(candidates, min(wanted, len(candidates)))
    deadline = now + timedelta(days=settings.REFERENCEMENT_AUDIT_DAYS)
    evidence = settings.REFERENCEMENT_AUDIT_EVIDENCE.strip()
    audits = []
    for dossier in Dossier.objects.filter(pk__in=chosen).select_related("organisation", "product").order_by("pk"):
        audit = Audit.objects.create(dossier=dossier, requested_evidence=evidence, deadline=deadline, drawn_for=month)
        journal_append(
            actor=None,
            actor_label=str(PLATFORM_LABEL),
            action=AUDIT_OPENED,
            obj=dossier,
            details={"reference": dossier.reference, "audit": str(audit.public_id), "mois": month.isoformat()},
        )
        _email_organisation(
            audit,
            _("audit de votre service"),
            [
                _(
                    "Votre service est tiré au sort pour un audit de son référencement. Déposez les pièces suivantes "
                    "sur le portail éditeurs avant le %(deadline)s :"
                )
                % {"deadline": _day(deadline)},
                *[f"- {line.strip()}" for line in evidence.splitlines() if line.strip()],
                "",
                _("Sans réponse dans ce délai, le référencement du service peut être suspendu."),
            ],
        )
        audits.append(audit)
    return audits


# --- The editor's answer -------------------------------------------------------------------------------------------


@transaction.atomic
def audit_answer(*, actor: User, audit: Audit, response: str, uploads: list) -> Audit:
    """The editor's answer: a text and the files asked for (PDF, JPEG or PNG, checked by content, each within the
    dossier documents' size limit). A refused file refuses the whole answer, and no file of it stays stored."""
    dossier = audit.dossier
    if not Membership.objects.filter(user=actor, organisation_id=dossier.organisation_id).exists():
        raise PermissionDenied(_("Vous n’êtes pas membre de l’organisation de ce dossier."))
    locked = Audit.objects.select_for_update().select_related("dossier__organisation").get(pk=audit.pk)
    if locked.state != AuditState.OPEN:
        raise ValidationError(_("Cet audit n’attend plus de réponse."), code="state")
    now = timezone.now()
    if now > locked.deadline:
        raise ValidationError(
            _("Le délai de réponse est dépassé depuis le %(date)s.") % {"date": _day(locked.deadline)}, code="late"
        )
    errors: dict[str, str] = {}
    response = (response or "").strip()
    if not response:
        errors["response"] = _("Présentez votre réponse et les pièces jointes.")
    elif len(response) > RESPONSE_MAX_LENGTH:
        errors["response"] = _("La réponse est limitée à %(limit)s caractères.") % {"limit": RESPONSE_MAX_LENGTH}
    if not uploads:
        errors["files"] = _("Joignez au moins une pièce.")
    elif len(uploads) > settings.REFERENCEMENT_AUDIT_MAX_FILES:
        errors["files"] = _("Joignez au plus %(limit)s pièces.") % {"limit": settings.REFERENCEMENT_AUDIT_MAX_FILES}
    if errors:
        raise ValidationError(errors)
    names = []
    for upload in uploads:
        item = AuditFile(audit=locked, filename=filename_sanitize(getattr(upload, "name", "")), uploaded_by=actor)
        name = AuditFile._meta.get_field("file").generate_filename(item, item.filename)
        try:
            stored = store_upload(upload, name=name, max_bytes=settings.DOSSIER_DOCUMENT_MAX_BYTES)
        except DocumentRefused as refusal:
            message = _("« %(name)s » : %(reason)s") % {"name": item.filename, "reason": refusal.messages[0]}
            raise ValidationError({"files": ValidationError(message, code=refusal.code)}) from refusal
        # The file goes again if this transaction rolls back (a later file refused, a failure).
        discard_unless_committed(stored.name, model=AuditFile, field="file")
        if stored.format not in AUDIT_FILE_FORMATS:
            message = _("« %(name)s » : une pièce doit être un fichier PDF, JPEG ou PNG.") % {"name": item.filename}
            raise ValidationError({"files": ValidationError(message, code="format")})
        item.file.name = stored.name
        item.content_type = stored.content_type
        item.size = stored.size
        item.sha256 = stored.sha256
        item.save(force_insert=True)
        names.append(item.filename)
    locked.response = response
    locked.answered_at = now
    locked.answered_by = actor
    locked.state = AuditState.ANSWERED
    locked.save(update_fields=["response", "answered_at", "answered_by", "state"])
    journal_append(
        actor=actor,
        action=AUDIT_ANSWERED,
        obj=locked.dossier,
        details={"reference": locked.dossier.reference, "audit": str(locked.public_id), "fichiers": names},
    )
    return locked


# --- The administrator's conclusion --------------------------------------------------------------------------------


@transaction.atomic
def audit_conclude(*, actor: User, audit: Audit, result: str, conclusion: str, suspend: bool = False) -> Audit:
    """Conclude an answered (or expired) audit: conforme or non conforme; a non-compliance may suspend the
    référencement at once (same transaction)."""
    if not (actor.is_authenticated and actor.is_active and actor.role == Role.ADMIN):
        raise PermissionDenied(_("Seul un administrateur conclut un audit."))
    locked = Audit.objects.select_for_update().select_related("dossier__organisation").get(pk=audit.pk)
    if locked.state not in (AuditState.ANSWERED, AuditState.EXPIRED):
        raise ValidationError(
            _("Cet audit ne peut pas être conclu : il est « %(state)s ».") % {"state": locked.get_state_display()},
            code="state",
        )
    errors: dict[str, str] = {}
    if result not in (AuditState.PASSED, AuditState.FAILED):
        errors["result"] = _("Indiquez si le service est conforme ou non.")
    conclusion = (conclusion or "").strip()
    if not conclusion:
        errors["conclusion"] = _("Rédigez la conclusion : l’éditeur la recevra.")
    elif len(conclusion) > CONCLUSION_MAX_LENGTH:
        errors["conclusion"] = _("La conclusion est limitée à %(limit)s caractères.") % {"limit": CONCLUSION_MAX_LENGTH}
    if suspend and result != AuditState.FAILED:
        errors["suspend"] = _("Seul un audit non conforme peut suspendre le référencement.")
    if errors:
        raise ValidationError(errors)
    locked.state = result
    locked.conclusion = conclusion
    locked.concluded_at = timezone.now()
    locked.concluded_by = actor
    locked.save(update_fields=["state", "conclusion", "concluded_at", "concluded_by"])
    dossier = locked.dossier
    journal_append(
        actor=actor,
        action=AUDIT_CONCLUDED,
        obj=dossier,
        details={"reference": dossier.reference, "audit": str(locked.public_id), "resultat": result},
    )
    _email_organisation(
        locked,
        _("conclusion de l’audit"),
        [_("Conclusion de l’audit : %(result)s.") % {"result": locked.get_state_display()}, "", conclusion],
    )
    if suspend and dossier.state == State.PUBLISHED:
        dossier_suspend(
            actor=actor,
            dossier=dossier,
            reason=_("Audit non conforme : %(conclusion)s") % {"conclusion": conclusion[:900]},
        )
    return locked


# --- Expired deadlines ---------------------------------------------------------------------------------------------


def _audit_expire(audit: Audit, now: datetime) -> None:
    audit.state = AuditState.EXPIRED
    audit.save(update_fields=["state"])
    dossier = audit.dossier
    journal_append(
        actor=None,
        actor_label=str(PLATFORM_LABEL),
        action=AUDIT_EXPIRED,
        obj=dossier,
        details={"reference": dossier.reference, "audit": str(audit.public_id)},
    )
    suspended = settings.REFERENCEMENT_AUDIT_SUSPEND_ON_EXPIRY and dossier.state == State.PUBLISHED
    lines = [_("Aucune réponse n’a été déposée avant le %(deadline)s.") % {"deadline": _day(audit.deadline)}]
    if suspended:
        lines.append(_("Le référencement de votre service est suspendu."))
    _email_organisation(audit, _("audit sans réponse"), lines)
    if suspended:
        try:
            with transaction.atomic():
                dossier_suspend(
                    actor=None,
                    dossier=dossier,
                    reason=_("Audit ouvert le %(opened)s resté sans réponse dans le délai (%(deadline)s).")
                    % {"opened": _day(audit.opened_at), "deadline": _day(audit.deadline)},
                )
        except ValidationError:
            # The dossier changed meanwhile (withdrawn, superseded): the audit still expires.
            logger.warning("Dossier %s not suspended after its expired audit", dossier.reference, exc_info=True)


def audits_expire(*, now: datetime | None = None) -> int:
    """Expire the open audits past their deadline, each in its own transaction; returns how many."""
    now = now or timezone.now()
    due = list(
        Audit.objects.filter(state=AuditState.OPEN, deadline__lt=now).order_by("deadline", "pk").values_list("pk")
    )
    expired = 0
    for (pk,) in due:
        with transaction.atomic():
            audit = (
                Audit.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("dossier__organisation", "dossier__product")
                .filter(pk=pk, state=AuditState.OPEN, deadline__lt=now)
                .first()
            )
            if audit is None:
                continue
            _audit_expire(audit, now)
            expired += 1
    return expired


def responses_expire(*, now: datetime | None = None) -> int:
    """Close (« classé sans suite ») the dossiers whose deadline to complete or to answer the commission passed,
    each in its own transaction; returns how many."""
    now = now or timezone.now()
    waiting = (State.COMPLETION, State.ADJOURNED)
    due = list(
        Dossier.objects.filter(state__in=waiting, response_deadline__lt=now)
        .order_by("response_deadline", "pk")
        .values_list("pk", flat=True)
    )
    closed = 0
    for pk in due:
        with transaction.atomic():
            dossier = (
                Dossier.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state__in=waiting, response_deadline__lt=now)
                .first()
            )
            if dossier is None:
                continue
            dossier_transition(
                actor=None,
                actor_label=str(PLATFORM_LABEL),
                dossier=dossier,
                transition="close_expired",
                details={"date_limite": dossier.response_deadline.isoformat()},
                now=now,
            )
            closed += 1
    return closed
