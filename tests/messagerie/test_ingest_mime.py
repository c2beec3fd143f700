"""Reading a received message: HTML sanitising, attachment recognition, malformed MIME and the limits."""

import pytest

from messagerie.models import AttachmentFormat
from messagerie.services._mime import (
    MessageRefused,
    attachment_inspect,
    clean_text,
    html_sanitise,
    html_to_text,
    message_parse,
)
from tests.dossier.documents_samples import cda_bytes
from tests.messagerie.mime_samples import (
    DOCTOR,
    EXE_BYTES,
    MALICIOUS_HTML,
    SVG_BYTES,
    broken_multipart,
    ics_bytes,
    image_bytes,
    mail,
    pdf_bytes,
)

TO = "123@patient.mssante.fr"


def parse(raw: bytes):
    return message_parse(raw, envelope_from=DOCTOR, patient_domain="patient.mssante.fr")


# --- HTML --------------------------------------------------------------------------------------------------------


def test_html_keeps_formatting_and_drops_everything_executable_or_remote():
    cleaned = html_sanitise(MALICIOUS_HTML)
    lowered = cleaned.lower()
    for forbidden in ("<script", "onload", "onclick", "onerror", "javascript:", "<style", "style=", "<img",
                      "pixel.gif", "<iframe", "<form", "<input", "pirate.example", "titre caché"):  # fmt: skip
        assert forbidden not in lowered, forbidden
    assert "<b>voici vos résultats</b>" in cleaned
    assert '<a href="https://www.ameli.fr/" rel="noopener noreferrer">' in cleaned
    assert "Cliquez ici" in cleaned  # the link text stays, without its target


def test_html_links_only_to_safe_schemes_and_never_into_the_portal():
    cleaned = html_sanitise(
        '<a href="JaVaScRiPt:alert(1)">a</a><a href="data:text/html,x">b</a><a href="/messagerie/">c</a>'
        '<a href="mailto:secretariat@chu-lyon.mssante.fr">d</a><a href="vbscript:x">e</a>'
    )
    assert cleaned.count("href=") == 1
    assert 'href="mailto:secretariat@chu-lyon.mssante.fr"' in cleaned


def test_html_only_message_gets_a_text_version():
    text = html_to_text(html_sanitise("<p>Bonjour,</p><ul><li>carte Vitale</li><li>ordonnance</li></ul><p>Fin</p>"))
    assert text == "Bonjour,\n\ncarte Vitale\n\nordonnance\n\nFin"


def test_clean_text_removes_nul_and_controls_and_lone_surrogates():
    assert clean_text("a\x00b\x07c\r\nd\udce9") == "abc\nd\ufffd"


# --- Attachments ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "expected", "content_type"),
    [
        (pdf_bytes(), "compte-rendu.pdf", AttachmentFormat.PDF, "application/pdf"),
        (image_bytes("PNG"), "radio.png", AttachmentFormat.PNG, "image/png"),
        (image_bytes("JPEG"), "photo.JPEG", AttachmentFormat.JPEG, "image/jpeg"),
        (cda_bytes(), "cr.xml", AttachmentFormat.CDA, "text/xml"),
        (ics_bytes(), "rdv.ics", AttachmentFormat.ICS, "text/calendar; charset=utf-8"),
        (ics_bytes("VTODO"), "", AttachmentFormat.ICS, "text/calendar; charset=utf-8"),
        ("Résultats : normaux.\n".encode(), "note.txt", AttachmentFormat.TEXT, "text/plain; charset=utf-8"),
        ("Résultats : normaux.\n".encode("latin-1"), "note.txt", AttachmentFormat.TEXT, "text/plain; charset=cp1252"),
        (pdf_bytes(), "Compte rendu du 12.03.2024", AttachmentFormat.PDF, "application/pdf"),
    ],
)
def test_recognised_attachments(data, name, expected, content_type):
    inspection = attachment_inspect(data, filename=name)
    assert (inspection.format, inspection.content_type, inspection.blocked_reason) == (expected, content_type, "")


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (EXE_BYTES, "compte-rendu.pdf", "Programme exécutable"),
        (SVG_BYTES, "schema.svg", "SVG"),
        (b'<?xml version="1.0"?>' + SVG_BYTES, "schema.xml", "SVG"),
        (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "cr.html", "Page web"),
        (b"PK\x03\x04" + b"\x00" * 100, "dossier.zip", "Archive"),
        (b"#!/bin/sh\nrm -rf ~\n", "script.sh", "Script"),
        (pdf_bytes(), "compte-rendu.exe", "ne correspond pas à son nom (.exe)"),
        (image_bytes("PNG"), "radio.jpg", "ne correspond pas à son nom (.jpg)"),
        (b"Bonjour\n", "page.html", "ne correspond pas à son nom (.html)"),
        (b"alert(document.cookie)\n", "outil.js", "ne correspond pas"),
        (b"x" * 5000 + b"\ntexte <script>alert(1)</script> cache\n" + b"x" * 5000, "note.txt", "code de page web"),
        (b"\x00\x01\x02binaire", "donnees.bin", "non reconnu"),
        (b"", "vide.pdf", "vide"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n", "rdv.ics", "incomplet"),
        (pdf_bytes()[:-30], "tronque.pdf", "PDF"),
    ],
)
def test_blocked_attachments_are_kept_as_opaque_data(data, name, reason):
    inspection = attachment_inspect(data, filename=name)
    assert inspection.format == AttachmentFormat.OTHER
    assert inspection.content_type == "application/octet-stream"
    assert reason in inspection.blocked_reason
    assert len(inspection.blocked_reason) <= 200


# --- The message ---------------------------------------------------------------------------------------------------


def test_parse_reads_headers_bodies_and_attachments(settings):
    raw = mail(
        to=TO,
        cc="Secrétariat <secretariat@medecin.mssante.fr>, pas-une-adresse",
        html="<p>Bonjour <script>x()</script><b>Camille</b></p>",
        attachments=[("cr.pdf", "application/pdf", pdf_bytes()), ("rdv.ics", "text/calendar", ics_bytes())],
        in_reply_to="<precedent@medecin.mssante.fr>",
        references="<premier@medecin.mssante.fr> <precedent@medecin.mssante.fr>",
    )
    parsed = parse(raw)
    assert parsed.message_id == "<cr-1@medecin.mssante.fr>"
    assert parsed.in_reply_to == "<precedent@medecin.mssante.fr>"
    assert parsed.references == ["<premier@medecin.mssante.fr>", "<precedent@medecin.mssante.fr>"]
    assert (parsed.from_name, parsed.from_address) == ("Dr Jeanne Martin", DOCTOR)
    assert parsed.to_addresses == [TO]
    assert parsed.cc_addresses == ["secretariat@medecin.mssante.fr"]
    assert parsed.subject == "Compte rendu de consultation"
    assert parsed.sent_at.isoformat() == "2026-03-02T09:30:00+00:00"
    assert parsed.body_text.startswith("Bonjour,\n\nVoici le compte rendu")
    assert parsed.body_html == "<p>Bonjour <b>Camille</b></p>"
    assert [(a.filename, a.inspection.format) for a in parsed.attachments] == [("cr.pdf", "pdf"), ("rdv.ics", "ics")]


def test_parse_generates_a_stable_message_id_when_there_is_none():
    raw = mail(to=TO, message_id=None)
    first, again = parse(raw), parse(raw)
    assert first.message_id == again.message_id
    assert first.message_id.startswith("<sans-identifiant.") and first.message_id.endswith("@patient.mssante.fr>")
    assert "MessageIdMissing" in first.defects


def test_parse_falls_back_on_the_envelope_sender_without_from():
    raw = b"To: " + TO.encode() + b"\r\nSubject: Sans expediteur\r\n\r\nTexte.\r\n"
    parsed = parse(raw)
    assert parsed.from_address == DOCTOR and "FromMissing" in parsed.defects


def test_broken_multipart_is_stored_with_its_defects_noted():
    parsed = parse(broken_multipart(TO))
    assert parsed.body_text.strip() == "Bonjour, le texte reste lisible."
    assert parsed.defects  # what was wrong is kept for the journal
    assert len(parsed.attachments) == 1
    assert parsed.attachments[0].inspection.format == AttachmentFormat.OTHER  # truncated PDF: blocked, kept


def test_eight_bit_headers_and_unknown_charsets_are_read_safely():
    raw = (
        b"From: " + DOCTOR.encode() + b"\r\nTo: " + TO.encode() + b"\r\nSubject: R\xe9sultat \x00urgent\r\n"
        b"Content-Type: text/plain; charset=x-inconnu\r\n\r\nTension \xe9lev\xe9e\x00.\r\n"
    )
    parsed = parse(raw)
    assert "\x00" not in parsed.subject and parsed.subject.startswith("R")
    assert parsed.body_text.strip() == "Tension élevée."


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"ceci n'est pas un message\r\nni un en-tete\r\n",
        b"\x00\x01\x02\x03",
        ("From: " + DOCTOR + "\r\nTo: " + TO + "\r\n\r\n").encode(),  # nothing at all to read
    ],
)
def test_unusable_messages_are_refused(raw):
    with pytest.raises(MessageRefused) as refused:
        parse(raw)
    assert (refused.value.code, refused.value.status) == (554, "5.6.0")


def test_too_deep_nesting_is_refused():
    body = "Texte"
    for depth in range(20):
        body = f'Content-Type: multipart/mixed; boundary="b{depth}"\r\n\r\n--b{depth}\r\n{body}\r\n--b{depth}--\r\n'
    raw = f"From: {DOCTOR}\r\nTo: {TO}\r\nSubject: Poupées russes\r\nMIME-Version: 1.0\r\n{body}".encode()
    with pytest.raises(MessageRefused) as refused:
        parse(raw)
    assert (refused.value.code, refused.value.status) == (554, "5.6.0")


def test_oversize_too_many_parts_and_attachments_are_refused_not_truncated(settings):
    settings.MSS_MAX_MESSAGE_BYTES = 64 * 1024
    with pytest.raises(MessageRefused) as refused:
        parse(mail(to=TO, attachments=[("gros.pdf", "application/pdf", b"%PDF-1.4" + b"0" * 70_000)]))
    assert (refused.value.code, refused.value.status) == (552, "5.3.4")

    settings.MSS_MAX_MESSAGE_BYTES = 20 * 1024**2
    settings.MSS_MAX_ATTACHMENTS = 3
    with pytest.raises(MessageRefused, match="plus de 3 pièces jointes") as refused:
        parse(mail(to=TO, attachments=[(f"n{i}.txt", "text/plain", b"note") for i in range(4)]))
    assert refused.value.code == 552
    three = [(f"n{i}.txt", "text/plain", b"note") for i in range(3)]
    assert len(parse(mail(to=TO, attachments=three)).attachments) == 3

    settings.MSS_MAX_MIME_PARTS = 4
    with pytest.raises(MessageRefused, match="parties MIME") as refused:
        parse(mail(to=TO, attachments=[(f"n{i}.txt", "text/plain", b"note") for i in range(3)]))
    assert refused.value.smtp_reply.startswith("552 5.3.4 ")
