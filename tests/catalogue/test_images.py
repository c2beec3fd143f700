"""Logos and screenshots are recognised by their content and stored re-encoded as PNG; everything else is refused
with a French message."""

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalogue.images import LOGO, SCREENSHOT, ImageRefused, image_prepare
from tests.catalogue.helpers import jpeg_bytes, png_bytes

SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def _refused(data, spec=LOGO, name="logo.png") -> ImageRefused:
    with pytest.raises(ImageRefused) as caught:
        image_prepare(SimpleUploadedFile(name, data, content_type="image/png"), spec)
    return caught.value


def test_a_png_is_re_encoded_as_png():
    prepared = image_prepare(SimpleUploadedFile("logo.png", png_bytes((200, 200))), LOGO)
    image = Image.open(io.BytesIO(prepared.content))
    assert image.format == "PNG"
    assert (prepared.width, prepared.height) == (200, 200)
    assert len(prepared.sha256) == 64


def test_a_jpeg_becomes_a_png_without_its_metadata():
    exif = Image.Exif()
    exif[0x010F] = "Appareil photo"  # Make
    exif[0x013B] = "Camille Durand"  # Artist
    source = jpeg_bytes((300, 300), exif=exif.tobytes())
    prepared = image_prepare(source, LOGO)
    image = Image.open(io.BytesIO(prepared.content))
    assert image.format == "PNG"
    assert not image.getexif()
    assert b"Appareil photo" not in prepared.content
    assert b"Camille" not in prepared.content


def test_a_webp_is_accepted():
    buffer = io.BytesIO()
    Image.new("RGB", (100, 100), "green").save(buffer, format="WEBP")
    assert Image.open(io.BytesIO(image_prepare(buffer.getvalue(), LOGO).content)).format == "PNG"


def test_large_images_are_scaled_down_keeping_their_proportions():
    prepared = image_prepare(png_bytes((1000, 2000)), SCREENSHOT)
    assert (prepared.width, prepared.height) == (800, 1600)
    prepared = image_prepare(png_bytes((1024, 1024)), LOGO)
    assert (prepared.width, prepared.height) == (256, 256)


def test_transparency_is_kept():
    prepared = image_prepare(png_bytes((100, 100), (0, 0, 0, 0), mode="RGBA"), LOGO)
    assert Image.open(io.BytesIO(prepared.content)).mode == "RGBA"


@pytest.mark.parametrize(
    "data",
    [
        SVG,
        b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        b"\xef\xbb\xbf  <!-- a comment -->\n<svg></svg>",
        b'<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x"><svg/>',
    ],
)
def test_svg_is_refused(data):
    error = _refused(data, name="logo.svg")
    assert error.code == "svg"
    assert "SVG" in error.messages[0]


def test_html_named_png_is_refused():
    error = _refused(b"<!doctype html><html><script>alert(1)</script></html>")
    assert error.code == "markup"


@pytest.mark.parametrize(
    "data",
    [
        b"Ceci est un texte, pas une image.",
        b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        png_bytes()[:60],  # truncated
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 50,
    ],
)
def test_what_is_not_a_readable_png_jpeg_or_webp_is_refused(data):
    error = _refused(data)
    assert error.code == "unreadable"
    assert "PNG, JPEG ou WebP" in error.messages[0]


def test_too_large_a_file_is_refused_before_decoding():
    error = _refused(b"\x89PNG\r\n\x1a\n" + b"\x00" * (LOGO.max_bytes + 1))
    assert error.code == "too_large"
    assert "1 Mo" in error.messages[0]


def test_too_small_an_image_is_refused():
    error = _refused(png_bytes((32, 32)))
    assert error.code == "too_small"


def test_an_empty_file_is_refused():
    assert _refused(b"").code == "empty"


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that announces a huge size in its header (a decompression bomb), with one tiny compressed chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def test_a_decompression_bomb_is_refused_from_its_header():
    error = _refused(_png_header_only(50_000, 50_000))
    assert error.code == "too_many_pixels"


def test_trailing_data_of_a_polyglot_does_not_survive():
    polyglot = png_bytes((100, 100)) + b"PK\x05\x06" + b"\x00" * 18 + b"<script>alert(1)</script>"
    prepared = image_prepare(polyglot, LOGO)
    assert b"<script>" not in prepared.content
    assert prepared.content.endswith(b"IEND\xaeB`\x82")
