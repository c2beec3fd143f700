"""The catalogue in the Django admin: create an entry with its logo and screenshots (checked and re-encoded), refuse
an SVG logo, and change the status through the actions (journal rows)."""

import hashlib
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from catalogue.models import Service, ServiceStatus
from catalogue.services import SERVICE_PUBLISHED, SERVICE_SUSPENDED
from mes.acces.models import JournalEntry
from tests.catalogue.helpers import jpeg_bytes, make_service, png_bytes

pytestmark = pytest.mark.django_db

ADD = reverse("admin:catalogue_service_add")
CHANGELIST = reverse("admin:catalogue_service_changelist")


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator)
    return client


def _form(**overrides) -> dict:
    data = {
        "name": "Souffle Serein",
        "slug": "souffle-serein",
        "editor_name": "Souffle Serein SAS",
        "category": "pathologies",
        "kind": "mobile",
        "short_description": "Asthme : ne manquez plus votre traitement de fond.",
        "long_description": "Premier paragraphe.\n\nSecond paragraphe.",
        "website_url": "",
        "app_store_url": "https://apps.apple.com/fr/app/souffle-serein/id6400000001",
        "google_play_url": "",
        "price_model": "gratuit",
        "price_details": "",
        "medical_device": "on",
        "medical_device_class": "I",
        "connected_objects_details": "",
        "data_exchanges": ["mesures-ecriture", "agenda-ecriture"],
        "support_email": "aide@souffle.example",
        "support_phone": "",
        "support_url": "",
        "accessibility_compliance": "partielle",
        "accessibility_url": "",
        "screenshots-TOTAL_FORMS": "1",
        "screenshots-INITIAL_FORMS": "0",
        "screenshots-MIN_NUM_FORMS": "0",
        "screenshots-MAX_NUM_FORMS": "8",
        "screenshots-0-alt_text": "Tableau de bord du jour",
        "screenshots-0-position": "0",
        "logo": SimpleUploadedFile("logo.jpg", jpeg_bytes((300, 300)), content_type="image/jpeg"),
        "screenshots-0-image": SimpleUploadedFile("ecran.png", png_bytes((400, 800)), content_type="image/png"),
    }
    data.update(overrides)
    return data


def test_the_changelist_and_the_add_form_open(admin_client, service):
    assert admin_client.get(CHANGELIST).status_code == 200
    assert admin_client.get(CHANGELIST, {"q": service.name, "status__exact": "publie"}).status_code == 200
    assert admin_client.get(ADD).status_code == 200
    page = admin_client.get(reverse("admin:catalogue_service_change", args=[service.pk]))
    assert page.status_code == 200
    assert reverse("catalogue_image", args=[service.slug, service.logo_key]) in page.content.decode()


def test_an_entry_is_created_as_a_draft_with_re_encoded_images(admin_client):
    response = admin_client.post(ADD, _form())
    assert response.status_code == 302, response.context["adminform"].form.errors
    service = Service.objects.get(slug="souffle-serein")
    assert service.status == ServiceStatus.DRAFT
    assert service.data_exchanges == ["mesures-ecriture", "agenda-ecriture"]
    with service.logo.open("rb") as logo:
        content = logo.read()
    assert Image.open(io.BytesIO(content)).format == "PNG"
    assert hashlib.sha256(content).hexdigest() == service.logo_sha256
    screenshot = service.screenshots.get()
    assert (screenshot.width, screenshot.height) == (400, 800)
    assert screenshot.image.name.endswith(".png")


def test_an_svg_logo_is_refused_with_a_french_message(admin_client):
    svg = SimpleUploadedFile("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", content_type="image/svg+xml")
    response = admin_client.post(ADD, _form(logo=svg))
    assert response.status_code == 200
    assert "Les images SVG ne sont pas acceptées" in response.content.decode()
    assert not Service.objects.exists()


def test_cross_field_rules_show_on_their_field(admin_client):
    response = admin_client.post(ADD, _form(app_store_url="", medical_device_class=""))
    errors = response.context["adminform"].form.errors
    assert "Indiquez au moins un lien vers l’App Store ou Google Play." in errors["app_store_url"]
    assert "Indiquez la classe du dispositif médical." in errors["medical_device_class"]


def test_publish_action(admin_client, administrator):
    draft = make_service(publish=False)
    response = admin_client.post(CHANGELIST, {"action": "publish", "_selected_action": [draft.pk]}, follow=True)
    assert "est publié au catalogue" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == ServiceStatus.PUBLISHED
    assert JournalEntry.objects.get(action=SERVICE_PUBLISHED).actor_id == administrator.pk


def test_suspend_action_asks_for_the_reason(admin_client, service):
    response = admin_client.post(CHANGELIST, {"action": "suspend", "_selected_action": [service.pk]})
    assert response.status_code == 200
    assert "Motif" in response.content.decode()
    service.refresh_from_db()
    assert service.status == ServiceStatus.PUBLISHED
    response = admin_client.post(
        CHANGELIST,
        {"action": "suspend", "_selected_action": [service.pk], "apply": "1", "reason": "Audit : non-conformité"},
        follow=True,
    )
    assert "est suspendu" in response.content.decode()
    service.refresh_from_db()
    assert service.status == ServiceStatus.SUSPENDED
    assert JournalEntry.objects.get(action=SERVICE_SUSPENDED).details["reason"] == "Audit : non-conformité"


def test_saving_without_a_new_logo_keeps_the_logo(admin_client, service):
    url = reverse("admin:catalogue_service_change", args=[service.pk])
    page = admin_client.get(url)
    assert "logo-clear" not in page.content.decode()  # an image is replaced, never cleared
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "logo"}
    data.update({"short_description": "Nouvelle description courte.", "screenshots-TOTAL_FORMS": "0",
                 "screenshots-INITIAL_FORMS": "0", "screenshots-MIN_NUM_FORMS": "0",
                 "screenshots-MAX_NUM_FORMS": "8"})  # fmt: skip
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    before = (service.logo.name, service.logo_sha256)
    service.refresh_from_db()
    assert service.short_description == "Nouvelle description courte."
    assert (service.logo.name, service.logo_sha256) == before
    assert service.screenshots.count() == 3
