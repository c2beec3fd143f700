"""The citizen's outgoing mail (messagerie.services.outgoing): what is stored, what leaves through the mail backend
(headers, threading, attachments), the rules of seed 001, the journal, and the delivery outcome."""

import email
import hashlib
from datetime import date
from email import policy

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage

from dossier.services.documents import document_add
from mes.acces.models import JournalEntry
from mes.comptes.models import Notification
from messagerie.models import Attachment, AttachmentFormat, Conversation, DeliveryStatus, Direction, Message
from messagerie.services import outgoing
from messagerie.services.outgoing import (
    BODY_MAX_LENGTH,
    MESSAGE_RESENT,
    MESSAGE_SENT,
    document_send,
    message_deliver,
    message_forward,
    message_reply,
    message_resend,
    messages_pending_dispatch,
    subject_prefixed,
)
from tests.dossier.documents_samples import pdf_bytes, upload
from tests.messagerie.actions_support import (
    CARDIO_ADDRESS,
    CARDIO_NAME,
    DOCTOR_ADDRESS,
    EXE_BYTES,
    UnreachableBackend,
    attachment_of,
    correspondent_for,
    ics_bytes,
    inbound_message,
    minor_child_of,
    own_access,
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def access(citizen):
    return own_access(citizen)


@pytest.fixture
def received(citizen):
    """Dr Martin's message to Camille, with a PDF, an .ics and a blocked .exe disguised as a PDF."""
    message = inbound_message(
        citizen,
        message_id="<cr-1@hopital-nord.mssante.fr>",
        references="<premier@hopital-nord.mssante.fr>",
        in_reply_to="<premier@hopital-nord.mssante.fr>",
    )
    attachment_of(message, filename="Compte rendu IRM.pdf")
    attachment_of(message, filename="rendez-vous.ics", data=ics_bytes(), format=AttachmentFormat.ICS)
    attachment_of(
        message,
        filename="resultats.pdf",
        data=EXE_BYTES,
        blocked_reason="Ce fichier est un programme exécutable (Windows) : il n’est pas accepté.",
    )
    return message


def sent_email(index: int = -1) -> email.message.EmailMessage:
    return email.message_from_bytes(mail.outbox[index].message().as_bytes(), policy=policy.default)


# --- Subjects -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "subject", "expected"),
    [
        ("RE : ", "Résultats", "RE : Résultats"),
        ("RE : ", "RE : Résultats", "RE : Résultats"),
        ("RE : ", "Re: RE : Re[2]: Résultats", "RE : Résultats"),
        ("RE : ", "TR : Fwd: Résultats", "RE : Résultats"),
        ("TR : ", "RE : Résultats", "TR : Résultats"),
        ("TR : ", "AW: Befund", "TR : Befund"),
        ("RE : ", "Retour de consultation", "RE : Retour de consultation"),
        ("RE : ", "", "RE :"),
    ],
)
def test_subject_prefixes_are_never_stacked(prefix, subject, expected):
    assert subject_prefixed(prefix, subject) == expected


# --- Reply ----------------------------------------------------------------------------------------------------


def test_reply_is_stored_in_the_thread_and_sent_with_threading_headers(
    access, citizen, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reply = message_reply(access=access, message=received, body="Merci docteur,\r\nà bientôt.")
    reply.refresh_from_db()
    assert reply.direction == Direction.OUTBOUND
    assert reply.conversation_id == received.conversation_id
    assert reply.from_address == citizen.mss_address
    assert reply.to_addresses == [DOCTOR_ADDRESS]
    assert reply.subject == "RE : Compte rendu de votre consultation"
    assert reply.in_reply_to == "<cr-1@hopital-nord.mssante.fr>"
    assert reply.references == "<premier@hopital-nord.mssante.fr> <cr-1@hopital-nord.mssante.fr>"
    assert reply.message_id.startswith("<") and reply.message_id.endswith("@patient.mssante.fr>")
    assert reply.sent_by == citizen.user
    assert reply.delivery_status == DeliveryStatus.SENT
    assert reply.delivery_error == ""
    assert reply.attachments.count() == 0
    assert reply.size_bytes > len(reply.body_text)
    # The citizen's text, then the quoted message.
    assert reply.body_text.startswith("Merci docteur,\nà bientôt.\n\nLe ")
    assert "Dr Claire Martin <claire.martin@hopital-nord.mssante.fr> a écrit :" in reply.body_text
    assert "> voici le compte rendu de votre consultation." in reply.body_text

    assert len(mail.outbox) == 1
    message = sent_email()
    assert message["Message-ID"] == reply.message_id
    assert message["In-Reply-To"] == "<cr-1@hopital-nord.mssante.fr>"
    assert message["References"] == "<premier@hopital-nord.mssante.fr> <cr-1@hopital-nord.mssante.fr>"
    assert message["Subject"] == "RE : Compte rendu de votre consultation"
    assert message["From"].addresses[0].addr_spec == citizen.mss_address
    assert message["From"].addresses[0].display_name == "Camille DURAND"
    assert [address.addr_spec for address in message["To"].addresses] == [DOCTOR_ADDRESS]
    assert message["Reply-To"] is None
    assert message["Date"] is not None
    assert mail.outbox[0].from_email.endswith(f"<{citizen.mss_address}>")
    assert "Merci docteur," in message.get_body(("plain",)).get_content()


def test_reply_brings_an_archived_conversation_back_and_writes_the_journal(access, citizen, received):
    from django.utils import timezone

    Conversation.objects.filter(pk=received.conversation_id).update(archived_at=timezone.now())
    reply = message_reply(access=access, message=received, body="Bien reçu.")
    conversation = Conversation.objects.get(pk=received.conversation_id)
    assert conversation.archived_at is None
    assert conversation.last_message_at == reply.sent_at
    entry = JournalEntry.objects.get(action=MESSAGE_SENT, citizen=citizen)
    assert entry.actor == citizen.user
    assert entry.object_id == str(reply.public_id)
    # No health content: no subject, no address, no text.
    assert entry.details == {"envoi": "reponse", "destinataire": "correspondant", "pieces_jointes": 0}


def test_reply_goes_to_the_sender_of_the_message_in_a_thread_with_two_professionals(access, citizen, received):
    colleague = correspondent_for(citizen, CARDIO_ADDRESS, CARDIO_NAME)
    second = inbound_message(citizen, conversation=received.conversation, correspondent=colleague, subject="RE : CR")
    reply = message_reply(access=access, message=second, body="Merci.")
    assert reply.to_addresses == [CARDIO_ADDRESS]
    assert reply.conversation_id == received.conversation_id


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("", "Écrivez votre message."),
        ("  \r\n\t \n", "Écrivez votre message."),
        ("a" * (BODY_MAX_LENGTH + 1), "ne doit pas dépasser 10000 caractères"),
    ],
)
def test_body_required_and_limited_with_a_french_error_nothing_stored(access, received, body, error):
    with pytest.raises(ValidationError) as refused:
        message_reply(access=access, message=received, body=body)
    assert error in " ".join(refused.value.message_dict["body"])
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()
    assert len(mail.outbox) == 0


def test_body_at_the_limit_is_kept_whole(access, received):
    reply = message_reply(access=access, message=received, body="é" * BODY_MAX_LENGTH)
    assert reply.body_text.startswith("é" * BODY_MAX_LENGTH + "\n\n")


def test_a_sent_message_cannot_be_replied_to(access, received):
    reply = message_reply(access=access, message=received, body="Merci.")
    with pytest.raises(PermissionDenied):
        message_reply(access=access, message=reply, body="Encore moi.")


def test_another_citizens_message_is_refused(other_citizen, received):
    with pytest.raises(PermissionDenied):
        message_reply(access=own_access(other_citizen), message=received, body="Je lis tout.")
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()


def test_a_professional_access_is_refused(citizen, professional, received):
    from mes.acces.policy import ACCESS_CARE_TEAM, CitizenAccess

    access = CitizenAccess(actor=professional.user, citizen=citizen, kind=ACCESS_CARE_TEAM)
    with pytest.raises(PermissionDenied):
        message_reply(access=access, message=received, body="Bonjour")


# --- Forward --------------------------------------------------------------------------------------------------


def test_forward_starts_a_new_conversation_with_the_allowed_attachments_copied(
    access, citizen, received, django_capture_on_commit_callbacks
):
    cardio = correspondent_for(citizen, CARDIO_ADDRESS, CARDIO_NAME)
    with django_capture_on_commit_callbacks(execute=True):
        forwarded = message_forward(access=access, message=received, correspondent=cardio, body="Pour information.")
    assert forwarded.conversation_id != received.conversation_id
    assert forwarded.conversation.correspondent == cardio
    assert forwarded.conversation.subject == "TR : Compte rendu de votre consultation"
    assert forwarded.subject == "TR : Compte rendu de votre consultation"
    assert forwarded.in_reply_to == "" and forwarded.references == ""
    assert "-------- Message transféré --------" in forwarded.body_text
    assert "De : Dr Claire Martin <claire.martin@hopital-nord.mssante.fr>" in forwarded.body_text
    assert "voici le compte rendu de votre consultation." in forwarded.body_text
    # The blocked attachment does not leave; the others are copies with files of their own.
    copies = list(forwarded.attachments.order_by("pk"))
    originals = [attachment for attachment in received.attachments.order_by("pk") if not attachment.blocked]
    assert [copy.filename for copy in copies] == ["Compte rendu IRM.pdf", "rendez-vous.ics"]
    for copy, original in zip(copies, originals, strict=True):
        assert copy.file.name != original.file.name
        assert copy.sha256 == original.sha256
        assert copy.format == original.format and copy.content_type == original.content_type
        assert default_storage.exists(copy.file.name)
    entry = JournalEntry.objects.get(action=MESSAGE_SENT)
    assert entry.details == {"envoi": "transfert", "destinataire": "correspondant", "pieces_jointes": 2}

    message = sent_email()
    assert [address.addr_spec for address in message["To"].addresses] == [CARDIO_ADDRESS]
    parts = {part.get_filename(): part for part in message.iter_attachments()}
    assert set(parts) == {"Compte rendu IRM.pdf", "rendez-vous.ics"}
    assert parts["Compte rendu IRM.pdf"].get_content_type() == "application/pdf"
    assert hashlib.sha256(parts["Compte rendu IRM.pdf"].get_content()).hexdigest() == originals[0].sha256
    assert parts["rendez-vous.ics"].get_content_type() == "text/calendar"
    assert "BEGIN:VEVENT" in parts["rendez-vous.ics"].get_content()


def test_forward_of_a_chosen_part_of_the_attachments(access, citizen, received):
    pdf = received.attachments.get(filename="Compte rendu IRM.pdf")
    forwarded = message_forward(
        access=access,
        message=received,
        correspondent=correspondent_for(citizen),
        body="Le PDF seul.",
        attachments=[pdf],
    )
    assert [copy.filename for copy in forwarded.attachments.all()] == ["Compte rendu IRM.pdf"]


def test_a_blocked_attachment_is_never_forwarded(access, citizen, received):
    blocked = received.attachments.get(filename="resultats.pdf")
    with pytest.raises(ValidationError) as refused:
        message_forward(
            access=access,
            message=received,
            correspondent=correspondent_for(citizen),
            body="Tout.",
            attachments=[blocked],
        )
    assert "bloquée par sécurité" in refused.value.message_dict["attachments"][0]
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()


def test_forward_to_another_citizens_correspondent_or_of_another_citizens_attachment_is_refused(
    access, citizen, other_citizen, received
):
    strangers = correspondent_for(other_citizen, "dr.x@ailleurs.mssante.fr", "Dr X")
    with pytest.raises(PermissionDenied):
        message_forward(access=access, message=received, correspondent=strangers, body="Bonjour")
    foreign = attachment_of(inbound_message(other_citizen))
    with pytest.raises(PermissionDenied):
        message_forward(
            access=access, message=received, correspondent=correspondent_for(citizen), body="x", attachments=[foreign]
        )
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()


def test_forward_too_large_is_refused_and_leaves_no_file(access, citizen, received, settings, tmp_path):
    settings.MSS_MAX_MESSAGE_BYTES = 2000
    before = sorted(p.name for p in (tmp_path / "media").rglob("*") if p.is_file())
    with pytest.raises(ValidationError) as refused:
        message_forward(access=access, message=received, correspondent=correspondent_for(citizen), body="Voici.")
    assert "taille maximale" in refused.value.messages[0]
    assert not Attachment.objects.filter(message__direction=Direction.OUTBOUND).exists()
    assert sorted(p.name for p in (tmp_path / "media").rglob("*") if p.is_file()) == before


@pytest.mark.django_db(transaction=True)
def test_a_failure_after_the_copies_deletes_them_again(citizen, monkeypatch, tmp_path, settings):
    """The message is refused once its attachments are copied (here: its exact size): nothing stays, files included."""
    settings.MEDIA_ROOT = tmp_path / "media-tx"
    access = own_access(citizen)
    received = inbound_message(citizen)
    attachment_of(received, filename="a.pdf")
    originals = {p for p in (tmp_path / "media-tx").rglob("*") if p.is_file()}

    def refuse(message):
        raise ValidationError("refusé après la copie")

    monkeypatch.setattr(outgoing, "outgoing_email", refuse)
    with pytest.raises(ValidationError):
        message_forward(access=access, message=received, correspondent=correspondent_for(citizen), body="Voici.")
    import gc

    gc.collect()
    assert {p for p in (tmp_path / "media-tx").rglob("*") if p.is_file()} == originals
    assert not Message.objects.filter(direction=Direction.OUTBOUND).exists()


# --- Send a document of the dossier ---------------------------------------------------------------------------


@pytest.fixture
def document(access):
    return document_add(
        access=access,
        upload=upload(pdf_bytes("Ordonnance"), "ordonnance.pdf"),
        title="Ordonnance du Dr Martin",
        type_code="57833-6",
        act_date=date(2025, 1, 10),
    )


def test_document_send_in_a_new_conversation(access, citizen, document, django_capture_on_commit_callbacks):
    cardio = correspondent_for(citizen, CARDIO_ADDRESS, CARDIO_NAME)
    with django_capture_on_commit_callbacks(execute=True):
        sent = document_send(
            access=access, document=document, correspondent=cardio, subject="Mon ordonnance", body="Bonjour, voici."
        )
    sent.refresh_from_db()
    assert sent.conversation.correspondent == cardio and sent.conversation.subject == "Mon ordonnance"
    assert sent.delivery_status == DeliveryStatus.SENT
    (copy,) = sent.attachments.all()
    assert copy.filename == "ordonnance.pdf" and copy.format == "pdf" and copy.content_type == "application/pdf"
    assert copy.sha256 == document.sha256 and copy.file.name != document.file.name
    message = sent_email()
    assert message["Subject"] == "Mon ordonnance"
    (part,) = list(message.iter_attachments())
    assert part.get_filename() == "ordonnance.pdf"
    assert hashlib.sha256(part.get_content()).hexdigest() == document.sha256
    assert JournalEntry.objects.get(action=MESSAGE_SENT).details["envoi"] == "document"


def test_document_send_as_a_reply_in_the_thread(access, citizen, document, received):
    sent = document_send(
        access=access,
        document=document,
        correspondent=correspondent_for(citizen),
        subject="ignoré",
        body="Voici l’ordonnance demandée.",
        in_reply_to=received,
    )
    assert sent.conversation_id == received.conversation_id
    assert sent.subject == "RE : Compte rendu de votre consultation"
    assert sent.in_reply_to == received.message_id


def test_document_send_as_a_reply_goes_only_to_the_sender(access, citizen, document, received):
    cardio = correspondent_for(citizen, CARDIO_ADDRESS, CARDIO_NAME)
    with pytest.raises(PermissionDenied):
        document_send(
            access=access, document=document, correspondent=cardio, subject="x", body="x", in_reply_to=received
        )


def test_document_send_needs_a_subject(access, citizen, document):
    with pytest.raises(ValidationError) as refused:
        document_send(access=access, document=document, correspondent=correspondent_for(citizen), subject=" ", body="x")
    assert refused.value.message_dict["subject"] == ["Indiquez l’objet du message."]


def test_another_citizens_document_cannot_be_sent(access, citizen, other_citizen):
    theirs = document_add(
        access=own_access(other_citizen),
        upload=upload(pdf_bytes("Secret"), "secret.pdf"),
        title="Secret",
        type_code="57833-6",
        act_date=date(2025, 1, 10),
    )
    with pytest.raises(PermissionDenied):
        document_send(access=access, document=theirs, correspondent=correspondent_for(citizen), subject="x", body="x")


# --- A legal representative writes from the child's address ---------------------------------------------------


def test_a_parent_writes_from_the_childs_address_and_is_named(citizen, django_capture_on_commit_callbacks):
    child = minor_child_of(citizen)
    from mes.acces.policy import citizen_access

    access = citizen_access(citizen.user, child)
    assert access.kind == "representative"
    received = inbound_message(child)
    with django_capture_on_commit_callbacks(execute=True):
        reply = message_reply(access=access, message=received, body="Merci pour Léa.")
    assert reply.from_address == child.mss_address
    assert reply.sent_by == citizen.user
    assert "représentant légal de Léa DURAND" in reply.body_text
    assert sent_email()["From"].addresses[0].addr_spec == child.mss_address
    entry = JournalEntry.objects.get(action=MESSAGE_SENT)
    assert entry.citizen == child and entry.actor == citizen.user
    assert entry.actor_label == "Camille Test (représentant légal)"


# --- Delivery -------------------------------------------------------------------------------------------------


def test_a_refused_delivery_is_kept_as_failed_with_its_reason(
    access, citizen, received, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.messagerie.actions_support.RefusingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        reply = message_reply(access=access, message=received, body="Merci.")
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert "refusé par le serveur de messagerie" in reply.delivery_error
    assert "550" in reply.delivery_error
    notification = Notification.objects.get(citizen=citizen)
    assert notification.title == "Un message n’a pas pu être envoyé"
    assert "Compte rendu" not in notification.body and DOCTOR_ADDRESS not in notification.body
    assert len(mail.outbox) == 0  # in the space only


def test_an_unreachable_server_fails_at_once_when_the_task_runs_inline(
    access, received, settings, django_capture_on_commit_callbacks
):
    """Without a broker the delivery runs in the request: no waiting between attempts, the citizen retries later."""
    settings.EMAIL_BACKEND = "tests.messagerie.actions_support.UnreachableBackend"
    UnreachableBackend.calls = 0
    with django_capture_on_commit_callbacks(execute=True):
        reply = message_reply(access=access, message=received, body="Merci.")
    reply.refresh_from_db()
    assert UnreachableBackend.calls == 1
    assert reply.delivery_status == DeliveryStatus.FAILED
    assert "n’a pas pu être joint après plusieurs tentatives" in reply.delivery_error


def test_on_a_worker_a_transient_failure_is_retried_with_backoff_then_failed(access, received, settings, monkeypatch):
    from celery.exceptions import Retry

    from messagerie.tasks_outgoing import MAX_RETRIES, message_deliver_task

    reply = message_reply(access=access, message=received, body="Merci.")
    settings.EMAIL_BACKEND = "tests.messagerie.actions_support.UnreachableBackend"
    countdowns = []

    def retry(exc=None, countdown=None, **options):
        countdowns.append(countdown)
        return Retry(exc=exc, when=countdown)

    monkeypatch.setattr(message_deliver_task, "retry", retry)
    for attempt in range(MAX_RETRIES):
        message_deliver_task.push_request(retries=attempt, is_eager=False)
        try:
            with pytest.raises(Retry):
                message_deliver_task.run(reply.pk)
        finally:
            message_deliver_task.pop_request()
        reply.refresh_from_db()
        assert reply.delivery_status == DeliveryStatus.PENDING
    assert countdowns == [60, 120, 240, 480, 960, 1800]
    message_deliver_task.push_request(retries=MAX_RETRIES, is_eager=False)
    try:
        assert message_deliver_task.run(reply.pk) == DeliveryStatus.FAILED
    finally:
        message_deliver_task.pop_request()
    reply.refresh_from_db()
    assert "n’a pas pu être joint après plusieurs tentatives" in reply.delivery_error


def test_a_transient_failure_leaves_the_message_waiting(access, received, settings):
    reply = message_reply(access=access, message=received, body="Merci.")
    settings.EMAIL_BACKEND = "tests.messagerie.actions_support.UnreachableBackend"
    with pytest.raises(outgoing.DeliveryDeferred):
        message_deliver(message_id=reply.pk)
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.PENDING


def test_delivery_is_idempotent(access, received):
    reply = message_reply(access=access, message=received, body="Merci.")
    assert message_deliver(message_id=reply.pk) == DeliveryStatus.SENT
    assert message_deliver(message_id=reply.pk) == "skipped"
    assert len(mail.outbox) == 1


def test_a_missing_attachment_file_fails_the_delivery_without_sending(access, citizen, received):
    forwarded = message_forward(access=access, message=received, correspondent=correspondent_for(citizen), body="x")
    default_storage.delete(forwarded.attachments.first().file.name)
    assert message_deliver(message_id=forwarded.pk) == DeliveryStatus.FAILED
    forwarded.refresh_from_db()
    assert "introuvable" in forwarded.delivery_error
    assert len(mail.outbox) == 0


def test_resend_after_a_failure(access, citizen, received, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "tests.messagerie.actions_support.RefusingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        reply = message_reply(access=access, message=received, body="Merci.")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        message_resend(access=access, message=reply)
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT and reply.delivery_error == ""
    assert sent_email()["Message-ID"] == reply.message_id
    assert JournalEntry.objects.filter(action=MESSAGE_RESENT, citizen=citizen).count() == 1
    # Nothing to resend any more: no new row, no new mail.
    with django_capture_on_commit_callbacks(execute=True):
        message_resend(access=access, message=reply)
    assert JournalEntry.objects.filter(action=MESSAGE_RESENT).count() == 1
    assert len(mail.outbox) == 1


def test_messages_whose_task_was_lost_are_dispatched_again(access, received):
    from datetime import timedelta

    from django.utils import timezone

    reply = message_reply(access=access, message=received, body="Merci.")  # its commit hook never runs here
    assert messages_pending_dispatch() == 0  # not stale yet
    Message.objects.filter(pk=reply.pk).update(sent_at=timezone.now() - timedelta(hours=1))
    assert messages_pending_dispatch() == 1
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.SENT
    assert len(mail.outbox) == 1
