"""Second-factor secrets are encrypted at rest, under keys separate from SECRET_KEY, and can be rotated."""

import time
from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from mes.comptes.secrets_at_rest import mfa_secrets_reencrypt, secret_decrypt, secret_encrypt
from tests.factories import TOTP_SECRET, UserFactory

pytestmark = pytest.mark.django_db


def _current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def test_an_enrolled_totp_key_is_stored_encrypted_and_still_verifies():
    user = UserFactory(role="editor", totp=True)
    stored = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"]
    assert stored.startswith("fernet:")
    assert TOTP_SECRET not in stored
    totp = TOTP(Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP))
    assert totp.validate_code(_current_code(TOTP_SECRET))


def test_rotation_old_key_still_decrypts_then_everything_moves_to_the_new_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.MFA_ENCRYPTION_KEYS = [old]
    user = UserFactory(role="editor", totp=True)
    settings.MFA_ENCRYPTION_KEYS = [new, old]
    row = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    assert secret_decrypt(row.data["secret"]) == TOTP_SECRET
    out = StringIO()
    call_command("mfa_secrets_reencrypt", stdout=out)
    assert "1 secret(s) rechiffré(s)" in out.getvalue()
    settings.MFA_ENCRYPTION_KEYS = [new]
    row.refresh_from_db()
    assert secret_decrypt(row.data["secret"]) == TOTP_SECRET


def test_a_secret_from_before_encryption_is_read_then_encrypted_by_the_migration_step():
    user = UserFactory(role="editor")
    row = Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": TOTP_SECRET})
    assert secret_decrypt(row.data["secret"]) == TOTP_SECRET  # the adapter reads clear values
    assert mfa_secrets_reencrypt(Authenticator) == 1
    row.refresh_from_db()
    assert row.data["secret"].startswith("fernet:")
    assert secret_decrypt(row.data["secret"]) == TOTP_SECRET


def test_recovery_codes_seed_and_migrated_codes_are_encrypted():
    user = UserFactory(role="editor")
    row = Authenticator.objects.create(
        user=user, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "abc123", "migrated_codes": ["x1", "y2"]}
    )
    mfa_secrets_reencrypt(Authenticator)
    row.refresh_from_db()
    assert all(value.startswith("fernet:") for value in [row.data["seed"], *row.data["migrated_codes"]])
    assert [secret_decrypt(value) for value in row.data["migrated_codes"]] == ["x1", "y2"]


def test_a_value_no_listed_key_opens_is_a_configuration_error(settings):
    value = secret_encrypt("secret")
    settings.MFA_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ImproperlyConfigured, match="aucune des clés"):
        secret_decrypt(value)
    settings.MFA_ENCRYPTION_KEYS = ["pas-une-clé"]
    with pytest.raises(ImproperlyConfigured, match="clés Fernet"):
        secret_encrypt("secret")
