"""The ingestion service: who may write to whom, what is stored, threading, idempotency, atomicity, journal and
notification."""

import gc
import hashlib
from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.core import mail as django_mail
from django.core.files.storage import default_storage
from django.utils import timezone

from mes.acces.journal import action_label
from mes.acces.models import JournalEntry
from mes.comptes.demo import make_ins
from mes.comptes.models import CitizenStatus, Notification, Sex
from messagerie.models import Attachment, AttachmentFormat, Conversation, Correspondent, Direction, Message
from messagerie.services import ingest as ingest_module
from messagerie.services.ingest import (
    MESSAGE_RECEIVED,
    MessageRefused,
    RecipientRefused,
    SenderRefused,
    message_ingest,
    recipient_resolve,
    sender_check,
)
from tests.factories import CitizenFactory
from tests.messagerie.mime_samples import (
    DOCTOR,
    EXE_BYTES,
    MALICIOUS_HTML,
    OTHER_DOCTOR,
    SVG_BYTES,
    broken_multipart,
    ics_bytes,
    image_bytes,
    mail,
    patient_address,
    pdf_bytes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def ingest(raw: bytes, to, sender: str = DOCTOR):
    return message_ingest(raw=raw, envelope_from=sender, recipients=to if isinstance(to, list) else [to])


# --- Who may write, to whom ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["dr.martin@medecin.mssante.fr", "Secretariat@CHU-Lyon.MSSante.fr", "x@mssante.fr", "y@a.b.mssante.fr"],
)
def test_senders_of_the_mssante_domains_and_their_subdomains_are_allowed(address):
    sender_check(address)


@pytest.mark.parametrize(
    ("address", "status"),
    [
        ("pirate@gmail.com", "5.7.1"),
        ("x@faux-mssante.fr", "5.7.1"),  # a suffix is not a subdomain
        ("x@mssante.fr.pirate.example", "5.7.1"),
        ("123@patient.mssante.fr", "5.7.1"),  # only professionals start a conversation
        ("x@sous.patient.mssante.fr", "5.7.1"),
        ("pas une adresse", "5.1.7"),
    ],
)
def test_other_senders_are_refused(address, status):
    with pytest.raises(SenderRefused) as refused:
        sender_check(address)
    assert (refused.value.code, refused.value.status) == (550, status)
    assert refused.value.smtp_reply.startswith(f"550 {status} ")


def test_known_professional_addresses_are_allowed_outside_the_domains(professional, citizen):
    sender_check(professional.user.email.upper())
    professional.user.is_active = False
    professional.user.save(update_fields=["is_active"])
    with pytest.raises(SenderRefused):
        sender_check(professional.user.email)
    with pytest.raises(SenderRefused):  # a citizen's account is no professional
        sender_check(citizen.user.email)


def test_allowed_domains_come_from_the_setting(settings):
    settings.MSS_ALLOWED_SENDER_DOMAINS = ["hopital.example"]
    sender_check("dr@service.hopital.example")
    with pytest.raises(SenderRefused):
        sender_check("dr@medecin.mssante.fr")


def test_recipient_is_the_ins_of_an_existing_space(citizen):
    assert recipient_resolve(patient_address(citizen)) == citizen
    assert recipient_resolve(f"{citizen.ins}@PATIENT.MSSante.FR") == citizen
    corsican = CitizenFactory(ins=make_ins(sex=Sex.MALE, birth=date(1971, 1, 30), department="2A", commune="004",
                                           order=56))  # fmt: skip
    assert recipient_resolve(f"{corsican.ins.lower()}@patient.mssante.fr") == corsican


@pytest.mark.parametrize(
    "status", [CitizenStatus.CLOSED, CitizenStatus.OPPOSED, CitizenStatus.NOTIFIED, CitizenStatus.IMPORTED]
)
def test_spaces_that_do_not_exist_refuse_mail(citizen, status):
    now = timezone.now()
    type(citizen).objects.filter(pk=citizen.pk).update(
        status=status, closed_at=now, notified_at=now, deadline=now + timedelta(days=40)
    )
    with pytest.raises(RecipientRefused) as refused:
        recipient_resolve(patient_address(citizen))
    assert refused.value.smtp_reply.startswith("550 5.1.1 ")


def test_an_automatically_created_space_receives_mail(citizen):
    type(citizen).objects.filter(pk=citizen.pk).update(status=CitizenStatus.CREATED_AUTOMATICALLY)
    assert recipient_resolve(patient_address(citizen)) == citizen


@pytest.mark.parametrize(
    ("address", "status"),
    [
        ("012345678901234@patient.mssante.fr", "5.1.1"),
        ("dr.martin@patient.mssante.fr", "5.1.1"),
        ("dr.martin@medecin.mssante.fr", "5.7.1"),  # no relay
        ("<>", "5.1.3"),
    ],
)
def test_unknown_recipients_and_other_domains_are_refused(address, status):
    with pytest.raises(RecipientRefused) as refused:
        recipient_resolve(address)
    assert (refused.value.code, refused.value.status) == (550, status)


# --- What is stored ------------------------------------------------------------------------------------------------


def test_a_message_is_stored_with_its_attachments_journal_and_notification(
    citizen, settings, django_capture_on_commit_callbacks
):
    pdf, svg = pdf_bytes(), SVG_BYTES
    raw = mail(
        to=patient_address(citizen),
        html=MALICIOUS_HTML,
        attachments=[
            ("Compte rendu IRM.pdf", "application/pdf", pdf),
            ("rdv.ics", "text/calendar", ics_bytes()),
            ("schema.svg", "image/svg+xml", svg),
            ("ordonnance.pdf", "application/pdf", EXE_BYTES),
            ("radio.png", "image/png", image_bytes("PNG")),
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        [message] = ingest(raw, patient_address(citizen))

    assert message.newly_stored
    message.refresh_from_db()
    assert message.citizen == citizen and message.direction == Direction.INBOUND
    assert message.delivery_status == "" and message.size_bytes == len(raw)
    assert message.subject == "Compte rendu de consultation"
    assert message.body_text.startswith("Bonjour,")
    for forbidden in ("<script", "onload", "onerror", "javascript:", "<style", "<img", "pirate.example"):
        assert forbidden not in message.body_html.lower()
    assert "<b>voici vos résultats</b>" in message.body_html

    correspondent = Correspondent.objects.get(citizen=citizen)
    assert (correspondent.address, correspondent.display_name) == (DOCTOR, "Dr Jeanne Martin")
    conversation = message.conversation
    assert conversation.correspondent == correspondent and conversation.subject == message.subject
    assert conversation.last_message_at == message.received_at and conversation.archived_at is None

    attachments = {attachment.filename: attachment for attachment in message.attachments.all()}
    assert set(attachments) == {"Compte rendu IRM.pdf", "rdv.ics", "schema.svg", "ordonnance.pdf", "radio.png"}
    cr = attachments["Compte rendu IRM.pdf"]
    assert (cr.format, cr.content_type, cr.blocked_reason) == ("pdf", "application/pdf", "")
    assert (cr.size_bytes, cr.sha256) == (len(pdf), hashlib.sha256(pdf).hexdigest())
    assert default_storage.open(cr.file.name).read() == pdf
    assert "IRM" not in cr.file.name and str(citizen.public_id) in cr.file.name  # a server-made name
    assert attachments["rdv.ics"].format == AttachmentFormat.ICS
    assert attachments["radio.png"].format == AttachmentFormat.PNG
    for blocked in ("schema.svg", "ordonnance.pdf"):
        attachment = attachments[blocked]
        assert attachment.blocked and attachment.format == AttachmentFormat.OTHER
        assert attachment.content_type == "application/octet-stream"
        assert default_storage.exists(attachment.file.name)  # kept, never served
    assert "exécutable" in attachments["ordonnance.pdf"].blocked_reason
    assert len(stored_files(settings)) == 5

    entry = JournalEntry.objects.get(action=MESSAGE_RECEIVED)
    assert entry.citizen == citizen and entry.actor is None
    assert entry.actor_label == f"Dr Jeanne Martin ({DOCTOR})"
    assert entry.object_id == str(message.public_id)
    assert entry.details == {"pieces_jointes": 5, "pieces_bloquees": 2, "taille": len(raw)}
    assert action_label(MESSAGE_RECEIVED) == "Réception d’un message dans la messagerie de santé"

    [notification] = Notification.objects.filter(user=citizen.user)
    assert notification.link == "/messagerie/"
    [email] = django_mail.outbox
    assert email.to == [citizen.user.email]
    for text in (notification.title, notification.body, email.subject, email.body):
        for secret in ("Compte rendu", "consultation", "Martin", DOCTOR, "IRM"):
            assert secret not in text
    assert "Vous avez reçu un nouveau message dans votre messagerie de santé" in email.body


def test_a_message_with_html_only_gets_a_text_version(citizen):
    [message] = ingest(mail(to=patient_address(citizen), text=None, html="<p>Bonjour</p><p>À bientôt</p>"),
                       patient_address(citizen))  # fmt: skip
    assert message.body_html == "<p>Bonjour</p><p>À bientôt</p>"
    assert message.body_text == "Bonjour\n\nÀ bientôt"


def test_a_malformed_message_is_stored_with_its_defects_in_the_journal(citizen):
    [message] = ingest(broken_multipart(patient_address(citizen)), patient_address(citizen))
    assert message.body_text.strip() == "Bonjour, le texte reste lisible."
    assert message.attachments.get().blocked
    assert JournalEntry.objects.get(action=MESSAGE_RECEIVED).details["defauts_mime"]


def test_a_minor_childs_message_notifies_the_parent(citizen):
    child = CitizenFactory(user=None, first_names="Léa", birth_date=timezone.localdate() - relativedelta(years=8))
    child.legal_representatives.add(citizen.user)
    [message] = ingest(mail(to=patient_address(child)), patient_address(child))
    assert message.citizen == child
    assert Notification.objects.get(user=citizen.user).citizen == child


# --- Threads and correspondents -------------------------------------------------------------------------------------


def test_threads_by_in_reply_to_and_by_references(citizen):
    to = patient_address(citizen)
    [first] = ingest(mail(to=to, message_id="<a@medecin.mssante.fr>"), to)
    [reply] = ingest(mail(to=to, message_id="<b@medecin.mssante.fr>", in_reply_to="<a@medecin.mssante.fr>",
                          subject="RE : Compte rendu"), to)  # fmt: skip
    # A client that only sets References (the last one names the message answered).
    references = "<inconnu@ailleurs.fr> <a@medecin.mssante.fr> <b@medecin.mssante.fr>"
    [third] = ingest(mail(to=to, message_id="<c@medecin.mssante.fr>", references=references), to)
    [unrelated] = ingest(mail(to=to, message_id="<d@medecin.mssante.fr>", in_reply_to="<inconnu@ailleurs.fr>"), to)
    assert first.conversation_id == reply.conversation_id == third.conversation_id
    assert unrelated.conversation_id != first.conversation_id
    conversation = Conversation.objects.get(pk=first.conversation_id)
    assert conversation.subject == "Compte rendu de consultation"  # the first message's subject
    assert conversation.messages.count() == 3
    assert Correspondent.objects.filter(citizen=citizen).count() == 1


def test_a_professional_never_joins_another_professionals_thread(citizen):
    to = patient_address(citizen)
    [first] = ingest(mail(to=to, message_id="<a@medecin.mssante.fr>"), to)
    [intruder] = ingest(
        mail(to=to, sender=OTHER_DOCTOR, message_id="<z@chu-lyon.mssante.fr>", in_reply_to="<a@medecin.mssante.fr>"),
        to,
        sender=OTHER_DOCTOR,
    )
    assert intruder.conversation_id != first.conversation_id
    assert intruder.conversation.correspondent.address == OTHER_DOCTOR


def test_a_new_message_updates_the_conversation_and_brings_it_back_from_the_archive(citizen):
    to = patient_address(citizen)
    [first] = ingest(mail(to=to, message_id="<a@medecin.mssante.fr>"), to)
    Conversation.objects.filter(pk=first.conversation_id).update(archived_at=timezone.now())
    [reply] = ingest(mail(to=to, message_id="<b@medecin.mssante.fr>", in_reply_to="<a@medecin.mssante.fr>"), to)
    conversation = Conversation.objects.get(pk=first.conversation_id)
    assert conversation.archived_at is None
    assert conversation.last_message_at == reply.received_at > first.received_at


def test_the_correspondent_is_upserted_by_lower_cased_address(citizen):
    to = patient_address(citizen)
    ingest(mail(to=to, message_id="<a@m.mssante.fr>", sender_name="Dr Martin"), to)
    ingest(mail(to=to, message_id="<b@m.mssante.fr>", sender="Dr.Martin@Medecin.MSSante.fr",
                sender_name="Dr Jeanne Martin, cardiologue"), to)  # fmt: skip
    correspondent = Correspondent.objects.get(citizen=citizen)
    assert correspondent.address == DOCTOR
    assert correspondent.display_name == "Dr Jeanne Martin, cardiologue"
    assert correspondent.last_message_at > correspondent.first_message_at


# --- Idempotency, recipients, atomicity ---------------------------------------------------------------------------


def test_redelivery_of_the_same_message_stores_nothing_new(citizen, settings):
    to = patient_address(citizen)
    raw = mail(to=to, attachments=[("cr.pdf", "application/pdf", pdf_bytes())])
    [first] = ingest(raw, to)
    [again] = ingest(raw, to)
    assert again.pk == first.pk and first.newly_stored and not again.newly_stored
    assert Message.objects.count() == 1 and Attachment.objects.count() == 1
    assert len(stored_files(settings)) == 1
    assert JournalEntry.objects.filter(action=MESSAGE_RECEIVED).count() == 1
    assert Notification.objects.count() == 1
    # Without Message-ID, the same bytes get the same generated identifier.
    raw = mail(to=to, message_id=None, subject="Sans identifiant")
    assert ingest(raw, to)[0].pk == ingest(raw, to)[0].pk


def test_one_message_to_several_citizens_gives_each_their_own_copy(citizen, other_citizen, settings):
    to = [patient_address(citizen), patient_address(other_citizen), patient_address(citizen).upper()]
    raw = mail(to=to[:2], attachments=[("cr.pdf", "application/pdf", pdf_bytes())])
    mine, theirs = ingest(raw, to)
    assert (mine.citizen, theirs.citizen) == (citizen, other_citizen)
    assert mine.conversation.citizen == citizen and theirs.conversation.citizen == other_citizen
    assert mine.conversation.correspondent_id != theirs.conversation.correspondent_id
    mine_file, theirs_file = mine.attachments.get(), theirs.attachments.get()
    assert mine_file.citizen == citizen and theirs_file.citizen == other_citizen
    assert mine_file.file.name != theirs_file.file.name and len(stored_files(settings)) == 2
    assert JournalEntry.objects.filter(action=MESSAGE_RECEIVED).count() == 2


def test_one_refused_recipient_refuses_the_whole_message(citizen, other_citizen, settings):
    type(other_citizen).objects.filter(pk=other_citizen.pk).update(status=CitizenStatus.OPPOSED)
    raw = mail(to=patient_address(citizen), attachments=[("cr.pdf", "application/pdf", pdf_bytes())])
    with pytest.raises(RecipientRefused):
        ingest(raw, [patient_address(citizen), patient_address(other_citizen)])
    gc.collect()
    assert not Message.objects.exists() and stored_files(settings) == []


def test_too_many_recipients_are_refused(citizen, settings):
    settings.MSS_MAX_RECIPIENTS = 1
    with pytest.raises(MessageRefused) as refused:
        ingest(mail(to=patient_address(citizen)), [patient_address(citizen), "012345678901234@patient.mssante.fr"])
    assert refused.value.smtp_reply.startswith("550 5.5.3 ")


def test_the_from_header_must_be_an_allowed_sender_too(citizen):
    raw = mail(to=patient_address(citizen), sender="faux.docteur@gmail.com")
    with pytest.raises(SenderRefused):
        ingest(raw, patient_address(citizen), sender=DOCTOR)
    assert not Message.objects.exists()


def test_a_failure_midway_leaves_no_row_and_no_file(citizen, other_citizen, settings, monkeypatch):
    real_save = default_storage.save
    written = []

    def save_failing_on_the_second(name, content, max_length=None):
        if len(written) == 1:
            raise OSError("stockage indisponible")
        written.append(real_save(name, content, max_length=max_length))
        return written[-1]

    monkeypatch.setattr(default_storage, "save", save_failing_on_the_second)
    raw = mail(
        to=patient_address(citizen),
        attachments=[("a.pdf", "application/pdf", pdf_bytes()), ("b.png", "image/png", image_bytes("PNG"))],
    )
    with pytest.raises(OSError, match="stockage indisponible"):
        ingest(raw, [patient_address(citizen), patient_address(other_citizen)])
    gc.collect()
    assert len(written) == 1 and not default_storage.exists(written[0])
    assert stored_files(settings) == []
    for model in (Message, Attachment, Conversation, Correspondent):
        assert not model.objects.exists()
    assert not JournalEntry.objects.filter(action=MESSAGE_RECEIVED).exists()
    assert not Notification.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_with_real_transactions_a_failed_delivery_leaves_nothing_and_a_retry_succeeds(citizen, settings, monkeypatch):
    real_journal = ingest_module.journal_append
    calls = []

    def failing_journal(**kwargs):
        calls.append(kwargs)
        raise RuntimeError("base indisponible")

    monkeypatch.setattr(ingest_module, "journal_append", failing_journal)
    raw = mail(to=patient_address(citizen), attachments=[("a.pdf", "application/pdf", pdf_bytes())])
    with pytest.raises(RuntimeError):
        ingest(raw, patient_address(citizen))
    gc.collect()
    assert calls and stored_files(settings) == [] and not Message.objects.exists()

    monkeypatch.setattr(ingest_module, "journal_append", real_journal)
    [message] = ingest(raw, patient_address(citizen))
    gc.collect()
    assert default_storage.exists(message.attachments.get().file.name)
