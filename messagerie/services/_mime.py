"""Reading a received e-mail: MIME structure, headers, bodies and attachments, without trusting any of it.

Used by ``messagerie.services.ingest`` only. Everything a sender wrote is treated as hostile:
- strings lose lone surrogates (undecodable header bytes), NUL and control characters before they reach PostgreSQL;
- the HTML body is rebuilt by nh3 from a short list of formatting tags: no script, style, handler, image, form or
  frame survives, links keep http(s)/mailto/tel targets only and get ``rel="noopener noreferrer"``;
- an attachment's format is recognised from its bytes by the dossier's inspector (``dossier.uploads``), plus
  iCalendar and plain text; anything else, or content that disagrees with the file's name, is kept but blocked
  (``format=autre``, served as nothing);
- the structure is bounded: MIME parts, nesting depth and attachments beyond the limits refuse the whole message
  (never a silent truncation), as does a message that is not an RFC 5322 message at all.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.errors import MessageError
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser

import nh3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dossier.uploads import DocumentRefused, filename_sanitize, inspect_bytes
from mes.text import single_line
from messagerie.models import AttachmentFormat

# A message nested deeper than this is no legitimate mail (a forwarded message inside a signed one is 4 or 5).
MAX_DEPTH = 12
MESSAGE_ID_MAX = 998  # Message.message_id
NAME_MAX = 200  # Message.from_name, Correspondent.display_name
ADDRESS_MAX = 254
BLOCKED_REASON_MAX = 200  # Attachment.blocked_reason
OCTET_STREAM = "application/octet-stream"


class IngestRefused(Exception):
    """A message, sender or recipient the platform does not accept.

    ``str()`` is the explanation in French, for people (the inject command); ``smtp_reply`` is what the SMTP server
    answers: the reply code, the enhanced status code (RFC 3463) and a short ASCII text.
    """

    def __init__(self, message: str, *, code: int, status: str, text: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.text = text

    @property
    def smtp_reply(self) -> str:
        return f"{self.code} {self.status} {self.text}"


class MessageRefused(IngestRefused):
    """The message itself is refused: too large, too many parts, or unreadable."""


def refused_too_large(limit: int) -> MessageRefused:
    return MessageRefused(
        _("Le message dépasse la taille maximale acceptée (%(limit)s octets).") % {"limit": limit},
        code=552,
        status="5.3.4",
        text="Message size exceeds fixed maximum message size",
    )


def refused_unreadable(detail: str) -> MessageRefused:
    return MessageRefused(
        _("Le message est illisible : %(detail)s") % {"detail": detail},
        code=554,
        status="5.6.0",
        text="Message content is malformed and cannot be read",
    )


# --- Text hygiene ---------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: object) -> str:
    """Text fit for the database and the page: undecodable bytes become U+FFFD, NUL and controls other than tab
    and line breaks are removed, line breaks are normalised to ``\\n``."""
    text = str(value or "")
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def clean_line(value: object, max_length: int | None = None) -> str:
    text = single_line(clean_text(value))
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1].rstrip() + "…"
    return text


def address_normalise(address: str | None) -> str | None:
    """The lower-cased addr-spec, or ``None`` when it is not a usable e-mail address."""
    address = clean_text(address).strip().strip("<>").strip().lower()
    if not address or len(address) > ADDRESS_MAX:
        return None
    try:
        validate_email(address)
    except ValidationError:
        return None
    return address


# --- HTML -----------------------------------------------------------------------------------------------------

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s",
    "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u",
    "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}
# Removed with everything inside them (the others lose their tags but keep their text).
DROPPED_WITH_CONTENT = {
    "script", "style", "title", "noscript", "template", "iframe", "object", "embed", "svg", "math", "textarea",
    "select", "applet", "frameset",
}  # fmt: skip
URL_SCHEMES = {"http", "https", "mailto", "tel"}


def html_sanitise(html: str) -> str:
    """Only harmless formatting is kept: no script, style, event handler, image (no tracking pixel, no remote
    resource), form or frame; links only to http(s), mailto and tel, with ``rel="noopener noreferrer"``; relative
    links (which would point into the portal itself) lose their target."""
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        url_relative="deny",
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return cleaned.strip()


_BLOCK_TAGS = {
    "p", "div", "br", "li", "tr", "table", "blockquote", "pre", "hr", "dd", "dt", "dl", "ul", "ol", "caption",
    "h1", "h2", "h3", "h4", "h5", "h6",
}  # fmt: skip


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag in _BLOCK_TAGS:
            self.chunks.append("\n")
        elif tag in ("td", "th"):
            self.chunks.append("\t")

    def handle_endtag(self, tag) -> None:
        if tag in _BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data) -> None:
        self.chunks.append(data)


def html_to_text(html: str) -> str:
    """A plain-text version of (already sanitised) HTML, for a message that came with an HTML body only."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = [" ".join(line.split()) for line in "".join(extractor.chunks).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --- Attachments ------------------------------------------------------------------------------------------------

_EXTENSIONS = {
    AttachmentFormat.PDF: {".pdf"},
    AttachmentFormat.JPEG: {".jpg", ".jpeg", ".jpe", ".jfif"},
    AttachmentFormat.PNG: {".png"},
    AttachmentFormat.CDA: {".xml", ".cda"},
    AttachmentFormat.ICS: {".ics", ".ical", ".icalendar", ".ifb", ".vcs"},
    AttachmentFormat.TEXT: {".txt", ".text", ".csv", ".asc", ".log"},
}
_CANONICAL_EXTENSION = {
    AttachmentFormat.PDF: ".pdf",
    AttachmentFormat.JPEG: ".jpg",
    AttachmentFormat.PNG: ".png",
    AttachmentFormat.CDA: ".xml",
    AttachmentFormat.ICS: ".ics",
    AttachmentFormat.TEXT: ".txt",
}
# What counts as a file's extension: « .pdf », « .jpeg »; not the « .2024 » of « CR du 12.03.2024 ».
_EXTENSION = re.compile(r"\.[a-z][a-z0-9]{0,9}$")
# Markup a browser would render or run, refused inside what claims to be plain text.
_TEXT_MARKUP = (
    "<script", "<html", "<svg", "<iframe", "<body", "<?php", "<object", "<embed", "<!doctype", "<meta", "<head",
    "<?xml", "<form", "<img", "javascript:",
)  # fmt: skip
_TEXT_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_BOM_AND_BLANKS = b"\xef\xbb\xbf \t\r\n"

_REFUSAL_REASONS = {
    "archive": gettext_lazy("Archive compressée : pièce jointe bloquée par sécurité."),
    "office": gettext_lazy(
        "Document bureautique (Word, Excel, RTF…) : format non pris en charge, pièce jointe bloquée."
    ),
    "executable": gettext_lazy("Programme exécutable : pièce jointe bloquée par sécurité."),
    "script": gettext_lazy("Script (du code à exécuter) : pièce jointe bloquée par sécurité."),
    "html": gettext_lazy("Page web (HTML), qui peut contenir du code : pièce jointe bloquée par sécurité."),
    "svg": gettext_lazy("Image SVG, qui peut contenir du code : pièce jointe bloquée par sécurité."),
    "image_other": gettext_lazy(
        "Format d’image non pris en charge (seuls JPEG et PNG le sont) : pièce jointe bloquée."
    ),
    "media": gettext_lazy("Fichier audio ou vidéo : format non pris en charge, pièce jointe bloquée."),
    "unknown": gettext_lazy("Format de fichier non reconnu : pièce jointe bloquée par sécurité."),
}


@dataclass(frozen=True)
class Inspection:
    format: str
    content_type: str
    blocked_reason: str = ""


def _blocked(reason: str) -> Inspection:
    if len(reason) > BLOCKED_REASON_MAX:
        reason = _("Contenu refusé par le contrôle de sécurité : pièce jointe bloquée.")
    return Inspection(format=AttachmentFormat.OTHER, content_type=OCTET_STREAM, blocked_reason=reason)


def _decode_strict(data: bytes, charset: str | None) -> tuple[str, str] | None:
    """The text and the codec that reads all of it: the declared charset, else UTF-8, else Windows-1252."""
    for candidate in (charset, "utf-8", "cp1252"):
        if not candidate:
            continue
        try:
            codec = codecs.lookup(candidate)
            return data.decode(codec.name), codec.name
        except (LookupError, UnicodeDecodeError):
            continue
    return None


def _calendar(data: bytes, charset: str | None) -> Inspection | None:
    """An iCalendar file (``BEGIN:VCALENDAR`` … ``END:VCALENDAR``), or ``None`` when the bytes are not one.

    Its HTML alternative descriptions (X-ALT-DESC of some calendar clients) are no danger: it is only ever sent as
    a download, and read by the agenda's importer."""
    if not data.lstrip(_BOM_AND_BLANKS)[:15].upper().startswith(b"BEGIN:VCALENDAR"):
        return None
    decoded = _decode_strict(data, charset)
    if decoded is None or "\x00" in decoded[0]:
        return _blocked(_("Fichier d’agenda (iCalendar) illisible : pièce jointe bloquée."))
    text, codec = decoded
    if not text.rstrip().upper().endswith("END:VCALENDAR"):
        return _blocked(_("Fichier d’agenda (iCalendar) incomplet ou endommagé : pièce jointe bloquée."))
    return Inspection(format=AttachmentFormat.ICS, content_type=f"text/calendar; charset={codec}")


def _plain_text(data: bytes, charset: str | None) -> Inspection:
    if _TEXT_CONTROL.search(data):
        return _blocked(str(_REFUSAL_REASONS["unknown"]))
    decoded = _decode_strict(data, charset)
    if decoded is None:
        return _blocked(str(_REFUSAL_REASONS["unknown"]))
    text, codec = decoded
    lowered = text.lower()
    if any(marker in lowered for marker in _TEXT_MARKUP):
        return _blocked(_("Ce texte contient du code de page web ou un script : pièce jointe bloquée par sécurité."))
    return Inspection(format=AttachmentFormat.TEXT, content_type=f"text/plain; charset={codec}")


def file_extension(filename: str) -> str:
    extension = os.path.splitext(filename)[1].lower()
    return extension if _EXTENSION.match(extension) else ""


def attachment_inspect(data: bytes, *, filename: str, charset: str | None = None) -> Inspection:
    """The format of an attachment from its content, and why it is blocked, if it is.

    PDF, JPEG, PNG and CDA R2 are checked by the dossier's inspector (structure, polyglots); iCalendar and plain text
    are recognised here. A file whose name announces another format than its content is blocked too: a « .pdf »
    that is a program, a « .txt » that is an HTML page."""
    if not data:
        return _blocked(_("Pièce jointe vide."))
    inspection = _calendar(data, charset)
    if inspection is None:
        try:
            inspected = inspect_bytes(data, max_bytes=len(data))
            inspection = Inspection(format=inspected.format, content_type=inspected.content_type)
        except DocumentRefused as refusal:
            if refusal.code != "unknown":
                return _blocked(str(_REFUSAL_REASONS.get(refusal.code) or refusal.messages[0]))
            inspection = _plain_text(data, charset)
    if inspection.blocked_reason:
        return inspection
    extension = file_extension(filename)
    if extension and extension not in _EXTENSIONS[inspection.format]:
        return _blocked(
            _(
                "Le contenu de ce fichier (%(format)s) ne correspond pas à son nom (%(extension)s) : "
                "pièce jointe bloquée."
            )
            % {"format": AttachmentFormat(inspection.format).label, "extension": extension}
        )
    return inspection


# --- The message ------------------------------------------------------------------------------------------------


@dataclass
class ParsedAttachment:
    filename: str
    declared_type: str
    data: bytes
    inspection: Inspection
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class ParsedMessage:
    message_id: str
    in_reply_to: str
    references: list[str]
    from_address: str
    from_name: str
    from_addresses: list[str]  # every address of the From header (each must be an allowed sender)
    to_addresses: list[str]
    cc_addresses: list[str]
    subject: str
    sent_at: datetime | None
    body_text: str
    body_html: str
    attachments: list[ParsedAttachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)  # names of what was wrong but could be read around


_MESSAGE_ID = re.compile(rf"<[^<>\s]{{1,{MESSAGE_ID_MAX - 2}}}>")
# What the email package raises on input it cannot make sense of (its own bugs on hostile input included).
_PARSE_ERRORS = (MessageError, RecursionError, ValueError, TypeError, IndexError, KeyError, AttributeError)


def _message_ids(value: object) -> list[str]:
    return _MESSAGE_ID.findall(clean_text(value))


def _header(message: EmailMessage, name: str):
    """A header, or ``None``: a header the parser cannot even build is as good as absent (and noted)."""
    try:
        return message.get(name)
    except _PARSE_ERRORS:
        return None


def _addresses(message: EmailMessage, name: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) of each valid address of an address header, in order, without repeats."""
    header = _header(message, name)
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for address in getattr(header, "addresses", ()) or ():
        normalised = address_normalise(getattr(address, "addr_spec", ""))
        if normalised and normalised not in seen:
            seen.add(normalised)
            found.append((clean_line(getattr(address, "display_name", ""), NAME_MAX), normalised))
    return found


def _sent_at(message: EmailMessage) -> datetime | None:
    value = getattr(_header(message, "Date"), "datetime", None)
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _part_text(part: EmailMessage, defects: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload() or "").encode("utf-8", "surrogateescape")
    decoded = _decode_strict(payload, part.get_content_charset())
    if decoded is None:
        defects.append("UndecodableText")
        return clean_text(payload.decode("utf-8", "replace"))
    return clean_text(decoded[0])


def _leaves(message: EmailMessage, max_parts: int) -> list[EmailMessage]:
    """The parts that hold content, depth first; a forwarded message (message/rfc822) is one leaf."""
    leaves: list[EmailMessage] = []
    stack: list[tuple[EmailMessage, int]] = [(message, 0)]
    count = 0
    while stack:
        part, depth = stack.pop()
        count += 1
        if count > max_parts:
            raise MessageRefused(
                _("Le message compte plus de %(max)s parties MIME : il est refusé.") % {"max": max_parts},
                code=552,
                status="5.3.4",
                text="Too many MIME parts in message",
            )
        if depth > MAX_DEPTH:
            raise refused_unreadable(_("ses parties MIME sont imbriquées trop profondément."))
        if part.get_content_maintype() == "multipart" and part.is_multipart():
            stack.extend((child, depth + 1) for child in reversed(list(part.iter_parts())))
        else:
            leaves.append(part)
    return leaves


def _attachment_bytes(part: EmailMessage) -> bytes:
    if part.get_content_type() == "message/rfc822" and part.is_multipart():
        try:
            return part.get_payload(0).as_bytes(policy=policy.SMTP)
        except _PARSE_ERRORS:
            return str(part.get_payload(0)).encode("utf-8", "surrogateescape")
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    return str(part.get_payload() or "").encode("utf-8", "surrogateescape")


def _attachment(part: EmailMessage, index: int) -> ParsedAttachment:
    try:
        original = part.get_filename()
    except _PARSE_ERRORS:
        original = None
    original = clean_line(original) if original else ""
    declared = clean_line(part.get_content_type())[:255]
    data = _attachment_bytes(part)
    if part.get_content_type() == "message/rfc822":
        inspection = _blocked(_("Message électronique joint (.eml) : il n’est pas affiché, pièce jointe bloquée."))
    else:
        inspection = attachment_inspect(data, filename=original, charset=part.get_content_charset())
    if original:
        filename = filename_sanitize(original)
    else:
        filename = f"piece-jointe-{index}{_CANONICAL_EXTENSION.get(inspection.format, '')}"
    return ParsedAttachment(
        filename=filename,
        declared_type=declared,
        data=data,
        inspection=inspection,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def message_parse(raw: bytes, *, envelope_from: str, patient_domain: str) -> ParsedMessage:
    """Read ``raw`` (the message as received); ``MessageRefused`` when there is nothing that can be read safely."""
    limit = settings.MSS_MAX_MESSAGE_BYTES
    if len(raw) > limit:
        raise refused_too_large(limit)
    try:
        return _parse(raw, envelope_from=envelope_from, patient_domain=patient_domain)
    except _PARSE_ERRORS as error:
        raise refused_unreadable(_("sa structure MIME ne peut pas être lue.")) from error


def _parse(raw: bytes, *, envelope_from: str, patient_domain: str) -> ParsedMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    if not message.keys():
        raise refused_unreadable(_("il ne commence pas par des en-têtes de courrier électronique."))
    defects: list[str] = []

    senders = _addresses(message, "From")
    if not senders:
        # No readable From: the envelope sender, which passed the same checks, stands for the author.
        defects.append("FromMissing")
        senders = [("", address_normalise(envelope_from) or "")]
    from_name, from_address = senders[0]

    message_ids = _message_ids(_header(message, "Message-ID"))
    if message_ids:
        message_id = message_ids[0]
    else:
        # Derived from the bytes: the same message delivered again gets the same identifier (idempotent).
        defects.append("MessageIdMissing")
        message_id = f"<sans-identifiant.{hashlib.sha256(raw).hexdigest()[:40]}@{patient_domain}>"
    in_reply_to = next(iter(_message_ids(_header(message, "In-Reply-To"))), "")

    leaves = _leaves(message, settings.MSS_MAX_MIME_PARTS)  # first: the limits hold before anything else walks it
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    body_text = _part_text(text_part, defects) if text_part is not None else ""
    body_html = html_sanitise(_part_text(html_part, defects)) if html_part is not None else ""
    if not body_text.strip() and body_html:
        body_text = html_to_text(body_html)

    attachments: list[ParsedAttachment] = []
    body_parts = {id(text_part), id(html_part)}
    for leaf in leaves:
        if id(leaf) in body_parts:
            continue
        if leaf.get_content_maintype() == "multipart":
            # A multipart whose boundary cannot be found: its raw text is all there is to read.
            defects.append("MultipartWithoutParts")
            if not body_text.strip():
                body_text = clean_text(leaf.get_payload() if isinstance(leaf.get_payload(), str) else "")
            continue
        try:
            has_name = bool(leaf.get_filename())
        except _PARSE_ERRORS:
            has_name = False
        if not has_name and not _attachment_bytes(leaf).strip():
            continue  # an empty part without a name carries nothing (an empty alternative, a blank footer)
        if len(attachments) >= settings.MSS_MAX_ATTACHMENTS:
            raise MessageRefused(
                _("Le message compte plus de %(max)s pièces jointes : il est refusé.")
                % {"max": settings.MSS_MAX_ATTACHMENTS},
                code=552,
                status="5.3.4",
                text="Too many attachments in message",
            )
        attachments.append(_attachment(leaf, len(attachments) + 1))

    subject = clean_line(_header(message, "Subject"))
    if not (subject or body_text.strip() or body_html or attachments):
        raise refused_unreadable(_("il n’a ni objet, ni texte, ni pièce jointe."))

    for part in [message, *leaves]:
        defects.extend(type(defect).__name__ for defect in getattr(part, "defects", ()))
    for name in ("From", "To", "Cc", "Date", "Subject", "Message-ID"):
        defects.extend(type(defect).__name__ for defect in getattr(_header(message, name), "defects", ()))

    return ParsedMessage(
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=_message_ids(_header(message, "References")),
        from_address=from_address,
        from_name=from_name,
        from_addresses=[address for _name, address in senders],
        to_addresses=[address for _name, address in _addresses(message, "To")],
        cc_addresses=[address for _name, address in _addresses(message, "Cc")],
        subject=subject,
        sent_at=_sent_at(message),
        body_text=body_text,
        body_html=body_html,
        attachments=attachments,
        defects=sorted(set(defects)),
    )
