"""The attacks RFC 9700 guards against, played against the real ``/o/`` endpoints and an app endpoint of the API.

``test-fhir/app/Patient/<idPe>`` (tests/api/fhir_test_urls.py) is a ``FHIRAppView``: token, pairing, consent and
idPe are checked exactly as on every FHIR endpoint of the paired apps.
"""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, RefreshToken

from mes.acces.models import Pairing
from mes.acces.services.pairings import pairing_revoke
from tests.api.conftest import REDIRECT_URI, bearer, issue_token, make_application, pair, pkce_pair
from tests.api.test_oauth import (
    AUTHORIZE_URL,
    authorize_params,
    consent_form,
    exchange_code,
    oauth_error,
    redirect_query,
    refresh,
    token_request,
)

pytestmark = pytest.mark.urls("tests.api.fhir_test_urls")

EVERYTHING = "openid patient/Observation.crs patient/Patient.r"


def patient_url(idpe: str) -> str:
    return f"/test-fhir/app/Patient/{idpe}"


def read_patient(client, access_token: str, idpe: str):
    return client.get(patient_url(idpe), **bearer(access_token))


def code_for(client, citizen, application, *, scope: str = EVERYTHING) -> tuple[str, str]:
    """(code, verifier) from a consent the citizen gives in their browser."""
    client.force_login(citizen.user)
    verifier, challenge = pkce_pair()
    page = client.get(AUTHORIZE_URL, authorize_params(application, challenge, scope=scope))
    assert page.status_code == 200, page.content[:300]
    query = redirect_query(client.post(AUTHORIZE_URL, {**consent_form(page.content.decode()).fields, "allow": "on"}))
    client.logout()
    return query["code"], verifier


def tokens_for(client, citizen, application, *, scope: str = EVERYTHING) -> dict:
    code, verifier = code_for(client, citizen, application, scope=scope)
    response = exchange_code(client, application, code, verifier)
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def idpe_of(citizen, application) -> str:
    return Pairing.objects.get(citizen=citizen, habilitation__application=application, revoked_at__isnull=True).idpe


# --- Authorization codes ---


def test_a_reused_code_is_refused_and_revokes_what_it_gave(client, citizen, oauth_application):
    code, verifier = code_for(client, citizen, oauth_application)
    first = json.loads(exchange_code(client, oauth_application, code, verifier).content)
    idpe = idpe_of(citizen, oauth_application)
    assert read_patient(client, first["access_token"], idpe).status_code == 200

    # The code leaked: whoever presents it again gets nothing, and the first tokens die with it.
    assert oauth_error(exchange_code(client, oauth_application, code, verifier)) == "invalid_grant"
    assert read_patient(client, first["access_token"], idpe).status_code == 401
    assert oauth_error(refresh(client, oauth_application, first["refresh_token"])) == "invalid_grant"
    assert AccessToken.objects.count() == 0


def test_a_code_replayed_by_another_client_is_refused(client, citizen, oauth_application):
    code, verifier = code_for(client, citizen, oauth_application)
    attacker = make_application(name="Service malveillant")
    assert oauth_error(exchange_code(client, attacker, code, verifier)) == "invalid_grant"
    assert not AccessToken.objects.exists()


# --- PKCE ---


def test_authorization_without_pkce_is_refused(client, citizen, oauth_application):
    client.force_login(citizen.user)
    params = authorize_params(oauth_application, None, code_challenge_method=None)
    query = redirect_query(client.get(AUTHORIZE_URL, params))
    assert query["error"] == "invalid_request"
    assert "code" not in query
    assert not Grant.objects.exists()


@pytest.mark.parametrize("method", ["plain", None])
def test_plain_pkce_is_refused(client, citizen, oauth_application, method):
    """``plain`` is refused, also when implied by a challenge sent without its method (RFC 7636 §4.3)."""
    client.force_login(citizen.user)
    verifier, _ = pkce_pair()
    query = redirect_query(
        client.get(AUTHORIZE_URL, authorize_params(oauth_application, verifier, code_challenge_method=method))
    )
    assert query["error"] == "invalid_request"
    assert "code" not in query
    assert not Grant.objects.exists()


def test_the_token_endpoint_refuses_a_code_without_its_verifier(client, citizen, oauth_application):
    code, _ = code_for(client, citizen, oauth_application)
    response = token_request(
        client, oauth_application, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )
    assert oauth_error(response) == "invalid_request"
    assert not AccessToken.objects.exists()


def test_the_token_endpoint_refuses_the_challenge_as_verifier(client, citizen, oauth_application):
    """Sending the S256 challenge back as the verifier is what ``plain`` amounts to: refused."""
    code, _ = code_for(client, citizen, oauth_application)
    challenge = Grant.objects.get().code_challenge
    assert oauth_error(exchange_code(client, oauth_application, code, challenge)) == "invalid_grant"
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize("stored", [("", ""), ("challenge-en-clair-0123456789-abcdefghijklmnopqrstuv", "plain")])
def test_a_grant_without_an_s256_challenge_gives_no_token(client, citizen, oauth_application, stored):
    """A code stored without PKCE, or with ``plain`` (none can be issued here, say from an older release), is
    never exchanged, even with a verifier equal to its challenge."""
    challenge, method = stored
    pair(citizen, oauth_application)
    Grant.objects.create(
        user=citizen.user,
        application=oauth_application,
        code="code-sans-s256",
        expires=timezone.now() + timedelta(seconds=60),
        redirect_uri=REDIRECT_URI,
        scope="openid",
        code_challenge=challenge,
        code_challenge_method=method,
    )
    verifier = challenge or "verificateur-quelconque-0123456789"
    response = exchange_code(client, oauth_application, "code-sans-s256", verifier)
    assert response.status_code in (400, 401)
    assert "access_token" not in json.loads(response.content)
    assert not AccessToken.objects.exists()


# --- Refresh tokens ---


def test_a_replayed_rotated_refresh_token_kills_the_family(client, citizen, oauth_application):
    first = tokens_for(client, citizen, oauth_application)
    idpe = idpe_of(citizen, oauth_application)
    second = json.loads(refresh(client, oauth_application, first["refresh_token"]).content)
    assert read_patient(client, second["access_token"], idpe).status_code == 200

    assert oauth_error(refresh(client, oauth_application, first["refresh_token"])) == "invalid_grant"

    assert oauth_error(refresh(client, oauth_application, second["refresh_token"])) == "invalid_grant"
    assert read_patient(client, second["access_token"], idpe).status_code == 401
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_a_suspended_app_gets_no_token_until_reinstated(client, citizen, oauth_application):
    from mes.acces.models import AppHabilitation
    from mes.acces.services.pairings import habilitation_reinstate, habilitation_suspend

    first = tokens_for(client, citizen, oauth_application)
    idpe = idpe_of(citizen, oauth_application)
    habilitation = AppHabilitation.objects.get(application=oauth_application)
    habilitation_suspend(actor=None, habilitation=habilitation)
    assert oauth_error(refresh(client, oauth_application, first["refresh_token"]), 401) == "invalid_client"
    assert read_patient(client, first["access_token"], idpe).status_code == 403
    habilitation_reinstate(actor=None, habilitation=habilitation)
    assert refresh(client, oauth_application, first["refresh_token"]).status_code == 200


def test_a_refresh_cannot_widen_the_scopes(client, citizen, oauth_application):
    first = tokens_for(client, citizen, oauth_application, scope="openid patient/Patient.r")
    response = token_request(
        client,
        oauth_application,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
        scope="openid patient/Patient.r patient/Observation.crs",
    )
    assert oauth_error(response) == "invalid_scope"


# --- Redirect URIs ---


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REDIRECT_URI[:-1] + "n",  # last character changed
        REDIRECT_URI[:-1],  # last character removed
        REDIRECT_URI + "s",  # one character added
        REDIRECT_URI.replace("https", "httpss", 1),
        REDIRECT_URI.replace("exemple", "exemp1e"),
        REDIRECT_URI.replace(".fr", ".f r"),
    ],
)
def test_a_redirect_uri_one_character_away_is_refused(client, citizen, oauth_application, redirect_uri):
    client.force_login(citizen.user)
    _, challenge = pkce_pair()
    response = client.get(AUTHORIZE_URL, authorize_params(oauth_application, challenge, redirect_uri=redirect_uri))
    assert response.status_code == 400
    assert not response.has_header("Location")
    assert not Grant.objects.exists()


def test_the_authorization_request_must_name_its_redirect_uri(client, citizen, oauth_application):
    """No redirect URI is filled in from the registration: an authorization request without one is refused on a
    page of ours."""
    client.force_login(citizen.user)
    _, challenge = pkce_pair()
    response = client.get(AUTHORIZE_URL, authorize_params(oauth_application, challenge, redirect_uri=None))
    assert response.status_code == 400
    assert not response.has_header("Location")
    assert not Grant.objects.exists()


@pytest.mark.parametrize("redirect_uri", [REDIRECT_URI[:-1] + "n", REDIRECT_URI + "s", None])
def test_the_token_request_must_name_the_same_redirect_uri(client, citizen, oauth_application, redirect_uri):
    code, verifier = code_for(client, citizen, oauth_application)
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    if redirect_uri is not None:
        data["redirect_uri"] = redirect_uri
    response = token_request(client, oauth_application, **data)
    # RFC 6749 §4.1.3: the redirect URI of the authorization request, repeated identically; left out is refused too.
    assert oauth_error(response) == "invalid_request"
    assert not AccessToken.objects.exists()


# --- One app, one citizen: tokens and idPe do not cross ---


@pytest.fixture
def two_apps(citizen, other_citizen):
    """App A paired with Camille; app B paired with Bruno, and with Camille too."""
    app_a = make_application(name="Service A")
    app_b = make_application(name="Service B")

    class Setup:
        a, b = app_a, app_b
        a_camille = pair(citizen, app_a)
        b_bruno = pair(other_citizen, app_b)
        b_camille = pair(citizen, app_b)

    return Setup


def test_a_token_of_app_a_reads_nothing_of_app_b_citizens(client, two_apps):
    token = issue_token(two_apps.a_camille)
    assert read_patient(client, token, two_apps.a_camille.idpe).status_code == 200
    for foreign in (two_apps.b_bruno.idpe, two_apps.b_camille.idpe):
        response = read_patient(client, token, foreign)
        assert response.status_code == 403
        assert json.loads(response.content)["issue"][0]["diagnostics"] == "idPe requested do not match authorized idPe"


def test_a_token_of_app_b_reads_nothing_of_app_a_citizens(client, two_apps):
    for pairing in (two_apps.b_bruno, two_apps.b_camille):
        token = issue_token(pairing)
        assert read_patient(client, token, two_apps.a_camille.idpe).status_code == 403
    assert read_patient(client, issue_token(two_apps.b_bruno), two_apps.b_camille.idpe).status_code == 403


def test_the_same_citizen_has_a_different_idpe_for_each_app(two_apps):
    assert two_apps.a_camille.idpe != two_apps.b_camille.idpe


def test_a_token_for_a_citizen_not_paired_with_the_app_is_refused(client, other_citizen, two_apps):
    """A token of app A for Bruno (never paired with A, say issued before a data mix-up) gives nothing."""
    token = issue_token(two_apps.b_bruno)  # Bruno's pairing scopes...
    AccessToken.objects.filter(user=other_citizen.user).update(application=two_apps.a)  # ...on app A's client
    response = read_patient(client, token, two_apps.b_bruno.idpe)
    assert response.status_code == 403
    assert json.loads(response.content)["issue"][0]["diagnostics"] == "Consent not given, access refused"


# --- Revocation by the citizen ---


def test_after_revocation_the_old_tokens_are_dead(client, citizen, oauth_application):
    tokens = tokens_for(client, citizen, oauth_application)
    idpe = idpe_of(citizen, oauth_application)
    assert read_patient(client, tokens["access_token"], idpe).status_code == 200

    pairing_revoke(actor=citizen.user, pairing=Pairing.objects.get(citizen=citizen))

    statuses = [read_patient(client, tokens["access_token"], idpe).status_code for _ in range(5)]
    assert all(status in (401, 403) for status in statuses), statuses
    assert oauth_error(refresh(client, oauth_application, tokens["refresh_token"])) == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_after_revocation_a_token_that_survived_is_refused_by_the_pairing_check(client, citizen, oauth_application):
    """Even a token the revocation missed (issued in the same instant) is refused: the pairing is checked each call."""
    pairing = pair(citizen, oauth_application)
    pairing_revoke(actor=citizen.user, pairing=pairing)
    survivor = issue_token(pairing)
    response = read_patient(client, survivor, pairing.idpe)
    assert response.status_code == 403
    assert json.loads(response.content)["issue"][0]["diagnostics"] == "Consent not given, access refused"


def test_a_code_issued_before_revocation_cannot_be_exchanged(client, citizen, oauth_application):
    code, verifier = code_for(client, citizen, oauth_application)
    pairing_revoke(actor=citizen.user, pairing=Pairing.objects.get(citizen=citizen))
    assert oauth_error(exchange_code(client, oauth_application, code, verifier)) == "invalid_grant"
    assert not AccessToken.objects.exists()
