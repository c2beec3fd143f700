"""Settings come from the environment, fail fast, and refuse an unsafe production configuration."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from mes.settings.env import database_from_url, env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parents[2]


def test_env_helpers_read_and_validate(monkeypatch):
    monkeypatch.setenv("MES_T_BOOL", "oui")
    with pytest.raises(ImproperlyConfigured, match="MES_T_BOOL"):
        env_bool("MES_T_BOOL", False)
    monkeypatch.setenv("MES_T_BOOL", "off")
    assert env_bool("MES_T_BOOL", True) is False
    monkeypatch.setenv("MES_T_INT", "douze")
    with pytest.raises(ImproperlyConfigured, match="nombre entier"):
        env_int("MES_T_INT", 1)
    monkeypatch.setenv("MES_T_INT", "3")
    with pytest.raises(ImproperlyConfigured, match="au moins 5"):
        env_int("MES_T_INT", 10, minimum=5)
    monkeypatch.setenv("MES_T_LIST", " a.fr, ,b.fr ")
    assert env_list("MES_T_LIST", []) == ["a.fr", "b.fr"]
    monkeypatch.delenv("MES_T_STR", raising=False)
    with pytest.raises(ImproperlyConfigured, match="MES_T_STR est obligatoire"):
        env_str("MES_T_STR")
    assert env_str("MES_T_STR", "défaut") == "défaut"


def test_database_url_parsing():
    config = database_from_url("postgres://mes:s%40cret@db.interne:5433/mes?sslmode=require")
    assert config["NAME"] == "mes"
    assert config["USER"] == "mes"
    assert config["PASSWORD"] == "s@cret"
    assert config["HOST"] == "db.interne"
    assert config["PORT"] == "5433"
    assert config["OPTIONS"] == {"sslmode": "require"}
    socket = database_from_url("postgresql://postgres@/mes?host=/var/run/postgresql")
    assert socket["HOST"] == "/var/run/postgresql"
    with pytest.raises(ImproperlyConfigured, match="PostgreSQL"):
        database_from_url("sqlite:///db.sqlite3")
    with pytest.raises(ImproperlyConfigured, match="nommer la base"):
        database_from_url("postgres://localhost:5432/")


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base_env = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "DATABASE_URL", "LANG"}}
    base_env["DJANGO_SETTINGS_MODULE"] = "mes.settings.dev"
    base_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base_env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_in_production_configuration():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="example.org",
        MFA_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        OIDC_RSA_PRIVATE_KEY=os.environ["OIDC_RSA_PRIVATE_KEY"].replace("\n", "\\n"),
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEBUG": "0", "ALLOWED_HOSTS": "example.org"}, "SECRET_KEY est obligatoire"),
        ({"DEBUG": "0", "ALLOWED_HOSTS": "example.org", "SECRET_KEY": "court"}, "trop faible"),
        (
            {
                "DEBUG": "0",
                "ALLOWED_HOSTS": "example.org",
                "SECRET_KEY": "dev-only-secret-key-never-used-with-debug-off-0123456789abcdefghijkl",
            },
            "valeur par défaut",
        ),
        ({"DEBUG": "0", "SECRET_KEY": "x" * 10 + secrets.token_urlsafe(50)}, "ALLOWED_HOSTS est obligatoire"),
        (
            {"DEBUG": "0", "ALLOWED_HOSTS": "example.org", "SECRET_KEY": "x" * 10 + secrets.token_urlsafe(50)},
            "MFA_ENCRYPTION_KEYS est obligatoire",
        ),
        (
            {
                "DEBUG": "0",
                "ALLOWED_HOSTS": "example.org",
                "SECRET_KEY": "x" * 10 + secrets.token_urlsafe(50),
                "MFA_ENCRYPTION_KEYS": "cle",
            },
            "OIDC_RSA_PRIVATE_KEY (ou OIDC_RSA_PRIVATE_KEY_FILE) est obligatoire",
        ),
        (
            {
                "DEBUG": "0",
                "ALLOWED_HOSTS": "example.org",
                "SECRET_KEY": "x" * 10 + secrets.token_urlsafe(50),
                "MFA_ENCRYPTION_KEYS": "cle",
                "OIDC_RSA_PRIVATE_KEY_FILE": "/nulle-part/cle.pem",
            },
            "OIDC_RSA_PRIVATE_KEY_FILE illisible",
        ),
        ({"DEBUG": "peut-être"}, "valeur booléenne"),
        ({"FRANCECONNECT_CLIENT_ID": "abc"}, "FRANCECONNECT_SECRET"),
    ],
)
def test_production_refuses_to_start_on_unsafe_configuration(env, message):
    result = _manage("check", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_security_headers_in_production_configuration(client, db):
    response = client.get("/accessibilite/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy
