"""Who may open the catalogue: citizens (every one of them sees the same catalogue), nobody else; images also to
the administrators, for the admin's previews. Visitors are asked to sign in first."""

import pytest
from django.urls import reverse

from catalogue.views import catalogue_detail, catalogue_home, catalogue_image

pytestmark = pytest.mark.django_db

ROLES = ["citizen", "professional", "editor", "commission", "admin"]


def _routes(service) -> dict[str, str]:
    return {
        "catalogue_home": reverse("catalogue_home"),
        "catalogue_detail": reverse("catalogue_detail", args=[service.slug]),
        "catalogue_image": reverse("catalogue_image", args=[service.slug, service.logo_key]),
    }


ALLOWED = {
    "catalogue_home": {"citizen"},
    "catalogue_detail": {"citizen"},
    "catalogue_image": {"citizen", "admin"},
}


def test_the_routes_declare_their_roles():
    assert catalogue_home.allowed_roles == ("citizen",)
    assert catalogue_detail.allowed_roles == ("citizen",)
    assert catalogue_image.allowed_roles == ("citizen", "admin")


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_visitors_are_asked_to_sign_in(client, service, name):
    url = _routes(service)[name]
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_each_role(client, persona_users, service, name, role):
    client.force_login(persona_users[role])
    expected = 200 if role in ALLOWED[name] else 403
    assert client.get(_routes(service)[name]).status_code == expected


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_another_citizen_sees_the_same_catalogue(client, other_citizen, service, name):
    """The catalogue holds nobody's personal data: another citizen opens the same pages."""
    client.force_login(other_citizen.user)
    assert client.get(_routes(service)[name]).status_code == 200


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_only_get_is_answered(client, citizen, service, name):
    client.force_login(citizen.user)
    assert client.post(_routes(service)[name]).status_code == 405
