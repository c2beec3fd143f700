"""One-time activation/opposition codes of the notification letters and e-mails.

A code is 10 characters of Crockford's base 32 (50 bits of randomness), shown in two groups of five. Only a keyed
hash is stored: HMAC-SHA256 under a key derived from SECRET_KEY, fast enough to hash millions of codes in a
campaign and useless without the key. Comparison is constant-time.
"""

import hashlib
import hmac
import secrets

from django.conf import settings

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U
CODE_LENGTH = 10  # 10 × 5 bits = 50 bits


def code_generate() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


def code_normalize(value: str) -> str:
    """Accept what people type: lower case, spaces and dashes, and the letters Crockford maps to digits."""
    cleaned = "".join(value.split()).replace("-", "").upper()
    return cleaned.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))


def code_display(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def _key() -> bytes:
    return hashlib.sha256(b"mes.comptes.codes:" + settings.SECRET_KEY.encode()).digest()


def code_hash(code: str) -> str:
    return hmac.new(_key(), code_normalize(code).encode(), hashlib.sha256).hexdigest()


def code_matches(code: str, stored_hash: str) -> bool:
    return bool(stored_hash) and hmac.compare_digest(code_hash(code), stored_hash)
