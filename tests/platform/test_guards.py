"""Guards: no pending migration, the OIDC slots follow the settings."""

import importlib
from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_pending_migrations():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_oidc_provider_slots_are_enabled_only_when_configured(monkeypatch):
    import mes.settings.base as base

    try:
        monkeypatch.setenv("PRO_SANTE_CONNECT_CLIENT_ID", "client-psc")
        monkeypatch.setenv("PRO_SANTE_CONNECT_SECRET", "secret-psc")
        monkeypatch.setenv("PRO_SANTE_CONNECT_SERVER_URL", "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet")
        monkeypatch.setenv("DATABASE_URL", "postgres://localhost/unused")
        reloaded = importlib.reload(base)
        apps = reloaded.SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"]
        assert [app["provider_id"] for app in apps] == ["prosanteconnect"]
        assert apps[0]["settings"]["server_url"].startswith("https://")
        assert apps[0]["settings"]["oauth_pkce_enabled"] is True
        monkeypatch.delenv("PRO_SANTE_CONNECT_CLIENT_ID")
        monkeypatch.delenv("PRO_SANTE_CONNECT_SECRET")
        monkeypatch.delenv("PRO_SANTE_CONNECT_SERVER_URL")
        assert importlib.reload(base).SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"] == []
    finally:
        monkeypatch.undo()
        importlib.reload(base)


@pytest.mark.django_db
def test_configured_provider_is_offered_on_the_sign_in_page(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "franceconnect",
                    "name": "FranceConnect",
                    "client_id": "id",
                    "secret": "secret",
                    "settings": {"server_url": "https://fcp.integ01.dev-franceconnect.fr/api/v1"},
                }
            ]
        }
    }
    assert "FranceConnect" in client.get("/compte/login/").content.decode()
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": []}}
    assert "FranceConnect" not in client.get("/compte/login/").content.decode()
