"""Settings shared by every environment. Production is configured by the environment only."""

from pathlib import Path

from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from mes.comptes.secrets_at_rest import development_key
from mes.settings.embedded import embedded_database
from mes.settings.env import database_from_url, development_rsa_key, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(env_str("MES_DATA_DIR", str(BASE_DIR / ".data")))

DEBUG = env_bool("DEBUG", False)
# Only dev.py and test.py provide a fallback; a production process without SECRET_KEY refuses to start.
SECRET_KEY = env_str("SECRET_KEY", None)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "mes.admin_apps.MesAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "dsfr",
    "widget_tweaks",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "oauth2_provider",
    "mes",
    "mes.comptes",
    "mes.acces",
    "mes.api",
    "dossier",
    "agenda",
    "messagerie",
    "catalogue",
    "convergence",
    "referencement",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "mes.comptes.middleware.MandatoryMfaMiddleware",
]

ROOT_URLCONF = "mes.urls"
WSGI_APPLICATION = "mes.wsgi.application"
ASGI_APPLICATION = "mes.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dsfr.context_processors.site_config",
                "mes.context_processors.navigation",
            ],
        },
    },
]

# --- Database: PostgreSQL only (French full-text search, jsonb, SKIP LOCKED, partitioning) ---
_database_url = env_str("DATABASE_URL", None)
if _database_url:
    DATABASES = {"default": database_from_url(_database_url)}
else:
    DATABASES = {"default": embedded_database(DATA_DIR / "postgres")}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits, sessions of allauth flows): Redis when configured ---
_cache_url = env_str("CACHE_URL", None)
if _cache_url:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Accounts ---
AUTH_USER_MODEL = "comptes.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home_for_role"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_ADAPTER = "mes.comptes.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "mes.comptes.adapters.SocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "5/5m/ip,5/5m/key",
    "reset_password": "5/m/ip,3/m/key",
    "change_password": "5/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_ADAPTER = "mes.comptes.adapters.MfaAdapter"
# Fernet keys (comma-separated; the first encrypts, all decrypt) for the TOTP keys and recovery-code seeds at rest,
# separate from SECRET_KEY. Mandatory with DEBUG off; in development a key derived from SECRET_KEY is used.
MFA_ENCRYPTION_KEYS = env_list("MFA_ENCRYPTION_KEYS", [])
MFA_TOTP_ISSUER = "Mon espace santé"
# Roles whose sign-in must be completed by a TOTP code (mes.comptes.middleware enforces enrolment).
MFA_REQUIRED_ROLES = ("editor", "commission", "admin")

# OpenID Connect slots: each provider is enabled only when its three variables are set.
_OIDC_SLOTS = (
    ("franceconnect", "FranceConnect", "FRANCECONNECT"),
    ("prosanteconnect", "Pro Santé Connect", "PRO_SANTE_CONNECT"),
    ("industrielssanteconnect", "industriels Santé Connect", "INDUSTRIELS_SANTE_CONNECT"),
)
_oidc_apps = []
for _provider_id, _label, _prefix in _OIDC_SLOTS:
    _values = {key: env_str(f"{_prefix}_{key}", None) for key in ("CLIENT_ID", "SECRET", "SERVER_URL")}
    if any(_values.values()) and not all(_values.values()):
        missing = ", ".join(f"{_prefix}_{key}" for key, value in _values.items() if not value)
        raise ImproperlyConfigured(f"Fournisseur {_label} incomplet : définissez aussi {missing}.")
    if all(_values.values()):
        _oidc_apps.append(
            {
                "provider_id": _provider_id,
                "name": _label,
                "client_id": _values["CLIENT_ID"],
                "secret": _values["SECRET"],
                "settings": {"server_url": _values["SERVER_URL"], "oauth_pkce_enabled": True},
            }
        )
SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": _oidc_apps}}
SOCIALACCOUNT_ONLY = False
SOCIALACCOUNT_AUTO_SIGNUP = False

# --- Internationalisation ---
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static and media files ---
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
_s3_bucket = env_str("S3_BUCKET", None)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if _s3_bucket:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _s3_bucket,
            "endpoint_url": env_str("S3_ENDPOINT_URL", None),
            "region_name": env_str("S3_REGION", None),
            "access_key": env_str("S3_ACCESS_KEY_ID"),
            "secret_key": env_str("S3_SECRET_ACCESS_KEY"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }

# --- E-mail ---
EMAIL_HOST = env_str("EMAIL_HOST", None)
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Mon espace santé <ne-pas-repondre@monespacesante.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security headers (tightened further in production below) ---
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # NONCE is django-csp's sentinel: it becomes 'nonce-<value>' on pages that use request.csp_nonce.
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- API ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mes.api.authentication.PairedAppAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mes.api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "user": "600/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "API Mon espace santé",
    "DESCRIPTION": (
        "API des services référencés : appariement OAuth2 et ressources FHIR R4 "
        "(mesures de santé, documents, agenda, vaccination, données de contact)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The OAuth2 security scheme of the schema documents the one flow the server serves (mes.api.oauth).
    "OAUTH2_FLOWS": ["authorizationCode"],
    "OAUTH2_AUTHORIZATION_URL": "/o/authorize/",
    "OAUTH2_TOKEN_URL": "/o/token/",
    "OAUTH2_REFRESH_URL": "/o/token/",
}


def oidc_private_key() -> str:
    """The PEM of OIDC_RSA_PRIVATE_KEY (newlines may be written ``\\n``, for one-line env files), or of the file
    named by OIDC_RSA_PRIVATE_KEY_FILE (a mounted secret); empty when neither is set."""
    path = env_str("OIDC_RSA_PRIVATE_KEY_FILE", None)
    if path:
        try:
            return Path(path).read_text()
        except OSError as error:
            raise ImproperlyConfigured(f"OIDC_RSA_PRIVATE_KEY_FILE illisible ({path}) : {error}") from None
    return (env_str("OIDC_RSA_PRIVATE_KEY", "") or "").replace("\\n", "\n")


# Named, so that migrations referring to the OAuth2 client depend on it as Django expects of a swappable model.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
# OAuth2 provider hardened along RFC 9700 (see mes/api/oauth.py for the grants that are served).
OAUTH2_PROVIDER = {
    "OAUTH2_SERVER_CLASS": "mes.api.oauth.Server",
    "OAUTH2_VALIDATOR_CLASS": "mes.api.oauth.Validator",
    "PKCE_REQUIRED": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OAUTH2_ACCESS_TOKEN_SECONDS", 600, minimum=60),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int("OAUTH2_REFRESH_TOKEN_SECONDS", 30 * 24 * 3600, minimum=3600),
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "ALLOW_URI_WILDCARDS": False,
    # Scopes: SMART App Launch v2 scopes bounded by each app's habilitation (mes.acces.scopes), plus openid.
    "SCOPES_BACKEND_CLASS": "mes.api.oauth.HabilitationScopes",
    "DEFAULT_SCOPES": [],
    # OpenID Connect: the id_token's `sub` is the pairwise idPe; signed RS256 with this key (PEM).
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": oidc_private_key(),
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_SUBJECT_TYPES_SUPPORTED": ["pairwise"],
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic", "client_secret_post", "none"],
    # RFC 8414 discovery (/o/.well-known/oauth-authorization-server) advertises only what mes.api.oauth serves.
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    # Every RFC 9700 gate of django-oauth-toolkit enforced: insecure requests are rejected, tokens are stored
    # hashed, the `iss` parameter is sent (RFC 9207), and an insecure configuration fails `check --deploy`.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

# --- Celery: no broker URL means tasks run inline, so the portal works without Redis ---
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", None)
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"pgserver": {"level": "WARNING"}},
}

# --- Production hardening: with DEBUG off, refuse to start on an unsafe configuration ---
DEV_SECRET_KEY = "dev-only-secret-key-never-used-with-debug-off-0123456789abcdefghijkl"  # noqa: S105 - refused below whenever DEBUG is off
if DEBUG:
    SECRET_KEY = SECRET_KEY or DEV_SECRET_KEY
    MFA_ENCRYPTION_KEYS = MFA_ENCRYPTION_KEYS or [development_key(SECRET_KEY)]
    OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"] = OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"] or development_rsa_key(
        DATA_DIR / "oidc-dev-key.pem"
    )
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]"]
else:
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY est obligatoire quand DEBUG est désactivé.")
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            "SECRET_KEY est une valeur par défaut ou trop faible : générez au moins 50 caractères aléatoires."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS est obligatoire quand DEBUG est désactivé.")
    if not MFA_ENCRYPTION_KEYS:
        raise ImproperlyConfigured(
            "MFA_ENCRYPTION_KEYS est obligatoire quand DEBUG est désactivé : générez une clé avec "
            'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())".'
        )
    if not OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"]:
        raise ImproperlyConfigured(
            "OIDC_RSA_PRIVATE_KEY (ou OIDC_RSA_PRIVATE_KEY_FILE) est obligatoire quand DEBUG est désactivé : une clé "
            "privée RSA (PEM) générée avec openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048."
        )
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    if env_bool("BEHIND_TLS_PROXY", True):
        # The TLS-terminating load balancer sets this header; never enable it on a directly exposed server.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Opt-out creation of the spaces (décret 2021-1048) ---
# Delay after sending the notification before automatic creation, on calendar months (seed: 1 month + 10 days).
OPTOUT_DELAY_MONTHS = env_int("OPTOUT_DELAY_MONTHS", 1, minimum=0)
OPTOUT_DELAY_DAYS = env_int("OPTOUT_DELAY_DAYS", 10, minimum=0)
# A space closed at the person's request keeps its content this long (they may change their mind), then a job
# deletes it; a space closed on death is archived for CLOSED_SPACE_ARCHIVE_YEARS.
SPACE_CLOSURE_GRACE_DAYS = env_int("SPACE_CLOSURE_GRACE_DAYS", 30, minimum=0)
CLOSED_SPACE_ARCHIVE_YEARS = env_int("CLOSED_SPACE_ARCHIVE_YEARS", 10, minimum=1)

# --- Campaigns (mes.comptes.services.campaigns) ---
# Largest CSV of insured people accepted, checked on Content-Length before the body is read and while it streams.
CAMPAIGN_IMPORT_MAX_BYTES = env_int("CAMPAIGN_IMPORT_MAX_BYTES", 1024**3, minimum=1024)
# Pages (one per person) of one printable PDF of letters; people notified per transaction; e-mails per connection.
CAMPAIGN_LETTER_BATCH_SIZE = env_int("CAMPAIGN_LETTER_BATCH_SIZE", 5_000, minimum=1)
CAMPAIGN_NOTIFY_CHUNK = env_int("CAMPAIGN_NOTIFY_CHUNK", 10_000, minimum=1)
CAMPAIGN_EMAIL_BATCH_SIZE = env_int("CAMPAIGN_EMAIL_BATCH_SIZE", 500, minimum=1)
# An import or a notification whose task shows no sign of life for this long is queued again (its task was lost).
CAMPAIGN_STALL_MINUTES = env_int("CAMPAIGN_STALL_MINUTES", 15, minimum=1)
# Public address of the portal, printed in the letters and e-mails (the citizen pages /activer/ and /opposition/).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "https://www.monespacesante.fr").rstrip("/")
# Uploads: files above 2.5 MB are written to a temporary file while they stream (never held in memory).
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_TEMP_DIR = env_str("FILE_UPLOAD_TEMP_DIR", None)
FILE_UPLOAD_PERMISSIONS = 0o640

# --- Dossier médical ---
# Largest document a citizen may add (PDF, JPEG, PNG, CDA R2), checked on Content-Length and while it streams.
DOSSIER_DOCUMENT_MAX_BYTES = env_int("DOSSIER_DOCUMENT_MAX_BYTES", 20 * 1024**2, minimum=1024)
# The largest body a paired app may send to the FHIR API: a document in base64 (4/3 of its size) and its metadata.
FHIR_MAX_BODY_BYTES = env_int("FHIR_MAX_BODY_BYTES", DOSSIER_DOCUMENT_MAX_BYTES * 4 // 3 + 1024**2, minimum=64 * 1024)
# An export of the whole dossier (FHIR Bundle) stays downloadable this long, then a job deletes its file.
DOSSIER_EXPORT_RETENTION_DAYS = env_int("DOSSIER_EXPORT_RETENTION_DAYS", 7, minimum=1)

# --- Messagerie de santé: the MSS operator's inbound side, <INS>@MSS_PATIENT_DOMAIN (messagerie.smtp) ---
# The domain of the citizens' addresses; mail for any other domain is refused at RCPT time (no relay).
MSS_PATIENT_DOMAIN = env_str("MSS_PATIENT_DOMAIN", "patient.mssante.fr").lower().strip(".")
# Senders' domains (comma list). An entry accepts itself and all its subdomains: « mssante.fr » accepts
# medecin.mssante.fr or chu-nantes.mssante.fr, where every MSSanté professional address lives. The patient domain
# is never a sender (only professionals start a conversation); the e-mail of an active professional account is
# accepted whatever its domain.
MSS_ALLOWED_SENDER_DOMAINS = [
    domain.lower().strip(".") for domain in env_list("MSS_ALLOWED_SENDER_DOMAINS", ["mssante.fr"]) if domain.strip(".")
]
# Largest message accepted (SMTP SIZE, the whole MIME message as sent, base64 included), and the limits on one
# message: envelope recipients, attachments, MIME parts. Beyond them the message is refused, never truncated.
MSS_MAX_MESSAGE_BYTES = env_int("MSS_MAX_MESSAGE_BYTES", 20 * 1024**2, minimum=64 * 1024)
MSS_MAX_RECIPIENTS = env_int("MSS_MAX_RECIPIENTS", 50, minimum=1)
MSS_MAX_ATTACHMENTS = env_int("MSS_MAX_ATTACHMENTS", 50, minimum=1)
MSS_MAX_MIME_PARTS = env_int("MSS_MAX_MIME_PARTS", 200, minimum=2)
# Where the SMTP ingress listens (`manage.py smtp_ingress`; port 0: one chosen by the system), the name it gives in
# its greeting, and the threads doing its database work.
MSS_SMTP_HOST = env_str("MSS_SMTP_HOST", "127.0.0.1")
MSS_SMTP_PORT = env_int("MSS_SMTP_PORT", 2525, minimum=0)
MSS_SMTP_HOSTNAME = env_str("MSS_SMTP_HOSTNAME", MSS_PATIENT_DOMAIN)
MSS_SMTP_WORKERS = env_int("MSS_SMTP_WORKERS", 4, minimum=1)
# STARTTLS: a certificate chain and its key (PEM files). When set, senders must switch to TLS before MAIL FROM.
MSS_SMTP_TLS_CERT_FILE = env_str("MSS_SMTP_TLS_CERT_FILE", None)
MSS_SMTP_TLS_KEY_FILE = env_str("MSS_SMTP_TLS_KEY_FILE", None)
if bool(MSS_SMTP_TLS_CERT_FILE) != bool(MSS_SMTP_TLS_KEY_FILE):
    raise ImproperlyConfigured("MSS_SMTP_TLS_CERT_FILE et MSS_SMTP_TLS_KEY_FILE vont ensemble : définissez les deux.")

# --- Professionals' access (mes.acces) ---
# Longest and shortest temporary access a citizen may give with a one-time code.
ACCESS_DELEGATION_MIN_HOURS = env_int("ACCESS_DELEGATION_MIN_HOURS", 1, minimum=1)
ACCESS_DELEGATION_MAX_DAYS = env_int("ACCESS_DELEGATION_MAX_DAYS", 30, minimum=1)
# Wrong codes in a row after which a professional's code entry is locked, and for how long.
ACCESS_CODE_MAX_FAILURES = env_int("ACCESS_CODE_MAX_FAILURES", 5, minimum=1)
ACCESS_CODE_LOCK_MINUTES = env_int("ACCESS_CODE_LOCK_MINUTES", 15, minimum=1)
# Code entries per professional account and per IP address (allauth's rate notation).
ACCESS_CODE_RATE_LIMIT = env_str("ACCESS_CODE_RATE_LIMIT", "20/15m/user,60/15m/ip")
# How long an emergency access (bris de glace) stays open.
EMERGENCY_ACCESS_HOURS = env_int("EMERGENCY_ACCESS_HOURS", 24, minimum=1)
# The document categories each profession may see (matrice d'habilitation); "*" is every category. A profession
# absent from the table sees no document. Categories: ordonnances_soins, resultats_examens, imagerie,
# comptes_rendus, certificats, vaccinations, prevention, autres.
PROFESSION_DOCUMENT_CATEGORIES = {
    "medecin": ["*"],
    "sage_femme": ["*"],
    "pharmacien": ["ordonnances_soins", "resultats_examens", "comptes_rendus", "vaccinations", "prevention"],
    "infirmier": [
        "ordonnances_soins",
        "resultats_examens",
        "comptes_rendus",
        "certificats",
        "vaccinations",
        "prevention",
        "autres",
    ],
    "chirurgien_dentiste": ["ordonnances_soins", "resultats_examens", "imagerie", "comptes_rendus", "vaccinations"],
    "masseur_kinesitherapeute": ["ordonnances_soins", "imagerie", "comptes_rendus"],
    "travailleur_medico_social": ["certificats", "prevention"],
}

# Référencement — commission et instruction
# Votes of the current round needed before the commission may adopt its opinion on a dossier.
REFERENCEMENT_COMMISSION_QUORUM = env_int("REFERENCEMENT_COMMISSION_QUORUM", 3, minimum=1)

# Référencement — convention, publication, suspension et audits
# Duration of a convention (and so of the référencement) from its signature, in years.
REFERENCEMENT_CONVENTION_YEARS = env_int("REFERENCEMENT_CONVENTION_YEARS", 3, minimum=1)
# Share of the published services drawn for an audit each month, in percent (at least one service when any is
# published and the share is not 0).
REFERENCEMENT_AUDIT_PERCENT = env_int("REFERENCEMENT_AUDIT_PERCENT", 10, minimum=0)
if REFERENCEMENT_AUDIT_PERCENT > 100:
    raise ImproperlyConfigured(f"REFERENCEMENT_AUDIT_PERCENT={REFERENCEMENT_AUDIT_PERCENT} : au plus 100.")
REFERENCEMENT_AUDIT_SHARE = REFERENCEMENT_AUDIT_PERCENT / 100
# Days the editor has to send the evidence of an audit; past them, the audit expires and (unless disabled) the
# service is suspended.
REFERENCEMENT_AUDIT_DAYS = env_int("REFERENCEMENT_AUDIT_DAYS", 30, minimum=1)
REFERENCEMENT_AUDIT_SUSPEND_ON_EXPIRY = env_bool("REFERENCEMENT_AUDIT_SUSPEND_ON_EXPIRY", True)
# What an audit asks for (one item a line).
REFERENCEMENT_AUDIT_EVIDENCE = env_str(
    "REFERENCEMENT_AUDIT_EVIDENCE",
    "Les réponses à jour de l’auto-évaluation Convergence du service.\n"
    "Un extrait du registre des activités de traitement (RGPD) couvrant le service.\n"
    "La synthèse du dernier test d’intrusion et le plan de correction de ses constats.\n"
    "La déclaration d’accessibilité en vigueur.",
).replace("\\n", "\n")
# Files an editor may join to one audit answer (each within DOSSIER_DOCUMENT_MAX_BYTES).
REFERENCEMENT_AUDIT_MAX_FILES = env_int("REFERENCEMENT_AUDIT_MAX_FILES", 10, minimum=1)
# Pairings handled per statement when the citizens of a suspended or withdrawn service are told.
REFERENCEMENT_NOTICE_CHUNK = env_int("REFERENCEMENT_NOTICE_CHUNK", 50_000, minimum=1)

# Référencement — tests d’accrochage (bac à sable)
# Refused calls an app may make between the withdrawal of the test person's consent and their new pairing (more is
# hammering the API: the checklist's « Réaction au retrait du consentement » stays unticked).
REFERENCEMENT_SANDBOX_CALLS_AFTER_REVOCATION = env_int("REFERENCEMENT_SANDBOX_CALLS_AFTER_REVOCATION", 3, minimum=0)
# The domain of the test persons' sign-in addresses: a reserved one (RFC 2606), so that no message reaches anybody.
REFERENCEMENT_SANDBOX_EMAIL_DOMAIN = env_str("REFERENCEMENT_SANDBOX_EMAIL_DOMAIN", "bac-a-sable.invalid")
# How often the tests page asks for the checklist again while it is open (seconds).
REFERENCEMENT_SANDBOX_POLL_SECONDS = env_int("REFERENCEMENT_SANDBOX_POLL_SECONDS", 5, minimum=2)
