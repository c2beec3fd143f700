"""Sign-in: e-mail and password, mandatory TOTP for some roles, rate limits, no account enumeration."""

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

from mes.acces.models import JournalEntry
from tests.factories import PASSWORD, TOTP_SECRET, UserFactory

LOGIN = "/compte/login/"


def _login(client, email: str, password: str = PASSWORD):
    return client.post(LOGIN, {"login": email, "password": password})


def _totp_code() -> str:
    return format_hotp_value(hotp_value(TOTP_SECRET, int(time.time()) // 30))


def test_citizen_signs_in_with_email_and_password_and_it_is_journaled(client, citizen):
    response = _login(client, citizen.user.email)
    assert response.status_code == 302
    assert response["Location"] == "/"
    entry = JournalEntry.objects.get(action="compte.connexion")
    assert (entry.actor_id, entry.citizen_id) == (citizen.user.pk, citizen.pk)


def test_email_is_case_insensitive(client, citizen):
    response = _login(client, citizen.user.email.upper())
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("fixture", "home"), [("editor", "/editeurs/"), ("commission_member", "/commission/"), ("administrator", "/admin/")]
)
def test_roles_with_mandatory_mfa_need_the_totp_code(client, request, fixture, home):
    user = request.getfixturevalue(fixture)
    response = _login(client, user.email)
    assert response.status_code == 302
    assert response["Location"].startswith("/compte/2fa/authenticate/")
    # Not signed in yet: the home page still asks to sign in.
    assert client.get(home).status_code == 302
    wrong = client.post("/compte/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200
    response = client.post("/compte/2fa/authenticate/", {"code": _totp_code()})
    assert response.status_code == 302
    assert client.get(response["Location"], follow=True).request["PATH_INFO"] == home


@pytest.mark.parametrize(
    ("role", "home"), [("editor", "/editeurs/"), ("commission", "/commission/"), ("admin", "/admin/")]
)
def test_without_a_second_factor_these_roles_must_enrol_first(client, db, role, home):
    from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY

    user = UserFactory(role=role, is_staff=role == "admin", is_superuser=role == "admin")
    response = _login(client, user.email)
    # allauth asks for the password again before any change of second factor.
    assert client.get(response["Location"], follow=True).request["PATH_INFO"] == "/compte/reauthenticate/"
    client.post("/compte/reauthenticate/", {"password": PASSWORD})
    for path in (home, "/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == "/compte/2fa/totp/activate/"
    page = client.get("/compte/2fa/totp/activate/")
    assert page.status_code == 200
    secret = client.session[SECRET_SESSION_KEY]
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    client.post("/compte/2fa/totp/activate/", {"code": code})
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert client.get(home).status_code == 200


def test_citizens_and_professionals_are_not_forced_to_enrol(client, citizen, professional):
    client.force_login(citizen.user)
    assert client.get("/").status_code == 200
    client.force_login(professional.user)
    assert client.get("/pro/").status_code == 200


def test_no_account_enumeration(client, citizen):
    wrong_password = _login(client, citizen.user.email, "pas-le-bon-mot-de-passe").content.decode()
    unknown = _login(client, "personne.inconnue@exemple.fr", "pas-le-bon-mot-de-passe").content.decode()
    message = "L’adresse e-mail ou le mot de passe sont incorrects."
    assert message in wrong_password.replace("'", "’").replace("&#x27;", "’")
    assert message in unknown.replace("'", "’").replace("&#x27;", "’")
    reset = client.post("/compte/password/reset/", {"email": "personne.inconnue@exemple.fr"})
    assert reset.status_code == 302  # same answer whether the address exists or not


def test_failed_logins_are_rate_limited_per_account(client, citizen):
    for _ in range(5):
        assert _login(client, citizen.user.email, "mauvais-mot-de-passe").status_code == 200
    blocked = _login(client, citizen.user.email, PASSWORD)
    assert blocked.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "Trop de tentatives" in blocked.content.decode() or "trop de tentatives" in blocked.content.decode()


def test_signup_is_closed(client, db):
    response = client.get("/compte/signup/")
    assert response.status_code == 200
    assert "/compte/signup/" not in client.get(LOGIN).content.decode()
    client.post("/compte/signup/", {"email": "nouveau@exemple.fr", "password1": PASSWORD, "password2": PASSWORD})
    from mes.comptes.models import User

    assert not User.objects.filter(email="nouveau@exemple.fr").exists()


def test_inactive_account_cannot_sign_in(client, citizen):
    citizen.user.is_active = False
    citizen.user.save(update_fields=["is_active"])
    _login(client, citizen.user.email)
    assert "_auth_user_id" not in client.session


def test_mandatory_second_factor_cannot_be_removed(client, editor):
    client.post(LOGIN, {"login": editor.email, "password": PASSWORD})
    client.post("/compte/2fa/authenticate/", {"code": _totp_code()})
    client.post("/compte/reauthenticate/", {"password": PASSWORD})
    client.post("/compte/2fa/totp/deactivate/", {})
    assert Authenticator.objects.filter(user=editor, type=Authenticator.Type.TOTP).exists()
