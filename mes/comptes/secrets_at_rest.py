"""Encryption of the second-factor secrets (TOTP keys, recovery-code seeds) stored by allauth.

allauth keeps them in its ``Authenticator`` rows and leaves their protection to the adapter's ``encrypt`` /
``decrypt`` hooks (``mes.comptes.adapters.MfaAdapter``). They are encrypted with Fernet (AES-128-CBC and
HMAC-SHA256) under keys of their own, ``MFA_ENCRYPTION_KEYS``, separate from ``SECRET_KEY``: a leaked database dump
or a leaked ``SECRET_KEY`` alone does not give the second factors away. Several keys can be listed for a rotation:
the first one encrypts, all of them decrypt (``MultiFernet``); ``mfa_secrets_reencrypt`` then rewrites every row
under the first key.

Stored values carry a ``fernet:`` prefix, so a value written before encryption existed (plain base32) is recognised;
the migration ``comptes.0008_mfa_secrets_encrypted`` encrypts those.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "fernet:"


def development_key(secret_key: str) -> str:
    """The key used when DEBUG is on and no key is configured: derived from the (development) SECRET_KEY, so that a
    local database stays readable across restarts. Production refuses to start without keys of its own."""
    digest = hashlib.sha256(b"mes.comptes.mfa-secrets:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            "MFA_ENCRYPTION_KEYS doit contenir des clés Fernet (32 octets encodés en base64 URL), séparées par des "
            "virgules."
        ) from error


def _keys() -> MultiFernet:
    keys = tuple(settings.MFA_ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured(
            "MFA_ENCRYPTION_KEYS est vide : les secrets de double authentification ne peuvent pas être chiffrés."
        )
    return _fernet(keys)


def is_encrypted(value: str) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def secret_encrypt(text: str) -> str:
    return PREFIX + _keys().encrypt(text.encode()).decode()


def secret_decrypt(value: str) -> str:
    """The clear secret of a stored value; a value from before encryption is returned as it is."""
    if not is_encrypted(value):
        return value
    try:
        return _keys().decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "Un secret de double authentification ne se déchiffre avec aucune des clés de MFA_ENCRYPTION_KEYS : "
            "une clé retirée trop tôt ?"
        ) from error


def _reencrypted(value):
    if isinstance(value, str):
        return secret_encrypt(secret_decrypt(value))
    if isinstance(value, list):
        return [_reencrypted(item) for item in value]
    return value


# The fields of allauth's Authenticator.data that hold secrets, per authenticator type.
SECRET_FIELDS = {"totp": ("secret",), "recovery_codes": ("seed", "migrated_codes")}


def mfa_secrets_reencrypt(authenticator_model) -> int:
    """Encrypt (or re-encrypt under the first key) every stored second-factor secret; returns the rows rewritten.

    Takes the model as an argument so that the migration can pass its historical model.
    """
    rewritten = 0
    for row in authenticator_model.objects.filter(type__in=SECRET_FIELDS).iterator():
        data = dict(row.data)
        changed = False
        for field in SECRET_FIELDS[row.type]:
            if data.get(field):
                data[field] = _reencrypted(data[field])
                changed = True
        if changed:
            row.data = data
            row.save(update_fields=["data"])
            rewritten += 1
    return rewritten
