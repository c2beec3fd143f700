"""Logos and screenshots: recognised by their content, decoded by Pillow, and stored re-encoded as PNG.

Nothing of an uploaded file is served as it came: its name and declared type are ignored, its bytes are checked to be
a PNG, JPEG or WebP image within the size limits, then the decoded pixels are written to a new PNG. So metadata
(EXIF, GPS positions), trailing data (polyglot files) and anything active are left behind, and the pages serve one
known format. SVG is refused: it is a document that may carry scripts, not a picture.
"""

import hashlib
import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

LOGO_MAX_BYTES = 1024 * 1024
SCREENSHOT_MAX_BYTES = 5 * 1024 * 1024
# Decoded size allowed, checked from the header before any pixel is decoded (decompression bombs).
MAX_SOURCE_PIXELS = 40_000_000
MAX_SOURCE_SIDE = 10_000
# Stored sizes: a logo fits in 256 × 256 (shown at 96 px at most, twice that on dense screens), a screenshot in
# 1600 px on its longer side. Light pages for slow connections and old phones (European principle 13).
LOGO_MAX_SIDE = 256
SCREENSHOT_MAX_SIDE = 1600
LOGO_MIN_SIDE = 64
SCREENSHOT_MIN_SIDE = 200
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IMAGE_SIGNATURES = (PNG_SIGNATURE, b"\xff\xd8\xff")
_MARKUP = (b"<svg", b"<?xml", b"<!doctype", b"<html", b"<script")


class ImageRefused(ValidationError):
    """An image is refused; ``code`` names the reason, the message says it in French."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True)
class ImageSpec:
    label: str
    max_bytes: int
    max_side: int
    min_side: int


LOGO = ImageSpec(label="logo", max_bytes=LOGO_MAX_BYTES, max_side=LOGO_MAX_SIDE, min_side=LOGO_MIN_SIDE)
SCREENSHOT = ImageSpec(
    label="capture", max_bytes=SCREENSHOT_MAX_BYTES, max_side=SCREENSHOT_MAX_SIDE, min_side=SCREENSHOT_MIN_SIDE
)


@dataclass(frozen=True)
class PreparedImage:
    """A re-encoded PNG, ready to be stored."""

    content: bytes
    width: int
    height: int
    sha256: str

    def as_file(self, name: str) -> ContentFile:
        return ContentFile(self.content, name=name)


def _megabytes(max_bytes: int) -> str:
    return f"{max_bytes / 1024**2:g}".replace(".", ",")


def _read_limited(upload, max_bytes: int) -> bytes:
    """At most ``max_bytes`` of the upload, refusing larger ones without reading them whole."""
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise ImageRefused(
            _("L’image dépasse la taille maximale autorisée de %(limit)s Mo.") % {"limit": _megabytes(max_bytes)},
            "too_large",
        )
    if hasattr(upload, "seek"):
        upload.seek(0)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageRefused(
            _("L’image dépasse la taille maximale autorisée de %(limit)s Mo.") % {"limit": _megabytes(max_bytes)},
            "too_large",
        )
    if not data:
        raise ImageRefused(_("Le fichier est vide."), "empty")
    return data


def _looks_like_markup(head: bytes) -> bool:
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n").lower()
    return text.startswith(b"<") or any(marker in text for marker in _MARKUP)


def image_prepare(upload, spec: ImageSpec) -> PreparedImage:
    """Check an uploaded image (any file-like object or bytes) and re-encode it as a PNG of at most
    ``spec.max_side`` pixels on its longer side; raise ``ImageRefused`` with a French message otherwise."""
    data = bytes(upload) if isinstance(upload, bytes | bytearray) else _read_limited(upload, spec.max_bytes)
    if len(data) > spec.max_bytes:
        raise ImageRefused(
            _("L’image dépasse la taille maximale autorisée de %(limit)s Mo.") % {"limit": _megabytes(spec.max_bytes)},
            "too_large",
        )
    if not data:
        raise ImageRefused(_("Le fichier est vide."), "empty")
    head = data[:4096]
    if not head.startswith(_IMAGE_SIGNATURES) and not (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        # Not an image of the accepted formats: say what it is when it is a document that may carry code.
        if b"<svg" in head.lower():
            raise ImageRefused(
                _(
                    "Les images SVG ne sont pas acceptées, car elles peuvent contenir du code. "
                    "Enregistrez l’image en PNG ou en JPEG."
                ),
                "svg",
            )
        if _looks_like_markup(head):
            raise ImageRefused(
                _(
                    "Ce fichier est une page web ou un document XML, pas une image. "
                    "Formats acceptés : PNG, JPEG et WebP."
                ),
                "markup",
            )
    try:
        # ``formats`` stops Pillow from trying its other decoders (TIFF, PSD, EPS…) on the bytes.
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as probe:
            width, height = probe.size
            if width > MAX_SOURCE_SIDE or height > MAX_SOURCE_SIDE or width * height > MAX_SOURCE_PIXELS:
                raise ImageRefused(
                    _("L’image est trop grande (%(width)s × %(height)s pixels).") % {"width": width, "height": height},
                    "too_many_pixels",
                )
            probe.verify()
        with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as source:
            source.load()
            image = ImageOps.exif_transpose(source)
    except ImageRefused:
        raise
    except Image.DecompressionBombError as error:
        raise ImageRefused(_("L’image est trop grande (trop de pixels)."), "too_many_pixels") from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageRefused(
            _("Ce fichier n’est pas une image PNG, JPEG ou WebP lisible. Formats acceptés : PNG, JPEG et WebP."),
            "unreadable",
        ) from error
    if min(image.size) < spec.min_side:
        raise ImageRefused(
            _("L’image est trop petite : au moins %(side)s pixels de côté sont nécessaires.") % {"side": spec.min_side},
            "too_small",
        )
    # Keep transparency where there is some; everything else becomes plain RGB (no palette or CMYK surprises).
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail((spec.max_side, spec.max_side), Image.Resampling.LANCZOS)
    output = io.BytesIO()
    image.save(output, format="PNG")
    content = output.getvalue()
    return PreparedImage(
        content=content, width=image.width, height=image.height, sha256=hashlib.sha256(content).hexdigest()
    )


# Every stored image is one of these PNGs: the pages serve them with this type, whatever was uploaded.
STORED_CONTENT_TYPE = "image/png"
