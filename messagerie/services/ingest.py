"""The one way a received message enters the platform: SMTP, the administrators' inject command, the demo and the
tests all call ``message_ingest``.

Who may write: a sender in the MSSanté professional domains (``MSS_ALLOWED_SENDER_DOMAINS``, each entry with its
subdomains), or the e-mail of an active professional account; never an address of the patient domain (only
professionals start a conversation, DOMAIN.md §7). To whom: ``<INS>@MSS_PATIENT_DOMAIN`` of a space that exists
(activated or created automatically). Both the envelope sender and the From header's addresses are checked.

One transaction stores the message for every recipient (each citizen gets their own rows and their own copy of the
attachments' files): a failure anywhere leaves no row, and the files already written are deleted again
(``discard_unless_committed``). The message is read (``_mime``) before the transaction starts, so no transaction
stays open while a large message is parsed. A message delivered twice (same Message-ID, same citizen) is stored
once. Threading: a message joins the conversation of the message it answers (In-Reply-To, else the latest of
References) among the citizen's messages with the same correspondent — a professional never lands in another
professional's thread by quoting its identifiers — else it starts a new conversation.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dossier.uploads import discard_unless_committed
from mes.acces.journal import register_action, register_detail
from mes.acces.services import journal_append
from mes.comptes.models import Citizen, CitizenStatus, Role, User
from mes.comptes.services.notifications import notify_space
from messagerie.models import Attachment, Conversation, Correspondent, Direction, Message
from messagerie.services._mime import (
    IngestRefused,
    MessageRefused,
    ParsedAttachment,
    ParsedMessage,
    address_normalise,
    message_parse,
)

__all__ = [
    "INBOX_PATH",
    "MESSAGE_RECEIVED",
    "IngestRefused",
    "MessageRefused",
    "RecipientRefused",
    "SenderRefused",
    "message_ingest",
    "recipient_resolve",
    "sender_check",
    "sender_domain_allowed",
]

logger = logging.getLogger(__name__)

MESSAGE_RECEIVED = "messagerie.message.recu"
register_action(MESSAGE_RECEIVED, gettext_lazy("Réception d’un message dans la messagerie de santé"))
register_detail(
    "pieces_jointes",
    gettext_lazy("Pièces jointes"),
    lambda value: str(value) if isinstance(value, int) and value > 0 else None,
)

INBOX_PATH = "/messagerie/"
SPACE_STATUSES = (CitizenStatus.ACTIVATED, CitizenStatus.CREATED_AUTOMATICALLY)
_INS = re.compile(r"^[0-9]{5}([0-9]{2}|2A|2B)[0-9]{8}$")
# The References looked up to thread a message (the latest ones: a long thread repeats its whole history).
REFERENCES_LOOKUP = 100


class RecipientRefused(IngestRefused):
    """Not the address of an existing space of the patient domain (refused at RCPT time)."""


class SenderRefused(IngestRefused):
    """Not a professional address of the MSSanté space (refused at MAIL FROM time)."""


# --- Who may write, to whom -------------------------------------------------------------------------------------


def _in_domain(domain: str, parent: str) -> bool:
    return domain == parent or domain.endswith("." + parent)


def sender_domain_allowed(domain: str) -> bool:
    """Whether ``domain`` is one of ``MSS_ALLOWED_SENDER_DOMAINS`` or a subdomain of one (never the patient domain)."""
    domain = domain.lower().strip(".")
    if _in_domain(domain, settings.MSS_PATIENT_DOMAIN):
        return False
    return any(_in_domain(domain, allowed) for allowed in settings.MSS_ALLOWED_SENDER_DOMAINS)


def sender_check(address: str) -> None:
    """Raise ``SenderRefused`` unless ``address`` may write to citizens: an address of an allowed professional
    domain, or the e-mail of an active professional account; never an address of the patient domain."""
    normalised = address_normalise(address)
    if normalised is None:
        raise SenderRefused(
            _("L’adresse de l’expéditeur n’est pas une adresse électronique valide."),
            code=550,
            status="5.1.7",
            text="Bad sender address syntax",
        )
    domain = normalised.rpartition("@")[2]
    if _in_domain(domain, settings.MSS_PATIENT_DOMAIN):
        raise SenderRefused(
            _(
                "L’expéditeur %(address)s est une adresse d’usager : seuls les professionnels de santé peuvent "
                "écrire à un usager."
            )
            % {"address": normalised},
            code=550,
            status="5.7.1",
            text="Sender not allowed: patients cannot start a conversation",
        )
    if sender_domain_allowed(domain):
        return
    known = (
        User.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower=normalised, role=Role.PROFESSIONAL, is_active=True)
        .exists()
    )
    if not known:
        raise SenderRefused(
            _(
                "L’expéditeur %(address)s n’est pas une adresse de messagerie sécurisée de santé (MSSanté) "
                "autorisée, ni celle d’un professionnel de santé inscrit."
            )
            % {"address": normalised},
            code=550,
            status="5.7.1",
            text="Sender not allowed: not an MSSante professional address",
        )


def recipient_resolve(address: str) -> Citizen:
    """The citizen whose space answers ``<INS>@MSS_PATIENT_DOMAIN`` (domain case-insensitive), or
    ``RecipientRefused``: another domain is a relay (550 5.7.1), an unknown INS or a space that does not exist
    (not yet created, opposed, closed) is an unknown mailbox (550 5.1.1)."""
    normalised = address_normalise(address)
    if normalised is None:
        raise RecipientRefused(
            _("L’adresse du destinataire n’est pas une adresse électronique valide."),
            code=550,
            status="5.1.3",
            text="Bad recipient address syntax",
        )
    local, _at, domain = normalised.rpartition("@")
    if domain != settings.MSS_PATIENT_DOMAIN:
        raise RecipientRefused(
            _("Le domaine %(domain)s n’est pas servi ici : seules les adresses @%(patient)s le sont.")
            % {"domain": domain, "patient": settings.MSS_PATIENT_DOMAIN},
            code=550,
            status="5.7.1",
            text="Relay access denied",
        )
    ins = local.upper()  # « 2a » or « 2A » for Corsica: the INS is stored in upper case
    citizen = Citizen.objects.filter(ins=ins, status__in=SPACE_STATUSES).first() if _INS.match(ins) else None
    if citizen is None:
        raise RecipientRefused(
            _("L’adresse %(address)s ne correspond à aucun espace Mon espace santé ouvert.") % {"address": normalised},
            code=550,
            status="5.1.1",
            text="Recipient address unknown or mailbox not active",
        )
    return citizen


# --- Storing ----------------------------------------------------------------------------------------------------


def _recipients_unique(recipients: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for address in recipients:
        key = (address_normalise(address) or address).lower()
        seen.setdefault(key, address)
    unique = list(seen.values())
    if not unique:
        raise ValueError("message_ingest needs at least one recipient")
    if len(unique) > settings.MSS_MAX_RECIPIENTS:
        raise MessageRefused(
            _("Le message a plus de %(max)s destinataires : il est refusé.") % {"max": settings.MSS_MAX_RECIPIENTS},
            code=550,
            status="5.5.3",
            text="Too many recipients",
        )
    return unique


def _citizen_lock(citizen: Citizen) -> None:
    """Serialise the deliveries to one citizen until the transaction ends: the same message arriving twice at once
    is stored once, and two messages of one new correspondent create it once."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"messagerie.citizen:{citizen.pk}"])


def _correspondent_upsert(citizen: Citizen, parsed: ParsedMessage, at: datetime) -> Correspondent:
    correspondent, created = Correspondent.objects.get_or_create(
        citizen=citizen,
        address=parsed.from_address,
        defaults={"display_name": parsed.from_name, "first_message_at": at, "last_message_at": at},
    )
    if not created:
        fields = []
        if at > correspondent.last_message_at:
            correspondent.last_message_at = at
            fields.append("last_message_at")
        if parsed.from_name and parsed.from_name != correspondent.display_name:
            correspondent.display_name = parsed.from_name  # the name they sign with now
            fields.append("display_name")
        if fields:
            correspondent.save(update_fields=fields)
    return correspondent


def _conversation_find(citizen: Citizen, correspondent: Correspondent, parsed: ParsedMessage) -> Conversation | None:
    wanted = [parsed.in_reply_to] if parsed.in_reply_to else []
    wanted += [reference for reference in reversed(parsed.references[-REFERENCES_LOOKUP:]) if reference not in wanted]
    if not wanted:
        return None
    found = dict(
        Message.objects.filter(
            citizen=citizen, message_id__in=wanted, conversation__correspondent=correspondent
        ).values_list("message_id", "conversation_id")
    )
    for message_id in wanted:
        if message_id in found:
            return Conversation.objects.select_for_update().get(pk=found[message_id])
    return None


def _file_save(name: str, data: bytes) -> str:
    try:
        return default_storage.save(name, ContentFile(data), max_length=255)
    except BaseException:
        # The name is a fresh UUID: whatever lies there is this attempt's partial copy.
        try:
            default_storage.delete(name)
        except Exception:  # the storage may be unreachable: the partial file is then an orphan, said in the log
            logger.exception("Fichier %s non supprimé du stockage", name)
        raise


def _attachment_store(message: Message, parsed: ParsedAttachment) -> Attachment:
    inspection = parsed.inspection
    attachment = Attachment(
        citizen=message.citizen,
        message=message,
        filename=parsed.filename,
        declared_type=parsed.declared_type,
        format=inspection.format,
        content_type=inspection.content_type,
        blocked_reason=inspection.blocked_reason,
        size_bytes=parsed.size,
        sha256=parsed.sha256,
    )
    name = Attachment._meta.get_field("file").generate_filename(attachment, parsed.filename)
    stored_name = _file_save(name, parsed.data)
    discard_unless_committed(stored_name, model=Attachment)
    attachment.file.name = stored_name
    attachment.save(force_insert=True)
    return attachment


def _sender_label(parsed: ParsedMessage) -> str:
    label = f"{parsed.from_name} ({parsed.from_address})" if parsed.from_name else parsed.from_address
    return label[:200]


def _deliver(citizen: Citizen, parsed: ParsedMessage, *, size: int, at: datetime) -> Message:
    existing = Message.objects.filter(citizen=citizen, message_id=parsed.message_id).first()
    if existing is not None:
        existing.newly_stored = False
        return existing
    correspondent = _correspondent_upsert(citizen, parsed, at)
    conversation = _conversation_find(citizen, correspondent, parsed)
    if conversation is None:
        conversation = Conversation.objects.create(
            citizen=citizen, correspondent=correspondent, subject=parsed.subject, started_at=at, last_message_at=at
        )
    else:
        fields = []
        if at > conversation.last_message_at:
            conversation.last_message_at = at
            fields.append("last_message_at")
        if conversation.archived_at is not None:
            conversation.archived_at = None  # a new message brings an archived conversation back to the inbox
            fields.append("archived_at")
        if fields:
            conversation.save(update_fields=fields)
    message = Message.objects.create(
        citizen=citizen,
        conversation=conversation,
        direction=Direction.INBOUND,
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=" ".join(parsed.references),
        from_address=parsed.from_address,
        from_name=parsed.from_name,
        to_addresses=parsed.to_addresses,
        cc_addresses=parsed.cc_addresses,
        subject=parsed.subject,
        sent_at=parsed.sent_at,
        received_at=at,
        body_text=parsed.body_text,
        body_html=parsed.body_html,
        size_bytes=size,
    )
    attachments = [_attachment_store(message, attachment) for attachment in parsed.attachments]
    details: dict = {
        "pieces_jointes": len(attachments),
        "pieces_bloquees": sum(1 for attachment in attachments if attachment.blocked_reason),
        "taille": size,
    }
    if parsed.defects:
        details["defauts_mime"] = parsed.defects
    # No subject, text or file name in the journal: only that a message came, from whom, and its shape.
    journal_append(
        actor=None,
        action=MESSAGE_RECEIVED,
        citizen=citizen,
        obj=message,
        actor_label=_sender_label(parsed),
        details=details,
    )
    # Neither the subject nor the sender: the e-mail leaves the trust space and may be read by anyone near the box.
    notify_space(
        citizen=citizen,
        title=_("Nouveau message dans votre messagerie de santé"),
        body=_(
            "Vous avez reçu un nouveau message dans votre messagerie de santé. "
            "Connectez-vous à Mon espace santé pour le lire."
        ),
        link=INBOX_PATH,
    )
    message.newly_stored = True
    return message


def message_ingest(
    *, raw: bytes, envelope_from: str, recipients: list[str], received_at: datetime | None = None
) -> list[Message]:
    """Store the message ``raw`` (bytes as received) for each of ``recipients``; returns one ``Message`` per distinct
    recipient, in their order, each with ``newly_stored`` (``False`` when that citizen already had it).

    Raises ``SenderRefused``, ``RecipientRefused`` or ``MessageRefused`` (too large, too many recipients, parts or
    attachments, or nothing readable), each carrying its SMTP reply; nothing is stored then. ``received_at`` (now by
    default) lets the demo date its messages in the past.
    """
    sender_check(envelope_from)
    addresses = _recipients_unique(recipients)
    parsed = message_parse(raw, envelope_from=envelope_from, patient_domain=settings.MSS_PATIENT_DOMAIN)
    for address in parsed.from_addresses:
        sender_check(address)
    at = received_at or timezone.now()
    with transaction.atomic():
        citizens: list[Citizen] = []
        for address in addresses:
            citizen = recipient_resolve(address)
            if all(citizen.pk != other.pk for other in citizens):
                citizens.append(citizen)
        for citizen in sorted(citizens, key=lambda citizen: citizen.pk):  # one order: no deadlock between deliveries
            _citizen_lock(citizen)
        messages = [_deliver(citizen, parsed, size=len(raw), at=at) for citizen in citizens]
    stored = sum(1 for message in messages if message.newly_stored)
    # Who sent it and its shape, never its subject or content.
    logger.info(
        "Message from %s accepted: %d recipient(s), %d newly stored, %d bytes, %d attachment(s)%s",
        parsed.from_address,
        len(messages),
        stored,
        len(raw),
        len(parsed.attachments),
        f", MIME defects: {', '.join(parsed.defects)}" if parsed.defects else "",
    )
    return messages
