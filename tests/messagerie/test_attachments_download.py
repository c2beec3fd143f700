"""The download of an attachment: who gets it, with which headers and name, and what is never served."""

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from dossier.views.documents import CSP_ATTACHMENT
from mes.acces.models import JournalEntry
from messagerie.models import Attachment
from messagerie.services.inbox import ATTACHMENT_DOWNLOADED
from tests.messagerie.inbox_support import (
    EXE_BYTES,
    ICS_BYTES,
    PDF_BYTES,
    SVG_BYTES,
    act_for,
    make_attachment,
    make_child,
    make_thread,
)

OTHER_ROLES = ["professional", "editor", "commission", "admin"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def pdf(citizen) -> Attachment:
    return make_attachment(make_thread(citizen).messages.get(), filename="Compte rendu d’IRM.pdf")


def url(attachment: Attachment) -> str:
    return reverse("messagerie_attachment_download", kwargs={"attachment_id": attachment.public_id})


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_visitors_sign_in_first_and_other_roles_are_refused(client, persona_users, pdf):
    response = client.get(url(pdf))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    for role in OTHER_ROLES:
        client.force_login(persona_users[role])
        assert client.get(url(pdf)).status_code == 403, role
    assert not JournalEntry.objects.filter(action=ATTACHMENT_DOWNLOADED).exists()


def test_another_citizen_gets_404(client, other_citizen, pdf):
    client.force_login(other_citizen.user)
    assert client.get(url(pdf)).status_code == 404
    assert not JournalEntry.objects.filter(action=ATTACHMENT_DOWNLOADED).exists()


def test_the_citizen_downloads_it_as_a_sandboxed_attachment_and_the_journal_says_so(client, citizen, pdf):
    client.force_login(citizen.user)
    response = client.get(url(pdf))
    assert response.status_code == 200
    assert body(response) == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        "attachment; filename=\"Compte rendu dIRM.pdf\"; filename*=UTF-8''Compte%20rendu%20d%E2%80%99IRM.pdf"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == CSP_ATTACHMENT
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    entry = JournalEntry.objects.get(action=ATTACHMENT_DOWNLOADED)
    assert (entry.citizen_id, entry.actor_id, entry.object_id) == (citizen.pk, citizen.user.pk, str(pdf.public_id))


def test_the_saved_name_ends_with_the_extension_of_the_format_found_in_the_bytes(client, citizen):
    message = make_thread(citizen).messages.get()
    disguised = make_attachment(message, filename="ordonnance.exe")  # a real PDF under an executable's name
    calendar = make_attachment(
        message, content=ICS_BYTES, filename="rdv", format="ics", content_type="text/calendar; charset=utf-8"
    )
    client.force_login(citizen.user)
    response = client.get(url(disguised))
    assert 'filename="ordonnance.exe.pdf"' in response["Content-Disposition"]
    assert response["Content-Type"] == "application/pdf"
    response = client.get(url(calendar))
    assert 'filename="rdv.ics"' in response["Content-Disposition"]
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert body(response) == ICS_BYTES


def test_a_type_the_platform_does_not_serve_is_sent_as_bytes_to_save(client, citizen):
    # Ingestion never stores such a type for a served attachment; if a row said so anyway, the browser would still
    # get nothing it renders.
    message = make_thread(citizen).messages.get()
    odd = make_attachment(
        message, content=b"<p>texte</p>", filename="page.html", format="autre", content_type="text/html"
    )
    client.force_login(citizen.user)
    response = client.get(url(odd))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="page.html"' in response["Content-Disposition"]


@pytest.mark.parametrize(
    ("content", "filename", "reason"),
    [
        (EXE_BYTES, "resultats.pdf", "Programme exécutable (Windows) sous un nom de PDF."),
        (SVG_BYTES, "schema.svg", "Image SVG : elle peut contenir du code."),
    ],
)
def test_a_blocked_attachment_is_never_served(client, citizen, content, filename, reason):
    message = make_thread(citizen).messages.get()
    blocked = make_attachment(
        message,
        content=content,
        filename=filename,
        format="autre",
        content_type="application/octet-stream",
        blocked_reason=reason,
    )
    client.force_login(citizen.user)
    response = client.get(url(blocked))
    assert response.status_code == 404
    assert content not in response.content
    assert default_storage.exists(blocked.file.name)  # kept, nothing is lost
    assert not JournalEntry.objects.filter(action=ATTACHMENT_DOWNLOADED).exists()


def test_a_missing_file_answers_404_and_journals_nothing(client, citizen, pdf):
    default_storage.delete(pdf.file.name)
    client.force_login(citizen.user)
    assert client.get(url(pdf)).status_code == 404
    assert not JournalEntry.objects.filter(action=ATTACHMENT_DOWNLOADED).exists()


def test_unknown_attachment_and_unsupported_methods(client, citizen, pdf):
    client.force_login(citizen.user)
    assert client.get("/messagerie/pieces/6f1c1a9e-52e7-4a4a-9a55-0a0a0a0a0a0a/").status_code == 404
    assert client.post(url(pdf)).status_code == 405


def test_a_parent_acting_for_their_child_downloads_the_child_s_attachment_only_while_acting(client, citizen, pdf):
    child = make_child(citizen)
    childs = make_attachment(make_thread(child).messages.get(), filename="carnet.pdf")
    client.force_login(citizen.user)
    assert client.get(url(childs)).status_code == 404
    act_for(client, child)
    response = client.get(url(childs))
    assert response.status_code == 200 and body(response) == PDF_BYTES
    assert JournalEntry.objects.get(action=ATTACHMENT_DOWNLOADED).citizen_id == child.pk
    assert client.get(url(pdf)).status_code == 404
