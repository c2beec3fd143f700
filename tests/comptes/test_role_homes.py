"""Each role lands on its own home page and is refused (403) on the others."""

import pytest
from django.urls import reverse

HOMES = {
    "citizen": "/",
    "professional": "/pro/",
    "editor": "/editeurs/",
    "commission": "/commission/",
    "admin": "/admin/",
}


@pytest.mark.parametrize("role", HOMES)
def test_after_sign_in_each_role_is_sent_to_its_home(client, persona_users, role):
    client.force_login(persona_users[role])
    response = client.get(reverse("home_for_role"))
    assert response.status_code == 302
    assert response["Location"] == HOMES[role]
    assert client.get(HOMES[role]).status_code == 200


@pytest.mark.parametrize("role", HOMES)
@pytest.mark.parametrize("page", HOMES)
def test_a_role_cannot_open_another_roles_home(client, persona_users, role, page):
    if role == page or (role, page) == ("admin", "commission"):
        return  # administrators also open the commission's queue of référencement dossiers
    client.force_login(persona_users[role])
    response = client.get(HOMES[page])
    assert response.status_code == 403
    assert "Accès refusé" in response.content.decode()


def test_citizen_home_shows_identity_and_children(client, citizen):
    from tests.factories import CitizenFactory

    child = CitizenFactory(user=None, first_names="Léa", birth_name="DURAND")
    child.legal_representatives.add(citizen.user)
    client.force_login(citizen.user)
    page = client.get("/").content.decode()
    assert citizen.ins in page
    assert f"{citizen.ins}@patient.mssante.fr" in page
    assert "Léa DURAND" in page


def test_visitor_sees_the_presentation_and_is_sent_to_sign_in_elsewhere(client, db):
    assert "Se connecter" in client.get("/").content.decode()
    for path in ("/pro/", "/editeurs/", "/commission/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/compte/login/")
