"""The catalogue's pages: the list with its search, filter and pagination, a service's page, and the images."""

import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from catalogue.models import Category, DataExchange, MedicalDeviceClass, ServiceKind
from catalogue.services import service_logo_set, service_suspend, service_withdraw
from catalogue.views import PAGE_SIZE
from tests.catalogue.helpers import make_service, png_bytes

pytestmark = pytest.mark.django_db

HOME = reverse("catalogue_home")


@pytest.fixture
def signed_in(client, citizen):
    client.force_login(citizen.user)
    return client


def _detail(service) -> str:
    return reverse("catalogue_detail", args=[service.slug])


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_list_says_the_services_are_referenced_by_the_state(signed_in, service):
    response = signed_in.get(HOME)
    assert response.status_code == 200
    body = _text(response)
    assert "Des services référencés par l’État" in body
    assert "interopérabilité, de sécurité et d’éthique" in body
    assert service.name in body and service.editor_name in body and service.short_description in body
    assert reverse("catalogue_image", args=[service.slug, service.logo_key]) in body
    assert f'alt="Logo de {service.name}"' in body
    assert "Synchronisé" not in body  # comes with the pairing, never faked


def test_the_navigation_leads_to_the_catalogue(signed_in, service):
    body = signed_in.get(HOME).content.decode()
    assert re.search(r'<a class="fr-nav__link" href="/catalogue/" aria-current="page">Catalogue</a>', body)


def test_only_published_services_are_listed(signed_in, service, administrator):
    draft = make_service(name="Brouillon Caché", slug="brouillon-cache", publish=False)
    suspended = make_service(name="Suspendu Caché", slug="suspendu-cache")
    service_suspend(actor=administrator, service=suspended, reason="Audit")
    body = signed_in.get(HOME).content.decode()
    assert service.name in body
    assert draft.name not in body
    assert suspended.name not in body


def test_search_and_category_filter(signed_in):
    make_service(name="TensioCarnet", slug="tensiocarnet", category=Category.CONDITIONS,
                 short_description="Votre tension artérielle à domicile.")  # fmt: skip
    make_service(name="Pas à Pas", slug="pas-a-pas", category=Category.PREVENTION, short_description="Marchez.")
    response = signed_in.get(HOME, {"q": "tensions arterielles"})
    body = _text(response)
    assert "1 service trouvé pour « tensions arterielles »" in body
    assert "TensioCarnet" in body and "Pas à Pas" not in body
    # The category tags keep the search, and say how many services each holds for it.
    assert "Suivi de pathologies, traitements (1)" in body
    assert 'href="?q=tensions+arterielles&amp;categorie=pathologies"' in body
    filtered = _text(signed_in.get(HOME, {"categorie": Category.PREVENTION}))
    assert "Pas à Pas" in filtered and "TensioCarnet" not in filtered
    assert re.search(r'aria-current="true">Suivi généraliste, prévention &amp; bien-être \(1\)', filtered)
    nothing = _text(signed_in.get(HOME, {"q": "tension", "categorie": Category.PREVENTION}))
    assert "Aucun service ne correspond à votre recherche" in nothing


def test_overlong_query_gets_a_french_message(signed_in, service):
    response = signed_in.get(HOME, {"q": "x" * 101})
    body = _text(response)
    assert response.status_code == 200
    assert "La recherche est limitée à 100 caractères (vous en avez saisi 101)" in body
    assert 'aria-invalid="true"' in body
    assert service.name in body  # the list stays usable


def test_unknown_category_is_reported_and_ignored(signed_in, service):
    body = _text(signed_in.get(HOME, {"categorie": "inconnue"}))
    assert "Cette catégorie n’existe pas" in body
    assert service.name in body


def test_empty_query_lists_everything(signed_in, service):
    body = _text(signed_in.get(HOME, {"q": "   "}))
    assert "Tous les services référencés" in body
    assert service.name in body


def test_pagination_keeps_the_search_and_costs_the_same_queries(signed_in):
    for number in range(PAGE_SIZE + 3):
        make_service(name=f"Sommeil {number:02d}", slug=f"sommeil-{number:02d}")
    first = _text(signed_in.get(HOME, {"q": "sommeil"}))
    assert "15 services trouvés" in first
    assert "Sommeil 00" in first and "Sommeil 12" not in first
    assert 'href="?q=sommeil&amp;page=2"' in first
    second = _text(signed_in.get(HOME, {"q": "sommeil", "page": "2"}))
    assert "Sommeil 12" in second and "Sommeil 00" not in second
    assert "Sommeil 14" in _text(signed_in.get(HOME, {"q": "sommeil", "page": "999"}))  # the last page
    with CaptureQueriesContext(connection) as small:
        signed_in.get(HOME, {"q": "sommeil", "page": "2"})
    with CaptureQueriesContext(connection) as full:
        signed_in.get(HOME, {"q": "sommeil"})
    assert len(full) == len(small)


def test_the_detail_page(signed_in):
    service = make_service(
        name="GlycoSuivi",
        slug="glycosuivi",
        kind=ServiceKind.BOTH,
        category=Category.CONDITIONS,
        short_description="Suivez votre glycémie.",
        long_description="Premier paragraphe.\n\nDeuxième paragraphe, caché d’abord.\nAvec un retour à la ligne.",
        app_store_url="https://apps.apple.com/fr/app/glycosuivi/id6400001234",
        google_play_url="https://play.google.com/store/apps/details?id=fr.exemple.glyco",
        medical_device=True,
        medical_device_class=MedicalDeviceClass.IIA,
        connected_objects=True,
        connected_objects_details="lecteurs de glycémie",
        data_exchanges=[DataExchange.MEASURES_WRITE, DataExchange.MEASURES_READ],
        price_model="freemium",
        price_details="Rapport mensuel : 2,99 € par mois.",
        support_phone="01 99 00 12 34",
        accessibility_url="https://glyco.example/accessibilite",
        screenshots=3,
    )
    body = _text(signed_in.get(_detail(service)))
    assert '<h1 class="fr-mb-1w">GlycoSuivi</h1>' in body
    assert "Suivez votre glycémie." in body
    assert re.search(r"<p>Premier paragraphe.</p> <details class=\"cat-more\"> <summary>.*Afficher plus", body)
    assert "Deuxième paragraphe, caché d’abord.<br>Avec un retour à la ligne." in body
    assert 'href="https://apps.apple.com/fr/app/glycosuivi/id6400001234"' in body
    assert "Télécharger sur Google Play" in body
    assert "Accéder au site" in body
    assert "Dispositif médical marqué CE, classe IIa" in body
    assert "Fonctionne avec : lecteurs de glycémie" in body
    assert "Gratuit avec achats intégrés" in body and "2,99 € par mois" in body
    assert body.index("Lire vos mesures de santé") < body.index("Ajouter des mesures de santé")
    assert 'href="tel:0199001234"' in body
    assert "Déclaration d’accessibilité" in body
    assert body.count("data-carousel-slide") == 3
    assert "Écran numéro 2" in body
    assert 'aria-live="polite"' in body
    assert "carousel.js" in body


def test_a_service_without_exchange_or_device_says_so(signed_in, service):
    body = _text(signed_in.get(_detail(service)))
    assert "Aucune : ce service figure au catalogue sans échanger de données" in body
    assert "Ce service n’est pas un dispositif médical." in body
    assert "Afficher plus" not in body  # one paragraph only


def test_three_suggestions_of_the_same_category(signed_in):
    service = make_service(name="Principal", slug="principal", category=Category.HOSPITAL)
    for number in range(4):
        make_service(name=f"Voisin {number}", slug=f"voisin-{number}", category=Category.HOSPITAL)
    make_service(name="Ailleurs", slug="ailleurs", category=Category.INFORMATION)
    body = _text(signed_in.get(_detail(service)))
    section = body[body.index("Dans la même catégorie") :]
    assert section.count('class="fr-card fr-enlarge-link cat-card"') == 3
    assert "Ailleurs" not in section and "Principal</a>" not in section


@pytest.mark.parametrize("state", ["unknown", "draft", "suspended", "withdrawn"])
def test_unpublished_or_unknown_services_answer_404(signed_in, administrator, state):
    service = make_service(publish=state != "draft")
    if state == "suspended":
        service_suspend(actor=administrator, service=service, reason="Audit")
    elif state == "withdrawn":
        service_withdraw(actor=administrator, service=service, reason="Fin")
    url = reverse("catalogue_detail", args=["inconnu"]) if state == "unknown" else _detail(service)
    response = signed_in.get(url)
    assert response.status_code == 404
    assert "Service introuvable" in response.content.decode()


def test_images_are_served_as_png_with_nosniff(signed_in, service):
    response = signed_in.get(reverse("catalogue_image", args=[service.slug, service.logo_key]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "immutable" in response["Cache-Control"]
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).format == "PNG"
    screenshot = service.screenshots.first()
    response = signed_in.get(reverse("catalogue_image", args=[service.slug, screenshot.key]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"


def test_unknown_images_answer_404(signed_in, service):
    other = service_logo_set(service=make_service(name="Autre", slug="autre"), upload=png_bytes(colour=(9, 9, 9)))
    assert other.logo_key != service.logo_key
    for slug, key in (
        (service.slug, "0" * 16),
        (service.slug, other.logo_key),  # another service's logo under this one's address
        (service.slug, service.logo_key[:8]),
        ("inconnu", service.logo_key),
    ):
        assert signed_in.get(reverse("catalogue_image", args=[slug, key])).status_code == 404


def test_images_of_unpublished_services_are_for_the_admin_previews_only(client, citizen, administrator):
    draft = make_service(publish=False)
    url = reverse("catalogue_image", args=[draft.slug, draft.logo_key])
    client.force_login(citizen.user)
    assert client.get(url).status_code == 404
    client.force_login(administrator)
    assert client.get(url).status_code == 200
