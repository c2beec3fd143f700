"""Uploaded documents: recognised by their content, streamed to the storage with their SHA-256.

The name and the declared type of an upload are never trusted. The bytes are read once, by chunks, while they are
copied to the storage under a server-generated name; on the way, ``ContentInspector``:
- counts them against the size limit and computes the SHA-256;
- recognises the format from the first bytes (magic numbers) and refuses, with a French message naming the reason,
  everything that is not PDF, JPEG, PNG or CDA R2: archives, office documents, executables, scripts, HTML, SVG,
  other images, audio and video;
- checks the structure of the accepted formats: PDF header and ``startxref … %%EOF`` at the end, JPEG segments and
  end-of-image marker, the whole chunk sequence of a PNG (IHDR first, CRCs, IEND last), a CDA parsed as XML with
  DOCTYPE and entities refused (no XXE, no « billion laughs ») and ``ClinicalDocument`` of ``urn:hl7-org:v3`` as root;
- refuses polyglots: a ZIP end-of-central-directory record at the end, a RAR or 7z signature anywhere, HTML or
  script markers in the first or last kilobytes, data after the end of a PDF, JPEG or PNG.
A refused upload leaves nothing in the storage, and ``discard_unless_committed`` removes a stored file again when the
transaction that was to reference it does not commit.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote
from xml.parsers import expat

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.utils.translation import gettext as _

from dossier.models.documents import DocumentFormat
from mes.uploads import delete_quietly, discard_unless_committed  # noqa: F401 - used by the bricks through here

CHUNK_SIZE = 256 * 1024  # bytes read from the upload, written to the storage, and sent back at once
HEAD_DECIDE = 4096  # bytes looked at to recognise the format (and to look for markup markers)
HEAD_KEEP = 64 * 1024  # bytes of the beginning kept for the structure checks (JPEG segments)
MARKER_WINDOW = 4096  # first and last bytes searched for HTML or script markers
ZIP_EOCD_WINDOW = 65_535 + 22  # a ZIP end-of-central-directory record lies within this many bytes of the end
PDF_EOF_WINDOW = 1024  # %%EOF must lie within the last kilobyte, as PDF readers expect
TAIL_KEEP = ZIP_EOCD_WINDOW
MAX_ORIGINAL_NAME = 150  # Document.original_name

HL7_V3_NS = "urn:hl7-org:v3"
XHTML_NS = "http://www.w3.org/1999/xhtml"
SVG_NS = "http://www.w3.org/2000/svg"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RAR_SIGNATURE = b"Rar!\x1a\x07"
SEVEN_ZIP_SIGNATURE = b"7z\xbc\xaf\x27\x1c"


@dataclass(frozen=True)
class FormatInfo:
    content_type: str
    extensions: tuple[str, ...]  # the first is the canonical one
    label: str
    inline: bool  # may be shown in the page (PDF viewer, <img>)


FORMATS: dict[str, FormatInfo] = {
    DocumentFormat.PDF: FormatInfo("application/pdf", (".pdf",), "PDF", True),
    DocumentFormat.JPEG: FormatInfo("image/jpeg", (".jpg", ".jpeg", ".jpe"), "JPEG", True),
    DocumentFormat.PNG: FormatInfo("image/png", (".png",), "PNG", True),
    # IHE XDS and the CI-SIS give CDA documents the MIME type text/xml.
    DocumentFormat.CDA: FormatInfo("text/xml", (".xml",), "CDA R2", False),
}


class DocumentRefused(ValidationError):
    """The content of an upload is refused; ``code`` names the reason, the message says it in French."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code=code)


def size_limit_mb(max_bytes: int) -> str:
    """« 20 » for 20 MiB, « 0,5 » for half of one: the limit as the citizen reads it, in Mo."""
    value = max_bytes / 1024**2
    if value >= 10:
        text = f"{value:.0f}"
    elif value >= 1:
        text = f"{value:.1f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:.2g}"
    return text.replace(".", ",")


def refused_too_large(max_bytes: int) -> DocumentRefused:
    return DocumentRefused(
        _("Le fichier dépasse la taille maximale autorisée de %(limit)s Mo.") % {"limit": size_limit_mb(max_bytes)},
        "too_large",
    )


def _refused_empty() -> DocumentRefused:
    return DocumentRefused(_("Le fichier est vide."), "empty")


# --- Recognising the format from the first bytes -------------------------------------------------------------------

# Signatures at offset 0 of what is refused: (signature, reason code, kind shown in the message).
_REFUSED_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"PK\x03\x04", "archive", "ZIP"),
    (b"PK\x05\x06", "archive", "ZIP"),
    (b"PK\x07\x08", "archive", "ZIP"),
    (RAR_SIGNATURE, "archive", "RAR"),
    (SEVEN_ZIP_SIGNATURE, "archive", "7z"),
    (b"\x1f\x8b", "archive", "gzip"),
    (b"BZh", "archive", "bzip2"),
    (b"\xfd7zXZ\x00", "archive", "xz"),
    (b"\x28\xb5\x2f\xfd", "archive", "zstd"),
    (b"MSCF", "archive", "CAB"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "office", "Word, Excel ou PowerPoint"),
    (b"{\\rtf", "office", "RTF"),
    (b"MZ", "executable", "Windows"),
    (b"\x7fELF", "executable", "Linux"),
    (b"\xfe\xed\xfa\xce", "executable", "macOS"),
    (b"\xfe\xed\xfa\xcf", "executable", "macOS"),
    (b"\xce\xfa\xed\xfe", "executable", "macOS"),
    (b"\xcf\xfa\xed\xfe", "executable", "macOS"),
    (b"\xca\xfe\xba\xbe", "executable", "macOS ou Java"),
    (b"\x00asm", "executable", "WebAssembly"),
    (b"#!", "script", ""),
    (b"GIF87a", "image_other", "GIF"),
    (b"GIF89a", "image_other", "GIF"),
    (b"II*\x00", "image_other", "TIFF"),
    (b"MM\x00*", "image_other", "TIFF"),
    (b"BM", "image_other", "BMP"),
    (b"\x00\x00\x01\x00", "image_other", "ICO"),
    (b"8BPS", "image_other", "Photoshop"),
    (b"%!PS", "office", "PostScript"),
    (b"ID3", "media", ""),
    (b"OggS", "media", ""),
    (b"fLaC", "media", ""),
    (b"\x1a\x45\xdf\xa3", "media", ""),
)
_ISO_IMAGE_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")
# Markup that a browser would run or render, searched (case-insensitively) at both ends of binary formats.
_MARKUP_MARKERS = (b"<script", b"<html", b"<svg", b"<!doctype html", b"<iframe", b"<body", b"<?php", b"<object")
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<iframe", b"<meta", b"<?php")


def _refusal(code: str, kind: str = "") -> DocumentRefused:
    messages = {
        "archive": _(
            "Ce fichier est une archive (%(kind)s) : les archives ne sont pas acceptées. "
            "Ajoutez les documents un par un, en PDF, JPEG ou PNG."
        ),
        "office": _("Ce fichier est un document bureautique (%(kind)s) : enregistrez-le en PDF avant de l’ajouter."),
        "executable": _("Ce fichier est un programme exécutable (%(kind)s) : il n’est pas accepté."),
        "script": _("Ce fichier est un script (du code à exécuter) : il n’est pas accepté."),
        "html": _(
            "Ce fichier est une page web (HTML) : elle n’est pas acceptée, car elle peut contenir du code. "
            "Enregistrez-la en PDF avant de l’ajouter."
        ),
        "svg": _(
            "Les images SVG ne sont pas acceptées, car elles peuvent contenir du code. "
            "Enregistrez l’image en PNG ou en JPEG."
        ),
        "image_other": _("Les images %(kind)s ne sont pas acceptées : enregistrez l’image en JPEG ou en PNG."),
        "media": _("Les fichiers audio et vidéo ne sont pas acceptés."),
        "unknown": _("Le format de ce fichier n’est pas reconnu. Formats acceptés : PDF, JPEG, PNG et CDA R2 (XML)."),
    }
    return DocumentRefused(messages[code] % {"kind": kind}, code)


def _text_view(head: bytes) -> bytes:
    """The beginning of a text file as lower-case UTF-8 without BOM nor leading blanks, for the markup checks."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="ignore").encode("utf-8", errors="ignore")
    elif head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.lstrip(b" \t\r\n\x0c").lower()


def sniff_format(head: bytes) -> str:
    """The accepted format of a file from its first bytes, or a ``DocumentRefused`` naming what it is instead."""
    if head.startswith(b"%PDF-"):
        return DocumentFormat.PDF
    if head.startswith(b"\xff\xd8\xff"):
        return DocumentFormat.JPEG
    if head.startswith(PNG_SIGNATURE):
        return DocumentFormat.PNG
    for signature, code, kind in _REFUSED_SIGNATURES:
        if head.startswith(signature):
            raise _refusal(code, kind)
    if head[257:262] == b"ustar":
        raise _refusal("archive", "tar")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        raise _refusal("image_other", "WebP")
    if head[:4] == b"RIFF":
        raise _refusal("media")
    if head[4:8] == b"ftyp":
        if head[8:12] in _ISO_IMAGE_BRANDS:
            raise _refusal("image_other", "HEIC ou AVIF")
        raise _refusal("media")
    text = _text_view(head)
    if text.startswith(b"#!"):
        raise _refusal("script")
    if text.startswith((b"<?xml", b"<clinicaldocument")):
        return DocumentFormat.CDA  # the parser decides, element by element (SVG or XHTML roots included)
    if b"<svg" in text:
        raise _refusal("svg")
    if any(marker in text for marker in _HTML_MARKERS):
        raise _refusal("html")
    if text.startswith(b"<"):
        return DocumentFormat.CDA
    raise _refusal("unknown")


# --- Structure of each format ---------------------------------------------------------------------------------


class _FormatChecker:
    """Receives every byte of the file, in order, after the format was recognised."""

    def feed(self, data: bytes) -> None:
        pass

    def finish(self, head: bytes, tail: bytes, size: int) -> None:
        pass


class _PdfChecker(_FormatChecker):
    _STARTXREF = re.compile(rb"startxref\s+(\d{1,20})\s+%%EOF")

    def finish(self, head: bytes, tail: bytes, size: int) -> None:
        if not re.match(rb"%PDF-[12]\.\d", head):
            raise DocumentRefused(_("Ce fichier PDF est endommagé (en-tête %PDF- invalide)."), "pdf_broken")
        end_zone = tail[-PDF_EOF_WINDOW:]
        position = end_zone.rfind(b"%%EOF")
        if position < 0:
            raise DocumentRefused(
                _("Ce fichier PDF est incomplet ou endommagé (la marque de fin %%EOF est absente)."), "pdf_broken"
            )
        if end_zone[position + 5 :].strip(b" \t\r\n\x0c\x00"):
            raise DocumentRefused(
                _("Ce fichier PDF est suivi d’autres données après sa fin : il est refusé par sécurité."),
                "pdf_trailing",
            )
        offsets = self._STARTXREF.findall(tail)
        if not offsets or int(offsets[-1]) >= size:
            raise DocumentRefused(
                _("Ce fichier PDF est incomplet ou endommagé (la table des références est absente)."), "pdf_broken"
            )


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class _JpegChecker(_FormatChecker):
    def finish(self, head: bytes, tail: bytes, size: int) -> None:
        broken = DocumentRefused(_("Cette image JPEG est incomplète ou endommagée."), "jpeg_broken")
        # The segments before the image data (as far as the kept beginning goes): each a marker and its length.
        position, frame_seen = 2, False
        while position + 4 <= len(head):
            if head[position] != 0xFF:
                raise broken
            marker = head[position + 1]
            if marker == 0xFF:  # fill byte
                position += 1
                continue
            if marker in (0x00, 0xD8, 0xD9):
                raise broken
            if 0xD0 <= marker <= 0xD7 or marker == 0x01:
                position += 2
                continue
            length = int.from_bytes(head[position + 2 : position + 4], "big")
            if length < 2:
                raise broken
            frame_seen = frame_seen or marker in _JPEG_SOF
            if marker == 0xDA:
                if not frame_seen:
                    raise broken
                break
            position += 2 + length
        end = tail.rstrip(b"\x00")
        if not end.endswith(b"\xff\xd9"):
            if b"\xff\xd9" in tail[-MARKER_WINDOW:]:
                raise DocumentRefused(
                    _(
                        "Cette image JPEG est suivie d’autres données après sa fin (par exemple la vidéo d’une "
                        "« photo animée ») : enregistrez-la de nouveau en JPEG simple."
                    ),
                    "jpeg_trailing",
                )
            raise broken


class _PngChecker(_FormatChecker):
    """Walks the whole chunk sequence as it streams: IHDR first, a CRC per chunk, IDAT present, IEND last."""

    def __init__(self) -> None:
        self._state = "signature"
        self._buffer = bytearray()
        self._type = b""
        self._remaining = 0
        self._crc = 0
        self._ihdr = bytearray()
        self._chunks = 0
        self._idat_seen = False
        self._trailing = False  # bytes after IEND: refused at the end, once the ZIP check had its say

    def _broken(self, detail: str) -> DocumentRefused:
        return DocumentRefused(
            _("Cette image PNG est incomplète ou endommagée (%(detail)s).") % {"detail": detail}, "png_broken"
        )

    def feed(self, data: bytes) -> None:
        view, position = memoryview(data), 0
        while position < len(view):
            if self._state == "end":
                self._trailing = True
                return
            if self._state == "data":
                take = min(self._remaining, len(view) - position)
                piece = view[position : position + take]
                self._crc = zlib.crc32(piece, self._crc)
                if self._type == b"IHDR":
                    self._ihdr += piece
                self._remaining -= take
                position += take
                if self._remaining == 0:
                    self._state = "crc"
                continue
            wanted = {"signature": 8, "header": 8, "crc": 4}[self._state]
            take = min(wanted - len(self._buffer), len(view) - position)
            self._buffer += view[position : position + take]
            position += take
            if len(self._buffer) == wanted:
                self._complete(bytes(self._buffer))
                self._buffer.clear()

    def _complete(self, part: bytes) -> None:
        if self._state == "signature":
            if part != PNG_SIGNATURE:
                raise self._broken(_("signature invalide"))
            self._state = "header"
        elif self._state == "header":
            length, chunk_type = struct.unpack(">I4s", part)
            if length > 0x7FFFFFFF or not chunk_type.isalpha():
                raise self._broken(_("bloc invalide"))
            if self._chunks == 0 and (chunk_type != b"IHDR" or length != 13):
                raise self._broken(_("le bloc IHDR doit venir en premier"))
            if chunk_type == b"IEND" and length != 0:
                raise self._broken(_("bloc IEND invalide"))
            self._chunks += 1
            self._idat_seen = self._idat_seen or chunk_type == b"IDAT"
            self._type, self._remaining, self._crc = chunk_type, length, zlib.crc32(chunk_type)
            self._state = "data" if length else "crc"
        elif self._state == "crc":
            if struct.unpack(">I", part)[0] != self._crc:
                raise self._broken(_("somme de contrôle incorrecte"))
            if self._type == b"IHDR":
                width, height = struct.unpack(">II", bytes(self._ihdr[:8]))
                if not (0 < width <= 0x7FFFFFFF and 0 < height <= 0x7FFFFFFF):
                    raise self._broken(_("dimensions invalides"))
            self._state = "end" if self._type == b"IEND" else "header"

    def finish(self, head: bytes, tail: bytes, size: int) -> None:
        if self._trailing:
            raise DocumentRefused(
                _("Cette image PNG est suivie d’autres données après sa fin : elle est refusée par sécurité."),
                "png_trailing",
            )
        if self._state != "end":
            raise self._broken(_("le bloc de fin IEND est absent"))
        if not self._idat_seen:
            raise self._broken(_("aucune donnée d’image"))


class _XmlGuard:
    """An expat parser that refuses DOCTYPE, entities and external references before anything is expanded."""

    def __init__(self) -> None:
        self.parser = expat.ParserCreate(namespace_separator=" ")
        self.parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser.StartDoctypeDeclHandler = self._doctype
        self.parser.EntityDeclHandler = self._entity
        self.parser.UnparsedEntityDeclHandler = self._entity
        self.parser.ExternalEntityRefHandler = self._entity

    @staticmethod
    def _doctype(name, *args) -> None:
        if (name or "").lower().endswith("html"):
            raise _refusal("html")
        if (name or "").lower().endswith("svg"):
            raise _refusal("svg")
        raise DocumentRefused(
            _("Ce fichier XML contient une déclaration DOCTYPE : elle est refusée par sécurité."), "xml_doctype"
        )

    @staticmethod
    def _entity(*args) -> None:
        raise DocumentRefused(
            _("Ce fichier XML déclare des entités : elles sont refusées par sécurité."), "xml_doctype"
        )

    def parse(self, data: bytes, final: bool = False) -> None:
        try:
            self.parser.Parse(data, final)
        except expat.ExpatError as error:
            raise DocumentRefused(
                _("Ce fichier XML est mal formé (ligne %(line)s) : il ne peut pas être lu.") % {"line": error.lineno},
                "xml_malformed",
            ) from None


def _split_name(name: str) -> tuple[str, str]:
    namespace, _separator, local = name.rpartition(" ")
    return namespace, local


class _CdaChecker(_FormatChecker):
    def __init__(self) -> None:
        self._guard = _XmlGuard()
        self._guard.parser.StartElementHandler = self._start
        self._root_seen = False
        self._malformed: DocumentRefused | None = None

    def _start(self, name: str, attributes) -> None:
        namespace, local = _split_name(name)
        if not self._root_seen:
            self._root_seen = True
            if local.lower() == "svg" or namespace == SVG_NS:
                raise _refusal("svg")
            if local.lower() == "html" or namespace == XHTML_NS:
                raise _refusal("html")
            if namespace != HL7_V3_NS or local != "ClinicalDocument":
                raise DocumentRefused(
                    _(
                        "Ce fichier XML n’est pas un document CDA R2 : son élément racine doit être "
                        "ClinicalDocument, dans l’espace de noms urn:hl7-org:v3."
                    ),
                    "xml_not_cda",
                )
        if namespace in (XHTML_NS, SVG_NS) or local.lower() in ("script", "html", "svg", "iframe"):
            raise DocumentRefused(
                _("Ce document CDA contient du code de page web (élément %(element)s) : il est refusé par sécurité.")
                % {"element": local},
                "polyglot_markup",
            )

    def feed(self, data: bytes) -> None:
        # A syntax error is reported at the end, after the ZIP check (an archive appended to the XML is the
        # likelier reason); refusals for security (DOCTYPE, markup) stop the upload at once.
        if self._malformed is None:
            try:
                self._guard.parse(data)
            except DocumentRefused as refusal:
                if refusal.code != "xml_malformed":
                    raise
                self._malformed = refusal

    def finish(self, head: bytes, tail: bytes, size: int) -> None:
        if self._malformed is None:
            self._parse_end()
        if self._malformed is not None:
            raise self._malformed

    def _parse_end(self) -> None:
        try:
            self._guard.parse(b"", final=True)
        except DocumentRefused as refusal:
            self._malformed = refusal


_CHECKERS = {
    DocumentFormat.PDF: _PdfChecker,
    DocumentFormat.JPEG: _JpegChecker,
    DocumentFormat.PNG: _PngChecker,
    DocumentFormat.CDA: _CdaChecker,
}


def _hidden_zip(tail: bytes) -> bool:
    """Whether the end of a file holds what ZIP readers look for: an end-of-central-directory record (single disk,
    consistent entry counts, its comment inside the file) or a ZIP64 locator. A polyglot PNG or PDF hides an
    archive this way; random bytes match it with negligible probability."""
    start = 0
    while (position := tail.find(b"PK\x05\x06", start)) >= 0:
        start = position + 1
        record = tail[position + 4 : position + 22]
        if len(record) < 18:
            continue
        disk, directory_disk, entries_here, entries, _size, _offset, comment = struct.unpack("<HHHHIIH", record)
        if disk == directory_disk == 0 and entries_here == entries and position + 22 + comment <= len(tail):
            return True
    start = 0
    while (position := tail.find(b"PK\x06\x07", start)) >= 0:
        start = position + 1
        record = tail[position + 4 : position + 20]
        if len(record) == 16 and struct.unpack("<IQI", record)[0] == 0 and struct.unpack("<IQI", record)[2] == 1:
            return True
    return False


def _markup_marker(window: bytes) -> bytes | None:
    lowered = window.lower()
    return next((marker for marker in _MARKUP_MARKERS if marker in lowered), None)


@dataclass(frozen=True)
class InspectedContent:
    format: str
    content_type: str
    size: int
    sha256: str


class ContentInspector:
    """Fed with the bytes of a file in order, it refuses them as soon as they cannot be an accepted document."""

    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._head = bytearray()
        self._tail = bytearray()
        self._pending = bytearray()
        self._format: str | None = None
        self._checker: _FormatChecker | None = None
        self._carry = b""  # the end of the previous chunk, so that a signature across two chunks is found

    @property
    def format(self) -> str | None:
        return self._format

    def feed(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.size > self.max_bytes:
            raise refused_too_large(self.max_bytes)
        self._sha256.update(data)
        if len(self._head) < HEAD_KEEP:
            self._head += data[: HEAD_KEEP - len(self._head)]
        if len(data) >= TAIL_KEEP:
            self._tail = bytearray(data[-TAIL_KEEP:])
        else:
            self._tail += data
            if len(self._tail) > TAIL_KEEP:
                del self._tail[: len(self._tail) - TAIL_KEEP]
        if self._format is None:
            self._pending += data
            if len(self._pending) >= HEAD_DECIDE:
                self._decide()
        else:
            self._process(data)

    def _decide(self) -> None:
        head = bytes(self._head[:HEAD_DECIDE])
        self._format = sniff_format(head)
        if self._format != DocumentFormat.CDA:
            marker = _markup_marker(head[:MARKER_WINDOW])
            if marker is not None:
                raise self._polyglot_markup(marker)
        self._checker = _CHECKERS[self._format]()
        pending, self._pending = bytes(self._pending), bytearray()
        self._process(pending)

    def _polyglot_markup(self, marker: bytes) -> DocumentRefused:
        return DocumentRefused(
            _(
                "Ce fichier %(format)s contient aussi du code de page web ou un script (%(marker)s) : "
                "il est refusé par sécurité."
            )
            % {"format": FORMATS[self._format].label, "marker": marker.decode("ascii")},
            "polyglot_markup",
        )

    def _process(self, data: bytes) -> None:
        window = self._carry + data
        for signature, kind in ((RAR_SIGNATURE, "RAR"), (SEVEN_ZIP_SIGNATURE, "7z")):
            if signature in window:
                raise DocumentRefused(
                    _("Ce fichier %(format)s contient aussi une archive %(kind)s cachée : il est refusé par sécurité.")
                    % {"format": FORMATS[self._format].label, "kind": kind},
                    "polyglot_archive",
                )
        self._carry = window[-(len(RAR_SIGNATURE) - 1) :]
        self._checker.feed(data)

    def finish(self) -> InspectedContent:
        if self.size == 0:
            raise _refused_empty()
        if self._format is None:
            self._decide()
        tail = bytes(self._tail)
        if _hidden_zip(tail[-ZIP_EOCD_WINDOW:]):
            raise DocumentRefused(
                _("Ce fichier %(format)s contient aussi une archive ZIP cachée : il est refusé par sécurité.")
                % {"format": FORMATS[self._format].label},
                "polyglot_archive",
            )
        if self._format != DocumentFormat.CDA:
            marker = _markup_marker(tail[-MARKER_WINDOW:])
            if marker is not None:
                raise self._polyglot_markup(marker)
        self._checker.finish(bytes(self._head), tail, self.size)
        return InspectedContent(
            format=self._format,
            content_type=FORMATS[self._format].content_type,
            size=self.size,
            sha256=self._sha256.hexdigest(),
        )


def inspect_bytes(data: bytes, *, max_bytes: int) -> InspectedContent:
    """The verdict on content already in memory (small documents, tests): the same checks, chunk by chunk."""
    inspector = ContentInspector(max_bytes=max_bytes)
    for start in range(0, len(data), CHUNK_SIZE):
        inspector.feed(data[start : start + CHUNK_SIZE])
    return inspector.finish()


# --- Streaming to the storage ---------------------------------------------------------------------------------


class _InspectedUpload(File):
    """The upload as the storage reads it: every chunk goes through the inspector on its way to the storage.

    ``chunks()`` serves the file-system storage, ``read()`` the S3 one (boto3 reads the object it uploads). The last
    read runs the end-of-file checks, so a refused file makes the storage's ``save`` fail.
    """

    def __init__(self, upload, *, max_bytes: int) -> None:
        super().__init__(upload, name=getattr(upload, "name", None))
        self.max_bytes = max_bytes
        self.inspector = ContentInspector(max_bytes=max_bytes)
        self.result: InspectedContent | None = None
        # Read by django-storages' S3 backend; the stored object is never served by S3 itself.
        self.content_type = "application/octet-stream"

    @property
    def size(self) -> int:  # type: ignore[override]
        return getattr(self.file, "size", None) or 0

    def _finish(self) -> None:
        if self.result is None:
            self.result = self.inspector.finish()

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        self.seek(0)
        while chunk := self.file.read(chunk_size or CHUNK_SIZE):
            self.inspector.feed(chunk)
            yield chunk
        self._finish()

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size if size is not None and size >= 0 else CHUNK_SIZE)
        if data:
            self.inspector.feed(data)
        else:
            self._finish()
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if offset != 0 or whence != os.SEEK_SET:
            raise OSError("Seul le retour au début du fichier est possible.")
        if self.inspector.size:  # a storage retrying from the start: inspect again from the start
            self.inspector = ContentInspector(max_bytes=self.max_bytes)
            self.result = None
        return self.file.seek(0)

    def multiple_chunks(self, chunk_size: int | None = None) -> bool:
        return True


@dataclass(frozen=True)
class StoredContent:
    name: str
    format: str
    content_type: str
    size: int
    sha256: str


def store_upload(upload, *, name: str, max_bytes: int, storage: Storage | None = None) -> StoredContent:
    """Copy ``upload`` to the storage under ``name`` (server-generated), checking it on the way.

    Raises ``DocumentRefused`` (nothing left in the storage) when the content is refused or too large. The upload
    is never read whole: chunks go from Django's upload (memory up to 2.5 MB, a temporary file above) to the storage.
    """
    storage = storage or default_storage
    declared = getattr(upload, "size", None)
    if declared is not None and declared > max_bytes:
        raise refused_too_large(max_bytes)
    if declared == 0:
        raise _refused_empty()
    content = _InspectedUpload(upload, max_bytes=max_bytes)
    stored_name = None
    try:
        stored_name = storage.save(name, content, max_length=255)
        content._finish()
    except BaseException:
        # The name is a fresh UUID, so whatever lies there now is this upload's partial or refused copy.
        delete_quietly(storage, stored_name or name)
        raise
    result = content.result
    return StoredContent(
        name=stored_name,
        format=result.format,
        content_type=result.content_type,
        size=result.size,
        sha256=result.sha256,
    )


# --- Names ----------------------------------------------------------------------------------------------------

_WINDOWS_RESERVED = re.compile(r'[<>:"|?*]')


def filename_sanitize(name: str | None) -> str:
    """The uploaded file's name, kept as metadata and for the download: no folder, no control or invisible
    characters (bidirectional overrides included), no characters that Windows refuses, at most 150 characters."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = _WINDOWS_RESERVED.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > MAX_ORIGINAL_NAME:
        stem, extension = os.path.splitext(name)
        extension = extension[:16]
        name = stem[: MAX_ORIGINAL_NAME - len(extension)].rstrip(" .") + extension
    return name or "document"


def title_from_filename(name: str, *, max_length: int = 200) -> str:
    """« compte_rendu-IRM_genou.pdf » → « compte rendu-IRM genou »."""
    stem = os.path.splitext(filename_sanitize(name))[0]
    title = re.sub(r"\s+", " ", stem.replace("_", " ")).strip()
    return title[:max_length].rstrip() or _("Document sans titre")


def download_filename(original_name: str, format: str) -> str:
    """The name the browser saves the file under: the original one, with the extension of the real format."""
    name = filename_sanitize(original_name)
    stem, extension = os.path.splitext(name)
    extensions = FORMATS[format].extensions
    if extension.lower() in extensions:
        return name
    return f"{stem or 'document'}{extensions[0]}"


def content_disposition(disposition: str, filename: str) -> str:
    """``inline`` or ``attachment`` with an ASCII fallback name and the exact UTF-8 one (RFC 6266, RFC 5987)."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    fallback = re.sub(r"[^A-Za-z0-9 ._()-]", "_", fallback).strip() or "document"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


# --- CDA summary, shown instead of rendering the XML ----------------------------------------------------------

CDA_MAX_SECTIONS = 200
CDA_MAX_SECTION_CHARS = 20_000
CDA_MAX_TOTAL_CHARS = 300_000
# Narrative elements after which a new paragraph starts.
_CDA_BLOCKS = {"paragraph", "item", "tr", "br", "caption", "list", "table", "thead", "tbody", "tfoot"}


@dataclass
class CdaSection:
    title: str
    level: int
    paragraphs: list[str] = field(default_factory=list)


@dataclass
class CdaSummary:
    title: str = ""
    effective_date: date | None = None
    authors: list[str] = field(default_factory=list)
    sections: list[CdaSection] = field(default_factory=list)
    truncated: bool = False


class _CdaReader:
    """Collects the header and the narrative of a CDA as plain text: nothing of the XML reaches the page as markup."""

    def __init__(self) -> None:
        self.summary = CdaSummary()
        self._guard = _XmlGuard()
        parser = self._guard.parser
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        self._path: list[str] = []
        self._capture: list[str] | None = None  # text being collected for a title or a name part
        self._author: list[str] = []
        self._section_stack: list[CdaSection | None] = []
        self._narrative_depth = 0  # > 0 inside a section's <text>
        self._line: list[str] = []
        self._total = 0

    def _start(self, name: str, attributes: dict) -> None:
        namespace, local = _split_name(name)
        local = local if namespace == HL7_V3_NS else f"{{{namespace}}}{local}"
        parent = self._path[-1] if self._path else ""
        self._path.append(local)
        depth = len(self._path)
        if depth == 2 and local == "title":
            self._capture = []
        elif depth == 2 and local == "effectiveTime":
            self.summary.effective_date = _hl7_date(attributes.get("value", ""))
        elif local == "author" and depth == 2:
            self._author = []
        elif "author" in self._path[:3] and (
            (parent == "name" and local in ("prefix", "given", "family"))
            or (parent == "representedOrganization" and local == "name")
        ):
            self._capture = []
        elif local == "section":
            if len(self.summary.sections) >= CDA_MAX_SECTIONS:
                self.summary.truncated = True
                self._section_stack.append(None)
            else:
                level = sum(1 for item in self._section_stack if item is not None) + 1
                section = CdaSection(title="", level=min(level, 4))
                self.summary.sections.append(section)
                self._section_stack.append(section)
        elif parent == "section" and local == "title" and self._section_stack and self._section_stack[-1]:
            self._capture = []
        elif parent == "section" and local == "text":
            self._narrative_depth = depth
            self._line = []
        elif self._narrative_depth and local in ("td", "th") and self._line:
            self._line.append(" — ")

    def _end(self, name: str) -> None:
        local = self._path.pop() if self._path else ""
        depth = len(self._path) + 1
        parent = self._path[-1] if self._path else ""
        if self._capture is not None and (
            (depth == 2 and local == "title")
            or (parent == "section" and local == "title")
            or local in ("prefix", "given", "family")
            or (parent == "representedOrganization" and local == "name")
        ):
            text = " ".join("".join(self._capture).split())
            self._capture = None
            if depth == 2:
                self.summary.title = text[:500]
            elif parent == "section" and self._section_stack and self._section_stack[-1]:
                self._section_stack[-1].title = text[:500]
            elif parent == "representedOrganization":
                if text:
                    self._author.append(f"({text})")
            elif text:
                self._author.append(text)
        elif local == "author" and depth == 2:
            label = " ".join(self._author).strip()
            if label and label not in self.summary.authors:
                self.summary.authors.append(label)
        elif local == "section":
            if self._section_stack:
                self._section_stack.pop()
        elif self._narrative_depth and depth == self._narrative_depth:
            self._flush()
            self._narrative_depth = 0
        elif self._narrative_depth and local in _CDA_BLOCKS:
            self._flush()

    def _text(self, data: str) -> None:
        if self._capture is not None:
            self._capture.append(data)
        elif self._narrative_depth:
            self._line.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._line).split()).strip(" —")
        self._line = []
        section = self._section_stack[-1] if self._section_stack else None
        if not text or section is None:
            return
        used = sum(len(paragraph) for paragraph in section.paragraphs)
        room = min(CDA_MAX_SECTION_CHARS - used, CDA_MAX_TOTAL_CHARS - self._total)
        if room <= 0:
            self.summary.truncated = True
            return
        if len(text) > room:
            text, self.summary.truncated = text[:room].rstrip() + " …", True
        section.paragraphs.append(text)
        self._total += len(text)

    def feed(self, data: bytes, final: bool = False) -> None:
        self._guard.parse(data, final)


def _hl7_date(value: str) -> date | None:
    match = re.match(r"^(\d{4})(\d{2})(\d{2})", value or "")
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def cda_summary(stream) -> CdaSummary | None:
    """The readable content of a stored CDA (title, date, authors, sections and their text), read by chunks;
    ``None`` when it cannot be read (it was checked when added, so only a damaged storage gets there)."""
    reader = _CdaReader()
    try:
        while chunk := stream.read(CHUNK_SIZE):
            reader.feed(chunk)
        reader.feed(b"", final=True)
    except DocumentRefused:
        return None
    return reader.summary
