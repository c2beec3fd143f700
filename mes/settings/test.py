"""Test settings: production-like (DEBUG off) but over plain HTTP, with fast hashing and in-memory mail."""

import base64
import os
import secrets

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
# A Fernet key (32 random bytes, base64 URL) for the second-factor secrets; set in the environment, so that the
# workers and subprocesses the tests start share it.
os.environ.setdefault("MFA_ENCRYPTION_KEYS", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
if "OIDC_RSA_PRIVATE_KEY" not in os.environ:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    os.environ["OIDC_RSA_PRIVATE_KEY"] = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

from mes.settings.base import *  # noqa: F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
SECURE_PROXY_SSL_HEADER = None
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "test-media"  # noqa: F405
WHITENOISE_AUTOREFRESH = True
# Tasks triggered by the code under test run inline; the worker test sends its task to the real broker.
CELERY_TASK_ALWAYS_EAGER = True
