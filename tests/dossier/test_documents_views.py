"""Pages and file routes of the documents: who reaches what, the upload form, the list, the headers of the files."""

import re
from datetime import date, timedelta

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dossier.models import Document
from dossier.models.documents import AuthorKind
from dossier.services.documents import document_add
from dossier.views.documents import CSP_ATTACHMENT, CSP_INLINE_IMAGE, CSP_INLINE_PDF
from mes.comptes.selectors.profiles import ACTIVE_PROFILE_SESSION_KEY
from tests.dossier.documents_samples import (
    cda_bytes,
    document_row,
    image_bytes,
    make_document,
    padded_pdf,
    pdf_bytes,
    upload,
)

OBJECT_ROUTES = [
    ("document_detail", ("GET",)),
    ("document_file", ("GET",)),
    ("document_download", ("GET",)),
    ("document_hide", ("GET", "POST")),
    ("document_unhide", ("GET", "POST")),
    ("document_delete", ("GET", "POST")),
]
OTHER_ROLES = ["professional", "editor", "commission", "admin"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def stored(access):
    """A PDF Camille added herself."""
    return document_add(
        access=access,
        upload=upload(pdf_bytes("Ordonnance"), "Ordonnance du Dr Martin.pdf"),
        title="Ordonnance du Dr Martin",
        type_code="57833-6",
        act_date=date(2025, 1, 10),
    )


def url(name: str, document: Document) -> str:
    return reverse(name, kwargs={"public_id": document.public_id})


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def act_for(client, citizen) -> None:
    session = client.session
    session[ACTIVE_PROFILE_SESSION_KEY] = str(citizen.public_id)
    session.save()


# --- Who reaches what -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "methods"), [("document_list", ("GET",)), ("document_new", ("GET", "POST"))])
def test_pages_without_object_ask_visitors_to_sign_in_and_refuse_other_roles(client, persona_users, name, methods):
    for method in methods:
        response = getattr(client, method.lower())(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    for role in OTHER_ROLES:
        client.force_login(persona_users[role])
        for method in methods:
            assert getattr(client, method.lower())(reverse(name)).status_code == 403, (role, method)


@pytest.mark.parametrize(("name", "methods"), OBJECT_ROUTES)
def test_object_routes_ask_visitors_to_sign_in_and_refuse_other_roles(client, persona_users, stored, name, methods):
    for method in methods:
        response = getattr(client, method.lower())(url(name, stored))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
    for role in OTHER_ROLES:
        client.force_login(persona_users[role])
        for method in methods:
            assert getattr(client, method.lower())(url(name, stored)).status_code == 403, (role, method)


@pytest.mark.parametrize(("name", "methods"), OBJECT_ROUTES)
def test_another_citizen_gets_404_on_every_object_route_and_nothing_changes(
    client, other_citizen, stored, name, methods
):
    client.force_login(other_citizen.user)
    for method in methods:
        response = getattr(client, method.lower())(url(name, stored))
        assert response.status_code == 404, method
    stored.refresh_from_db()
    assert not stored.hidden_from_professionals
    assert default_storage.exists(stored.file.name)


def test_another_citizen_gets_404_even_for_a_hidden_document(client, other_citizen, citizen):
    hidden = make_document(citizen, hidden_from_professionals=True, hidden_at=timezone.now())
    client.force_login(other_citizen.user)
    for name, methods in OBJECT_ROUTES:
        for method in methods:
            assert getattr(client, method.lower())(url(name, hidden)).status_code == 404, (name, method)
    hidden.refresh_from_db()
    assert hidden.hidden_from_professionals


def test_another_citizen_does_not_see_the_document_in_their_list(client, other_citizen, stored):
    client.force_login(other_citizen.user)
    response = client.get(reverse("document_list"))
    assert response.status_code == 200
    assert "Ordonnance du Dr Martin" not in response.content.decode()


def test_unsupported_methods_are_refused(client, citizen, stored):
    client.force_login(citizen.user)
    assert client.put(url("document_hide", stored)).status_code == 405
    assert client.post(url("document_detail", stored)).status_code == 405
    assert client.post(url("document_download", stored)).status_code == 405


def test_a_parent_acting_for_their_child_manages_the_child_s_documents_and_only_while_acting(
    client, citizen, child, stored
):
    client.force_login(citizen.user)
    act_for(client, child)
    response = client.post(
        reverse("document_new"),
        {
            "file": upload(image_bytes("PNG"), "carnet.png", "image/png"),
            "title": "Carnet de vaccination",
            "type_code": "11369-6",
            "act_date": "2024-09-01",
        },
    )
    document = Document.objects.get(citizen=child)
    assert response.status_code == 302
    assert response["Location"] == url("document_detail", document)
    assert document.author_label == "Camille DURAND (représentant légal)"

    page = client.get(url("document_detail", document)).content.decode()
    assert "Dossier de Léa DURAND — vous agissez en tant que représentant légal." in page
    assert "Ajouté par Camille DURAND (représentant légal)" in page
    listing = client.get(reverse("document_list")).content.decode()
    assert "Carnet de vaccination" in listing
    assert "Ordonnance du Dr Martin" not in listing  # the parent's own document is not the child's
    assert client.get(url("document_detail", stored)).status_code == 404
    assert client.post(url("document_hide", document)).status_code == 302
    document.refresh_from_db()
    assert document.hidden_from_professionals

    # Back in their own space, the child's document is out of reach.
    session = client.session
    session.pop(ACTIVE_PROFILE_SESSION_KEY)
    session.save()
    assert client.get(url("document_detail", document)).status_code == 404
    assert client.get(url("document_file", document)).status_code == 404
    assert client.get(url("document_detail", stored)).status_code == 200


# --- Upload ---------------------------------------------------------------------------------------------------


def test_the_upload_form_lists_the_types_by_category_and_the_size_limit(client, citizen, settings):
    settings.DOSSIER_DOCUMENT_MAX_BYTES = 20 * 1024**2
    client.force_login(citizen.user)
    page = client.get(reverse("document_new")).content.decode()
    assert '<optgroup label="Ordonnances et soins">' in page
    assert '<option value="57833-6">Ordonnance de médicaments ou de produits de santé</option>' in page
    assert '<optgroup label="Autres documents">' in page
    assert "20 Mo au maximum" in page
    assert 'enctype="multipart/form-data"' in page
    assert f'max="{timezone.localdate().isoformat()}"' in page


def test_a_citizen_uploads_a_document_and_lands_on_its_page(client, citizen):
    client.force_login(citizen.user)
    response = client.post(
        reverse("document_new"),
        {
            "file": upload(pdf_bytes(), "résultats sanguins.pdf"),
            "title": "",
            "type_code": "11502-2",
            "act_date": "14/01/2025",
            "hidden": "on",
        },
        follow=True,
    )
    document = Document.objects.get(citizen=citizen)
    assert response.redirect_chain == [(url("document_detail", document), 302)]
    assert document.title == "résultats sanguins"
    assert document.category == "resultats_examens"
    assert document.act_date == date(2025, 1, 14)
    assert document.hidden_from_professionals
    page = response.content.decode()
    assert "Le document « résultats sanguins » a été ajouté à votre dossier." in page
    assert "Masqué aux professionnels" in page


@pytest.mark.parametrize(
    ("content", "name", "words"),
    [
        (b"<html><body>Ordonnance</body></html>", "ordonnance.pdf", "page web (HTML)"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "radio.png", "SVG"),
        (image_bytes("PNG") + b"PK\x05\x06" + b"\x00" * 18, "photo.png", "archive ZIP cachée"),
        (b"MZ" + b"\x00" * 100, "scan.pdf", "programme exécutable"),
    ],
)
def test_refused_content_is_explained_in_the_form(client, citizen, settings, content, name, words):
    client.force_login(citizen.user)
    response = client.post(
        reverse("document_new"),
        {"file": upload(content, name), "title": "Essai", "type_code": "11488-4", "act_date": "2025-01-14"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert words in page
    assert "Le document n’a pas été ajouté" in page
    assert not Document.objects.exists()
    assert not settings.MEDIA_ROOT.exists() or not [path for path in settings.MEDIA_ROOT.rglob("*") if path.is_file()]


def test_form_errors_are_explained(client, citizen):
    client.force_login(citizen.user)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = client.post(
        reverse("document_new"), {"file": upload(pdf_bytes()), "type_code": "", "act_date": tomorrow}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choisissez le type de document." in page
    assert "La date de l’acte ne peut pas être dans le futur." in page
    missing = client.post(reverse("document_new"), {"type_code": "11488-4", "act_date": "2025-01-01"})
    assert "Choisissez le fichier du document." in missing.content.decode()


def test_a_body_announced_too_large_is_refused_before_it_is_read(client, citizen, settings):
    settings.DOSSIER_DOCUMENT_MAX_BYTES = 1024 * 1024
    client.force_login(citizen.user)
    response = client.post(
        reverse("document_new"),
        {"file": upload(padded_pdf(1024 * 1024 + 200_000)), "type_code": "11488-4", "act_date": "2025-01-01"},
    )
    assert response.status_code == 413
    assert "Le fichier dépasse la taille maximale autorisée de 1 Mo." in response.content.decode()
    assert not Document.objects.exists()


def test_an_upload_is_stopped_while_it_streams_past_the_limit(client, citizen, settings):
    settings.DOSSIER_DOCUMENT_MAX_BYTES = 1024 * 1024
    client.force_login(citizen.user)
    # Within the margin left for the multipart envelope, so only the streaming count can catch it.
    response = client.post(
        reverse("document_new"),
        {"file": upload(padded_pdf(1024 * 1024 + 20_000)), "type_code": "11488-4", "act_date": "2025-01-01"},
    )
    assert response.status_code == 413
    assert "1 Mo" in response.content.decode()
    assert not Document.objects.exists()


def test_the_upload_is_protected_against_cross_site_requests(citizen):
    client = Client(enforce_csrf_checks=True)
    client.force_login(citizen.user)
    response = client.post(
        reverse("document_new"),
        {"file": upload(pdf_bytes()), "type_code": "11488-4", "act_date": "2025-01-01"},
    )
    assert response.status_code == 403
    assert not Document.objects.exists()


# --- List -----------------------------------------------------------------------------------------------------


def test_the_list_filters_searches_and_shows_badges(client, citizen):
    make_document(citizen, title="Échographie cardiaque", category="imagerie", act_date=date(2024, 5, 2))
    make_document(
        citizen,
        title="Bilan sanguin",
        category="resultats_examens",
        act_date=date(2023, 2, 1),
        author_kind=AuthorKind.PROFESSIONAL,
        author_label="Laboratoire Pasteur",
        hidden_from_professionals=True,
    )
    client.force_login(citizen.user)
    page = client.get(reverse("document_list")).content.decode()
    assert page.index("Échographie cardiaque") < page.index("Bilan sanguin")
    assert "Masqué aux professionnels" in page
    assert "Professionnel de santé" in page
    assert "Ajouté depuis Mon espace santé" in page

    assert "Bilan sanguin" not in client.get(reverse("document_list"), {"q": "ECHOGRAPHIE"}).content.decode()
    filtered = client.get(reverse("document_list"), {"categorie": "resultats_examens"}).content.decode()
    assert "Bilan sanguin" in filtered and "Échographie cardiaque" not in filtered
    dated = client.get(reverse("document_list"), {"du": "2024-01-01", "au": "2024-12-31"}).content.decode()
    assert "Échographie cardiaque" in dated and "Bilan sanguin" not in dated
    wrong = client.get(reverse("document_list"), {"du": "2024-12-31", "au": "2024-01-01", "categorie": "x"})
    assert wrong.status_code == 200
    assert "La date de fin doit être postérieure ou égale à la date de début." in wrong.content.decode()


def test_the_list_pages_with_opaque_cursors_that_keep_the_filters(client, citizen):
    Document.objects.bulk_create([document_row(citizen, n) for n in range(45)])
    client.force_login(citizen.user)
    first = client.get(reverse("document_list"), {"q": "compte"}).content.decode()
    older = re.search(r'href="\?([^"]+)"[^>]*>Documents plus anciens', first)
    assert older and "q=compte" in older.group(1) and "curseur=" in older.group(1)
    second = client.get(reverse("document_list") + "?" + older.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    text = second.content.decode()
    assert "Documents plus récents" in text
    assert "Compte rendu 24<" in text and "Compte rendu 25<" not in text


@pytest.mark.parametrize("cursor", ["abc", "%%%", "bzoyMDI0LTk5LTk5OjE"])
def test_a_tampered_cursor_answers_400_with_the_first_page(client, citizen, cursor):
    make_document(citizen, title="Premier document")
    client.force_login(citizen.user)
    response = client.get(reverse("document_list"), {"curseur": cursor})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Lien de pagination invalide" in page
    assert "Premier document" in page


def test_the_list_costs_the_same_number_of_queries_for_5_or_60_documents(client, citizen):
    client.force_login(citizen.user)
    Document.objects.bulk_create([document_row(citizen, n) for n in range(5)])
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("document_list"), {"q": "compte"}).status_code == 200
    Document.objects.bulk_create([document_row(citizen, n) for n in range(5, 60)])
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("document_list"), {"q": "compte"})
    assert response.content.decode().count('class="fr-card ') == 20
    assert len(many) == len(few)


# --- Document page --------------------------------------------------------------------------------------------


def test_the_page_of_a_pdf_frames_its_inline_route(client, citizen, stored):
    client.force_login(citizen.user)
    response = client.get(url("document_detail", stored))
    page = response.content.decode()
    assert f'<iframe class="mes-doc-preview" src="{url("document_file", stored)}"' in page
    assert "Ordonnance de médicaments ou de produits de santé" in page
    assert "Ajouté par Camille DURAND" in page
    assert stored.sha256 in page
    assert url("document_delete", stored) in page
    # The site's policy lets its pages frame their own origin (default-src 'self'), nothing else.
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-src" not in policy and "child-src" not in policy


def test_the_page_of_an_image_shows_it(client, access, citizen):
    document = document_add(
        access=access,
        upload=upload(image_bytes("JPEG"), "radio.jpg", "image/jpeg"),
        title="Radio du poignet",
        type_code="52040-3",
        act_date=date(2024, 2, 2),
    )
    client.force_login(citizen.user)
    page = client.get(url("document_detail", document)).content.decode()
    assert f'<img class="mes-doc-image" src="{url("document_file", document)}"' in page
    assert "Image du document « Radio du poignet »" in page


def test_a_cda_is_summarised_as_escaped_text_never_rendered(client, access, citizen):
    document = document_add(
        access=access,
        upload=upload(cda_bytes(), "cr.xml", "text/xml"),
        title="",
        type_code="18748-4",
        act_date=date(2025, 1, 14),
    )
    client.force_login(citizen.user)
    page = client.get(url("document_detail", document)).content.decode()
    assert "Compte rendu d’IRM du genou" in page
    assert "Dr Marie Curie (Cabinet de radiologie)" in page
    assert "Pas de lésion méniscale." in page
    assert "Premier point &lt;script&gt; échappé" in page
    assert "<script>" not in page.split("</main>")[0]
    assert "<iframe" not in page and url("document_file", document) not in page
    assert client.get(url("document_file", document)).status_code == 404


def test_a_professional_s_document_says_why_it_cannot_be_deleted(client, citizen):
    document = make_document(citizen, author_kind=AuthorKind.PROFESSIONAL, author_label="Dr Marie Curie")
    client.force_login(citizen.user)
    page = client.get(url("document_detail", document)).content.decode()
    assert "ajouté par un professionnel de santé : comme dans le DMP, il ne peut pas être supprimé" in page
    assert url("document_delete", document) not in page
    assert url("document_hide", document) in page
    assert client.get(url("document_delete", document))["Location"] == url("document_detail", document)
    response = client.post(url("document_delete", document), follow=True)
    assert "il ne peut pas être supprimé" in response.content.decode()
    assert Document.objects.filter(pk=document.pk).exists()


# --- Actions --------------------------------------------------------------------------------------------------


def test_hiding_asks_for_confirmation_then_hides(client, citizen, stored):
    client.force_login(citizen.user)
    confirm = client.get(url("document_hide", stored)).content.decode()
    assert "Votre médecin traitant pourra toujours le consulter." in confirm
    stored.refresh_from_db()
    assert not stored.hidden_from_professionals  # GET changes nothing
    response = client.post(url("document_hide", stored), follow=True)
    assert "Le document est masqué aux professionnels de santé." in response.content.decode()
    stored.refresh_from_db()
    assert stored.hidden_from_professionals
    assert url("document_unhide", stored) in response.content.decode()
    client.post(url("document_unhide", stored))
    stored.refresh_from_db()
    assert not stored.hidden_from_professionals


def test_deleting_asks_for_confirmation_then_deletes_the_row_and_the_file(
    client, citizen, stored, django_capture_on_commit_callbacks
):
    client.force_login(citizen.user)
    name = stored.file.name
    confirm = client.get(url("document_delete", stored))
    assert "Cette action ne peut pas être annulée." in confirm.content.decode()
    assert Document.objects.filter(pk=stored.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("document_delete", stored), follow=True)
    assert response.redirect_chain == [(reverse("document_list"), 302)]
    assert "Le document « Ordonnance du Dr Martin » a été supprimé." in response.content.decode()
    assert not Document.objects.filter(pk=stored.pk).exists()
    assert not default_storage.exists(name)


# --- File routes ----------------------------------------------------------------------------------------------


def test_the_inline_route_of_a_pdf_streams_it_with_restrictive_headers(client, citizen, stored):
    client.force_login(citizen.user)
    response = client.get(url("document_file", stored))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        "inline; filename=\"Ordonnance du Dr Martin.pdf\"; filename*=UTF-8''Ordonnance%20du%20Dr%20Martin.pdf"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == CSP_INLINE_PDF
    assert "frame-ancestors 'self'" in CSP_INLINE_PDF and "default-src 'none'" in CSP_INLINE_PDF
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    assert body(response) == pdf_bytes("Ordonnance")


def test_the_inline_route_of_an_image_is_sandboxed(client, access, citizen):
    document = document_add(
        access=access,
        upload=upload(image_bytes("PNG"), "photo.jpeg", "image/jpeg"),
        title="Photo",
        type_code="52040-3",
        act_date=date(2024, 2, 2),
    )
    client.force_login(citizen.user)
    response = client.get(url("document_file", document))
    assert response["Content-Type"] == "image/png"  # the content's type, not the name's nor the declared one
    assert response["Content-Disposition"].startswith('inline; filename="photo.png"')
    assert response["Content-Security-Policy"] == CSP_INLINE_IMAGE
    assert "sandbox" in CSP_INLINE_IMAGE and "img-src 'self'" in CSP_INLINE_IMAGE
    assert body(response) == image_bytes("PNG")


def test_the_download_route_is_an_attachment_never_framed(client, citizen, stored):
    client.force_login(citizen.user)
    response = client.get(url("document_download", stored))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="Ordonnance du Dr Martin.pdf"')
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == CSP_ATTACHMENT
    assert "sandbox" in CSP_ATTACHMENT and "frame-ancestors 'none'" in CSP_ATTACHMENT
    assert response["X-Frame-Options"] == "DENY"
    assert body(response) == pdf_bytes("Ordonnance")


def test_a_cda_downloads_as_xml_with_a_utf8_name(client, access, citizen):
    document = document_add(
        access=access,
        upload=upload(cda_bytes(), "Compte rendu d’IRM.xml", "application/octet-stream"),
        title="",
        type_code="18748-4",
        act_date=date(2025, 1, 14),
    )
    client.force_login(citizen.user)
    response = client.get(url("document_download", document))
    assert response["Content-Type"] == "text/xml"
    assert response["Content-Disposition"] == (
        "attachment; filename=\"Compte rendu dIRM.xml\"; filename*=UTF-8''Compte%20rendu%20d%E2%80%99IRM.xml"
    )
    assert body(response) == cda_bytes()


def test_a_missing_stored_file_answers_404_not_500(client, citizen):
    document = make_document(citizen)
    client.force_login(citizen.user)
    assert client.get(url("document_download", document)).status_code == 404
    assert client.get(url("document_file", document)).status_code == 404
