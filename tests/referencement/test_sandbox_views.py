"""The technical tests page and its JSON status: who may open them, what each phase shows, the secrets shown once."""

import re

import pytest
from django.contrib.auth.hashers import check_password
from django.urls import reverse
from oauth2_provider.models import Application

from mes.acces.models import Pairing
from mes.acces.services.pairings import pairing_consent
from referencement.models import State
from referencement.services.sandbox import technical_tests_start
from tests.referencement.conftest import dossier_in_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def opened(ready_product, editor, administrator):
    dossier = dossier_in_state(ready_product, State.INSTRUCTION, editor=editor)
    return technical_tests_start(actor=administrator, dossier=dossier)


def page_url(dossier) -> str:
    return reverse("referencement_sandbox", args=[dossier.public_id])


def status_url(dossier) -> str:
    return reverse("referencement_sandbox_status", args=[dossier.public_id])


def revealed(html: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}" value="([^"]+)"', html).group(1)


# --- Who may open the pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ["page", "status"], ids=["page", "status"])
def test_anonymous_visitors_are_sent_to_sign_in(client, opened, route):
    url = page_url(opened) if route == "page" else status_url(opened)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/compte/login/")


@pytest.mark.parametrize("route", ["page", "status"], ids=["page", "status"])
@pytest.mark.parametrize("role", ["citizen", "professional", "commission", "admin"])
def test_other_roles_are_refused(client, opened, persona_users, role, route):
    client.force_login(persona_users[role])
    url = page_url(opened) if route == "page" else status_url(opened)
    assert client.get(url).status_code == 403
    assert client.post(page_url(opened), {"action": "secret"}).status_code == 403


@pytest.mark.parametrize("route", ["page", "status"], ids=["page", "status"])
def test_another_organisations_editor_finds_nothing(client, opened, outsider, route):
    client.force_login(outsider)
    url = page_url(opened) if route == "page" else status_url(opened)
    assert client.get(url).status_code == 404
    assert client.post(page_url(opened), {"action": "secret"}).status_code == 404
    application = Application.objects.get(pk=opened.sandbox_habilitation.application_id)
    assert application.updated == opened.sandbox_habilitation.application.updated


def test_every_editor_of_the_organisation_opens_the_page(client, opened, editor, colleague):
    for user in (editor, colleague):
        client.force_login(user)
        assert client.get(page_url(opened)).status_code == 200
        assert client.get(status_url(opened)).status_code == 200


# --- What each phase shows --------------------------------------------------------------------------------------


def test_while_the_tests_are_open_the_page_gives_everything_to_run_them(client, opened, editor, settings):
    client.force_login(editor)
    response = client.get(page_url(opened))
    html = response.content.decode()
    application = opened.sandbox_habilitation.application
    assert application.client_id in html
    assert "https://suivi-tension.example.fr/oauth/retour" in html
    assert "1.2.250.1.999.1" in html
    assert "patient/Observation.crs" in html and "patient/DocumentReference.c" in html
    base = settings.PUBLIC_BASE_URL
    for path in ("/o/authorize/", "/o/token/", "/api/fhir/", "/o/.well-known/openid-configuration"):
        assert base + path in html
    assert opened.sandbox_citizen.user.email in html
    assert "Générer un nouveau secret" in html and "Générer un nouveau mot de passe" in html
    # The live checklist: every step to do, refreshed by the script from the JSON status.
    assert "Appariement d’un usager de test" in html and "Étapes validées : 0 sur 5" in html
    assert f'data-sandbox-status-url="{status_url(opened)}"' in html
    assert "referencement/sandbox.js" in html and 'aria-live="polite"' in html
    # No pairing yet: nothing to withdraw.
    assert "faites d’abord l’appariement" in html
    assert 'value="retrait"' not in html
    assert "no-cache" in response["Cache-Control"]


def test_before_the_tests_the_page_explains_what_is_coming(client, ready_product, editor):
    dossier = dossier_in_state(ready_product, State.INSTRUCTION, editor=editor)
    client.force_login(editor)
    html = client.get(page_url(dossier)).content.decode()
    assert "Les tests ne sont pas encore ouverts" in html
    assert "client_id" not in html and "sandbox.js" not in html
    assert client.get(status_url(dossier)).json()["opened"] is False


def test_a_dossier_without_data_exchange_has_no_tests(client, ready_product_simple, editor):
    dossier = dossier_in_state(ready_product_simple, State.INSTRUCTION, editor=editor)
    client.force_login(editor)
    assert "procédure sans échange de données" in client.get(page_url(dossier)).content.decode()


def test_after_the_tests_the_results_are_read_only(client, opened, editor):
    opened.state = State.COMMISSION
    opened.save(update_fields=["state"])
    client.force_login(editor)
    html = client.get(page_url(opened)).content.decode()
    assert "Les tests d’accrochage sont terminés" in html
    assert "Appariement d’un usager de test" in html
    assert "Générer un nouveau secret" not in html and "sandbox.js" not in html
    stored = Application.objects.get(pk=opened.sandbox_habilitation.application_id).client_secret
    answer = client.post(page_url(opened), {"action": "secret"}, follow=True)
    assert "Les tests d’accrochage ne sont pas ouverts" in answer.content.decode()
    assert Application.objects.get(pk=opened.sandbox_habilitation.application_id).client_secret == stored


# --- Secrets shown once, consent withdrawn ----------------------------------------------------------------------


def test_a_new_secret_is_shown_once(client, opened, editor):
    client.force_login(editor)
    response = client.post(page_url(opened), {"action": "secret"})
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"]
    secret = revealed(response.content.decode(), "secret-client")
    stored = Application.objects.get(pk=opened.sandbox_habilitation.application_id).client_secret
    assert secret not in stored and check_password(secret, stored)
    assert secret not in client.get(page_url(opened)).content.decode()


def test_a_new_password_is_shown_once_and_signs_the_test_person_in(client, opened, editor):
    client.force_login(editor)
    response = client.post(page_url(opened), {"action": "mot_de_passe"})
    password = revealed(response.content.decode(), "mot-de-passe-usager")
    assert password not in client.get(page_url(opened)).content.decode()
    client.logout()
    assert client.login(email=opened.sandbox_citizen.user.email, password=password)


def test_the_editor_withdraws_the_test_persons_consent(client, opened, editor):
    client.force_login(editor)
    answer = client.post(page_url(opened), {"action": "retrait"}, follow=True)
    assert "faites d’abord l’appariement" in answer.content.decode()

    citizen = opened.sandbox_citizen
    pairing = pairing_consent(
        actor=citizen.user,
        citizen=citizen,
        habilitation=opened.sandbox_habilitation,
        external_id="compte-1",
        scopes=["openid", "patient/Observation.crs"],
    )
    assert 'value="retrait"' in client.get(page_url(opened)).content.decode()
    answer = client.post(page_url(opened), {"action": "retrait"})
    assert answer.status_code == 302 and answer["Location"] == page_url(opened)
    assert "Le consentement de l’usager de test est retiré" in client.get(page_url(opened)).content.decode()
    assert Pairing.objects.get(pk=pairing.pk).revoked_at is not None


def test_an_unknown_action_is_explained(client, opened, editor):
    client.force_login(editor)
    answer = client.post(page_url(opened), {"action": "autre"}, follow=True)
    assert "Action inconnue" in answer.content.decode()


def test_the_status_gives_the_checklist_as_data_and_as_html(client, opened, editor):
    citizen = opened.sandbox_citizen
    pairing_consent(
        actor=citizen.user,
        citizen=citizen,
        habilitation=opened.sandbox_habilitation,
        external_id="compte-1",
        scopes=["openid"],
    )
    client.force_login(editor)
    response = client.get(status_url(opened))
    assert "no-cache" in response["Cache-Control"]
    data = response.json()
    assert (data["opened"], data["complete"], data["frozen"], data["done"], data["total"]) == (True, False, False, 1, 5)
    first = data["items"][0]
    assert first["code"] == "appariement" and first["done"] is True and first["done_at"]
    assert [item["done"] for item in data["items"][1:]] == [False] * 4
    assert 'data-item-code="appariement" data-done="true"' in data["html"]
    assert "Étapes validées : 1 sur 5" in data["html"]
