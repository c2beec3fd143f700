"""Helpers of the tests of the citizen's actions: conversations, messages and attachments made directly with the ORM
(files through the default storage), sample calendars, mail backends that fail, and a real SMTP sink on loopback."""

from __future__ import annotations

import hashlib
import smtplib
import socket
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from aiosmtpd.controller import Controller
from dateutil.relativedelta import relativedelta
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from mes.acces.policy import CitizenAccess, citizen_access
from mes.comptes.models import Citizen
from messagerie.models import (
    Attachment,
    AttachmentFormat,
    Conversation,
    Correspondent,
    Direction,
    Message,
    attachment_upload_to,
)
from tests.dossier.documents_samples import pdf_bytes
from tests.factories import CitizenFactory

DOCTOR_ADDRESS = "claire.martin@hopital-nord.mssante.fr"
DOCTOR_NAME = "Dr Claire Martin"
CARDIO_ADDRESS = "secretariat.cardio@clinique-sud.mssante.fr"
CARDIO_NAME = "Secrétariat de cardiologie"

EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def own_access(citizen: Citizen) -> CitizenAccess:
    return citizen_access(citizen.user, citizen)


def minor_child_of(citizen: Citizen) -> Citizen:
    """Léa, 8, whose legal representative is ``citizen``."""
    child = CitizenFactory(
        user=None, first_names="Léa Anne", birth_name="DURAND", birth_date=timezone.localdate() - relativedelta(years=8)
    )
    child.legal_representatives.add(citizen.user)
    return child


def correspondent_for(citizen: Citizen, address: str = DOCTOR_ADDRESS, name: str = DOCTOR_NAME) -> Correspondent:
    now = timezone.now()
    correspondent, _created = Correspondent.objects.get_or_create(
        citizen=citizen,
        address=address.lower(),
        defaults={"display_name": name, "first_message_at": now, "last_message_at": now},
    )
    return correspondent


_counter = iter(range(1, 10**9))


def inbound_message(
    citizen: Citizen,
    *,
    correspondent: Correspondent | None = None,
    conversation: Conversation | None = None,
    subject: str = "Compte rendu de votre consultation",
    body: str = "Bonjour,\nvoici le compte rendu de votre consultation.\nBien cordialement,\nDr Martin",
    message_id: str = "",
    references: str = "",
    in_reply_to: str = "",
    cc: tuple[str, ...] = (),
) -> Message:
    """A message a professional sent to ``citizen`` (a new conversation unless ``conversation`` is given)."""
    correspondent = correspondent or (conversation.correspondent if conversation else correspondent_for(citizen))
    now = timezone.now() - timedelta(hours=2)
    if conversation is None:
        conversation = Conversation.objects.create(
            citizen=citizen, correspondent=correspondent, subject=subject, started_at=now, last_message_at=now
        )
    number = next(_counter)
    return Message.objects.create(
        citizen=citizen,
        conversation=conversation,
        direction=Direction.INBOUND,
        message_id=message_id or f"<msg-{number}.{citizen.pk}@hopital-nord.mssante.fr>",
        in_reply_to=in_reply_to,
        references=references,
        from_address=correspondent.address,
        from_name=correspondent.display_name,
        to_addresses=[citizen.mss_address],
        cc_addresses=list(cc),
        subject=subject,
        sent_at=now,
        received_at=now,
        body_text=body,
        size_bytes=len(body.encode()),
    )


FORMAT_TYPES = {
    AttachmentFormat.PDF: "application/pdf",
    AttachmentFormat.JPEG: "image/jpeg",
    AttachmentFormat.PNG: "image/png",
    AttachmentFormat.CDA: "text/xml",
    AttachmentFormat.ICS: "text/calendar",
    AttachmentFormat.TEXT: "text/plain",
    AttachmentFormat.OTHER: "application/octet-stream",
}


def attachment_of(
    message: Message,
    *,
    filename: str = "compte-rendu.pdf",
    data: bytes | None = None,
    format: str = AttachmentFormat.PDF,
    blocked_reason: str = "",
    declared_type: str = "",
) -> Attachment:
    """An attachment of ``message`` with its file in the default storage."""
    data = pdf_bytes("Compte rendu de consultation") if data is None else data
    attachment = Attachment(
        citizen=message.citizen,
        message=message,
        filename=filename,
        declared_type=declared_type or FORMAT_TYPES[format],
        format=AttachmentFormat.OTHER if blocked_reason else format,
        content_type="application/octet-stream" if blocked_reason else FORMAT_TYPES[format],
        blocked_reason=blocked_reason,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    attachment.file.name = default_storage.save(attachment_upload_to(attachment, filename), ContentFile(data))
    attachment.save(force_insert=True)
    return attachment


def ics_bytes(*, uid: str = "rdv-cardio-20300312@clinique-sud.mssante.fr", with_task: bool = True) -> bytes:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Clinique Sud//Rendez-vous//FR",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20300301T080000Z",
        "DTSTART;TZID=Europe/Paris:20300312T093000",
        "DTEND;TZID=Europe/Paris:20300312T100000",
        "SUMMARY:Consultation de cardiologie",
        "LOCATION:Clinique Sud\\, 12 rue de la Paix\\, Paris",
        "END:VEVENT",
    ]
    if with_task:
        lines += [
            "BEGIN:VTODO",
            "UID:bilan-sanguin-20300310@clinique-sud.mssante.fr",
            "DTSTAMP:20300301T080000Z",
            "SUMMARY:Faire la prise de sang avant la consultation",
            "DUE;VALUE=DATE:20300310",
            "END:VTODO",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


# A readable calendar whose only event has no start: refused by the agenda, nothing added.
ICS_WITHOUT_START = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//FR\r\nBEGIN:VEVENT\r\nUID:sans-date@test\r\n"
    b"SUMMARY:Rendez-vous sans date\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
# Not iCalendar at all, though detected as such by its first line.
ICS_BROKEN = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nceci n'est pas une ligne\r\n"


# --- Mail backends that fail ---------------------------------------------------------------------------------------


class RefusingBackend(BaseEmailBackend):
    """A server that refuses every recipient for good (550)."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPRecipientsRefused(
            dict.fromkeys(email_messages[0].to, (550, b"5.1.1 Recipient address rejected: unknown user"))
        )


class UnreachableBackend(BaseEmailBackend):
    """A server that cannot be reached (connection refused): a transient failure."""

    calls = 0

    def send_messages(self, email_messages):
        UnreachableBackend.calls += 1
        raise ConnectionRefusedError(111, "Connection refused")


# --- A real SMTP server on loopback --------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class SinkHandler:
    """Accepts every message, except the recipients of ``refuse`` (address → SMTP answer)."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Ok: queued"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def smtp_sink(handler: SinkHandler) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller


def act_for(client, citizen: Citizen) -> None:
    """The signed-in parent chooses their child's space in the header."""
    from mes.comptes.selectors.profiles import ACTIVE_PROFILE_SESSION_KEY

    session = client.session
    session[ACTIVE_PROFILE_SESSION_KEY] = str(citizen.public_id)
    session.save()


def page_text(response) -> str:
    """The page's text as a person reads it (tags removed, blanks folded), for assertions on wording."""
    import html
    import re

    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(html.unescape(text).split())
