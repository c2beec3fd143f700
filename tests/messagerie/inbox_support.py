"""Conversations, messages and attachments written straight with the ORM, as ingestion would have stored them.

The inbox's tests do not go through the ingestion service: they build exactly the rows they need (a malicious
``body_html`` included, as if it had reached the database by another way) and store attachment files through the
default storage.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from dateutil.relativedelta import relativedelta
from django.core.files.base import ContentFile
from django.utils import timezone

from mes.acces.policy import CitizenAccess, citizen_access
from mes.comptes.models import Citizen
from mes.comptes.selectors.profiles import ACTIVE_PROFILE_SESSION_KEY
from messagerie.models import Attachment, AttachmentFormat, Conversation, Correspondent, Direction, Message
from tests.factories import CitizenFactory

DOCTOR_ADDRESS = "dr.martin@hopital-exemple.mssante.fr"
DOCTOR_NAME = "Dr Jean Martin"
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\nstartxref\n9\n%%EOF\n"
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64 + b"This program cannot be run in DOS mode."
SVG_BYTES = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
ICS_BYTES = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Hopital//FR\r\nBEGIN:VEVENT\r\nUID:rdv-1@hopital\r\n"
    b"DTSTAMP:20270301T080000Z\r\nDTSTART:20270312T083000Z\r\nDTEND:20270312T090000Z\r\n"
    b"SUMMARY:Consultation\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)

# Inserted directly in the database, as an attacker who got past ingestion (or an older ingestion) would.
MALICIOUS_HTML = (
    '<p>Bonjour,</p><script>alert("script")</script>'
    '<img src="x" onerror="alert(\'onerror\')">'
    "<a href=\"javascript:alert('lien')\">Voir le résultat</a>"
    '<p onclick="alert(\'clic\')" style="background:url(javascript:alert(1))">Cordialement</p>'
    '<iframe src="https://exemple.fr/piege"></iframe>'
    '<svg><script>alert("svg")</script></svg>'
    '<form action="/messagerie/"><input name="x"></form>'
    '<a href="/messagerie/" class="fr-btn">Action du site</a>'
    '<object data="x.swf"></object><embed src="x.swf">'
    '<meta http-equiv="refresh" content="0;url=https://exemple.fr/">'
    "<style>body{display:none}</style>"
    '<a href="https://exemple.fr/resultats">Lien sûr</a>'
)


def access_for(citizen: Citizen) -> CitizenAccess:
    return citizen_access(citizen.user, citizen)


def make_child(parent: Citizen) -> Citizen:
    """Léa, 8, whose legal representative is ``parent``."""
    child = CitizenFactory(
        user=None, first_names="Léa Anne", birth_name="DURAND", birth_date=timezone.localdate() - relativedelta(years=8)
    )
    child.legal_representatives.add(parent.user)
    return child


def act_for(client, citizen: Citizen) -> None:
    session = client.session
    session[ACTIVE_PROFILE_SESSION_KEY] = str(citizen.public_id)
    session.save()


def make_correspondent(
    citizen: Citizen, *, address: str = DOCTOR_ADDRESS, display_name: str = DOCTOR_NAME, at: datetime | None = None
) -> Correspondent:
    at = at or timezone.now()
    correspondent, _created = Correspondent.objects.get_or_create(
        citizen=citizen,
        address=address.lower(),
        defaults={"display_name": display_name, "first_message_at": at, "last_message_at": at},
    )
    return correspondent


def make_conversation(
    citizen: Citizen,
    *,
    subject: str = "Résultats de votre bilan sanguin",
    correspondent: Correspondent | None = None,
    at: datetime | None = None,
    archived: bool = False,
) -> Conversation:
    at = at or timezone.now()
    return Conversation.objects.create(
        citizen=citizen,
        correspondent=correspondent or make_correspondent(citizen, at=at),
        subject=subject,
        started_at=at,
        last_message_at=at,
        archived_at=at if archived else None,
    )


def make_message(
    conversation: Conversation,
    *,
    direction: str = Direction.INBOUND,
    read: bool = False,
    at: datetime | None = None,
    body_text: str = "Bonjour,\nVos résultats sont normaux.\nDr Martin",
    body_html: str = "",
    from_address: str | None = None,
    from_name: str | None = None,
    to: list[str] | None = None,
    cc: list[str] | None = None,
) -> Message:
    """A message of ``conversation``, which it makes the newest (``last_message_at``) when it is."""
    at = at or timezone.now()
    citizen = conversation.citizen
    inbound = direction == Direction.INBOUND
    correspondent = conversation.correspondent
    message = Message.objects.create(
        citizen=citizen,
        conversation=conversation,
        direction=direction,
        message_id=f"<{uuid.uuid4().hex}@hopital-exemple.mssante.fr>",
        from_address=from_address or (correspondent.address if inbound else citizen.mss_address),
        from_name=from_name if from_name is not None else (correspondent.display_name if inbound else ""),
        to_addresses=to if to is not None else [citizen.mss_address if inbound else correspondent.address],
        cc_addresses=cc or [],
        subject=conversation.subject,
        sent_at=at,
        received_at=at,
        body_text=body_text,
        body_html=body_html,
        size_bytes=len(body_text) + len(body_html),
        read_at=at if (read and inbound) else None,
        sent_by=citizen.user if not inbound else None,
        delivery_status="" if inbound else "envoye",
    )
    if at > conversation.last_message_at:
        Conversation.objects.filter(pk=conversation.pk).update(last_message_at=at)
        conversation.last_message_at = at
    return message


def make_attachment(
    message: Message,
    *,
    content: bytes = PDF_BYTES,
    filename: str = "compte-rendu.pdf",
    format: str = AttachmentFormat.PDF,
    content_type: str = "application/pdf",
    declared_type: str = "",
    blocked_reason: str = "",
) -> Attachment:
    """An attachment whose bytes are stored through the default storage, under the model's server-made name."""
    attachment = Attachment(
        citizen=message.citizen,
        message=message,
        filename=filename,
        declared_type=declared_type or content_type,
        format=format,
        content_type=content_type,
        blocked_reason=blocked_reason,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    attachment.file.save(filename, ContentFile(content), save=False)
    attachment.save()
    return attachment


def make_thread(
    citizen: Citizen,
    *,
    messages: int = 1,
    attachments: int = 0,
    read: bool = False,
    subject: str = "Résultats de votre bilan sanguin",
    at: datetime | None = None,
    archived: bool = False,
) -> Conversation:
    """A conversation of ``messages`` received messages a minute apart, each with ``attachments`` PDF files."""
    start = at or timezone.now() - timedelta(hours=1)
    conversation = make_conversation(citizen, subject=subject, at=start, archived=archived)
    for index in range(messages):
        message = make_message(conversation, read=read, at=start + timedelta(minutes=index))
        for number in range(attachments):
            make_attachment(message, filename=f"document-{index}-{number}.pdf")
    return conversation
