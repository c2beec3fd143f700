"""Fixtures of the API tests: a registered OAuth2 client and PKCE helpers."""

import base64
import hashlib
import secrets

import pytest
from oauth2_provider.models import Application

REDIRECT_URI = "https://app.exemple.fr/retour"
CLIENT_SECRET = "secret-du-service-de-test-0123456789abcdefghijklmnopqrstuvwxyz"


def pkce_pair() -> tuple[str, str]:
    """A fresh (code_verifier, S256 code_challenge) pair (RFC 7636 §4.1-4.2)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


def make_application(grant_type: str = Application.GRANT_AUTHORIZATION_CODE, **fields) -> Application:
    """A confidential client; its secret is stored hashed, so tests authenticate with ``CLIENT_SECRET``."""
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
    return Application.objects.create(**values)


@pytest.fixture
def oauth_application(db) -> Application:
    return make_application()
