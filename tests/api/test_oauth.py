"""The OAuth2 server behaves as RFC 9700 (OAuth 2.0 Security BCP) asks, driven through the real ``/o/`` endpoints."""

import base64
import json
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
from django.conf import settings
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, DeviceGrant, Grant, RefreshToken

from mes.acces.models import Pairing
from tests.api.conftest import CLIENT_SECRET, REDIRECT_URI, make_application, pkce_pair

# The project's URLs plus a bearer-protected FHIR endpoint (/test-fhir/Patient) to try the tokens on.
pytestmark = pytest.mark.urls("tests.api.fhir_test_urls")

AUTHORIZE_URL = "/o/authorize/"
TOKEN_URL = "/o/token/"
PROTECTED_URL = "/test-fhir/Patient"
STATE = "etat-opaque-1234"


class _FormFields(HTMLParser):
    """Collects the named <input> fields and the submit buttons of the consent form."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.submits: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attributes = {key: value or "" for key, value in attrs}
        if tag == "button" or (tag == "input" and attributes.get("type") == "submit"):
            self.submits.append(attributes)
        elif tag == "input" and "name" in attributes:
            self.fields[attributes["name"]] = attributes.get("value", "")


def consent_form(html: str) -> _FormFields:
    parser = _FormFields()
    parser.feed(html)
    return parser


def authorize_params(application: Application, challenge: str | None, **overrides) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "external_id": "compte-42",
        "state": STATE,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {key: value for key, value in params.items() if value is not None}


def redirect_query(response) -> dict[str, str]:
    """The query of a redirect to the client, after checking it goes to the registered URI."""
    assert response.status_code == 302, response.content[:500]
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    assert not location.fragment, "nothing may be returned in the fragment (no implicit grant)"
    return {key: values[-1] for key, values in parse_qs(location.query).items()}


def obtain_code(client, application: Application, challenge: str) -> str:
    """Shows the consent page, then submits it as the citizen would (its own hidden fields, "Autoriser")."""
    page = client.get(AUTHORIZE_URL, authorize_params(application, challenge))
    assert page.status_code == 200
    form = consent_form(page.content.decode())
    allow = [submit for submit in form.submits if submit.get("name") == "allow"]
    assert allow, "the consent form has an allow button"
    answer = client.post(AUTHORIZE_URL, {**form.fields, "allow": allow[0].get("value", "on")})
    query = redirect_query(answer)
    assert "error" not in query, query
    assert query["state"] == STATE
    return query["code"]


def basic_auth(client_id: str, secret: str = CLIENT_SECRET) -> str:
    credentials = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(credentials).decode()


def token_request(client, application: Application, **data):
    return client.post(
        TOKEN_URL,
        urlencode(data),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )


def exchange_code(client, application: Application, code: str, verifier: str, **extra):
    return token_request(
        client,
        application,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
        **extra,
    )


def refresh(client, application: Application, refresh_token: str):
    return token_request(client, application, grant_type="refresh_token", refresh_token=refresh_token)


def oauth_error(response, status: int = 400) -> str:
    assert response.status_code == status, response.content[:500]
    return json.loads(response.content)["error"]


def bearer_status(client, access_token: str) -> int:
    return client.get(PROTECTED_URL, HTTP_AUTHORIZATION=f"Bearer {access_token}").status_code


@pytest.fixture
def signed_in(client, citizen):
    client.force_login(citizen.user)
    return client


@pytest.fixture
def tokens(signed_in, oauth_application) -> dict:
    """A token response obtained through the whole authorization-code flow."""
    verifier, challenge = pkce_pair()
    code = obtain_code(signed_in, oauth_application, challenge)
    response = exchange_code(signed_in, oauth_application, code, verifier)
    assert response.status_code == 200, response.content
    # The resource server is called by the client, not from the citizen's browser session.
    signed_in.logout()
    return json.loads(response.content)


# --- The authorization-code flow with PKCE S256 ---


def test_authorization_code_flow_with_pkce_s256(signed_in, citizen, oauth_application):
    verifier, challenge = pkce_pair()

    page = signed_in.get(AUTHORIZE_URL, authorize_params(oauth_application, challenge))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Carnet de tension" in html
    assert "un identifiant qui lui est propre" in html

    code = obtain_code(signed_in, oauth_application, challenge)
    grant = Grant.objects.get(application=oauth_application)
    assert grant.user == citizen.user
    assert grant.code_challenge == challenge
    assert grant.code_challenge_method == "S256"
    assert grant.redirect_uri == REDIRECT_URI

    before = timezone.now()
    response = exchange_code(signed_in, oauth_application, code, verifier)
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = json.loads(response.content)
    assert body["token_type"] == "Bearer"
    assert body["access_token"] and body["refresh_token"]
    assert body["scope"] == "openid"
    lifetime = settings.OAUTH2_PROVIDER["ACCESS_TOKEN_EXPIRE_SECONDS"]
    assert body["expires_in"] == lifetime

    access = AccessToken.objects.get(application=oauth_application)
    assert access.user == citizen.user
    expected_expiry = before + timedelta(seconds=lifetime)
    assert expected_expiry - timedelta(seconds=5) <= access.expires <= expected_expiry + timedelta(seconds=5)
    assert not Grant.objects.filter(pk=grant.pk).exists(), "the authorization code is single-use"

    signed_in.logout()
    answer = signed_in.get(PROTECTED_URL, HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert answer.status_code == 200
    assert json.loads(answer.content)["id"] == str(citizen.user.pk)


def test_consent_page_is_french_and_dsfr(signed_in, citizen, oauth_application):
    _, challenge = pkce_pair()
    response = signed_in.get(AUTHORIZE_URL, authorize_params(oauth_application, challenge))
    assert response.status_code == 200
    assert [template.name for template in response.templates][:2] == ["oauth2_provider/authorize.html", "base.html"]
    html = response.content.decode()
    assert '<html lang="fr"' in html
    assert "Connecter « Carnet de tension » à votre espace santé ?" in html
    assert "un identifiant qui lui est propre" in html
    assert citizen.user.display_name in html
    assert REDIRECT_URI in html
    assert "fr-btns-group" in html and 'class="fr-btn"' in html
    form = consent_form(html)
    labels = {submit.get("name", ""): submit for submit in form.submits}
    assert labels["allow"]["value"] == "Autoriser"
    assert ">Autoriser</button>" in html and ">Refuser</button>" in html
    assert "Cancel" not in html and "Authorize" not in html
    # The hidden fields carry the whole request, PKCE challenge included, to the POST.
    assert form.fields["code_challenge"] == challenge
    assert form.fields["code_challenge_method"] == "S256"
    assert form.fields["redirect_uri"] == REDIRECT_URI
    assert form.fields["csrfmiddlewaretoken"]


def test_authorization_response_carries_the_issuer(signed_in, oauth_application):
    """RFC 9207 / RFC 9700 §4.4.2: ``iss`` in the authorization response defeats mix-up attacks."""
    _, challenge = pkce_pair()
    page = signed_in.get(AUTHORIZE_URL, authorize_params(oauth_application, challenge))
    form = consent_form(page.content.decode())
    query = redirect_query(signed_in.post(AUTHORIZE_URL, {**form.fields, "allow": "Autoriser"}))
    assert query["iss"] == "http://testserver/o"
    metadata = json.loads(signed_in.get("/o/.well-known/oauth-authorization-server").content)
    assert metadata["issuer"] == query["iss"]
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_refusing_consent_returns_access_denied(signed_in, oauth_application):
    _, challenge = pkce_pair()
    page = signed_in.get(AUTHORIZE_URL, authorize_params(oauth_application, challenge))
    form = consent_form(page.content.decode())
    refuse = [submit for submit in form.submits if submit.get("name") != "allow"]
    assert refuse, "the consent form has a refuse button"
    query = redirect_query(signed_in.post(AUTHORIZE_URL, form.fields))
    assert query["error"] == "access_denied"
    assert query["state"] == STATE
    assert "code" not in query
    assert not Grant.objects.exists()


def test_authorization_requires_a_signed_in_user(client, oauth_application):
    _, challenge = pkce_pair()
    response = client.get(AUTHORIZE_URL, authorize_params(oauth_application, challenge))
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/compte/login/"


def test_discovery_advertises_only_what_is_served(client):
    metadata = json.loads(client.get("/o/.well-known/oauth-authorization-server").content)
    assert metadata["response_types_supported"] == ["code"]
    assert sorted(metadata["grant_types_supported"]) == ["authorization_code", "refresh_token"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]


# --- What is refused ---


def _assert_no_code(signed_in, application, params, expected_error):
    """Both the consent page and a forged consent POST are refused, and no grant is stored.

    The forged POST lacks the signed request of a consent page the citizen saw: refused before oauthlib sees it.
    """
    page = signed_in.get(AUTHORIZE_URL, params)
    assert redirect_query(page)["error"] == expected_error
    forged = signed_in.post(AUTHORIZE_URL, {**params, "allow": "Autoriser"})
    assert forged.status_code == 400
    assert "Location" not in forged
    assert not Grant.objects.filter(application=application).exists()


def test_pkce_is_required(signed_in, oauth_application):
    params = authorize_params(oauth_application, None, code_challenge_method=None)
    _assert_no_code(signed_in, oauth_application, params, "invalid_request")


@pytest.mark.parametrize("method", ["plain", None, "s256", "S512"])
def test_only_the_s256_challenge_method_is_accepted(signed_in, oauth_application, method):
    """``plain`` is refused, including implicitly (RFC 7636 makes it the default when the method is absent)."""
    verifier, _ = pkce_pair()
    params = authorize_params(oauth_application, verifier, code_challenge_method=method)
    _assert_no_code(signed_in, oauth_application, params, "invalid_request")


@pytest.mark.parametrize("response_type", ["token", "id_token", "id_token token", "code token", "none"])
def test_implicit_and_hybrid_response_types_are_refused(signed_in, response_type):
    """Even for a client registered for the implicit (or hybrid) grant, no token leaves by the front channel."""
    grant_type = Application.GRANT_IMPLICIT if "code" not in response_type else Application.GRANT_OPENID_HYBRID
    application = make_application(grant_type=grant_type)
    _, challenge = pkce_pair()
    params = authorize_params(application, challenge, response_type=response_type)
    query = redirect_query(signed_in.get(AUTHORIZE_URL, params))
    assert query["error"] in {"unsupported_response_type", "unauthorized_client"}
    assert "access_token" not in query and "code" not in query
    # A consent POST forged from the same parameters lacks the signed request of a page the citizen saw.
    forged = signed_in.post(AUTHORIZE_URL, {**params, "allow": "Autoriser"})
    assert forged.status_code == 400
    assert not forged.has_header("Location")
    assert not AccessToken.objects.exists()
    assert not Grant.objects.exists()


@pytest.mark.parametrize("response_type", ["token", "id_token", "code token", "code id_token", "none"])
def test_response_type_changed_in_a_signed_consent_is_refused(signed_in, citizen, oauth_application, response_type):
    """The consent page's hidden ``response_type`` is re-validated on POST: changing it yields no code, no token."""
    _, challenge = pkce_pair()
    page = signed_in.get(AUTHORIZE_URL, authorize_params(oauth_application, challenge))
    fields = consent_form(page.content.decode()).fields
    query = redirect_query(
        signed_in.post(AUTHORIZE_URL, {**fields, "response_type": response_type, "allow": "Autoriser"})
    )
    assert query["error"] == "unsupported_response_type"
    assert "access_token" not in query and "code" not in query and "id_token" not in query
    assert not Grant.objects.exists()
    assert not AccessToken.objects.exists()
    assert not Pairing.objects.filter(citizen=citizen).exists(), "no pairing without a code"


@pytest.mark.parametrize(
    "tamper",
    [{"code_challenge_method": "plain"}, {"code_challenge_method": ""}, {"code_challenge": ""}],
    ids=["plain", "method-removed", "challenge-removed"],
)
def test_pkce_weakened_in_a_signed_consent_is_refused(signed_in, oauth_application, tamper):
    _, challenge = pkce_pair()
    page = signed_in.get(AUTHORIZE_URL, authorize_params(oauth_application, challenge))
    fields = consent_form(page.content.decode()).fields
    query = redirect_query(signed_in.post(AUTHORIZE_URL, {**fields, **tamper, "allow": "Autoriser"}))
    assert query["error"] == "invalid_request"
    assert "code" not in query
    assert not Grant.objects.exists()


def test_password_grant_is_not_served(client, citizen):
    """Even a client registered for it cannot use the resource owner password grant (RFC 9700 §2.4)."""
    application = make_application(grant_type=Application.GRANT_PASSWORD)
    response = token_request(
        client, application, grant_type="password", username=citizen.user.email, password="Un-mot-de-passe-de-test-42"
    )
    assert oauth_error(response) == "unsupported_grant_type"
    assert not AccessToken.objects.exists()


def test_client_credentials_grant_is_not_served(client, db):
    application = make_application(grant_type=Application.GRANT_CLIENT_CREDENTIALS)
    response = token_request(client, application, grant_type="client_credentials")
    assert oauth_error(response) == "unsupported_grant_type"
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize("device_code", ["code-appareil", None])
def test_device_code_grant_is_not_served(client, citizen, oauth_application, device_code):
    """Even with a device grant marked authorized in the database, the device-code grant issues nothing."""
    DeviceGrant.objects.create(
        device_code="code-appareil",
        user_code="ABCD1234",
        client_id=oauth_application.client_id,
        user=citizen.user,
        status=DeviceGrant.AUTHORIZED,
        expires=timezone.now() + timedelta(minutes=5),
        interval=5,
    )
    data = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": device_code}
    response = token_request(client, oauth_application, **{key: value for key, value in data.items() if value})
    assert oauth_error(response) == "unsupported_grant_type"
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REDIRECT_URI + "/",
        REDIRECT_URI + "?",
        REDIRECT_URI + "?suite=1",
        REDIRECT_URI + "#fragment",
        REDIRECT_URI + ";param",
        "https://app.exemple.fr/Retour",
        "https://app.exemple.fr/retour/../retour",
        "http://app.exemple.fr/retour",
        "https://app.exemple.fr:8443/retour",
        "https://app.exemple.fr.attaquant.fr/retour",
        "https://attaquant.fr@app.exemple.fr/retour",
        "https://attaquant.fr/retour",
    ],
)
def test_redirect_uri_must_match_exactly(signed_in, oauth_application, redirect_uri):
    """An unregistered redirect URI is refused on a page of ours: never redirected to (RFC 9700 §4.1.3)."""
    _, challenge = pkce_pair()
    params = authorize_params(oauth_application, challenge, redirect_uri=redirect_uri)
    page = signed_in.get(AUTHORIZE_URL, params)
    assert page.status_code == 400
    assert not page.has_header("Location")
    assert '<html lang="fr"' in page.content.decode()
    assert "Demande d’autorisation refusée" in page.content.decode()
    # Neither a consent POST forged from those parameters nor a real consent whose redirect URI was changed
    # afterwards (it is part of the signed request) sends anything anywhere.
    real = consent_form(signed_in.get(AUTHORIZE_URL, authorize_params(oauth_application, challenge)).content.decode())
    for response in (
        signed_in.post(AUTHORIZE_URL, {**params, "allow": "Autoriser"}),
        signed_in.post(AUTHORIZE_URL, {**real.fields, "redirect_uri": redirect_uri, "allow": "Autoriser"}),
        signed_in.post(AUTHORIZE_URL, {**real.fields, "redirect_uri": redirect_uri}),
    ):
        assert response.status_code == 400
        assert not response.has_header("Location")
        html = response.content.decode()
        assert '<html lang="fr"' in html
        assert "Demande invalide" in html
    assert not Grant.objects.exists()


def test_unknown_client_is_refused_on_an_error_page(signed_in):
    _, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": "inconnu",
        "redirect_uri": REDIRECT_URI,
        "code_challenge": challenge,
    }
    response = signed_in.get(AUTHORIZE_URL, {**params, "code_challenge_method": "S256"})
    assert response.status_code == 400
    assert not response.has_header("Location")
    assert "Demande d’autorisation refusée" in response.content.decode()


def test_token_request_must_repeat_the_authorized_redirect_uri(signed_in, oauth_application):
    verifier, challenge = pkce_pair()
    code = obtain_code(signed_in, oauth_application, challenge)
    response = token_request(
        signed_in,
        oauth_application,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI + "/",
        code_verifier=verifier,
    )
    assert oauth_error(response) == "invalid_request"
    assert not AccessToken.objects.exists()


def test_wrong_code_verifier_is_refused(signed_in, oauth_application):
    _, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    code = obtain_code(signed_in, oauth_application, challenge)
    assert oauth_error(exchange_code(signed_in, oauth_application, code, other_verifier)) == "invalid_grant"
    # The challenge itself is not a verifier either (that is what accepting "plain" would amount to).
    assert oauth_error(exchange_code(signed_in, oauth_application, code, challenge)) == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_missing_code_verifier_is_refused(signed_in, oauth_application):
    _, challenge = pkce_pair()
    code = obtain_code(signed_in, oauth_application, challenge)
    response = token_request(
        signed_in, oauth_application, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )
    assert oauth_error(response) == "invalid_request"
    assert not AccessToken.objects.exists()


def test_authorization_code_cannot_be_reused(signed_in, oauth_application):
    verifier, challenge = pkce_pair()
    code = obtain_code(signed_in, oauth_application, challenge)
    assert exchange_code(signed_in, oauth_application, code, verifier).status_code == 200
    assert oauth_error(exchange_code(signed_in, oauth_application, code, verifier)) == "invalid_grant"
    # No second token; the replay even revoked the first one (see the next test).
    assert not AccessToken.objects.exists()


def test_authorization_code_replay_revokes_the_tokens_it_issued(client, signed_in, oauth_application):
    """RFC 6749 §4.1.2: a code used twice has leaked, so what it gave is taken back, even after rotation."""
    verifier, challenge = pkce_pair()
    code = obtain_code(signed_in, oauth_application, challenge)
    first = json.loads(exchange_code(signed_in, oauth_application, code, verifier).content)
    signed_in.logout()
    second = json.loads(refresh(client, oauth_application, first["refresh_token"]).content)
    assert bearer_status(client, second["access_token"]) == 200

    assert oauth_error(exchange_code(client, oauth_application, code, verifier)) == "invalid_grant"

    assert bearer_status(client, second["access_token"]) == 401
    assert oauth_error(refresh(client, oauth_application, second["refresh_token"])) == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_code_replay_only_revokes_its_own_tokens(client, signed_in, citizen, oauth_application, tokens):
    signed_in.force_login(citizen.user)
    verifier, challenge = pkce_pair()
    code = obtain_code(signed_in, oauth_application, challenge)
    assert exchange_code(signed_in, oauth_application, code, verifier).status_code == 200
    assert oauth_error(exchange_code(signed_in, oauth_application, code, verifier)) == "invalid_grant"
    assert bearer_status(client, tokens["access_token"]) == 200


def test_expired_authorization_code_is_refused(signed_in, oauth_application):
    verifier, challenge = pkce_pair()
    code = obtain_code(signed_in, oauth_application, challenge)
    Grant.objects.filter(code=code).update(expires=timezone.now() - timedelta(seconds=1))
    assert oauth_error(exchange_code(signed_in, oauth_application, code, verifier)) == "invalid_grant"


def test_authorization_code_is_bound_to_its_client(signed_in, oauth_application):
    verifier, challenge = pkce_pair()
    code = obtain_code(signed_in, oauth_application, challenge)
    other = make_application(name="Autre service")
    assert oauth_error(exchange_code(signed_in, other, code, verifier)) == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_confidential_client_must_authenticate(signed_in, oauth_application):
    verifier, challenge = pkce_pair()
    code = obtain_code(signed_in, oauth_application, challenge)
    response = signed_in.post(
        TOKEN_URL,
        urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
                "client_id": oauth_application.client_id,
            }
        ),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(oauth_application.client_id, "mauvais-secret"),
    )
    assert oauth_error(response, 401) == "invalid_client"
    assert not AccessToken.objects.exists()


# --- Access tokens at the resource server ---


def test_access_token_is_refused_in_the_query_string(client, tokens):
    """RFC 9700 §4.3.2 / RFC 6750 §5.3: bearer tokens travel in the Authorization header only."""
    assert bearer_status(client, tokens["access_token"]) == 200
    assert client.get(PROTECTED_URL, {"access_token": tokens["access_token"]}).status_code == 401


def test_expired_access_token_is_refused(client, tokens):
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert bearer_status(client, tokens["access_token"]) == 401


def test_tokens_are_not_stored_in_clear(tokens):
    """A leaked database does not hand out usable tokens (only their SHA-256 checksums are kept)."""
    assert not AccessToken.objects.filter(token=tokens["access_token"]).exists()
    assert not RefreshToken.objects.filter(token=tokens["refresh_token"]).exists()
    assert AccessToken.objects.count() == 1
    assert RefreshToken.objects.count() == 1


# --- Refresh tokens: rotation and reuse detection ---


def test_refresh_tokens_rotate(client, oauth_application, tokens):
    first = tokens
    response = refresh(client, oauth_application, first["refresh_token"])
    assert response.status_code == 200, response.content
    second = json.loads(response.content)
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["expires_in"] == settings.OAUTH2_PROVIDER["ACCESS_TOKEN_EXPIRE_SECONDS"]
    assert bearer_status(client, second["access_token"]) == 200
    assert bearer_status(client, first["access_token"]) == 401, "the previous access token is revoked"

    third = json.loads(refresh(client, oauth_application, second["refresh_token"]).content)
    assert len({first["refresh_token"], second["refresh_token"], third["refresh_token"]}) == 3
    assert bearer_status(client, third["access_token"]) == 200


def test_rotated_refresh_token_is_refused(client, oauth_application, tokens):
    assert refresh(client, oauth_application, tokens["refresh_token"]).status_code == 200
    assert oauth_error(refresh(client, oauth_application, tokens["refresh_token"])) == "invalid_grant"


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(client, oauth_application, tokens):
    """RFC 9700 §4.14.2: a replayed refresh token means it leaked, so the legitimate chain dies with it."""
    second = json.loads(refresh(client, oauth_application, tokens["refresh_token"]).content)
    third = json.loads(refresh(client, oauth_application, second["refresh_token"]).content)
    assert bearer_status(client, third["access_token"]) == 200

    # An attacker replays the first (already rotated) refresh token.
    assert oauth_error(refresh(client, oauth_application, tokens["refresh_token"])) == "invalid_grant"

    # The newest refresh token and its access token no longer work either.
    assert oauth_error(refresh(client, oauth_application, third["refresh_token"])) == "invalid_grant"
    assert bearer_status(client, third["access_token"]) == 401
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_refresh_token_is_bound_to_its_client(client, oauth_application, tokens):
    other = make_application(name="Autre service")
    assert oauth_error(refresh(client, other, tokens["refresh_token"])) == "invalid_grant"
    assert refresh(client, oauth_application, tokens["refresh_token"]).status_code == 200


def test_other_families_survive_a_replay(client, signed_in, citizen, oauth_application, tokens):
    """Family revocation is scoped: another authorization of the same citizen keeps working."""
    signed_in.force_login(citizen.user)
    verifier, challenge = pkce_pair()
    code = obtain_code(signed_in, oauth_application, challenge)
    other = json.loads(exchange_code(signed_in, oauth_application, code, verifier).content)
    signed_in.logout()

    refresh(client, oauth_application, tokens["refresh_token"])
    assert oauth_error(refresh(client, oauth_application, tokens["refresh_token"])) == "invalid_grant"
    assert bearer_status(client, other["access_token"]) == 200
    assert refresh(client, oauth_application, other["refresh_token"]).status_code == 200


# --- Revocation (RFC 7009) ---


def revoke(client, application: Application, token: str):
    return client.post(
        "/o/revoke_token/",
        urlencode({"token": token}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=basic_auth(application.client_id),
    )


def test_client_can_revoke_its_tokens(client, oauth_application, tokens):
    assert revoke(client, oauth_application, tokens["refresh_token"]).status_code == 200
    assert oauth_error(refresh(client, oauth_application, tokens["refresh_token"])) == "invalid_grant"
    assert revoke(client, oauth_application, tokens["access_token"]).status_code == 200
    assert bearer_status(client, tokens["access_token"]) == 401


def test_another_client_cannot_revoke_them(client, oauth_application, tokens):
    other = make_application(name="Autre service")
    assert revoke(client, other, tokens["access_token"]).status_code == 200  # RFC 7009 §2.2: no disclosure
    assert bearer_status(client, tokens["access_token"]) == 200
    assert refresh(client, oauth_application, tokens["refresh_token"]).status_code == 200


# --- Only the OAuth2 endpoints the API needs are exposed ---


@pytest.mark.parametrize(
    "url",
    [
        "/o/applications/",
        "/o/applications/register/",
        "/o/authorized_tokens/",
        "/o/device-authorization/",
        "/o/device/",
        "/o/register/",
        "/o/introspect/",
        "/o/logout/",
        "/o/rp-initiated-logout/",
        "/o/applications/1/",
        "/o/authorized-tokens/",
    ],
)
def test_toolkit_management_views_are_not_exposed(signed_in, url):
    """Clients are registered through référencement only: a signed-in citizen cannot register one here."""
    assert signed_in.get(url).status_code == 404


def test_openid_discovery_advertises_only_what_is_served(client):
    """OpenID Connect discovery is served (for the id_token), and says no more than the server does."""
    response = client.get("/o/.well-known/openid-configuration")
    assert response.status_code == 200
    metadata = json.loads(response.content)
    assert metadata["issuer"] == "http://testserver/o"
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["subject_types_supported"] == ["pairwise"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["claims_supported"] == ["sub"]
    assert "RS256" in metadata["id_token_signing_alg_values_supported"]
    assert metadata["jwks_uri"] == "http://testserver/o/.well-known/jwks.json"
    keys = json.loads(client.get("/o/.well-known/jwks.json").content)["keys"]
    assert [(key["kty"], key["alg"], key["use"]) for key in keys] == [("RSA", "RS256", "sig")]
    assert not {"d", "p", "q"} & set(keys[0]), "the JWKS publishes the public key only"


def test_userinfo_requires_a_bearer_token(signed_in):
    """The citizen's browser session is no credential for userinfo: only an app's access token is."""
    assert signed_in.get("/o/userinfo/").status_code == 401
