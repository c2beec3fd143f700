"""A real SMTP round trip: Django's SMTP backend against an aiosmtpd server on a loopback port."""

import email
import hashlib
from email import policy

import pytest

from messagerie.models import AttachmentFormat, DeliveryStatus
from messagerie.services.outgoing import DeliveryDeferred, message_deliver, message_forward, message_reply
from tests.messagerie.actions_support import (
    CARDIO_ADDRESS,
    CARDIO_NAME,
    DOCTOR_ADDRESS,
    SinkHandler,
    attachment_of,
    correspondent_for,
    free_port,
    ics_bytes,
    inbound_message,
    own_access,
    smtp_sink,
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def sink(settings):
    handler = SinkHandler()
    controller = smtp_sink(handler)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield handler
    controller.stop()


def test_a_forward_reaches_the_smtp_server_with_its_headers_and_attachments(
    citizen, sink, django_capture_on_commit_callbacks
):
    access = own_access(citizen)
    received = inbound_message(citizen, message_id="<cr-42@hopital-nord.mssante.fr>")
    pdf = attachment_of(received, filename="Compte rendu échographie.pdf")
    attachment_of(received, filename="rdv.ics", data=ics_bytes(), format=AttachmentFormat.ICS)
    cardio = correspondent_for(citizen, CARDIO_ADDRESS, CARDIO_NAME)
    with django_capture_on_commit_callbacks(execute=True):
        forwarded = message_forward(access=access, message=received, correspondent=cardio, body="Pour avis.")
    forwarded.refresh_from_db()
    assert forwarded.delivery_status == DeliveryStatus.SENT

    (delivery,) = sink.received
    assert delivery.mail_from == citizen.mss_address
    assert delivery.rcpt_tos == [CARDIO_ADDRESS]
    message = email.message_from_bytes(delivery.content, policy=policy.default)
    assert message["Message-ID"] == forwarded.message_id
    assert message["Subject"] == "TR : Compte rendu de votre consultation"
    assert message["From"].addresses[0].addr_spec == citizen.mss_address
    assert "Pour avis." in message.get_body(("plain",)).get_content()
    parts = {part.get_filename(): part for part in message.iter_attachments()}
    assert set(parts) == {"Compte rendu échographie.pdf", "rdv.ics"}
    assert parts["Compte rendu échographie.pdf"].get_content_type() == "application/pdf"
    assert hashlib.sha256(parts["Compte rendu échographie.pdf"].get_content()).hexdigest() == pdf.sha256
    assert parts["rdv.ics"].get_content_type() == "text/calendar"


def test_a_reply_carries_its_threading_headers_over_smtp(citizen, sink, django_capture_on_commit_callbacks):
    received = inbound_message(citizen, message_id="<cr-43@hopital-nord.mssante.fr>")
    with django_capture_on_commit_callbacks(execute=True):
        reply = message_reply(access=own_access(citizen), message=received, body="Merci.")
    (delivery,) = sink.received
    assert delivery.rcpt_tos == [DOCTOR_ADDRESS]
    message = email.message_from_bytes(delivery.content, policy=policy.default)
    assert message["In-Reply-To"] == "<cr-43@hopital-nord.mssante.fr>"
    assert message["References"] == "<cr-43@hopital-nord.mssante.fr>"
    assert message["Message-ID"] == reply.message_id


def test_a_recipient_refused_for_good_is_a_failed_delivery(citizen, sink, django_capture_on_commit_callbacks):
    sink.refuse[DOCTOR_ADDRESS] = "550 5.1.1 <claire.martin@hopital-nord.mssante.fr>: Recipient address rejected"
    received = inbound_message(citizen)
    with django_capture_on_commit_callbacks(execute=True):
        reply = message_reply(access=own_access(citizen), message=received, body="Merci.")
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert "refusé par le serveur de messagerie" in reply.delivery_error
    assert "550" in reply.delivery_error and "Recipient address rejected" in reply.delivery_error
    assert sink.received == []


def test_a_temporary_refusal_leaves_the_message_waiting_for_a_retry(citizen, sink):
    sink.refuse[DOCTOR_ADDRESS] = "451 4.3.0 Try again later"
    received = inbound_message(citizen)
    reply = message_reply(access=own_access(citizen), message=received, body="Merci.")
    with pytest.raises(DeliveryDeferred):
        message_deliver(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.PENDING
    # The retry, once the server accepts again.
    sink.refuse.clear()
    assert message_deliver(message_id=reply.pk) == DeliveryStatus.SENT
    assert len(sink.received) == 1


def test_a_server_that_does_not_answer_is_transient(citizen, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    received = inbound_message(citizen)
    reply = message_reply(access=own_access(citizen), message=received, body="Merci.")
    with pytest.raises(DeliveryDeferred):
        message_deliver(message_id=reply.pk)
    assert message_deliver(message_id=reply.pk, final_attempt=True) == DeliveryStatus.FAILED
