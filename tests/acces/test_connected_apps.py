"""« Mes services connectés » (``/acces/services/``): the apps paired with the space, what each may do, their
disconnection (tokens dead at once, journal row), and who may reach each route."""

import json
import re
import shutil

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken

from mes.acces.models import AppHabilitation, JournalEntry, Pairing
from mes.acces.services.pairings import PAIRING_REVOKED, habilitation_suspend, pairing_revoke
from mes.comptes.selectors.profiles import ACTIVE_PROFILE_SESSION_KEY
from tests.api.conftest import bearer, issue_token, make_application, pair
from tests.catalogue.helpers import make_service
from tests.factories import CitizenFactory, UserFactory

pytestmark = pytest.mark.django_db

UNKNOWN_UUID = "00000000-0000-0000-0000-000000000000"
EMPTY_BUNDLE = {"resourceType": "Bundle", "type": "transaction", "entry": []}


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    yield
    shutil.rmtree(tmp_path / "media", ignore_errors=True)


def main_text(response) -> str:
    html = response.content.decode()
    return re.sub(r"\s+", " ", html.split('id="content"', 1)[1].split("</main>", 1)[0])


def tension_app(**fields):
    return make_application(
        name="TensioCarnet", approved_scopes=["patient/Observation.crs", "patient/Patient.r"], **fields
    )


def disconnect_url(pairing: Pairing) -> str:
    return reverse("access_app_disconnect", args=[pairing.public_id])


def api_call(client, token: str):
    """An API call of the app: an empty transaction, 422 while the token is valid (the token is checked first)."""
    return client.post(
        reverse("fhir_transaction"),
        data=json.dumps(EMPTY_BUNDLE),
        content_type="application/fhir+json",
        **bearer(token),
    )


# --- the list -----------------------------------------------------------------------------------------------------


def test_the_page_lists_each_connected_service_with_what_it_may_do(client, citizen):
    application = tension_app()
    service = make_service(name="TensioCarnet", slug="tensiocarnet", editor_name="Cardio Partage")
    service.habilitation = application.habilitation
    service.save(update_fields=["habilitation"])
    pairing = pair(citizen, application, scopes=["openid", "patient/Observation.rs"])
    client.force_login(citizen.user)
    response = client.get(reverse("access_apps"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    text = main_text(response)
    assert "TensioCarnet" in text
    assert "Par Éditeur de test" in text  # the habilitation's editor
    assert "Lire vos mesures de santé (poids, tension, glycémie, pas…)" in text
    assert "Ajouter des mesures de santé à votre espace" not in text  # not consented
    assert "Lire vos coordonnées" not in text  # approved, not consented
    assert "Vous reconnaître quand vous revenez" in text
    assert "Connecté depuis le" in text and "Jamais" in text
    assert f'href="{disconnect_url(pairing)}"' in text
    assert f'href="{reverse("catalogue_detail", args=["tensiocarnet"])}"' in text
    assert reverse("catalogue_image", args=["tensiocarnet", service.logo_key]) in text
    assert "Aucun service n’est connecté" not in text


def test_last_access_is_shown_once_the_app_has_called(client, citizen):
    application = tension_app()
    pairing = pair(citizen, application)
    token = issue_token(pairing)
    assert api_call(client, token).status_code == 422
    pairing.refresh_from_db()
    assert pairing.last_access_at is not None
    client.force_login(citizen.user)
    text = main_text(client.get(reverse("access_apps")))
    assert "Jamais" not in text
    local = timezone.localtime(pairing.last_access_at)
    assert f"à {local:%H:%M}" in text


def test_a_service_absent_from_the_catalogue_is_listed_without_link_nor_logo(client, citizen):
    pair(citizen, tension_app())
    draft = make_service(publish=False, slug="brouillon")
    draft.habilitation = AppHabilitation.objects.get()
    draft.save(update_fields=["habilitation"])
    client.force_login(citizen.user)
    text = main_text(client.get(reverse("access_apps")))
    assert "TensioCarnet" in text
    assert "/catalogue/" not in text.split('id="services-connectes"', 1)[1].split("</section>", 1)[0]


def test_what_it_may_do_follows_the_habilitation_at_once(client, citizen):
    """A scope référencement takes away is no longer shown, though the citizen had consented to it."""
    application = tension_app()
    pair(citizen, application)
    client.force_login(citizen.user)
    assert "Lire vos coordonnées" in main_text(client.get(reverse("access_apps")))
    habilitation = application.habilitation
    habilitation.approved_scopes = ["patient/Observation.crs"]
    habilitation.save(update_fields=["approved_scopes"])
    text = main_text(client.get(reverse("access_apps")))
    assert "Lire vos coordonnées" not in text
    assert "Lire vos mesures de santé" in text


def test_a_suspended_service_says_so(client, citizen):
    application = tension_app()
    pair(citizen, application)
    habilitation_suspend(actor=None, habilitation=application.habilitation)
    client.force_login(citizen.user)
    text = main_text(client.get(reverse("access_apps")))
    assert "Suspendu" in text and "ne peut plus accéder à votre espace tant que dure la suspension" in text


def test_empty_state_explains_how_to_connect_a_service(client, citizen):
    client.force_login(citizen.user)
    text = main_text(client.get(reverse("access_apps")))
    assert "Aucun service n’est connecté à votre espace." in text
    assert "ouvrez-le (son application ou son site)" in text
    assert f'href="{reverse("catalogue_home")}"' in text
    assert "Services déconnectés" not in text


def test_disconnected_services_are_listed_apart_the_latest_twenty(client, citizen):
    application = tension_app()
    for number in range(22):
        pairing = pair(citizen, application, external_id=f"compte-{number}")
        pairing_revoke(actor=citizen.user, pairing=pairing)
    current = pair(citizen, application, external_id="compte-actuel")
    client.force_login(citizen.user)
    text = main_text(client.get(reverse("access_apps")))
    connected, disconnected = text.split('id="services-deconnectes"', 1)
    assert connected.count("Connecté depuis le") == 1
    assert f'href="{disconnect_url(current)}"' in connected
    assert disconnected.count("Déconnecté le") == 20
    assert disconnected.count("(par vous)") == 20


def test_the_page_costs_the_same_queries_whatever_the_number_of_services(client, citizen):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("access_apps")).status_code == 200
        return len(queries)

    client.force_login(citizen.user)
    first = tension_app()
    service = make_service(slug="premier")
    service.habilitation = first.habilitation
    service.save(update_fields=["habilitation"])
    pairing_revoke(actor=citizen.user, pairing=pair(citizen, first))
    pair(citizen, first)
    client.get(reverse("access_apps"))  # the session's first read
    one = count()
    for number in range(4):
        application = make_application(name=f"Service {number}")
        other = make_service(slug=f"service-{number}")
        other.habilitation = application.habilitation
        other.save(update_fields=["habilitation"])
        pairing = pair(citizen, application)
        if number % 2:
            pairing_revoke(actor=citizen.user, pairing=pairing)
    assert count() == one


def test_the_settings_page_links_to_the_connected_services(client, citizen):
    client.force_login(citizen.user)
    text = main_text(client.get(reverse("access_settings")))
    assert "Services connectés" in text
    assert f'href="{reverse("access_apps")}"' in text


# --- disconnecting ------------------------------------------------------------------------------------------------


def test_disconnect_asks_for_confirmation_then_kills_the_tokens_at_once(client, citizen):
    application = tension_app()
    pairing = pair(citizen, application)
    token = issue_token(pairing)
    RefreshToken.objects.create(
        user=citizen.user, application=application, token="jeton-de-rafraichissement", access_token=None
    )
    assert api_call(client, token).status_code == 422
    client.force_login(citizen.user)

    confirm = client.get(disconnect_url(pairing))
    assert confirm.status_code == 200
    text = main_text(confirm)
    assert "Déconnecter « TensioCarnet » ?" in text
    assert "Ce que vous lui retirez" in text and "Lire vos coordonnées" in text
    assert "y reste" in text
    pairing.refresh_from_db()
    assert pairing.is_active  # a GET changes nothing

    response = client.post(disconnect_url(pairing))
    assert response.status_code == 302 and response["Location"] == reverse("access_apps")
    text = main_text(client.get(response["Location"]))
    assert "Le service « TensioCarnet » n’a plus accès à votre espace." in text
    assert "Aucun service n’est connecté" in text and "Services déconnectés" in text
    pairing.refresh_from_db()
    assert pairing.revoked_at is not None and pairing.revoked_by == citizen.user
    assert not AccessToken.objects.filter(application=application).exists()
    assert RefreshToken.objects.get(application=application).revoked is not None
    row = JournalEntry.objects.filter(action=PAIRING_REVOKED).get()
    assert row.citizen_id == citizen.pk and row.actor_id == citizen.user.pk
    assert row.details["service"] == "TensioCarnet"
    client.logout()
    assert api_call(client, token).status_code == 401


def test_disconnecting_one_app_leaves_the_other_apps_working(client, citizen):
    tension, other = tension_app(), make_application(name="Autre service")
    tension_token = issue_token(pair(citizen, tension))
    other_pairing = pair(citizen, other)
    other_token = issue_token(other_pairing)
    client.force_login(citizen.user)
    client.post(disconnect_url(Pairing.objects.get(habilitation__application=tension)))
    client.logout()
    assert api_call(client, tension_token).status_code == 401
    assert api_call(client, other_token).status_code == 422
    other_pairing.refresh_from_db()
    assert other_pairing.is_active


def test_a_disconnected_service_is_not_disconnected_twice(client, citizen):
    pairing = pair(citizen, tension_app())
    pairing_revoke(actor=citizen.user, pairing=pairing)
    client.force_login(citizen.user)
    for method in (client.get, client.post):
        response = method(disconnect_url(pairing), follow=True)
        assert "Le service « TensioCarnet » est déjà déconnecté de votre espace." in main_text(response)
    assert JournalEntry.objects.filter(action=PAIRING_REVOKED).count() == 1


def test_another_citizens_pairing_is_404_and_stays(client, citizen, other_citizen):
    application = tension_app()
    pairing = pair(citizen, application)
    token = issue_token(pairing)
    client.force_login(other_citizen.user)
    assert client.get(disconnect_url(pairing)).status_code == 404
    assert client.post(disconnect_url(pairing)).status_code == 404
    assert client.post(reverse("access_app_disconnect", args=[UNKNOWN_UUID])).status_code == 404
    assert "TensioCarnet" not in main_text(client.get(reverse("access_apps")))
    pairing.refresh_from_db()
    assert pairing.is_active
    assert not JournalEntry.objects.filter(action=PAIRING_REVOKED).exists()
    client.logout()
    assert api_call(client, token).status_code == 422


@pytest.mark.parametrize("role", ["professional", "editor", "commission", "admin"])
def test_other_roles_are_refused(client, persona_users, citizen, role):
    pairing = pair(citizen, tension_app())
    client.force_login(persona_users[role])
    assert client.get(reverse("access_apps")).status_code == 403
    assert client.post(disconnect_url(pairing)).status_code == 403
    pairing.refresh_from_db()
    assert pairing.is_active


def test_visitors_are_asked_to_sign_in(client, citizen):
    pairing = pair(citizen, tension_app())
    for response in (client.get(reverse("access_apps")), client.post(disconnect_url(pairing))):
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    pairing.refresh_from_db()
    assert pairing.is_active


def test_a_citizen_account_without_a_space_is_refused(client):
    client.force_login(UserFactory(role="citizen"))
    assert client.get(reverse("access_apps")).status_code == 403


def test_a_legal_representative_manages_the_services_of_the_teenager_space(client, citizen):
    """A 16-year-old connected an app with her own account; her parent, acting for her space, sees it and may
    disconnect it (and sees none of the parent's own services there)."""
    teen = CitizenFactory(first_names="Inès", birth_date=timezone.localdate() - relativedelta(years=16))
    teen.legal_representatives.add(citizen.user)
    application = tension_app()
    own = pair(citizen, make_application(name="Service du parent"))
    teen_pairing = pair(teen, application)
    client.force_login(citizen.user)
    session = client.session
    session[ACTIVE_PROFILE_SESSION_KEY] = str(teen.public_id)
    session.save()
    text = main_text(client.get(reverse("access_apps")))
    assert "vous agissez en tant que représentant légal" in text
    assert "TensioCarnet" in text and "Service du parent" not in text
    assert client.get(disconnect_url(own)).status_code == 404
    assert client.post(disconnect_url(teen_pairing)).status_code == 302
    teen_pairing.refresh_from_db()
    own.refresh_from_db()
    assert teen_pairing.revoked_by == citizen.user and own.is_active
