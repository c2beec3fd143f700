"""The SMTP ingress for real: an aiosmtpd server on a free loopback port, spoken to with smtplib.

The server's threads use their own database connections, so these tests commit for real (transactional database).
"""

import gc
import smtplib
from contextlib import contextmanager, suppress

import pytest
from django.core.files.storage import default_storage
from django.db import OperationalError
from django.urls import reverse

from mes.acces.models import JournalEntry
from mes.comptes.models import CitizenStatus, Notification
from messagerie import smtp as smtp_module
from messagerie.models import Attachment, Conversation, Correspondent, Message
from messagerie.services.ingest import MESSAGE_RECEIVED
from messagerie.smtp import ingress_controller
from tests.messagerie.mime_samples import (
    DOCTOR,
    EXE_BYTES,
    MALICIOUS_HTML,
    SVG_BYTES,
    broken_multipart,
    ics_bytes,
    image_bytes,
    mail,
    patient_address,
    pdf_bytes,
)

# Small enough for the oversize tests to stay quick, large enough for every other message here.
MAX_BYTES = 256 * 1024
UNKNOWN = "012345678901234@patient.mssante.fr"


@pytest.fixture
def server(transactional_db, settings, tmp_path):
    """Started after the settings it reads; stopped (closing its database connections) before the database is
    flushed."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MSS_MAX_MESSAGE_BYTES = MAX_BYTES
    controller = ingress_controller(host="127.0.0.1", port=0)
    controller.start()
    yield controller
    controller.stop()


@contextmanager
def connect(server):
    client = smtplib.SMTP(server.hostname, server.port, timeout=30)
    try:
        client.ehlo("mta.medecin.mssante.fr")
        yield client
    finally:
        with suppress(smtplib.SMTPServerDisconnected):
            client.quit()


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def test_a_professionals_message_is_accepted_and_stored(server, citizen, mailoutbox):
    to = patient_address(citizen)
    raw = mail(to=to, attachments=[("cr.pdf", "application/pdf", pdf_bytes()), ("rdv.ics", "text/calendar",
                                                                               ics_bytes())])  # fmt: skip
    with connect(server) as client:
        assert client.has_extn("size") and client.esmtp_features["size"] == str(MAX_BYTES)
        assert client.mail(DOCTOR) == (250, b"2.1.0 Sender OK")
        assert client.rcpt(to) == (250, b"2.1.5 Recipient OK")
        code, reply = client.data(raw)
    assert code == 250 and reply.startswith(b"2.0.0 Ok: queued as "), reply

    message = Message.objects.get(citizen=citizen)
    assert message.from_address == DOCTOR and message.size_bytes == len(raw)
    assert sorted(message.attachments.values_list("format", flat=True)) == ["ics", "pdf"]
    assert JournalEntry.objects.filter(action=MESSAGE_RECEIVED, citizen=citizen).count() == 1
    assert Notification.objects.filter(user=citizen.user).count() == 1
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [citizen.user.email]  # sent once committed


def test_the_greeting_names_the_service_not_the_software(server):
    with smtplib.SMTP(timeout=30) as client:
        code, greeting = client.connect(server.hostname, server.port)
    assert code == 220 and b"patient.mssante.fr" in greeting and b"aiosmtpd" not in greeting.lower()


def test_unknown_recipients_and_other_domains_are_refused_at_rcpt(server, citizen, other_citizen):
    type(other_citizen).objects.filter(pk=other_citizen.pk).update(status=CitizenStatus.OPPOSED)
    with connect(server) as client:
        client.mail(DOCTOR)
        code, reply = client.rcpt(UNKNOWN)
        assert (code, reply[:5]) == (550, b"5.1.1")
        code, reply = client.rcpt(patient_address(other_citizen))
        assert (code, reply[:5]) == (550, b"5.1.1")
        code, reply = client.rcpt("dr.martin@medecin.mssante.fr")
        assert (code, reply[:5]) == (550, b"5.7.1")  # not a relay
        assert client.rcpt(patient_address(citizen))[0] == 250
        assert client.data(mail(to=patient_address(citizen)))[0] == 250
    assert list(Message.objects.values_list("citizen", flat=True)) == [citizen.pk]


def test_sendmail_delivers_to_the_valid_recipients_and_reports_the_others(server, citizen):
    with connect(server) as client:
        refused = client.sendmail(DOCTOR, [patient_address(citizen), UNKNOWN], mail(to=patient_address(citizen)))
    assert set(refused) == {UNKNOWN} and refused[UNKNOWN][0] == 550
    assert Message.objects.filter(citizen=citizen).count() == 1


@pytest.mark.parametrize("sender", ["pirate@gmail.com", "123456789012345@patient.mssante.fr"])
def test_senders_outside_the_professional_space_are_refused_at_mail_from(server, citizen, sender):
    with connect(server) as client:
        code, reply = client.mail(sender)
        assert (code, reply[:5]) == (550, b"5.7.1")
        with pytest.raises(smtplib.SMTPSenderRefused):
            client.sendmail(sender, [patient_address(citizen)], mail(to=patient_address(citizen)))
    assert not Message.objects.exists()


def test_a_forged_from_header_is_refused_at_data(server, citizen):
    raw = mail(to=patient_address(citizen), sender="faux.docteur@gmail.com")
    with connect(server) as client:
        client.mail(DOCTOR)
        client.rcpt(patient_address(citizen))
        code, reply = client.data(raw)
    assert (code, reply[:5]) == (550, b"5.7.1")
    assert not Message.objects.exists()


def test_an_oversize_message_is_refused(server, citizen, settings):
    big = mail(to=patient_address(citizen), attachments=[("gros.pdf", "application/pdf", b"0" * MAX_BYTES)])
    with connect(server) as client:
        # Announced in MAIL FROM (SIZE=...): refused before any data is sent.
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail(DOCTOR, [patient_address(citizen)], big)
        assert refused.value.smtp_code == 552
        client.rset()
        # Not announced: the data is read, counted and refused.
        client.mail(DOCTOR)
        client.rcpt(patient_address(citizen))
        code, _reply = client.data(big)
        assert code == 552
    assert not Message.objects.exists() and stored_files(settings) == []


def test_a_malformed_message_is_stored_safely_and_an_unreadable_one_refused(server, citizen):
    to = patient_address(citizen)
    with connect(server) as client:
        client.mail(DOCTOR)
        client.rcpt(to)
        assert client.data(broken_multipart(to))[0] == 250
        client.mail(DOCTOR)
        client.rcpt(to)
        code, reply = client.data(b"ceci n'est pas un message\r\nni un en-tete\r\n")
    assert (code, reply[:5]) == (554, b"5.6.0")
    message = Message.objects.get(citizen=citizen)
    assert message.body_text.strip() == "Bonjour, le texte reste lisible."


def test_recipients_beyond_the_limit_are_deferred(server, citizen, settings):
    settings.MSS_MAX_RECIPIENTS = 1
    with connect(server) as client:
        client.mail(DOCTOR)
        assert client.rcpt(patient_address(citizen))[0] == 250
        code, reply = client.rcpt(patient_address(citizen))
    assert (code, reply[:5]) == (452, b"4.5.3")


def test_a_database_failure_is_a_temporary_error(server, citizen, monkeypatch):
    def unavailable(**kwargs):
        raise OperationalError("la base ne répond pas")

    monkeypatch.setattr(smtp_module, "message_ingest", unavailable)
    with connect(server) as client:
        client.mail(DOCTOR)
        client.rcpt(patient_address(citizen))
        code, reply = client.data(mail(to=patient_address(citizen)))
    assert (code, reply[:5]) == (451, b"4.3.0")


def test_an_unexpected_error_is_temporary_and_tells_nothing(server, monkeypatch):
    def broken(address):
        raise RuntimeError("secret interne")

    monkeypatch.setattr(smtp_module, "sender_check", broken)
    with connect(server) as client:
        code, reply = client.mail(DOCTOR)
    assert (code, reply[:5]) == (451, b"4.3.0") and b"secret" not in reply


def test_a_storage_failure_midway_leaves_nothing_and_the_retry_is_stored_once(server, citizen, settings, monkeypatch):
    real_save = default_storage.save
    written, failing = [], [True]

    def save_failing_on_the_second(name, content, max_length=None):
        if failing[0] and len(written) == 1:
            raise OSError("stockage indisponible")
        written.append(real_save(name, content, max_length=max_length))
        return written[-1]

    raw = mail(
        to=patient_address(citizen),
        attachments=[("a.pdf", "application/pdf", pdf_bytes()), ("b.png", "image/png", image_bytes("PNG"))],
    )
    monkeypatch.setattr(default_storage, "save", save_failing_on_the_second)
    with connect(server) as client:
        client.mail(DOCTOR)
        client.rcpt(patient_address(citizen))
        code, _reply = client.data(raw)
    assert code == 451
    gc.collect()
    assert len(written) == 1 and not default_storage.exists(written[0]) and stored_files(settings) == []
    for model in (Message, Attachment, Conversation, Correspondent):
        assert not model.objects.exists()

    failing[0] = False
    for _attempt in range(2):  # the sender retries; a second retry (lost reply) stores nothing more
        with connect(server) as client:
            assert client.sendmail(DOCTOR, [patient_address(citizen)], raw) == {}
    assert Message.objects.count() == 1 and Attachment.objects.count() == 2 and len(stored_files(settings)) == 2


def test_nothing_executable_reaches_the_browser_and_another_citizen_sees_nothing(
    server, citizen, other_citizen, client
):
    raw = mail(
        to=patient_address(citizen),
        html=MALICIOUS_HTML,
        attachments=[
            ("compte-rendu.pdf", "application/pdf", pdf_bytes()),
            ("schema.svg", "image/svg+xml", SVG_BYTES),
            ("ordonnance.pdf", "application/pdf", EXE_BYTES),
        ],
    )
    with connect(server) as smtp:
        assert smtp.sendmail(DOCTOR, [patient_address(citizen)], raw) == {}
    message = Message.objects.get(citizen=citizen)
    attachments = {attachment.filename: attachment for attachment in message.attachments.all()}
    thread_url = reverse("messagerie_conversation", args=[message.conversation.public_id])

    def download(name):
        return client.get(reverse("messagerie_attachment_download", args=[attachments[name].public_id]))

    client.force_login(citizen.user)
    page = client.get(thread_url).content.decode().lower()
    assert "voici vos résultats" in page
    for forbidden in ("pirate.example", "javascript:alert", "onerror=", "onload=", "alert('"):
        assert forbidden not in page
    pdf = download("compte-rendu.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("attachment;") and pdf["X-Content-Type-Options"] == "nosniff"
    assert download("schema.svg").status_code == 404
    assert download("ordonnance.pdf").status_code == 404

    client.force_login(other_citizen.user)
    assert client.get(thread_url).status_code == 404
    for name in attachments:
        assert download(name).status_code == 404


def test_starttls_is_required_when_a_certificate_is_configured(transactional_db, settings, tmp_path, citizen):
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "patient.mssante.fr")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    settings.MSS_SMTP_TLS_CERT_FILE, settings.MSS_SMTP_TLS_KEY_FILE = str(cert_file), str(key_file)
    settings.MEDIA_ROOT = tmp_path / "media"
    controller = ingress_controller(host="127.0.0.1", port=0)
    controller.start()
    try:
        with connect(controller) as client:
            assert client.has_extn("starttls")
            code, _reply = client.mail(DOCTOR)
            assert code == 530  # must issue STARTTLS first
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            client.starttls(context=context)
            client.ehlo("mta.medecin.mssante.fr")
            assert client.sendmail(DOCTOR, [patient_address(citizen)], mail(to=patient_address(citizen))) == {}
    finally:
        controller.stop()
    assert Message.objects.filter(citizen=citizen).count() == 1
