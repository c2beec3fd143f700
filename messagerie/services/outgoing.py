"""The citizen's outgoing mail: reply, forward, send a document of the dossier; then the delivery by SMTP.

Seed 001: only a professional starts a conversation. The citizen (or the legal representative of a minor child, who
then writes from the child's address) may reply to a professional who wrote to them, forward a received message to
one of their ``Correspondent`` rows, and send a document of their dossier to one of them. Nobody else is ever a
recipient: every function takes a ``Correspondent`` of the space (or derives it from a received message), never an
address typed by someone.

Each function stores the outbound ``Message`` in one transaction (its attachments copied into files of their own, so
that deleting one message never takes another's file; a copy whose transaction rolls back is deleted), writes the
journal row, and hands the delivery to a Celery task once the transaction is committed. The task sends the message
through Django's mail backend and records the outcome on the row: ``en_attente`` → ``envoye``, or ``echec`` with the
reason kept and shown in the conversation, from where the citizen may try again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import smtplib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime, formataddr, make_msgid

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dossier.models.documents import Document
from dossier.uploads import discard_unless_committed, download_filename, filename_sanitize, size_limit_mb
from mes.acces.journal import register_action, register_detail
from mes.acces.policy import ACCESS_REPRESENTATIVE, CitizenAccess
from mes.acces.services import journal_append
from mes.comptes.services.notifications import notify_space
from messagerie.models import (
    Attachment,
    Conversation,
    Correspondent,
    DeliveryStatus,
    Direction,
    Message,
)

logger = logging.getLogger(__name__)

__all__ = [
    "BODY_MAX_LENGTH",
    "MESSAGE_RESENT",
    "MESSAGE_SENT",
    "SUBJECT_MAX_LENGTH",
    "DeliveryDeferred",
    "document_send",
    "forwardable_attachments",
    "journal_actor_label",
    "message_deliver",
    "message_forward",
    "message_reply",
    "message_resend",
    "messages_pending_dispatch",
    "outgoing_email",
    "reply_recipient",
    "subject_prefixed",
]

MESSAGE_SENT = "messagerie.message.envoye"
MESSAGE_RESENT = "messagerie.message.renvoye"
register_action(MESSAGE_SENT, gettext_lazy("Envoi d’un message par la messagerie de santé"))
register_action(MESSAGE_RESENT, gettext_lazy("Nouvel essai d’envoi d’un message de la messagerie de santé"))

# The kinds of sending, as the journal names them (``details["envoi"]``), and how the history shows them.
KIND_REPLY = "reponse"
KIND_FORWARD = "transfert"
KIND_DOCUMENT = "document"
_KIND_LABELS = {
    KIND_REPLY: gettext_lazy("réponse à un professionnel"),
    KIND_FORWARD: gettext_lazy("transfert d’un message reçu"),
    KIND_DOCUMENT: gettext_lazy("envoi d’un document du dossier"),
}
register_detail("envoi", gettext_lazy("Type d’envoi"), lambda value: str(_KIND_LABELS.get(value, "")) or None)
register_detail(
    "pieces_jointes",
    gettext_lazy("Pièces jointes"),
    lambda value: str(value) if isinstance(value, int) and not isinstance(value, bool) else None,
)

# What the citizen types: long enough for any letter, short enough to stay a message (a document goes attached).
BODY_MAX_LENGTH = 10_000
SUBJECT_MAX_LENGTH = 200
# RFC 5322 advises keeping the first Message-ID of References and the most recent ones when the list grows long.
REFERENCES_KEPT = 20
# A hung SMTP server must not keep a message's row locked until the task's time limit.
SMTP_TIMEOUT = 30
# A message still waiting after this long lost its task (broker unreachable at commit time): dispatched again.
PENDING_STALE_AFTER = timedelta(minutes=15)

REPLY_PREFIX = "RE : "
FORWARD_PREFIX = "TR : "
# The reply and forward prefixes that clients write (French, English, German, Swedish, Dutch), with an optional
# counter (« Re[2]: »), repeated or not: all are replaced by a single prefix of ours, never stacked.
_PREFIXES = re.compile(
    r"^(?:\s*(?:re|ré|tr|fw|fwd|aw|wg|sv|antw)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*)+",
    re.IGNORECASE,
)


def _max_message_bytes() -> int:
    """The size limit of a whole message (the MIME text), the same both ways: what the operator accepts from
    professionals, it may send to them."""
    return settings.MSS_MAX_MESSAGE_BYTES


# --- Rules ----------------------------------------------------------------------------------------------------


def _require_citizen_side(access: CitizenAccess) -> None:
    if not access.is_citizen_side:
        raise PermissionDenied(_("Seule la personne ou son représentant légal écrit depuis sa messagerie de santé."))


def _require_own(access: CitizenAccess, *objects) -> None:
    """Objects of another space are refused (the views already answer 404 for them: this is the service's guard)."""
    for obj in objects:
        if obj is not None and obj.citizen_id != access.citizen.pk:
            raise PermissionDenied(_("Cet élément n’appartient pas à cette messagerie."))


def reply_recipient(message: Message) -> Correspondent:
    """Who a reply to ``message`` goes to: the professional who sent it (one of the citizen's correspondents, since
    every sender becomes one), else the professional who started the conversation."""
    correspondent = Correspondent.objects.filter(
        citizen_id=message.citizen_id, address=message.from_address.lower()
    ).first()
    return correspondent or message.conversation.correspondent


def forwardable_attachments(message: Message) -> list[Attachment]:
    """The attachments of ``message`` that may leave with a forward: never a blocked one (it is never served)."""
    return [attachment for attachment in message.attachments.order_by("pk") if not attachment.blocked]


def subject_prefixed(prefix: str, subject: str) -> str:
    """« RE : Résultats » for a reply to « Résultats », « Re: Résultats » or « RE : TR : Résultats »."""
    stem = _PREFIXES.sub("", " ".join((subject or "").split()))
    return f"{prefix}{stem}" if stem else prefix.rstrip()


def _body_clean(body: str) -> str:
    """The citizen's text: lines kept, control characters (but tabs) removed, blank lines at both ends dropped.
    Refused when empty or too long: never shortened behind the citizen's back."""
    text = (body or "").replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch.isprintable() or ch in "\n\t")
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")
    if not text.strip():
        raise ValidationError({"body": _("Écrivez votre message.")})
    if len(text) > BODY_MAX_LENGTH:
        raise ValidationError(
            {
                "body": _("Votre message compte %(count)s caractères : il ne doit pas dépasser %(max)s caractères.")
                % {"count": len(text), "max": BODY_MAX_LENGTH}
            }
        )
    return text


def _when(moment: datetime | None) -> str:
    return formats.date_format(timezone.localtime(moment), "j F Y à H:i") if moment else ""


def _sender_label(message: Message) -> str:
    return formataddr((message.from_name, message.from_address)) if message.from_name else message.from_address


def _quote(message: Message) -> str:
    """The replied message, quoted as mail clients do (« > » before each line)."""
    header = _("Le %(date)s, %(name)s a écrit :") % {
        "date": _when(message.sent_at or message.received_at),
        "name": _sender_label(message),
    }
    lines = [f"> {line}" if line else ">" for line in message.body_text.splitlines()]
    return "\n".join([header, *lines])


def _forwarded(message: Message) -> str:
    """The forwarded message's header block and text, as mail clients write them."""
    lines = [
        _("-------- Message transféré --------"),
        _("De : %(sender)s") % {"sender": _sender_label(message)},
        _("Date : %(date)s") % {"date": _when(message.sent_at or message.received_at)},
        _("Objet : %(subject)s") % {"subject": message.subject},
    ]
    if message.to_addresses:
        lines.append(_("À : %(to)s") % {"to": ", ".join(message.to_addresses)})
    if message.cc_addresses:
        lines.append(_("Cc : %(cc)s") % {"cc": ", ".join(message.cc_addresses)})
    return "\n".join([*lines, "", message.body_text])


def _signature(access: CitizenAccess) -> str:
    """A parent writes from their child's address: the professional is told who actually wrote."""
    if access.kind != ACCESS_REPRESENTATIVE:
        return ""
    return "-- \n" + _("Message écrit par %(parent)s, représentant légal de %(child)s, depuis Mon espace santé.") % {
        "parent": access.actor.display_name,
        "child": str(access.citizen),
    }


def _references(message: Message) -> str:
    """The References of a reply to ``message``: its own References (or In-Reply-To), then its Message-ID."""
    ids = (message.references or message.in_reply_to).split()
    ids.append(message.message_id)
    if len(ids) > REFERENCES_KEPT:
        ids = [ids[0], *ids[-(REFERENCES_KEPT - 1) :]]
    return " ".join(ids)


def journal_actor_label(access: CitizenAccess) -> str:
    """A parent acting for their child signs the journal as the child's legal representative."""
    if access.kind == ACCESS_REPRESENTATIVE:
        return _("%(name)s (représentant légal)") % {"name": access.actor.display_name}
    return ""


# --- Storing the outbound message -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    """A file that leaves with the message: a received attachment (forward) or a document of the dossier."""

    filename: str
    format: str
    content_type: str
    size: int
    storage: object
    name: str


def _attachment_source(attachment: Attachment) -> _Source:
    return _Source(
        filename=attachment.filename,
        format=attachment.format,
        content_type=attachment.content_type,
        size=attachment.size_bytes,
        storage=attachment.file.storage,
        name=attachment.file.name,
    )


def _document_source(document: Document) -> _Source:
    return _Source(
        # The name the professional sees: the original one, with the extension of the real format.
        filename=filename_sanitize(download_filename(document.original_name, document.format)),
        format=document.format,
        content_type=document.content_type,
        size=document.size_bytes,
        storage=document.file.storage,
        name=document.file.name,
    )


def _too_large() -> ValidationError:
    return ValidationError(
        _(
            "Le message dépasserait la taille maximale de %(limit)s Mo avec ses pièces jointes : "
            "il n’a pas été envoyé. Envoyez les documents en plusieurs messages."
        )
        % {"limit": size_limit_mb(_max_message_bytes())}
    )


def _copy(source: _Source, attachment: Attachment, *, limit: int) -> None:
    """Copy ``source`` into a file of ``attachment``'s own (deleted again if the transaction rolls back)."""
    try:
        with source.storage.open(source.name, "rb") as stream:
            data = stream.read(limit + 1)
    except OSError as error:
        raise ValidationError(
            _("Le fichier « %(name)s » est introuvable : le message n’a pas été envoyé.") % {"name": source.filename}
        ) from error
    if len(data) > limit:
        raise _too_large()
    name = Attachment._meta.get_field("file").generate_filename(attachment, source.filename)
    stored = default_storage.save(name, ContentFile(data), max_length=255)
    discard_unless_committed(stored, model=Attachment)
    attachment.file.name = stored
    attachment.size_bytes = len(data)
    attachment.sha256 = hashlib.sha256(data).hexdigest()


def _store(
    *,
    access: CitizenAccess,
    kind: str,
    conversation: Conversation | None,
    correspondent: Correspondent,
    subject: str,
    body: str,
    in_reply_to: Message | None = None,
    sources: Iterable[_Source] = (),
) -> Message:
    """Store the outbound message (in ``conversation``, or a new one with ``correspondent``), its attachments and
    its journal row; the delivery starts once the transaction is committed."""
    citizen = access.citizen
    if not citizen.mss_address:
        raise PermissionDenied(_("Cet espace n’a pas d’adresse de messagerie de santé."))
    sources = list(sources)
    limit = _max_message_bytes()
    # Base64 makes attachments a third larger: refused before anything is copied when it cannot fit.
    if len(body.encode()) + sum(source.size for source in sources) * 4 // 3 > limit:
        raise _too_large()
    now = timezone.now()
    if conversation is None:
        conversation = Conversation.objects.create(
            citizen=citizen, correspondent=correspondent, subject=subject, started_at=now, last_message_at=now
        )
    else:
        # The citizen's own activity brings an archived conversation back to the inbox, as a new message would.
        Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now, archived_at=None)
    domain = citizen.mss_address.rsplit("@", 1)[1]
    message = Message.objects.create(
        citizen=citizen,
        conversation=conversation,
        direction=Direction.OUTBOUND,
        message_id=make_msgid(domain=domain),
        in_reply_to=in_reply_to.message_id if in_reply_to is not None else "",
        references=_references(in_reply_to) if in_reply_to is not None else "",
        from_address=citizen.mss_address,
        from_name=str(citizen),
        to_addresses=[correspondent.address],
        subject=subject,
        sent_at=now,
        received_at=now,
        body_text=body,
        sent_by=access.actor,
        delivery_status=DeliveryStatus.PENDING,
    )
    for source in sources:
        attachment = Attachment(
            citizen=citizen,
            message=message,
            filename=source.filename,
            declared_type=source.content_type,
            format=source.format,
            content_type=source.content_type,
        )
        _copy(source, attachment, limit=limit)
        attachment.save(force_insert=True)
    # The exact size of what will be sent, attachments encoded.
    size = len(outgoing_email(message).message().as_bytes())
    if size > limit:
        raise _too_large()
    message.size_bytes = size
    message.save(update_fields=["size_bytes"])
    journal_append(
        actor=access.actor,
        action=MESSAGE_SENT,
        citizen=citizen,
        obj=message,
        actor_label=journal_actor_label(access),
        # No health content: neither the subject nor the professional's address (a specialty can be read in it).
        details={"envoi": kind, "destinataire": "correspondant", "pieces_jointes": len(sources)},
    )
    transaction.on_commit(lambda: _dispatch(message.pk), robust=True)
    return message


def _dispatch(message_id: int) -> None:
    # Imported here: the task module imports this one.
    from messagerie.tasks_outgoing import message_deliver_task

    message_deliver_task.delay(message_id)


@transaction.atomic
def message_reply(*, access: CitizenAccess, message: Message, body: str) -> Message:
    """Reply to a received ``message``, in its conversation, to its sender; the replied text is quoted below."""
    _require_citizen_side(access)
    _require_own(access, message)
    if message.direction != Direction.INBOUND:
        raise PermissionDenied(_("Seul un message reçu peut recevoir une réponse."))
    text = _body_clean(body)
    signature = _signature(access)
    full = "\n\n".join(part for part in (text, signature, _quote(message)) if part)
    return _store(
        access=access,
        kind=KIND_REPLY,
        conversation=message.conversation,
        correspondent=reply_recipient(message),
        subject=subject_prefixed(REPLY_PREFIX, message.subject or message.conversation.subject),
        body=full,
        in_reply_to=message,
    )


@transaction.atomic
def message_forward(
    *,
    access: CitizenAccess,
    message: Message,
    correspondent: Correspondent,
    body: str,
    attachments: Iterable[Attachment] | None = None,
) -> Message:
    """Forward a received ``message`` to ``correspondent`` (one of the citizen's), in a new conversation, with its
    attachments (``attachments``: a chosen part of them; ``None``: all that may leave). A blocked attachment never
    leaves: asking for one is refused."""
    _require_citizen_side(access)
    _require_own(access, message, correspondent)
    if message.direction != Direction.INBOUND:
        raise PermissionDenied(_("Seul un message reçu peut être transféré."))
    allowed = {attachment.pk: attachment for attachment in forwardable_attachments(message)}
    if attachments is None:
        chosen = list(allowed.values())
    else:
        chosen = list(attachments)
        for attachment in chosen:
            if attachment.message_id != message.pk:
                raise PermissionDenied(_("Cette pièce jointe n’appartient pas au message transféré."))
            if attachment.pk not in allowed:
                raise ValidationError(
                    {
                        "attachments": _(
                            "La pièce jointe « %(name)s » a été bloquée par sécurité : "
                            "elle ne peut pas être transférée."
                        )
                        % {"name": attachment.filename}
                    }
                )
    text = _body_clean(body)
    signature = _signature(access)
    full = "\n\n".join(part for part in (text, signature, _forwarded(message)) if part)
    return _store(
        access=access,
        kind=KIND_FORWARD,
        conversation=None,
        correspondent=correspondent,
        subject=subject_prefixed(FORWARD_PREFIX, message.subject or message.conversation.subject),
        body=full,
        sources=[_attachment_source(attachment) for attachment in chosen],
    )


@transaction.atomic
def document_send(
    *,
    access: CitizenAccess,
    document: Document,
    correspondent: Correspondent,
    subject: str,
    body: str,
    in_reply_to: Message | None = None,
) -> Message:
    """Send a ``document`` of the citizen's dossier to ``correspondent``: in a new conversation, or, with
    ``in_reply_to`` (a received message), as a reply in its conversation to its sender."""
    _require_citizen_side(access)
    _require_own(access, document, correspondent, in_reply_to)
    conversation = None
    if in_reply_to is not None:
        if in_reply_to.direction != Direction.INBOUND:
            raise PermissionDenied(_("Seul un message reçu peut recevoir une réponse."))
        if reply_recipient(in_reply_to).pk != correspondent.pk:
            raise PermissionDenied(_("Une réponse va à l’expéditeur du message."))
        conversation = in_reply_to.conversation
        subject = subject_prefixed(REPLY_PREFIX, in_reply_to.subject or conversation.subject)
    else:
        subject = " ".join((subject or "").split())
        if not subject:
            raise ValidationError({"subject": _("Indiquez l’objet du message.")})
        if len(subject) > SUBJECT_MAX_LENGTH:
            raise ValidationError(
                {"subject": _("L’objet ne doit pas dépasser %(max)s caractères.") % {"max": SUBJECT_MAX_LENGTH}}
            )
    text = _body_clean(body)
    full = "\n\n".join(part for part in (text, _signature(access)) if part)
    return _store(
        access=access,
        kind=KIND_DOCUMENT,
        conversation=conversation,
        correspondent=correspondent,
        subject=subject,
        body=full,
        in_reply_to=in_reply_to,
        sources=[_document_source(document)],
    )


@transaction.atomic
def message_resend(*, access: CitizenAccess, message: Message) -> Message:
    """Try again to deliver an outbound message whose delivery failed (the same message: same Message-ID)."""
    _require_citizen_side(access)
    _require_own(access, message)
    changed = Message.objects.filter(
        pk=message.pk, direction=Direction.OUTBOUND, delivery_status=DeliveryStatus.FAILED
    ).update(delivery_status=DeliveryStatus.PENDING, delivery_error="")
    message.refresh_from_db(fields=["delivery_status", "delivery_error"])
    if changed:
        journal_append(
            actor=access.actor,
            action=MESSAGE_RESENT,
            citizen=access.citizen,
            obj=message,
            actor_label=journal_actor_label(access),
            details={"pieces_jointes": message.attachments.count()},
        )
        transaction.on_commit(lambda: _dispatch(message.pk), robust=True)
    return message


# --- Delivery -------------------------------------------------------------------------------------------------


def outgoing_email(message: Message) -> EmailMessage:
    """The e-mail of a stored outbound message: its own Message-ID, Date and threading headers, no Reply-To, its
    attachments under their names with their detected content types. Raises ``OSError`` when a file is missing."""
    headers = {"Message-ID": message.message_id, "Date": format_datetime(message.sent_at or message.received_at)}
    if message.in_reply_to:
        headers["In-Reply-To"] = message.in_reply_to
    if message.references:
        headers["References"] = message.references
    email = EmailMessage(
        subject=message.subject,
        body=message.body_text,
        from_email=formataddr((message.from_name, message.from_address)),
        to=list(message.to_addresses),
        cc=list(message.cc_addresses),
        headers=headers,
    )
    for attachment in message.attachments.order_by("pk"):
        with attachment.file.storage.open(attachment.file.name, "rb") as stream:
            content = stream.read()
        email.attach(attachment.filename, content, attachment.content_type.split(";", 1)[0].strip())
    return email


class DeliveryDeferred(Exception):
    """A transient failure (server unreachable, 4xx answer): the task tries again later."""


def _smtp_code(error: Exception) -> int | None:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in error.recipients.values()]
        # Deferred if any recipient may be accepted later; refused for good when all are refused for good.
        return min(codes) if codes else None
    return getattr(error, "smtp_code", None)


def _smtp_text(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        parts = [
            f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
            for code, text in error.recipients.values()
        ]
        return "; ".join(parts)[:500]
    code, text = getattr(error, "smtp_code", None), getattr(error, "smtp_error", None)
    if code is not None:
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text or "")
        return f"{code} {text}"[:500]
    return (str(error) or error.__class__.__name__)[:500]


def _is_transient(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    code = _smtp_code(error)
    if code is not None:
        return 400 <= code < 500
    # No SMTP answer at all: refused connection, timeout, name resolution.
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)


def _failed(message: Message, reason: str) -> str:
    Message.objects.filter(pk=message.pk).update(delivery_status=DeliveryStatus.FAILED, delivery_error=reason)
    # In the space only, not by e-mail: the mail server may well be what fails. No health content either.
    notify_space(
        citizen=message.citizen,
        title=_("Un message n’a pas pu être envoyé"),
        body=_(
            "Un message de votre messagerie de santé n’a pas pu être envoyé. "
            "Ouvrez la conversation pour connaître la raison et réessayer."
        ),
        link=reverse("messagerie_conversation", args=[message.conversation.public_id]),
        email=False,
    )
    return DeliveryStatus.FAILED


def message_deliver(*, message_id: int, final_attempt: bool = False) -> str:
    """Send one outbound message waiting for delivery; returns its new status, or ``skipped``.

    The row is claimed (locked, still ``en_attente``) for the time of the SMTP exchange, so that two deliveries of
    the task never send it twice while it is under way. A transient failure raises ``DeliveryDeferred`` (the row is
    left waiting), unless it is the ``final_attempt``: the message is then marked failed, as for a refusal.
    """
    with transaction.atomic():
        message = (
            # Only the message's row: the citizen's and the conversation's stay free during the SMTP exchange.
            Message.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("citizen", "conversation")
            .filter(pk=message_id, direction=Direction.OUTBOUND, delivery_status=DeliveryStatus.PENDING)
            .first()
        )
        if message is None:
            return "skipped"
        try:
            email = outgoing_email(message)
        except OSError:
            logger.exception("Pièce jointe introuvable pour le message sortant %s", message.pk)
            return _failed(message, _("Une pièce jointe de ce message est introuvable : il n’a pas pu être envoyé."))
        try:
            connection = get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or SMTP_TIMEOUT)
            connection.send_messages([email])
        except (smtplib.SMTPException, OSError) as error:
            detail = _smtp_text(error)
            logger.warning("Envoi du message sortant %s impossible : %s", message.pk, detail)
            if _is_transient(error):
                if not final_attempt:
                    raise DeliveryDeferred(detail) from error
                return _failed(
                    message,
                    _(
                        "Le serveur de messagerie n’a pas pu être joint après plusieurs tentatives (%(detail)s). "
                        "Vous pouvez réessayer plus tard."
                    )
                    % {"detail": detail},
                )
            return _failed(
                message, _("Le message a été refusé par le serveur de messagerie (%(detail)s).") % {"detail": detail}
            )
        Message.objects.filter(pk=message.pk).update(delivery_status=DeliveryStatus.SENT, delivery_error="")
        return DeliveryStatus.SENT


def messages_pending_dispatch(*, older_than: timedelta = PENDING_STALE_AFTER, limit: int = 500) -> int:
    """Hand again to the delivery task the messages waiting for longer than ``older_than`` (their task was lost:
    broker unreachable at commit time, worker gone). Harmless for a message whose task is only late: a delivery
    claims the row, and finds nothing to do once it is sent."""
    ids = list(
        Message.objects.filter(
            direction=Direction.OUTBOUND,
            delivery_status=DeliveryStatus.PENDING,
            sent_at__lt=timezone.now() - older_than,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for message_id in ids:
        _dispatch(message_id)
    return len(ids)
