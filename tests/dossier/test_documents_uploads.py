"""Content checks of uploaded documents (magic bytes and structure, never the name), names, CDA summaries."""

import hashlib
import io

import pytest

from dossier.models.documents import DocumentFormat
from dossier.uploads import (
    CHUNK_SIZE,
    ContentInspector,
    DocumentRefused,
    cda_summary,
    content_disposition,
    download_filename,
    filename_sanitize,
    inspect_bytes,
    size_limit_mb,
    title_from_filename,
)
from tests.dossier.documents_samples import (
    cda_bytes,
    image_bytes,
    padded_pdf,
    pdf_bytes,
    png_chunk,
    png_zip_polyglot_in_chunk,
    zip_bytes,
)

LIMIT = 20 * 1024**2


def refusal(content: bytes, *, max_bytes: int = LIMIT) -> DocumentRefused:
    with pytest.raises(DocumentRefused) as caught:
        inspect_bytes(content, max_bytes=max_bytes)
    return caught.value


@pytest.mark.parametrize(
    ("content", "expected_format", "content_type"),
    [
        (pdf_bytes(), DocumentFormat.PDF, "application/pdf"),
        (image_bytes("JPEG"), DocumentFormat.JPEG, "image/jpeg"),
        (image_bytes("PNG"), DocumentFormat.PNG, "image/png"),
        (cda_bytes(), DocumentFormat.CDA, "text/xml"),
        (b"\xef\xbb\xbf" + cda_bytes(), DocumentFormat.CDA, "text/xml"),
        (cda_bytes().decode().replace("UTF-8", "UTF-16").encode("utf-16"), DocumentFormat.CDA, "text/xml"),
    ],
    ids=["pdf", "jpeg", "png", "cda", "cda-bom", "cda-utf16"],
)
def test_accepted_formats_are_recognised_by_content(content, expected_format, content_type):
    result = inspect_bytes(content, max_bytes=LIMIT)
    assert result.format == expected_format
    assert result.content_type == content_type
    assert result.size == len(content)
    assert result.sha256 == hashlib.sha256(content).hexdigest()


def test_a_pdf_with_incremental_updates_and_trailing_newlines_is_accepted():
    content = pdf_bytes() + b"\n% mise a jour\nstartxref\n116\n%%EOF\r\n\n"
    assert inspect_bytes(content, max_bytes=LIMIT).format == DocumentFormat.PDF


@pytest.mark.parametrize(
    ("content", "code", "words"),
    [
        (b"", "empty", "vide"),
        (b"<!DOCTYPE html><html><body><p>Ordonnance</p></body></html>", "html", "page web"),
        (b"<html><script>alert(1)</script></html>", "html", "page web"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>', "svg", "SVG"),
        (b'<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x"><x/>', "svg", "SVG"),
        (zip_bytes(), "archive", "ZIP"),
        (b"Rar!\x1a\x07\x01\x00" + b"\x00" * 50, "archive", "RAR"),
        (b"7z\xbc\xaf\x27\x1c" + b"\x00" * 50, "archive", "7z"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 50, "archive", "gzip"),
        (b"MZ\x90\x00" + b"\x00" * 200, "executable", "exécutable"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 50, "executable", "exécutable"),
        (b"#!/bin/sh\nrm -rf /\n", "script", "script"),
        (b"GIF89a" + b"\x00" * 50, "image_other", "GIF"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 50, "image_other", "HEIC"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 50, "media", "vidéo"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 50, "office", "PDF"),
        (b"Bonjour, ceci est un simple texte.", "unknown", "PDF, JPEG, PNG et CDA R2"),
        (b"alert(document.cookie);", "unknown", "n\u2019est pas reconnu"),
    ],
    ids=[
        "empty",
        "html",
        "html-script",
        "svg",
        "svg-doctype",
        "zip",
        "rar",
        "7z",
        "gzip",
        "windows-exe",
        "elf",
        "shell-script",
        "gif",
        "heic",
        "mp4",
        "ole-word",
        "text",
        "javascript",
    ],
)
def test_refused_kinds_get_a_french_message_naming_the_reason(content, code, words):
    error = refusal(content)
    assert error.code == code
    assert words in error.messages[0]


def test_an_html_file_named_pdf_is_refused_whatever_its_name():
    # The inspector never sees the name: the same bytes are refused under any name (the service test checks the
    # upload path with a name ending in .pdf and a declared application/pdf type).
    assert refusal(b"<html><body>Ordonnance</body></html>").code == "html"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (image_bytes("PNG") + zip_bytes(), "polyglot_archive"),
        (png_zip_polyglot_in_chunk(), "polyglot_archive"),
        (pdf_bytes() + zip_bytes(), "polyglot_archive"),
        (image_bytes("JPEG") + zip_bytes(), "polyglot_archive"),
        (pdf_bytes()[:200] + b"<script>alert(1)</script>" + pdf_bytes()[200:], "polyglot_markup"),
        (pdf_bytes() + b"<html><body>x</body></html>", "polyglot_markup"),
        (image_bytes("JPEG") + b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 300, "jpeg_trailing"),
        (image_bytes("PNG") + b"trailing bytes", "png_trailing"),
        (pdf_bytes() + b"\nGARBAGE after the end", "pdf_trailing"),
        (padded_pdf(300_000)[:150_000] + b"Rar!\x1a\x07\x00" + padded_pdf(300_000)[150_000:], "polyglot_archive"),
    ],
    ids=[
        "png+zip-appended",
        "png+zip-in-chunk",
        "pdf+zip",
        "jpeg+zip",
        "pdf-script-in-head",
        "pdf-html-at-end",
        "jpeg+mp4",
        "png-trailing",
        "pdf-trailing",
        "pdf-with-rar-inside",
    ],
)
def test_polyglots_are_refused(content, code):
    assert refusal(content).code == code


def test_the_crafted_png_zip_polyglot_is_a_valid_png_and_a_valid_zip():
    """The sample really is a polyglot: Pillow reads it as an image, zipfile as an archive."""
    import zipfile

    from PIL import Image

    content = png_zip_polyglot_in_chunk()
    Image.open(io.BytesIO(content)).load()
    assert zipfile.ZipFile(io.BytesIO(content)).read("cache.txt") == "contenu caché".encode()


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (pdf_bytes()[:-200], "pdf_broken"),
        (b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n", "pdf_broken"),
        (image_bytes("JPEG")[:-300], "jpeg_broken"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 60, "jpeg_broken"),
        (image_bytes("PNG")[:-12], "png_broken"),
        (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IEND", b""), "png_broken"),
        (image_bytes("PNG")[:30] + b"\x00" + image_bytes("PNG")[31:], "png_broken"),
    ],
    ids=[
        "pdf-truncated",
        "pdf-no-startxref",
        "jpeg-truncated",
        "jpeg-no-image",
        "png-truncated",
        "png-no-ihdr",
        "png-crc",
    ],
)
def test_damaged_files_are_refused(content, code):
    assert refusal(content).code == code


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&lol2;</title></ClinicalDocument>',
            "xml_doctype",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b'<ClinicalDocument xmlns="urn:hl7-org:v3">&xxe;</ClinicalDocument>',
            "xml_doctype",
        ),
        (b'<ClinicalDocument xmlns="urn:hl7-org:v2"/>', "xml_not_cda"),
        (b"<ClinicalDocument/>", "xml_not_cda"),
        (b'<Bundle xmlns="http://hl7.org/fhir"/>', "xml_not_cda"),
        (b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>x</title>', "xml_malformed"),
        (
            b'<ClinicalDocument xmlns="urn:hl7-org:v3"><h:div xmlns:h="http://www.w3.org/1999/xhtml"/>'
            b"</ClinicalDocument>",
            "polyglot_markup",
        ),
        (b'<ClinicalDocument xmlns="urn:hl7-org:v3"><script>x</script></ClinicalDocument>', "polyglot_markup"),
        (cda_bytes() + zip_bytes(), "polyglot_archive"),
    ],
    ids=["billion-laughs", "xxe", "other-namespace", "no-namespace", "fhir-xml", "unclosed", "xhtml", "script", "zip"],
)
def test_cda_is_parsed_safely_and_must_be_a_clinical_document(content, code):
    assert refusal(content).code == code


def test_size_limit_is_checked_while_streaming_with_the_limit_in_mo():
    inspector = ContentInspector(max_bytes=2 * 1024**2)
    inspector.feed(b"%PDF-1.7\n" + b"0" * (2 * 1024**2 - 9))
    with pytest.raises(DocumentRefused) as caught:
        inspector.feed(b"1")
    assert caught.value.code == "too_large"
    assert caught.value.messages[0] == "Le fichier dépasse la taille maximale autorisée de 2 Mo."


def test_size_limit_wording():
    assert size_limit_mb(20 * 1024**2) == "20"
    assert size_limit_mb(1536 * 1024) == "1,5"
    assert size_limit_mb(512 * 1024) == "0,5"


def test_sha256_of_a_multi_chunk_stream_is_the_file_s():
    content = padded_pdf(3 * CHUNK_SIZE + 12_345)
    inspector = ContentInspector(max_bytes=LIMIT)
    for start in range(0, len(content), 10_000):  # chunks that do not align with anything
        inspector.feed(content[start : start + 10_000])
    result = inspector.finish()
    assert result.sha256 == hashlib.sha256(content).hexdigest()
    assert result.size == len(content)


def test_a_signature_split_across_two_chunks_is_found():
    content = padded_pdf(200_000)
    content = content[:100_000] + b"7z\xbc\xaf\x27\x1c" + content[100_000:]
    inspector = ContentInspector(max_bytes=LIMIT)
    with pytest.raises(DocumentRefused) as caught:
        inspector.feed(content[:100_003])
        inspector.feed(content[100_003:])
        inspector.finish()
    assert caught.value.code == "polyglot_archive"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("C:\\Users\\moi\\Ordonnance.pdf", "Ordonnance.pdf"),
        ("../../etc/passwd", "passwd"),
        ("compte\x00rendu\x1f.pdf", "compterendu.pdf"),
        ("facture\u202egpj.exe", "facturegpj.exe"),  # right-to-left override removed
        ("  résultat  d’analyse .pdf  ", "résultat d’analyse .pdf"),
        ('a<b>c:"d"|e?f*.pdf', "a_b_c__d__e_f_.pdf"),
        ("", "document"),
        ("...", "document"),
    ],
)
def test_file_names_are_sanitised(raw, clean):
    assert filename_sanitize(raw) == clean


def test_long_file_names_keep_their_extension():
    name = filename_sanitize("x" * 400 + ".pdf")
    assert len(name) == 150
    assert name.endswith("x.pdf")


def test_title_and_download_names():
    assert title_from_filename("compte_rendu-IRM_genou.pdf") == "compte rendu-IRM genou"
    assert download_filename("scan", DocumentFormat.PDF) == "scan.pdf"
    assert download_filename("photo.JPEG", DocumentFormat.JPEG) == "photo.JPEG"
    assert download_filename("page.html", DocumentFormat.PDF) == "page.pdf"


def test_content_disposition_gives_an_ascii_fallback_and_the_utf8_name():
    header = content_disposition("inline", "Résultat d’analyse.pdf")
    assert header == (
        "inline; filename=\"Resultat danalyse.pdf\"; filename*=UTF-8''R%C3%A9sultat%20d%E2%80%99analyse.pdf"
    )


def test_cda_summary_is_plain_text_with_sections():
    summary = cda_summary(io.BytesIO(cda_bytes()))
    assert summary.title == "Compte rendu d’IRM du genou"
    assert summary.effective_date.isoformat() == "2025-01-14"
    assert summary.authors == ["Dr Marie Curie (Cabinet de radiologie)"]
    assert [(section.title, section.level) for section in summary.sections] == [
        ("Indication", 1),
        ("Conclusion", 1),
        ("Détail", 2),
    ]
    conclusion = summary.sections[1].paragraphs
    assert conclusion[0] == "Pas de lésion méniscale."
    assert "Premier point <script> échappé" in conclusion
    assert "Examen — Résultat" in conclusion
    assert "IRM — Normale" in conclusion
    assert summary.sections[2].paragraphs == ["Sous-section."]


def test_cda_summary_refuses_entities():
    evil = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]><ClinicalDocument xmlns="urn:hl7-org:v3"/>'
    assert cda_summary(io.BytesIO(evil)) is None
