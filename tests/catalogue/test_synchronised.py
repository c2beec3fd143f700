"""« Synchronisé »: the catalogue marks the services whose app the citizen connected to their space (list, page,
suggestions) at no extra query; the page says since when and leads to « Mes services connectés »; the link between
a service and its app (admin, showcase of « Mes services connectés »); the demo apps and connections."""

import re

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone
from oauth2_provider.models import Application

from catalogue.demo import DEMO_CONNECTIONS, DEMO_SERVICES, demo_apps_create, demo_redirect_uri, demo_services_create
from catalogue.models import DATA_EXCHANGE_SCOPES, DataExchange, Service, exchange_scopes
from catalogue.selectors import app_showcases
from dossier.models import Measure, SourceKind
from dossier.services.measures import MEASURE_ADDED
from mes.acces import scopes as app_scopes
from mes.acces.models import AppHabilitation, JournalEntry, Pairing
from mes.acces.selectors_apps import AppShowcase
from mes.acces.selectors_apps import app_showcases as registered_showcases
from mes.acces.services.pairings import PAIRING_CREATED, habilitation_suspend, pairing_revoke
from mes.comptes.demo import DEMO_DOMAIN
from tests.api.conftest import make_application, pair
from tests.catalogue.helpers import jpeg_bytes, make_service, png_bytes
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db

HOME = reverse("catalogue_home")
BADGE = re.compile(r'<p class="fr-badge[^"]*fr-badge--success[^"]*">Synchronisé</p>')


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def connected_service(citizen, slug: str, name: str | None = None) -> tuple[Service, Pairing]:
    """A published service whose app the citizen has connected."""
    application = make_application(name=name or slug)
    service = make_service(slug=slug, name=name or slug.capitalize())
    service.habilitation = application.habilitation
    service.save(update_fields=["habilitation"])
    return service, pair(citizen, application)


def card(body: str, service: Service) -> str:
    """The card of ``service`` in a list."""
    start = body.index(f'href="{reverse("catalogue_detail", args=[service.slug])}"')
    end = body.find('class="fr-card ', start)
    return body[start : end if end != -1 else len(body)]


@pytest.fixture
def signed_in(client, citizen):
    client.force_login(citizen.user)
    return client


def test_the_list_marks_the_connected_services_only(signed_in, citizen, other_citizen):
    tension, _pairing = connected_service(citizen, "tensiocarnet", "TensioCarnet")
    not_connected = make_service(slug="pas-connecte", name="Pas connecté")
    of_another, _ = connected_service(other_citizen, "celui-de-bruno", "Celui de Bruno")
    revoked, pairing = connected_service(citizen, "deconnecte", "Déconnecté")
    pairing_revoke(actor=citizen.user, pairing=pairing)
    suspended, _ = connected_service(citizen, "suspendu", "Suspendu")
    habilitation_suspend(actor=None, habilitation=suspended.habilitation)
    body = _text(signed_in.get(HOME))
    assert BADGE.search(card(body, tension))
    for service in (not_connected, of_another, revoked, suspended):
        assert not BADGE.search(card(body, service)), service.slug
    assert len(BADGE.findall(body)) == 1


def test_the_badge_costs_no_query_whatever_the_number_of_connected_services(signed_in, citizen):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = signed_in.get(HOME)
        assert response.status_code == 200
        return len(queries), len(BADGE.findall(response.content.decode()))

    for number in range(3):
        make_service(slug=f"service-{number}")
    signed_in.get(HOME)  # the session's first read
    baseline, badges = count()
    assert badges == 0
    for number in range(5):
        connected_service(citizen, f"connecte-{number}")
    queries, badges = count()
    assert badges == 5
    assert queries == baseline


def test_the_page_of_a_connected_service_says_since_when_and_leads_to_its_management(signed_in, citizen):
    service, pairing = connected_service(citizen, "tensiocarnet", "TensioCarnet")
    body = _text(signed_in.get(reverse("catalogue_detail", args=[service.slug])))
    assert BADGE.search(body)
    since = formats.date_format(timezone.localtime(pairing.created_at), "j F Y")
    assert f"Connecté à votre espace depuis le {since}</p>" in body
    assert f'href="{reverse("access_apps")}#service-{pairing.public_id}"' in body


def test_the_page_of_a_service_not_connected_says_nothing_of_it(signed_in, citizen, other_citizen):
    service, _ = connected_service(other_citizen, "celui-de-bruno")
    plain = make_service(slug="sans-application")
    for shown in (service, plain):
        body = _text(signed_in.get(reverse("catalogue_detail", args=[shown.slug])))
        assert not BADGE.search(body)
        assert "Connecté à votre espace" not in body and reverse("access_apps") not in body


def test_suggestions_carry_the_badge_too(signed_in, citizen):
    page = make_service(slug="page-vue")
    suggested, _ = connected_service(citizen, "suggere")
    body = _text(signed_in.get(reverse("catalogue_detail", args=[page.slug])))
    assert BADGE.search(card(body, suggested))


def test_the_badge_follows_the_space_being_managed(signed_in, citizen):
    """A parent acting for a child's space sees the child's connections, not their own."""
    from dateutil.relativedelta import relativedelta

    from mes.comptes.selectors.profiles import ACTIVE_PROFILE_SESSION_KEY

    connected_service(citizen, "du-parent")
    child = CitizenFactory(user=None, birth_date=timezone.localdate() - relativedelta(years=8))
    child.legal_representatives.add(citizen.user)
    session = signed_in.session
    session[ACTIVE_PROFILE_SESSION_KEY] = str(child.public_id)
    session.save()
    assert not BADGE.search(_text(signed_in.get(HOME)))


# --- the link between a service and its app -------------------------------------------------------------------


def test_every_data_exchange_has_the_scope_of_its_sentence():
    assert set(DATA_EXCHANGE_SCOPES) == set(DataExchange.values)
    for code, scope in DATA_EXCHANGE_SCOPES.items():
        parsed = app_scopes.parse(scope)
        assert parsed is not None, code
        reading = code.endswith("-lecture")
        assert set(parsed.interactions) <= (set("rs") if reading else set("cud")), code
    assert exchange_scopes([DataExchange.CONTACT_READ, DataExchange.MEASURES_READ]) == [
        "patient/Observation.rs",
        "patient/Patient.r",
    ]


def test_the_showcase_of_connected_services_is_the_published_page_and_logo():
    published = make_service(slug="publie")
    published.habilitation = make_application(name="Publié").habilitation
    published.save(update_fields=["habilitation"])
    draft = make_service(slug="brouillon", publish=False)
    draft.habilitation = make_application(name="Brouillon").habilitation
    draft.save(update_fields=["habilitation"])
    alone = make_application(name="Hors catalogue").habilitation
    ids = [published.habilitation_id, draft.habilitation_id, alone.pk]
    expected = {
        published.habilitation_id: AppShowcase(
            url=reverse("catalogue_detail", args=["publie"]),
            logo_url=reverse("catalogue_image", args=["publie", published.logo_key]),
        )
    }
    assert app_showcases(ids) == expected
    assert registered_showcases(ids) == expected  # registered by the catalogue's AppConfig.ready


def _admin_form(**overrides) -> dict:
    data = {
        "name": "Souffle Serein",
        "slug": "souffle-serein",
        "editor_name": "Souffle Serein SAS",
        "category": "pathologies",
        "kind": "mobile",
        "short_description": "Asthme : ne manquez plus votre traitement de fond.",
        "long_description": "Premier paragraphe.\n\nSecond paragraphe.",
        "app_store_url": "https://apps.apple.com/fr/app/souffle-serein/id6400000001",
        "price_model": "gratuit",
        "data_exchanges": ["mesures-ecriture"],
        "support_email": "aide@souffle.example",
        "accessibility_compliance": "partielle",
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


def test_the_admin_links_a_service_to_an_app_approved_for_no_more_than_it_declares(client, administrator):
    client.force_login(administrator)
    add = reverse("admin:catalogue_service_add")
    wide = make_application(name="Trop large", approved_scopes=["patient/Observation.crs"]).habilitation
    response = client.post(add, _admin_form(habilitation=wide.pk))
    assert response.status_code == 200
    assert "Cette habilitation approuve des données que la fiche ne déclare pas (Observation.r, Observation.s)" in (
        response.content.decode()
    )
    assert not Service.objects.exists()
    fitting = make_application(name="Juste", approved_scopes=["patient/Observation.c"]).habilitation
    response = client.post(add, _admin_form(habilitation=fitting.pk))
    assert response.status_code == 302
    assert Service.objects.get().habilitation == fitting


# --- the demo -----------------------------------------------------------------------------------------------------


def test_the_demo_apps_and_connections(django_capture_on_commit_callbacks):
    camille = CitizenFactory(user__email=f"camille.durand@{DEMO_DOMAIN}", first_names="Camille")
    with django_capture_on_commit_callbacks(execute=True):
        demo_services_create()
        created = demo_apps_create()
    exchanging = [demo for demo in DEMO_SERVICES if demo.exchanges]
    assert len(created) == len(exchanging) >= 2
    for demo in exchanging:
        service = Service.objects.select_related("habilitation__application").get(slug=demo.slug)
        habilitation = service.habilitation
        assert habilitation.name == service.name and habilitation.editor_name == service.editor_name
        assert habilitation.oid.startswith("1.2.250.1.999.")
        assert app_scopes.permissions(habilitation.approved_scopes) == app_scopes.permissions(
            exchange_scopes(service.data_exchanges)
        )
        application = habilitation.application
        assert application.client_type == Application.CLIENT_CONFIDENTIAL
        assert application.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
        assert application.redirect_uris == demo_redirect_uri(demo.slug)
        identify_hasher(application.client_secret)  # stored hashed (raises otherwise)
        application.full_clean()
    for demo in DEMO_SERVICES:
        if not demo.exchanges:
            assert Service.objects.get(slug=demo.slug).habilitation is None

    pairings = Pairing.objects.filter(citizen=camille).select_related("habilitation")
    assert sorted(p.habilitation.catalogue_service.slug for p in pairings) == sorted(DEMO_CONNECTIONS)
    for pairing in pairings:
        assert pairing.is_active and pairing.last_access_at is not None
        measures = Measure.objects.filter(
            citizen=camille, source_kind=SourceKind.APP, source_label=pairing.habilitation.name
        )
        assert measures.count() == len(DEMO_CONNECTIONS[pairing.habilitation.catalogue_service.slug])
        application = str(pairing.habilitation.public_id)
        rows = JournalEntry.objects.filter(citizen=camille, action=MEASURE_ADDED, details__application=application)
        assert rows.count() == measures.count()
    assert JournalEntry.objects.filter(citizen=camille, action=PAIRING_CREATED).count() == 2

    snapshot = (
        list(AppHabilitation.objects.order_by("pk").values_list("pk", "approved_scopes")),
        list(Pairing.objects.order_by("pk").values_list("pk", "last_access_at")),
        Measure.objects.count(),
        JournalEntry.objects.count(),
    )
    assert demo_apps_create() == []
    assert snapshot == (
        list(AppHabilitation.objects.order_by("pk").values_list("pk", "approved_scopes")),
        list(Pairing.objects.order_by("pk").values_list("pk", "last_access_at")),
        Measure.objects.count(),
        JournalEntry.objects.count(),
    )


def test_the_demo_citizen_sees_two_services_synchronised(client, django_capture_on_commit_callbacks):
    camille = CitizenFactory(user__email=f"camille.durand@{DEMO_DOMAIN}", first_names="Camille")
    with django_capture_on_commit_callbacks(execute=True):
        demo_services_create()
        demo_apps_create()
    client.force_login(camille.user)
    body = _text(client.get(HOME, {"page": 1}))
    body += _text(client.get(HOME, {"page": 2}))
    assert len(BADGE.findall(body)) == 2
    apps = _text(client.get(reverse("access_apps")))
    assert "TensioCarnet" in apps and "Pas à Pas Santé" in apps
    history = _text(client.get(reverse("access_history")))
    assert "Service « TensioCarnet »" in history
