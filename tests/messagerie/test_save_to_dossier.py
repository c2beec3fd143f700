"""Saving a received attachment into the dossier: the service (once, through document_add, refusals) and its page."""

from datetime import date, timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from dossier.models import Document
from dossier.models.documents import AuthorKind
from dossier.services.documents import DOCUMENT_ADDED, document_delete
from mes.acces.models import JournalEntry
from mes.acces.policy import citizen_access
from messagerie.models import Attachment, AttachmentFormat
from messagerie.services.attachments import (
    ATTACHMENT_SAVED,
    AttachmentAlreadySaved,
    attachment_save_to_dossier,
)
from tests.dossier.documents_samples import cda_bytes, image_bytes
from tests.messagerie.actions_support import (
    EXE_BYTES,
    act_for,
    attachment_of,
    ics_bytes,
    inbound_message,
    minor_child_of,
    own_access,
    page_text,
)

OTHER_ROLES = ["professional", "editor", "commission", "admin"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def access(citizen):
    return own_access(citizen)


@pytest.fixture
def pdf(citizen):
    return attachment_of(inbound_message(citizen), filename="compte_rendu-IRM_genou.pdf")


def save(access, attachment, **changes):
    values = {"title": "IRM du genou", "type_code": "18748-4", "act_date": date(2025, 1, 14)}
    return attachment_save_to_dossier(access=access, attachment=attachment, **{**values, **changes})


def url(attachment: Attachment) -> str:
    return reverse("messagerie_attachment_save", args=[attachment.public_id])


# --- The service ----------------------------------------------------------------------------------------------


def test_the_attachment_becomes_a_document_of_the_dossier(access, citizen, pdf):
    document = save(access, pdf)
    assert document.citizen == citizen
    assert document.title == "IRM du genou"
    assert document.type_code == "18748-4" and document.category == "imagerie"
    assert document.act_date == date(2025, 1, 14)
    assert document.format == "pdf" and document.sha256 == pdf.sha256
    assert document.original_name == "compte_rendu-IRM_genou.pdf"
    # The citizen added it (they may delete it); its source says where it came from.
    assert document.author_kind == AuthorKind.CITIZEN
    assert (
        document.source_label
        == "Reçu par messagerie de santé de Dr Claire Martin <claire.martin@hopital-nord.mssante.fr>"
    )
    assert document.file.name != pdf.file.name
    with document.file.open("rb") as stored:
        assert stored.read()[:5] == b"%PDF-"
    pdf.refresh_from_db()
    assert pdf.saved_document_id == document.public_id and pdf.saved_at is not None
    mine = JournalEntry.objects.get(action=ATTACHMENT_SAVED, citizen=citizen)
    assert mine.actor == citizen.user and mine.object_id == str(pdf.public_id)
    assert mine.details == {"document": str(document.public_id), "format": "pdf", "masque": False}
    assert JournalEntry.objects.filter(action=DOCUMENT_ADDED, citizen=citizen).count() == 1


@pytest.mark.parametrize(
    ("data", "format", "category"),
    [
        (lambda: image_bytes("PNG"), AttachmentFormat.PNG, "imagerie"),
        (lambda: image_bytes("JPEG"), AttachmentFormat.JPEG, "imagerie"),
        (cda_bytes, AttachmentFormat.CDA, "imagerie"),
    ],
)
def test_images_and_cda_are_saved_too(access, citizen, data, format, category):
    attachment = attachment_of(inbound_message(citizen), filename="piece", data=data(), format=format)
    document = save(access, attachment, type_code="52040-3" if format != AttachmentFormat.CDA else "18748-4")
    assert document.format == format and document.category == category


def test_saved_once_the_second_time_names_the_document(access, pdf):
    document = save(access, pdf)
    with pytest.raises(AttachmentAlreadySaved) as already:
        save(access, pdf, title="Encore")
    assert already.value.document == document
    assert Document.objects.count() == 1
    assert JournalEntry.objects.filter(action=ATTACHMENT_SAVED).count() == 1


def test_once_deleted_from_the_dossier_it_may_be_saved_again(access, pdf):
    first = save(access, pdf)
    document_delete(access=access, document=first)
    second = save(access, pdf)
    assert second.public_id != first.public_id
    pdf.refresh_from_db()
    assert pdf.saved_document_id == second.public_id


@pytest.mark.parametrize(
    ("filename", "data", "format", "blocked", "message"),
    [
        ("facture.pdf", EXE_BYTES, AttachmentFormat.OTHER, "Programme exécutable", "bloquée par sécurité"),
        ("rdv.ics", ics_bytes(), AttachmentFormat.ICS, "", "cette pièce jointe (iCalendar)"),
        ("note.txt", b"Bonjour", AttachmentFormat.TEXT, "", "cette pièce jointe (Texte)"),
    ],
)
def test_blocked_and_non_dossier_formats_are_refused_in_french(
    access, citizen, filename, data, format, blocked, message
):
    attachment = attachment_of(
        inbound_message(citizen), filename=filename, data=data, format=format, blocked_reason=blocked
    )
    with pytest.raises(ValidationError) as refused:
        save(access, attachment)
    assert message in refused.value.messages[0]
    assert not Document.objects.exists()
    attachment.refresh_from_db()
    assert attachment.saved_document_id is None


def test_content_the_dossier_refuses_leaves_nothing(access, citizen):
    broken = attachment_of(inbound_message(citizen), filename="cr.pdf", data=b"%PDF-1.4\nsans fin")
    with pytest.raises(ValidationError) as refused:
        save(access, broken)
    assert "PDF" in refused.value.messages[0]
    assert not Document.objects.exists()
    assert not JournalEntry.objects.filter(action=ATTACHMENT_SAVED).exists()
    broken.refresh_from_db()
    assert broken.saved_document_id is None


def test_invalid_metadata_is_keyed_by_field(access, pdf):
    with pytest.raises(ValidationError) as refused:
        save(access, pdf, type_code="inconnu", act_date=timezone.localdate() + timedelta(days=1))
    assert set(refused.value.message_dict) == {"type_code", "act_date"}
    assert not Document.objects.exists()


def test_another_citizen_cannot_save_it(other_citizen, pdf):
    with pytest.raises(PermissionDenied):
        save(own_access(other_citizen), pdf)
    assert not Document.objects.exists()


def test_a_parent_saves_into_the_childs_dossier(citizen):
    child = minor_child_of(citizen)
    attachment = attachment_of(inbound_message(child))
    document = save(citizen_access(citizen.user, child), attachment)
    assert document.citizen == child
    assert document.author_label == "Camille DURAND (représentant légal)"
    entry = JournalEntry.objects.get(action=ATTACHMENT_SAVED)
    assert entry.citizen == child and entry.actor_label == "Camille Test (représentant légal)"


# --- The page -------------------------------------------------------------------------------------------------


def test_the_form_is_prefilled_from_the_file_name_and_the_message_date(client, citizen, pdf):
    client.force_login(citizen.user)
    response = client.get(url(pdf))
    assert response.status_code == 200
    text = page_text(response)
    assert "Enregistrer « compte_rendu-IRM_genou.pdf » dans mon dossier" in text
    assert "Message de Dr Claire Martin" in text
    form = response.context["form"]
    assert form.initial["title"] == "compte rendu-IRM genou"
    assert form.initial["act_date"] == timezone.localtime(pdf.message.sent_at).date()
    assert "file" not in form.fields
    assert 'name="type_code"' in response.content.decode()


def test_saving_leads_back_to_the_thread(client, citizen, pdf):
    client.force_login(citizen.user)
    response = client.post(url(pdf), {"title": "IRM", "type_code": "18748-4", "act_date": "14/01/2025"})
    assert response.status_code == 302
    assert response["Location"] == f"/messagerie/{pdf.message.conversation.public_id}/"
    document = Document.objects.get(citizen=citizen)
    assert document.title == "IRM" and document.category == "imagerie"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "« IRM » a été enregistré dans votre dossier médical (Imagerie médicale)."
    ]
    # The thread now says it is in the dossier, and the link leads to the document.
    thread = client.get(response["Location"])
    assert "Enregistré dans votre dossier" in page_text(thread)
    assert client.get(url(pdf))["Location"] == reverse("document_detail", args=[document.public_id])


def test_a_second_post_says_it_is_already_there_with_a_link(client, citizen, access, pdf):
    document = save(access, pdf)
    client.force_login(citizen.user)
    response = client.post(url(pdf), {"title": "IRM", "type_code": "18748-4", "act_date": "14/01/2025"})
    assert response.status_code == 409
    assert "Cette pièce jointe est déjà enregistrée dans votre dossier médical" in page_text(response)
    assert reverse("document_detail", args=[document.public_id]) in response.content.decode()
    assert Document.objects.count() == 1


def test_form_errors_are_french_and_nothing_is_saved(client, citizen, pdf):
    client.force_login(citizen.user)
    response = client.post(url(pdf), {"title": "IRM", "type_code": "", "act_date": "31/02/2025"})
    assert response.status_code == 400
    text = page_text(response)
    assert "La pièce jointe n’a pas été enregistrée" in text
    assert "Choisissez le type de document." in text
    assert "Saisissez une date valide" in text
    assert not Document.objects.exists()


def test_a_blocked_attachment_gets_an_explanation_and_no_form(client, citizen):
    blocked = attachment_of(
        inbound_message(citizen), filename="resultats.pdf", data=EXE_BYTES, blocked_reason="Programme exécutable"
    )
    client.force_login(citizen.user)
    response = client.get(url(blocked))
    assert response.status_code == 200
    assert "bloquée par sécurité" in page_text(response)
    assert "form" not in response.context or response.context.get("form") is None
    response = client.post(url(blocked), {"title": "x", "type_code": "18748-4", "act_date": "14/01/2025"})
    assert response.status_code == 400
    assert not Document.objects.exists()


def test_another_citizens_attachment_is_not_found(client, other_citizen, pdf):
    client.force_login(other_citizen.user)
    assert client.get(url(pdf)).status_code == 404
    assert client.post(url(pdf), {"title": "x", "type_code": "18748-4", "act_date": "14/01/2025"}).status_code == 404
    assert not Document.objects.exists()


def test_other_roles_are_refused_and_visitors_sign_in(client, persona_users, pdf):
    response = client.get(url(pdf))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    for role in OTHER_ROLES:
        client.force_login(persona_users[role])
        assert client.get(url(pdf)).status_code == 403
        assert client.post(url(pdf), {"type_code": "18748-4", "act_date": "14/01/2025"}).status_code == 403
    assert not Document.objects.exists()


def test_a_parent_acting_for_the_child_saves_into_the_childs_dossier(client, citizen):
    child = minor_child_of(citizen)
    attachment = attachment_of(inbound_message(child))
    client.force_login(citizen.user)
    act_for(client, child)
    response = client.post(url(attachment), {"title": "CR", "type_code": "11488-4", "act_date": "14/01/2025"})
    assert response.status_code == 302
    assert Document.objects.get().citizen == child
