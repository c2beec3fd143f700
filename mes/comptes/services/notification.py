"""Notification of a campaign wave: codes, journal rows, e-mails and PDF letters (the import is campaigns.py)."""

from __future__ import annotations

import io
import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage, get_connection
from django.db import DatabaseError, connection, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from kombu.exceptions import OperationalError

from mes.acces.journal import register_action
from mes.acces.services import journal_append
from mes.comptes.codes import code_display, code_generate, code_hash
from mes.comptes.models import CitizenStatus, LetterBatch, User, Wave
from mes.comptes.services.campaigns import WAVE_NOTIFIED, CampaignError, progress_set
from mes.comptes.services.lifecycle import JOURNAL_ACTIONS, optout_deadline

logger = logging.getLogger(__name__)

# A batch of e-mails the mail server refused is sent again, with new codes (the codes of the lost e-mails exist
# nowhere else), up to this many times, waiting EMAIL_RETRY_BASE_DELAY × 2^(attempt-1) seconds before each try.
# After the last one the people go back to « à notifier »: nobody's space is created without a notice received.
EMAIL_RETRY_ATTEMPTS = 5
EMAIL_RETRY_BASE_DELAY = 120
NOTICE_RENEWED = "compte.espace.notification_renvoyee"
NOTICE_UNDELIVERED = "compte.espace.notification_non_remise"
register_action(NOTICE_RENEWED, gettext_lazy("Nouvel envoi de l’information sur la création de votre espace"))
register_action(NOTICE_UNDELIVERED, gettext_lazy("Information sur la création de votre espace non remise"))


# --- Notification ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """What one e-mail or letter says: never anything about health."""

    public_id: uuid.UUID
    first_names: str
    birth_name: str
    email: str
    code: str
    deadline: datetime
    # The postal address, printed in the window of a letter (empty for people notified by e-mail).
    address_line: str = ""
    address_complement: str = ""
    postal_code: str = ""
    city: str = ""


@transaction.atomic
def wave_notify_start(*, wave: Wave, actor: User) -> Wave:
    """The administrator's decision: from now on the wave is being notified (the task does the work)."""
    locked = Wave.objects.select_for_update().get(pk=wave.pk)
    # A notified wave is notified again only for its people still « à notifier » (e-mails that were not delivered).
    again = locked.status == Wave.Status.NOTIFIED and _remaining(locked) > 0
    if locked.status != Wave.Status.IMPORTED and not again:
        raise CampaignError(_("Cette vague ne peut pas être notifiée dans son état actuel."))
    now = timezone.now()
    locked.status = Wave.Status.NOTIFYING
    if not again:
        locked.notified_at = now
        locked.deadline = optout_deadline(now)
    locked.save(update_fields=["status", "notified_at", "deadline"])
    journal_append(actor=actor, action=WAVE_NOTIFIED, obj=locked, details={"etape": "relance" if again else "debut"})
    progress_set(locked.pk, phase=_("Notification en cours"), percent=0)
    return locked


_CLAIM_SQL = """
SELECT id, public_id, first_names, birth_name, contact_email, address_line, address_complement, postal_code, city
FROM comptes_citizen
WHERE wave_id = %(wave_id)s AND status = 'imported' AND (contact_email <> '') = %(with_email)s
ORDER BY id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED
"""

_NOTIFY_SQL = """
UPDATE comptes_citizen c
SET status = 'notified', notified_at = %(at)s, deadline = %(deadline)s, code_hash = t.code_hash,
    code_expires_at = %(deadline)s, code_failures = 0, notification_channel = %(channel)s
FROM campaign_codes t
WHERE c.id = t.id AND c.status = 'imported'
"""

_JOURNAL_SQL = """
INSERT INTO acces_journalentry (actor_id, actor_label, action, citizen_id, object_type, object_id, details)
SELECT %(actor_id)s, '', %(action)s, c.id, 'comptes.citizen', c.public_id::text,
       jsonb_build_object('from', 'imported', 'to', 'notified', 'vague', %(wave)s::text, 'canal', %(channel)s)
FROM campaign_codes t JOIN comptes_citizen c ON c.id = t.id
"""


def _notify_chunk(*, wave: Wave, actor: User | None, with_email: bool, limit: int) -> list[Notice]:
    """Notify up to ``limit`` people of the wave (in the caller's transaction); returns what to send them."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"wave_id": wave.pk, "with_email": with_email, "limit": limit})
        rows = cursor.fetchall()
        if not rows:
            return []
        at = timezone.now()
        deadline = optout_deadline(at)
        channel = "email" if with_email else "letter"
        notices = _codes_draw(cursor, rows, deadline)
        cursor.execute(_NOTIFY_SQL, {"at": at, "deadline": deadline, "channel": channel})
        cursor.execute(
            _JOURNAL_SQL,
            {
                "actor_id": actor.pk if actor is not None else None,
                "action": JOURNAL_ACTIONS[CitizenStatus.NOTIFIED],
                "wave": str(wave.public_id),
                "channel": channel,
            },
        )
        cursor.execute("DROP TABLE campaign_codes")
    return notices


def _codes_draw(cursor, rows: list[tuple], deadline: datetime) -> list[Notice]:
    """A new code for each claimed person: the notices keep the codes, the temporary table ``campaign_codes`` their
    keyed hashes (for one ``UPDATE ... FROM``; dropped by the caller or at commit)."""
    notices, hashes = [], []
    for citizen_id, public_id, first_names, birth_name, email, *address in rows:
        code = code_generate()
        hashes.append((citizen_id, code_hash(code)))
        notices.append(Notice(public_id, first_names, birth_name, email, code, deadline, *address))
    cursor.execute("CREATE TEMP TABLE campaign_codes (id bigint PRIMARY KEY, code_hash text) ON COMMIT DROP")
    with cursor.copy("COPY campaign_codes (id, code_hash) FROM STDIN") as copy:
        for row in hashes:
            copy.write_row(row)
    return notices


def _remaining(wave: Wave) -> int:
    return wave.citizens.filter(status=CitizenStatus.IMPORTED).count()


def wave_notify_run(*, wave_id: int, actor: User | None, time_budget: float | None = None) -> bool:
    """Notify the wave chunk by chunk (e-mails first, then letters); True when nobody is left to notify.

    Each chunk commits on its own; with ``time_budget`` (seconds) the run stops after the chunk that exceeds it,
    and the caller runs it again later: people already notified are never notified twice.
    """
    started = timezone.now()
    wave = Wave.objects.get(pk=wave_id)
    if wave.status != Wave.Status.NOTIFYING:
        return True
    total = wave.imported_count or 1
    chunk = settings.CAMPAIGN_NOTIFY_CHUNK
    letter_size = settings.CAMPAIGN_LETTER_BATCH_SIZE
    for with_email, limit in ((True, chunk), (False, letter_size)):
        while True:
            letter_files: list[str] = []
            try:
                with transaction.atomic():
                    # The wave's lock serialises the chunks of a wave (letter batch numbers follow each other).
                    Wave.objects.select_for_update().get(pk=wave.pk)
                    notices = _notify_chunk(wave=wave, actor=actor, with_email=with_email, limit=limit)
                    if not notices:
                        break
                    if with_email:
                        transaction.on_commit(lambda notices=notices: emails_deliver(wave_id=wave.pk, notices=notices))
                    else:
                        letter_files.append(_letter_batch_create(wave=wave, notices=notices).file.name)
            except Exception:
                # The chunk rolled back: its PDF, already in the storage, must not outlive it.
                for name in letter_files:
                    default_storage.delete(name)
                raise
            left = _remaining(wave)
            progress_set(wave.pk, phase=_("Notification en cours"), percent=100 * (total - left) / total)
            if time_budget is not None and (timezone.now() - started).total_seconds() > time_budget:
                return False
    _wave_notify_finish(wave_id=wave.pk, actor=actor)
    return True


@transaction.atomic
def _wave_notify_finish(*, wave_id: int, actor: User | None) -> None:
    wave = Wave.objects.select_for_update().get(pk=wave_id)
    if wave.status != Wave.Status.NOTIFYING or _remaining(wave):
        return
    counts = {
        channel: wave.citizens.filter(notification_channel=channel, status=CitizenStatus.NOTIFIED).count()
        for channel in ("email", "letter")
    }
    last_deadline = wave.citizens.order_by("-deadline").values_list("deadline", flat=True).first()
    wave.status = Wave.Status.NOTIFIED
    wave.deadline = last_deadline or wave.deadline
    wave.save(update_fields=["status", "deadline"])
    journal_append(
        actor=actor,
        action=WAVE_NOTIFIED,
        obj=wave,
        details={"etape": "fin", "courriels": counts["email"], "courriers": counts["letter"]},
    )
    transaction.on_commit(lambda: progress_set(wave_id, phase=_("Notification terminée"), percent=100))


# --- E-mails and letters --------------------------------------------------------------------------------------


def _urls() -> tuple[str, str]:
    return f"{settings.PUBLIC_BASE_URL}/activer/", f"{settings.PUBLIC_BASE_URL}/opposition/"


def _deadline_text(deadline: datetime) -> str:
    return formats.date_format(timezone.localtime(deadline), "j F Y")


def email_for(notice: Notice) -> EmailMessage:
    """The e-mail of one person: the code and the two ways, and nothing about their health."""
    activate_url, object_url = _urls()
    first_name = notice.first_names.split(" ")[0].title()
    body = _(
        "Bonjour %(first_name)s %(birth_name)s,\n\n"
        "Mon espace santé est le service public qui vous permet de conserver et de partager vos documents "
        "et données de santé en toute confidentialité. Votre profil va être créé, sauf si vous vous y opposez.\n\n"
        "Votre code personnel, valable jusqu’au %(deadline)s : %(code)s\n\n"
        "Vous avez deux possibilités :\n"
        "- activer votre profil dès maintenant : %(activate_url)s\n"
        "- vous opposer à sa création : %(object_url)s\n\n"
        "Sans démarche de votre part avant le %(deadline)s, votre profil sera créé automatiquement. "
        "Vous pourrez le fermer à tout moment.\n\n"
        "Ne communiquez ce code à personne : l’Assurance Maladie ne vous le demandera jamais.\n\n"
        "L’équipe Mon espace santé\n"
    ) % {
        "first_name": first_name,
        "birth_name": notice.birth_name,
        "deadline": _deadline_text(notice.deadline),
        "code": code_display(notice.code),
        "activate_url": activate_url,
        "object_url": object_url,
    }
    return EmailMessage(
        subject=_("Votre profil Mon espace santé : activez-le ou opposez-vous à sa création"),
        body=body,
        to=[notice.email],
    )


def emails_send(notices: list[Notice]) -> list[Notice]:
    """Send the e-mails in batches, one SMTP connection per batch; returns the notices of the failed batches."""
    failed: list[Notice] = []
    size = settings.CAMPAIGN_EMAIL_BATCH_SIZE
    for start in range(0, len(notices), size):
        chunk = notices[start : start + size]
        try:
            with get_connection() as mail:
                mail.send_messages([email_for(notice) for notice in chunk])
        except (smtplib.SMTPException, OSError):
            logger.exception("Campaign e-mails: a batch of %s messages failed", len(chunk))
            failed.extend(chunk)
    return failed


def emails_deliver(*, wave_id: int, notices: list[Notice], attempt: int = 0) -> None:
    """Send the notices; what the mail server refused is sent again later by a task, with new codes."""
    failed = emails_send(notices)
    if not failed:
        return
    public_ids = [str(notice.public_id) for notice in failed]
    from mes.comptes.tasks.campaigns import campaign_email_retry  # tasks import this module

    try:
        campaign_email_retry.apply_async(
            (wave_id, public_ids, attempt + 1), countdown=EMAIL_RETRY_BASE_DELAY * 2**attempt
        )
    except (OperationalError, OSError):  # the broker is unreachable too
        logger.exception("Campaign e-mails: the retry of %s messages could not be queued", len(public_ids))
        notices_undelivered(wave_id=wave_id, public_ids=public_ids)


_RENEW_CLAIM_SQL = """
SELECT id, public_id, first_names, birth_name, contact_email, address_line, address_complement, postal_code, city
FROM comptes_citizen
WHERE wave_id = %(wave_id)s AND public_id = ANY(%(public_ids)s::uuid[])
  AND status = 'notified' AND notification_channel = 'email' AND code_failures = 0
ORDER BY id
FOR UPDATE
"""

_RENEW_SQL = """
UPDATE comptes_citizen c
SET notified_at = %(at)s, deadline = %(deadline)s, code_hash = t.code_hash, code_expires_at = %(deadline)s
FROM campaign_codes t
WHERE c.id = t.id
"""

_RENEW_JOURNAL_SQL = """
INSERT INTO acces_journalentry (actor_id, actor_label, action, citizen_id, object_type, object_id, details)
SELECT NULL, 'Mon espace santé', %(action)s, c.id, 'comptes.citizen', c.public_id::text,
       jsonb_build_object('vague', %(wave)s::text, 'canal', 'email', 'essai', %(attempt)s::int)
FROM campaign_codes t JOIN comptes_citizen c ON c.id = t.id
"""


@transaction.atomic
def notices_renew(*, wave_id: int, public_ids: list[str], attempt: int) -> list[Notice]:
    """New codes for people whose e-mail was lost, and a deadline counted from this new sending.

    Only people still waiting on that e-mail are renewed: someone who meanwhile tried a code, or whose state
    changed, is left alone.
    """
    wave = Wave.objects.get(pk=wave_id)
    at = timezone.now()
    deadline = optout_deadline(at)
    with connection.cursor() as cursor:
        cursor.execute(_RENEW_CLAIM_SQL, {"wave_id": wave_id, "public_ids": public_ids})
        rows = cursor.fetchall()
        if not rows:
            return []
        notices = _codes_draw(cursor, rows, deadline)
        cursor.execute(_RENEW_SQL, {"at": at, "deadline": deadline})
        cursor.execute(_RENEW_JOURNAL_SQL, {"action": NOTICE_RENEWED, "wave": str(wave.public_id), "attempt": attempt})
        cursor.execute("DROP TABLE campaign_codes")
    return notices


_UNDELIVERED_SQL = """
WITH back AS (
    UPDATE comptes_citizen
    SET status = 'imported', notified_at = NULL, deadline = NULL, code_hash = '', code_expires_at = NULL,
        notification_channel = ''
    WHERE wave_id = %(wave_id)s AND public_id = ANY(%(public_ids)s::uuid[])
      AND status = 'notified' AND notification_channel = 'email' AND code_failures = 0
    RETURNING id, public_id
)
INSERT INTO acces_journalentry (actor_id, actor_label, action, citizen_id, object_type, object_id, details)
SELECT NULL, 'Mon espace santé', %(action)s, id, 'comptes.citizen', public_id::text,
       jsonb_build_object('vague', %(wave)s::text, 'canal', 'email')
FROM back
"""


@transaction.atomic
def notices_undelivered(*, wave_id: int, public_ids: list[str]) -> int:
    """The e-mails could not be delivered: the people go back to « à notifier » (no deadline runs for them) and the
    wave counts them, so that the administrator notifies them again. Returns how many went back."""
    wave = Wave.objects.select_for_update().get(pk=wave_id)
    with connection.cursor() as cursor:
        cursor.execute(
            _UNDELIVERED_SQL,
            {"wave_id": wave_id, "public_ids": public_ids, "action": NOTICE_UNDELIVERED, "wave": str(wave.public_id)},
        )
        back = cursor.rowcount
    if back:
        wave.undelivered_count += back
        wave.save(update_fields=["undelivered_count"])
        logger.error("Campaign e-mails: %s people of wave %s could not be reached by e-mail", back, wave_id)
    return back


def notices_retry(*, wave_id: int, public_ids: list[str], attempt: int) -> None:
    """One more try for e-mails the mail server refused, or, after the last one, back to « à notifier »."""
    if attempt > EMAIL_RETRY_ATTEMPTS:
        notices_undelivered(wave_id=wave_id, public_ids=public_ids)
        return
    notices = notices_renew(wave_id=wave_id, public_ids=public_ids, attempt=attempt)
    if notices:
        emails_deliver(wave_id=wave_id, notices=notices, attempt=attempt)


# The recipient block sits in the window of a French window envelope (DL/C5 « à fenêtre »): 100 mm from the left
# edge, its first line about 48 mm from the top, 90 mm wide and at most 6 lines high (it must stay above the body).
_WINDOW_LEFT_MM = 100
_WINDOW_TOP_MM = 48
_WINDOW_WIDTH_MM = 90
_WINDOW_MAX_LINES = 6


def _recipient_lines(notice: Notice) -> list[str]:
    lines = [
        f"{notice.first_names} {notice.birth_name}",
        notice.address_line,
        notice.address_complement,
        f"{notice.postal_code} {notice.city}",
    ]
    return [line.strip() for line in lines if line.strip()]


def _draw_recipient(pdf, notice: Notice, *, page_height: float) -> None:
    """The recipient block: a smaller font, then wrapping, so that a long address stays inside the window."""
    from reportlab.lib.units import mm
    from reportlab.lib.utils import simpleSplit

    width = _WINDOW_WIDTH_MM * mm
    for size in (11, 10, 9, 8):
        wrapped = [part for line in _recipient_lines(notice) for part in simpleSplit(line, "Helvetica", size, width)]
        if len(wrapped) <= _WINDOW_MAX_LINES:
            break
    text = pdf.beginText(_WINDOW_LEFT_MM * mm, page_height - _WINDOW_TOP_MM * mm)
    text.setFont("Helvetica", size)
    for line in wrapped[:_WINDOW_MAX_LINES]:
        text.textLine(line)
    pdf.drawText(text)


def _letter_pdf(notices: list[Notice]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    activate_url, object_url = _urls()
    buffer = io.BytesIO()
    pdf = Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(_("Courriers Mon espace santé"))
    _width, height = A4
    for notice in notices:
        text = pdf.beginText(25 * mm, height - 30 * mm)
        text.setFont("Helvetica-Bold", 14)
        text.textLine(_("Mon espace santé"))
        text.setFont("Helvetica", 9)
        text.textLine(_("Référence : %(ref)s") % {"ref": notice.public_id})
        text.moveCursor(0, 12 * mm)
        text.setFont("Helvetica", 11)
        text.textLine("")  # the recipient is in the window block (top right); the body keeps its place
        text.moveCursor(0, 20 * mm)
        lines = [
            _("Madame, Monsieur,"),
            "",
            _("Mon espace santé est le service public qui vous permet de conserver et de partager"),
            _("vos documents et données de santé en toute confidentialité."),
            _("Votre profil va être créé, sauf si vous vous y opposez."),
            "",
            _("Vous avez deux possibilités :"),
            _("- activer votre profil dès maintenant : %(url)s") % {"url": activate_url},
            _("- vous opposer à sa création : %(url)s") % {"url": object_url},
            "",
            _("Sans démarche de votre part avant le %(deadline)s, votre profil sera créé automatiquement.")
            % {"deadline": _deadline_text(notice.deadline)},
            _("Vous pourrez le fermer à tout moment."),
        ]
        for line in lines:
            text.textLine(line)
        text.moveCursor(0, 10 * mm)
        text.setFont("Helvetica-Bold", 12)
        text.textLine(
            _("Votre code personnel, valable jusqu’au %(deadline)s :") % {"deadline": _deadline_text(notice.deadline)}
        )
        text.setFont("Courier-Bold", 20)
        text.moveCursor(0, 4 * mm)
        text.textLine(code_display(notice.code))
        text.setFont("Helvetica", 10)
        text.moveCursor(0, 6 * mm)
        text.textLine(_("Ne communiquez ce code à personne : l’Assurance Maladie ne vous le demandera jamais."))
        pdf.drawText(text)
        _draw_recipient(pdf, notice, page_height=height)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _letter_batch_create(*, wave: Wave, notices: list[Notice]) -> LetterBatch:
    """One PDF, one page per person, saved with its row in the chunk's transaction."""
    number = (LetterBatch.objects.filter(wave=wave).order_by("-number").values_list("number", flat=True).first()) or 0
    batch = LetterBatch(wave=wave, number=number + 1, people_count=len(notices))
    try:
        batch.file.save(
            f"courriers-{wave.public_id}-{number + 1:05d}.pdf", ContentFile(_letter_pdf(notices)), save=True
        )
    except DatabaseError:
        if batch.file.name:
            default_storage.delete(batch.file.name)
        raise
    return batch
