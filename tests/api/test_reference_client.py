"""The reference client of docs/examples/reference_client.py, run for real over HTTP against the live server.

The service's side is the client itself (its own HTTP code, no test client); the person's side — signing in and
consenting in the browser — is played with ``requests`` against the same server: the consent's answer is the
redirect to the service, whose ``Location`` is what the browser would have opened.
"""

import html
import importlib.util
import json
import re
import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from jwcrypto import jwk, jwt

from dossier.models import Measure, SourceKind
from mes.acces.models import AppHabilitation, JournalEntry, Pairing
from mes.acces.services.pairings import pairing_revoke
from tests.api.conftest import CLIENT_SECRET, REDIRECT_URI, make_application
from tests.factories import PASSWORD

CLIENT_PATH = Path(__file__).resolve().parents[2] / "docs" / "examples" / "reference_client.py"
APP_NAME = "Balance connectée Pesée+"
# How the citizen's history names the app (« Historique des accès »).
JOURNAL_LABEL = f"Service « {APP_NAME} »"
SCOPE = "openid patient/Observation.crs"


def _load_reference_client():
    spec = importlib.util.spec_from_file_location("reference_client", CLIENT_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


rc = _load_reference_client()

_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r'([a-zA-Z_:-]+)="([^"]*)"')


def _form_fields(page: str) -> list[tuple[str, str]]:
    """The (name, value) pairs a browser would submit: hidden fields and ticked boxes, as the page gives them."""
    fields = []
    for tag in _INPUT.findall(page):
        attributes = dict(_ATTRIBUTE.findall(tag))
        kind = attributes.get("type", "text")
        if "name" not in attributes or kind in {"submit", "button"}:
            continue
        if kind == "checkbox" and "checked" not in tag:
            continue
        fields.append((attributes["name"], html.unescape(attributes.get("value", ""))))
    return fields


class CitizenBrowser:
    """The person at the keyboard: signs in to Mon espace santé and answers the consent page."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        page = self.http.get(f"{self.base_url}/compte/login/", timeout=10)
        fields = dict(_form_fields(page.text))
        answer = self.http.post(
            f"{self.base_url}/compte/login/",
            data={"csrfmiddlewaretoken": fields["csrfmiddlewaretoken"], "login": email, "password": password},
            allow_redirects=False,
            timeout=10,
        )
        # A citizen has no second factor to give: the sign-in ends on their home page.
        assert answer.status_code == 302 and answer.headers["Location"] == "/", answer.text[:500]

    def consent(self, authorization_url: str, *, allow: bool = True) -> str:
        """Open the page the service sent the person to, answer it, and return where the browser is sent."""
        page = self.http.get(authorization_url, allow_redirects=False, timeout=10)
        assert page.status_code == 200, page.text[:500]
        assert APP_NAME in page.text
        data = _form_fields(page.text) + ([("allow", "Autoriser")] if allow else [])
        answer = self.http.post(page.url, data=data, allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text[:500]
        return answer.headers["Location"]


@pytest.fixture
def app(db):
    return make_application(name=APP_NAME, approved_scopes=["patient/Observation.crs"])


@pytest.fixture
def service(django_db_setup, live_server, app):
    """The reference client configured as the service's editor would configure it (the database is asked for
    before the live server, so the server stops before the test database is dropped)."""
    habilitation = AppHabilitation.objects.get(application=app)
    return rc.ReferenceClient(
        live_server.url,
        client_id=app.client_id,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        oid=habilitation.oid,
    )


@pytest.fixture
def browser(live_server, citizen):
    person = CitizenBrowser(live_server.url)
    person.sign_in(citizen.user.email)
    yield person
    # A kept-alive connection keeps the server's request thread, and its database connection, alive.
    person.http.close()


def test_the_reference_client_pairs_writes_reads_refreshes_and_is_cut_off(service, browser, citizen, app):
    # 1-2. The service sends the person to the consent page; the person consents; the browser comes back.
    authorization_url = service.authorization_url(external_id="pesee-7731", scope=SCOPE)
    assert authorization_url.startswith(f"{service.base_url}/o/authorize/?")
    redirected = browser.consent(authorization_url)
    assert redirected.startswith(REDIRECT_URI + "?")

    # 3. Code exchange: the id_token is verified (RS256 with the published keys) and names the person by idPe.
    tokens = service.finish(redirected)
    pairing = Pairing.objects.get(citizen=citizen, habilitation__application=app, revoked_at__isnull=True)
    assert tokens.idpe == pairing.idpe
    assert tokens.idpe not in {str(citizen.pk), str(citizen.user.pk), citizen.user.email}
    assert pairing.external_id == "pesee-7731" == tokens.external_id
    assert tokens.scope == ["openid", "patient/Observation.crs"] == pairing.scopes

    # 4. A weight, as a transaction Bundle with its scale; the retry with the same key adds nothing.
    measured_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    key = str(uuid.uuid4())
    answer = service.record_weight(72.4, measured_at=measured_at, device_id="balance-0001", idempotency_key=key)
    assert answer["resourceType"] == "Bundle" and answer["type"] == "transaction-response"
    statuses = [entry["response"]["status"] for entry in answer["entry"]]
    assert statuses[0].startswith("201") and statuses[1].startswith("201")
    observation_location = answer["entry"][1]["response"]["location"]
    assert observation_location.startswith("Observation/")
    assert service.record_weight(72.4, measured_at=measured_at, device_id="balance-0001", idempotency_key=key) == answer

    measure = Measure.objects.get(citizen=citizen)
    assert str(measure.public_id) == observation_location.split("/")[1]
    assert measure.kind == "poids" and measure.value == Decimal("72.4") and measure.effective_at == measured_at
    assert measure.source_kind == SourceKind.APP and measure.source_label == APP_NAME
    assert measure.device is not None
    written = JournalEntry.objects.filter(citizen=citizen, action="dossier.mesure.ajoutee")
    assert [entry.actor_label for entry in written] == [JOURNAL_LABEL]

    # A second weight from the same scale: the scale is found again, not stored twice.
    later = service.record_weight(71.9, measured_at=measured_at + timedelta(hours=1), device_id="balance-0001")
    assert later["entry"][0]["response"]["status"].startswith("200")
    assert later["entry"][0]["response"]["location"] == answer["entry"][0]["response"]["location"]
    assert Measure.objects.filter(citizen=citizen, device=measure.device).count() == 2

    # 5. Reading them back one per page: the client follows the next links, newest first.
    reads_before = JournalEntry.objects.filter(citizen=citizen, action="api.lecture").count()
    weights = list(service.weights(page_size=1))
    assert [w["valueQuantity"]["value"] for w in weights] == [71.9, 72.4]
    assert all(w["subject"]["identifier"] == {"system": rc.IDPE_SYSTEM, "value": tokens.idpe} for w in weights)
    reads = JournalEntry.objects.filter(citizen=citizen, action="api.lecture").order_by("seq")[reads_before:]
    assert len(reads) >= 2 and {entry.actor_label for entry in reads} == {JOURNAL_LABEL}

    # 6. Refresh: the refresh token rotates; the new tokens work, the old refresh token is dead.
    first_refresh_token = tokens.refresh_token
    renewed = service.refresh()
    assert renewed.refresh_token != first_refresh_token and renewed.idpe == pairing.idpe
    assert len(list(service.weights(page_size=5))) == 2

    # The person disconnects the service: its tokens die at once, the next call is refused.
    pairing_revoke(actor=citizen.user, pairing=pairing)
    with pytest.raises(rc.ApiError) as refused:
        list(service.weights())
    # Its tokens were deleted with the pairing: the bearer token is unknown, not merely without consent.
    assert refused.value.status == 401
    assert refused.value.outcome["resourceType"] == "OperationOutcome"
    with pytest.raises(rc.OAuthError) as dead:
        service.refresh()
    assert dead.value.error == "invalid_grant"
    assert Measure.objects.filter(citizen=citizen).count() == 2


def test_the_command_line_runs_the_whole_exchange(service, browser, citizen, app, capsys, monkeypatch):
    """``python docs/examples/reference_client.py …``: the person's browser is the one that pastes the return."""
    monkeypatch.setenv("MES_CLIENT_SECRET", CLIENT_SECRET)

    def person_consents(prompt: str) -> str:
        printed = capsys.readouterr().out
        authorization_url = re.search(r"https?://\S+/o/authorize/\?\S+", printed).group(0)
        return browser.consent(authorization_url)

    monkeypatch.setattr("builtins.input", person_consents)
    habilitation = AppHabilitation.objects.get(application=app)
    status = rc.main(
        [
            "--base-url",
            service.base_url,
            "--client-id",
            app.client_id,
            "--redirect-uri",
            REDIRECT_URI,
            "--oid",
            habilitation.oid,
            "--external-id",
            "pesee-42",
            "--weight",
            "80.2",
            "--page-size",
            "1",
        ]
    )
    printed = capsys.readouterr()
    assert status == 0, printed.err
    pairing = Pairing.objects.get(citizen=citizen, habilitation=habilitation)
    assert f"idPe {pairing.idpe}" in printed.out
    assert "4. 201 Created Device/" in printed.out and "4. 201 Created Observation/" in printed.out
    assert "5. 1 mesure(s) de poids lues" in printed.out
    assert "6. Jetons renouvelés" in printed.out
    measure = Measure.objects.get(citizen=citizen)
    assert measure.value == Decimal("80.2") and measure.source_label == APP_NAME


def test_a_replayed_refresh_token_is_refused_and_kills_the_newer_tokens(service, browser):
    service.finish(browser.consent(service.authorization_url(external_id="pesee-7731", scope=SCOPE)))
    replayed = service.tokens.refresh_token
    service.refresh()
    assert len(list(service.weights())) == 0

    service.tokens.refresh_token = replayed
    with pytest.raises(rc.OAuthError) as refused:
        service.refresh()
    assert refused.value.error == "invalid_grant"
    # The replay revoked the whole family, the tokens the client had just received included.
    with pytest.raises(rc.ApiError) as cut_off:
        list(service.weights())
    assert cut_off.value.status == 401


def test_a_refused_consent_gives_no_tokens(service, browser, citizen):
    redirected = browser.consent(service.authorization_url(external_id="pesee-7731", scope=SCOPE), allow=False)
    with pytest.raises(rc.OAuthError) as refused:
        service.finish(redirected)
    assert refused.value.error == "access_denied"
    assert service.tokens is None
    assert not Pairing.objects.filter(citizen=citizen).exists()


def test_a_return_the_service_did_not_start_is_refused(service, browser):
    redirected = browser.consent(service.authorization_url(external_id="pesee-7731", scope=SCOPE))
    forged = re.sub(r"state=[^&]+", "state=etat-invente", redirected)
    with pytest.raises(rc.ClientError, match="state"):
        service.finish(forged)
    # The genuine return is still accepted once, and only once.
    assert service.finish(redirected).access_token
    with pytest.raises(rc.ClientError, match="state"):
        service.finish(redirected)


def test_a_return_from_another_issuer_is_refused(service, browser):
    redirected = browser.consent(service.authorization_url(external_id="pesee-7731", scope=SCOPE))
    assert "iss=" in redirected
    mixed_up = re.sub(r"iss=[^&]+", "iss=https%3A%2F%2Fautre-serveur.exemple.fr%2Fo", redirected)
    with pytest.raises(rc.ClientError, match="iss"):
        service.finish(mixed_up)
    # The server announces the parameter: a code that comes without it is not taken either.
    redirected = browser.consent(service.authorization_url(external_id="pesee-7731", scope=SCOPE))
    with pytest.raises(rc.ClientError, match="iss"):
        service.finish(re.sub(r"&iss=[^&]+", "", redirected))
    assert service.tokens is None


# --- The id_token check of the client, on tokens signed here --------------------------------------------------

ISSUER = "https://mes.exemple.fr/o"
AUDIENCE = "client-de-la-balance"


def _signed(key: jwk.JWK, claims: dict, *, alg: str = "RS256") -> str:
    token = jwt.JWT(header={"alg": alg, "kid": key.thumbprint()}, claims=json.dumps(claims))
    token.make_signed_token(key)
    return token.serialize()


@pytest.fixture(scope="module")
def server_key() -> jwk.JWK:
    return jwk.JWK.generate(kty="RSA", size=2048)


def _public(key: jwk.JWK) -> dict:
    return {**json.loads(key.export_public()), "kid": key.thumbprint(), "alg": "RS256", "use": "sig"}


def _claims(**overrides) -> dict:
    now = int(datetime.now(UTC).timestamp())
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "idpe-123",
        "exp": now + 600,
        "iat": now,
        "nonce": "n-1",
        **overrides,
    }


def test_id_token_with_a_valid_signature_is_read(server_key):
    claims = rc.id_token_claims(
        _signed(server_key, _claims()), keys=[_public(server_key)], issuer=ISSUER, audience=AUDIENCE, nonce="n-1"
    )
    assert claims["sub"] == "idpe-123"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"iss": "https://autre.exemple.fr/o"}, "émetteur"),
        ({"aud": "un-autre-client"}, "aud"),
        ({"exp": 1_000_000_000}, "expiré"),
        ({"nonce": "n-2"}, "nonce"),
    ],
)
def test_id_token_claims_are_checked(server_key, overrides, message):
    with pytest.raises(rc.ClientError, match=message):
        rc.id_token_claims(
            _signed(server_key, _claims(**overrides)),
            keys=[_public(server_key)],
            issuer=ISSUER,
            audience=AUDIENCE,
            nonce="n-1",
        )


def test_id_token_signed_by_another_key_or_altered_is_refused(server_key):
    other = jwk.JWK.generate(kty="RSA", size=2048)
    forged = _signed(other, _claims())
    with pytest.raises(rc.ClientError, match="signature"):
        rc.id_token_claims(forged, keys=[_public(server_key)], issuer=ISSUER, audience=AUDIENCE, nonce="n-1")

    header, _, signature = _signed(server_key, _claims()).split(".")
    altered_payload = rc.b64url_encode(json.dumps(_claims(sub="idpe-de-quelquun-d-autre")).encode())
    with pytest.raises(rc.ClientError, match="signature"):
        rc.id_token_claims(
            f"{header}.{altered_payload}.{signature}",
            keys=[_public(server_key)],
            issuer=ISSUER,
            audience=AUDIENCE,
            nonce="n-1",
        )


def test_id_token_with_another_algorithm_is_refused(server_key):
    symmetric = jwk.JWK.generate(kty="oct", size=256)
    token = jwt.JWT(header={"alg": "HS256"}, claims=json.dumps(_claims()))
    token.make_signed_token(symmetric)
    with pytest.raises(rc.ClientError, match="algorithme"):
        rc.id_token_claims(token.serialize(), keys=[_public(server_key)], issuer=ISSUER, audience=AUDIENCE, nonce=None)
