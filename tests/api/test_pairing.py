"""Appariement through ``/o/authorize/``: the consent page, what it records, and the pairwise idPe of the id_token."""

import json
import re
from html import unescape

import pytest
from jwcrypto import jwk, jwt
from oauth2_provider.models import AccessToken, Grant

from mes.acces.models import AppHabilitation, JournalEntry, Pairing
from mes.acces.services.pairings import PAIRING_CREATED, habilitation_suspend, pairing_revoke
from mes.comptes.models import CitizenStatus
from tests.api.conftest import REDIRECT_URI, make_application, pkce_pair
from tests.api.test_oauth import (
    AUTHORIZE_URL,
    STATE,
    authorize_params,
    consent_form,
    exchange_code,
    redirect_query,
)

ISSUER = "http://testserver/o"
OBSERVATION_AND_AGENDA = "openid patient/Observation.crs patient/Appointment.cruds"


def consent_choices(html: str) -> dict[str, str]:
    """The consent checkboxes of the page: scope → the label the citizen reads."""
    choices = {}
    for match in re.finditer(r'<input type="checkbox" name="consent" value="([^"]+)" id="([^"]+)" checked>', html):
        scope, element_id = unescape(match.group(1)), match.group(2)
        label = re.search(rf'<label class="fr-label" for="{element_id}">(.*?)</label>', html, re.S)
        choices[scope] = unescape(label.group(1).strip())
    return choices


def consent_page(client, application, challenge: str, **params):
    response = client.get(AUTHORIZE_URL, authorize_params(application, challenge, **params))
    assert response.status_code == 200, response.content[:300]
    return response


def submit_consent(client, page, *, ticked: list[str] | None = None, allow: bool = True, **changes):
    """Posts the consent form as shown, with ``ticked`` checkboxes (default: all of them, as the page ticks them)."""
    html = page.content.decode()
    fields = {**consent_form(html).fields, **changes}
    fields["consent"] = list(consent_choices(html)) if ticked is None else ticked
    if allow:
        fields["allow"] = "Autoriser"
    return client.post(AUTHORIZE_URL, fields)


def pair_through_authorize(client, application, *, scope: str = "openid", ticked=None, nonce: str | None = None):
    """The whole appariement as an app drives it: consent, code, token response (JSON)."""
    verifier, challenge = pkce_pair()
    page = consent_page(client, application, challenge, scope=scope, nonce=nonce)
    query = redirect_query(submit_consent(client, page, ticked=ticked))
    assert "error" not in query, query
    response = exchange_code(client, application, query["code"], verifier)
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def verified_claims(client, id_token: str) -> dict:
    """The id_token's claims, once its RS256 signature is checked against the server's published JWKS."""
    keys = jwk.JWKSet.from_json(client.get("/o/.well-known/jwks.json").content)
    token = jwt.JWT(jwt=id_token, key=keys, algs=["RS256"], expected_type="JWS")
    return json.loads(token.claims)


@pytest.fixture
def signed_in(client, citizen):
    client.force_login(citizen.user)
    return client


# --- The consent page ---


def test_consent_page_lists_each_requested_category_in_french(signed_in, oauth_application):
    _, challenge = pkce_pair()
    page = consent_page(
        signed_in, oauth_application, challenge, scope="openid patient/Observation.crs patient/DocumentReference.rs"
    )
    html = page.content.decode()
    assert consent_choices(html) == {
        "patient/Observation.rs": "Lire vos mesures de santé (poids, tension, glycémie, pas…)",
        "patient/Observation.c": "Ajouter des mesures de santé à votre espace",
        "patient/DocumentReference.rs": (
            "Lire vos documents de santé, y compris ceux que vous avez masqués aux professionnels"
        ),
    }
    assert "Décochez ce que vous ne souhaitez pas partager" in html
    # Reading documents reaches the hidden ones too: the citizen is told before consenting.
    assert "restent visibles pour les services que vous connectez" in html
    assert "un identifiant qui lui est propre" in html
    assert "Éditeur de test" in html


def test_consent_page_cannot_be_framed(signed_in, oauth_application):
    """RFC 6749 §10.13: a page that grants access must not be shown inside another site's frame (clickjacking)."""
    _, challenge = pkce_pair()
    page = consent_page(signed_in, oauth_application, challenge)
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


def test_consent_page_without_document_reading_does_not_warn_about_hidden_documents(signed_in, oauth_application):
    _, challenge = pkce_pair()
    html = consent_page(signed_in, oauth_application, challenge, scope="patient/Appointment.cruds").content.decode()
    assert consent_choices(html) == {
        "patient/Appointment.rs": "Lire tous les rendez-vous de votre agenda",
        "patient/Appointment.cud": (
            "Ajouter des rendez-vous à votre agenda, modifier et supprimer ceux qu’il a ajoutés"
        ),
    }
    assert "restent visibles pour les services" not in html
    assert "un identifiant qui lui est propre" not in html, "openid was not asked"


def test_unticked_scopes_are_neither_in_the_pairing_nor_in_the_token(signed_in, citizen, oauth_application):
    tokens = pair_through_authorize(
        signed_in,
        oauth_application,
        scope=OBSERVATION_AND_AGENDA,
        ticked=["patient/Observation.rs", "patient/Observation.c", "patient/Appointment.rs"],
    )
    pairing = Pairing.objects.get(citizen=citizen, habilitation__application=oauth_application)
    assert pairing.scopes == ["openid", "patient/Observation.crs", "patient/Appointment.rs"]
    assert pairing.external_id == "compte-42"
    assert pairing.consented_at is not None and pairing.revoked_at is None
    assert tokens["scope"].split() == ["openid", "patient/Observation.crs", "patient/Appointment.rs"]
    assert AccessToken.objects.get().scope.split() == tokens["scope"].split()


def test_a_checkbox_added_to_the_form_cannot_widen_the_consent(signed_in, citizen, oauth_application):
    """Only what was asked and shown can be consented: an extra ``consent`` value is ignored."""
    _, challenge = pkce_pair()
    page = consent_page(signed_in, oauth_application, challenge, scope="openid patient/Observation.rs")
    query = redirect_query(
        submit_consent(
            signed_in, page, ticked=["patient/Observation.rs", "patient/Observation.c", "patient/DocumentReference.rs"]
        )
    )
    assert "code" in query
    assert Pairing.objects.get(citizen=citizen).scopes == ["openid", "patient/Observation.rs"]
    assert Grant.objects.get().scope.split() == ["openid", "patient/Observation.rs"]


def test_the_journal_records_the_new_pairing(signed_in, citizen, oauth_application):
    pair_through_authorize(signed_in, oauth_application, scope="openid patient/Observation.rs")
    pairing = Pairing.objects.get(citizen=citizen)
    entry = JournalEntry.objects.get(action=PAIRING_CREATED, citizen=citizen)
    assert entry.actor == citizen.user
    assert (entry.object_type, entry.object_id) == ("acces.pairing", str(pairing.public_id))
    assert entry.details == {"service": "Carnet de tension", "scopes": ["openid", "patient/Observation.rs"]}


# --- What is refused before any consent ---


@pytest.mark.parametrize(
    "scope",
    ["patient/Appointment.r", "openid patient/Observation.crs patient/DocumentReference.r", "patient/Observation.u"],
)
def test_a_scope_not_approved_for_the_app_is_refused(signed_in, citizen, scope):
    application = make_application(approved_scopes=["patient/Observation.crs"])
    _, challenge = pkce_pair()
    query = redirect_query(signed_in.get(AUTHORIZE_URL, authorize_params(application, challenge, scope=scope)))
    assert query["error"] == "invalid_scope"
    assert query["state"] == STATE
    assert "code" not in query
    assert not Pairing.objects.filter(citizen=citizen).exists()


@pytest.mark.parametrize("external_id", [None, "", "avec espace", "é" * 3, "x" * 129])
def test_a_missing_or_malformed_external_id_is_refused(signed_in, citizen, oauth_application, external_id):
    _, challenge = pkce_pair()
    # ``None`` leaves the parameter out of the request altogether.
    params = authorize_params(oauth_application, challenge, external_id=external_id)
    query = redirect_query(signed_in.get(AUTHORIZE_URL, params))
    assert query["error"] == "invalid_request"
    assert "external_id" in query["error_description"]
    assert query["state"] == STATE
    assert not Pairing.objects.filter(citizen=citizen).exists()


@pytest.mark.parametrize("persona", ["professional", "editor"])
def test_only_a_citizen_account_can_pair(client, request, oauth_application, persona):
    user = request.getfixturevalue(persona)
    client.force_login(getattr(user, "user", user))
    _, challenge = pkce_pair()
    response = client.get(AUTHORIZE_URL, authorize_params(oauth_application, challenge))
    assert response.status_code == 403
    assert not response.has_header("Location")
    html = response.content.decode()
    assert '<html lang="fr"' in html
    assert "Seul un compte personnel Mon espace santé peut être connecté à un service référencé" in html
    forged = client.post(AUTHORIZE_URL, {**authorize_params(oauth_application, challenge), "allow": "Autoriser"})
    assert forged.status_code == 403 and not forged.has_header("Location")
    assert not Grant.objects.exists()
    assert not Pairing.objects.exists()


def test_a_citizen_whose_space_is_not_open_cannot_pair(signed_in, citizen, oauth_application):
    citizen.status = CitizenStatus.OPPOSED
    citizen.save(update_fields=["status"])
    assert not citizen.has_space
    _, challenge = pkce_pair()
    response = signed_in.get(AUTHORIZE_URL, authorize_params(oauth_application, challenge))
    assert response.status_code == 403
    assert "aucun service ne peut y être connecté" in response.content.decode()
    assert not Grant.objects.exists()


def test_a_suspended_habilitation_cannot_be_paired(signed_in, citizen, oauth_application):
    habilitation_suspend(actor=None, habilitation=AppHabilitation.objects.get(application=oauth_application))
    _, challenge = pkce_pair()
    query = redirect_query(signed_in.get(AUTHORIZE_URL, authorize_params(oauth_application, challenge)))
    assert query["error"] == "invalid_scope"
    assert "code" not in query
    assert not Pairing.objects.filter(citizen=citizen).exists()


def test_a_habilitation_suspended_while_the_citizen_reads_the_page_is_refused(signed_in, citizen, oauth_application):
    _, challenge = pkce_pair()
    page = consent_page(signed_in, oauth_application, challenge)
    habilitation_suspend(actor=None, habilitation=AppHabilitation.objects.get(application=oauth_application))
    response = submit_consent(signed_in, page)
    assert response.status_code == 403
    assert not response.has_header("Location")
    assert "suspendu" in response.content.decode()
    assert not Grant.objects.exists()
    assert not Pairing.objects.filter(citizen=citizen).exists()


# --- A consent form that was not the one shown ---


def test_a_tampered_request_token_is_refused(signed_in, citizen, oauth_application):
    _, challenge = pkce_pair()
    page = consent_page(signed_in, oauth_application, challenge)
    token = consent_form(page.content.decode()).fields["request_token"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for value in (tampered, "", "n-importe-quoi"):
        response = submit_consent(signed_in, page, request_token=value)
        assert response.status_code == 400
        assert not response.has_header("Location")
        assert "Demande invalide" in response.content.decode()
    assert not Grant.objects.exists()
    assert not Pairing.objects.filter(citizen=citizen).exists()


def test_a_consent_form_of_another_client_is_refused(signed_in, citizen, oauth_application):
    """The signed request names its client: the form cannot be replayed to pair another app."""
    other = make_application(name="Autre service")
    _, challenge = pkce_pair()
    page = consent_page(signed_in, oauth_application, challenge)
    response = submit_consent(signed_in, page, client_id=other.client_id)
    assert response.status_code == 400
    assert not response.has_header("Location")
    assert not Grant.objects.exists()
    assert not Pairing.objects.filter(citizen=citizen).exists()


def test_a_consent_form_shown_to_another_citizen_is_refused(client, citizen, other_citizen, oauth_application):
    client.force_login(other_citizen.user)
    _, challenge = pkce_pair()
    page = consent_page(client, oauth_application, challenge)
    client.force_login(citizen.user)
    response = submit_consent(client, page)
    assert response.status_code == 400
    assert not Grant.objects.exists()
    assert not Pairing.objects.exists()


def test_refusing_sends_access_denied_and_pairs_nothing(signed_in, citizen, oauth_application):
    _, challenge = pkce_pair()
    page = consent_page(signed_in, oauth_application, challenge, scope=OBSERVATION_AND_AGENDA)
    query = redirect_query(submit_consent(signed_in, page, allow=False))
    assert query["error"] == "access_denied"
    assert query["state"] == STATE
    assert "code" not in query
    assert not Pairing.objects.filter(citizen=citizen).exists()
    assert not JournalEntry.objects.filter(action=PAIRING_CREATED).exists()
    assert not Grant.objects.exists()


# --- The id_token and the pairwise idPe ---


def test_id_token_sub_is_the_pairwise_idpe_and_is_signed_rs256(signed_in, citizen, oauth_application):
    tokens = pair_through_authorize(signed_in, oauth_application, nonce="nonce-de-test-123")
    pairing = Pairing.objects.get(citizen=citizen)
    claims = verified_claims(signed_in, tokens["id_token"])
    assert claims["sub"] == pairing.idpe
    assert claims["sub"] != str(citizen.user.pk) and claims["sub"] != citizen.ins
    assert claims["aud"] == oauth_application.client_id
    assert claims["iss"] == ISSUER
    assert claims["nonce"] == "nonce-de-test-123"
    assert not {"email", "name", "given_name", "family_name", "birthdate"} & set(claims)


def test_id_token_with_a_forged_signature_does_not_verify(signed_in, oauth_application):
    """The check above can fail: an id_token whose payload was changed is rejected by the JWKS."""
    tokens = pair_through_authorize(signed_in, oauth_application)
    header, payload, signature = tokens["id_token"].split(".")
    forged_payload = payload[:-4] + ("AAAA" if not payload.endswith("AAAA") else "BBBB")
    with pytest.raises(Exception):  # noqa: B017 - jwcrypto raises several error types for a bad signature
        verified_claims(signed_in, f"{header}.{forged_payload}.{signature}")


def test_two_apps_get_two_different_idpe_for_the_same_citizen(signed_in, citizen, oauth_application):
    other = make_application(name="Journal de glycémie")
    first = verified_claims(signed_in, pair_through_authorize(signed_in, oauth_application)["id_token"])["sub"]
    second = verified_claims(signed_in, pair_through_authorize(signed_in, other)["id_token"])["sub"]
    assert first and second and first != second
    assert set(Pairing.objects.filter(citizen=citizen).values_list("idpe", flat=True)) == {first, second}


def test_two_citizens_get_two_different_idpe_for_the_same_app(client, citizen, other_citizen, oauth_application):
    client.force_login(citizen.user)
    first = verified_claims(client, pair_through_authorize(client, oauth_application)["id_token"])["sub"]
    client.force_login(other_citizen.user)
    second = verified_claims(client, pair_through_authorize(client, oauth_application)["id_token"])["sub"]
    assert first != second


def test_pairing_the_same_app_again_keeps_the_same_idpe(signed_in, citizen, oauth_application):
    first = verified_claims(signed_in, pair_through_authorize(signed_in, oauth_application)["id_token"])["sub"]
    # The app asks again (a new consent while paired): same pairing, same idPe.
    again = verified_claims(signed_in, pair_through_authorize(signed_in, oauth_application)["id_token"])["sub"]
    assert again == first
    assert Pairing.objects.filter(citizen=citizen).count() == 1
    # After a revocation, pairing again gives a new pairing but the app still recognises the person.
    pairing_revoke(actor=citizen.user, pairing=Pairing.objects.get(citizen=citizen))
    after = verified_claims(signed_in, pair_through_authorize(signed_in, oauth_application)["id_token"])["sub"]
    assert after == first
    assert Pairing.objects.filter(citizen=citizen, revoked_at__isnull=True).count() == 1


def test_userinfo_says_only_the_pairwise_sub(client, citizen, oauth_application):
    client.force_login(citizen.user)
    tokens = pair_through_authorize(client, oauth_application)
    client.logout()
    response = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert response.status_code == 200
    assert json.loads(response.content) == {"sub": Pairing.objects.get(citizen=citizen).idpe}


def test_userinfo_needs_the_openid_scope(client, citizen, oauth_application):
    client.force_login(citizen.user)
    tokens = pair_through_authorize(client, oauth_application, scope="patient/Observation.rs")
    assert "id_token" not in tokens
    client.logout()
    response = client.get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert response.status_code in (401, 403)
    assert b"sub" not in response.content


def test_the_redirect_goes_to_the_registered_uri_only(signed_in, oauth_application):
    _, challenge = pkce_pair()
    page = consent_page(signed_in, oauth_application, challenge)
    response = submit_consent(signed_in, page)
    assert response["Location"].startswith(REDIRECT_URI + "?")
