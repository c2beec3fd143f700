"""Fixtures of the API tests: a referenced app (OAuth2 client + habilitation), pairings, tokens, PKCE helpers."""

import base64
import hashlib
import secrets
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from mes.acces.models import AppHabilitation, Pairing
from mes.acces.services.pairings import habilitation_grant, pairing_consent

REDIRECT_URI = "https://app.exemple.fr/retour"
CLIENT_SECRET = "secret-du-service-de-test-0123456789abcdefghijklmnopqrstuvwxyz"
# Everything the API serves: what a test app is approved for unless it says otherwise.
ALL_APP_SCOPES = [
    "patient/Observation.crs",
    "patient/DocumentReference.crs",
    "patient/Appointment.cruds",
    "patient/Immunization.c",
    "patient/Patient.r",
]
_OIDS = iter(range(1, 10**6))


def pkce_pair() -> tuple[str, str]:
    """A fresh (code_verifier, S256 code_challenge) pair (RFC 7636 §4.1-4.2)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


def make_application(
    grant_type: str = Application.GRANT_AUTHORIZATION_CODE,
    *,
    approved_scopes: list[str] | None = None,
    habilitation: bool = True,
    **fields,
) -> Application:
    """A confidential client; its secret is stored hashed, so tests authenticate with ``CLIENT_SECRET``.

    With ``habilitation`` (the default) it is a referenced app, approved for ``approved_scopes`` (default: all).
    """
    values = {
        "name": "Carnet de tension",
        "client_type": Application.CLIENT_CONFIDENTIAL,
        "authorization_grant_type": grant_type,
        "redirect_uris": REDIRECT_URI,
        "client_secret": CLIENT_SECRET,
        "algorithm": "",
        "skip_authorization": False,
    }
    values.update(fields)
    application = Application.objects.create(**values)
    if habilitation:
        habilitation_grant(
            actor=None,
            application=application,
            name=values["name"],
            editor_name="Éditeur de test",
            oid=f"1.2.250.1.999.{next(_OIDS)}",
            approved_scopes=ALL_APP_SCOPES if approved_scopes is None else approved_scopes,
        )
        application.refresh_from_db()
    return application


def pair(
    citizen, application: Application, *, scopes: list[str] | None = None, external_id: str = "compte-42"
) -> Pairing:
    """The citizen's consent to ``application`` for ``scopes`` (default: all it is approved for, and openid)."""
    habilitation = AppHabilitation.objects.get(application=application)
    return pairing_consent(
        actor=citizen.user,
        citizen=citizen,
        habilitation=habilitation,
        external_id=external_id,
        scopes=["openid", *habilitation.approved_scopes] if scopes is None else scopes,
    )


def issue_token(pairing: Pairing, *, scopes: list[str] | None = None) -> str:
    """An access token as the token endpoint would issue it after the pairing (raw value returned)."""
    raw = secrets.token_urlsafe(30)
    AccessToken.objects.create(
        user=pairing.citizen.user,
        application=pairing.habilitation.application,
        token=raw,
        expires=timezone.now() + timedelta(minutes=10),
        scope=" ".join(pairing.scopes if scopes is None else scopes),
    )
    return raw


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def oauth_application(db) -> Application:
    return make_application()


@pytest.fixture
def paired(citizen, oauth_application):
    """Camille paired with the test app for everything it is approved for; ``paired.token`` is a valid token."""

    class Paired:
        application = oauth_application
        pairing = pair(citizen, oauth_application)
        token = None

    Paired.token = issue_token(Paired.pairing)
    return Paired
