"""Each role signs in through the real form (and its second factor) and lands on an accessible home page,
on a desktop screen and at 320 px, where the navigation moves into the menu dialog."""

import pytest

from tests.browser.helpers import MOBILE, sign_in

pytestmark = pytest.mark.browser

# role: (home page, its main heading, whether the account has a second factor)
HOMES = {
    "citizen": ("/", "Bonjour Camille", False),
    "professional": ("/pro/", "Espace professionnel", False),
    "editor": ("/editeurs/", "Portail éditeurs", True),
    "commission": ("/commission/", "Commission de référencement", True),
    "admin": ("/admin/", "Administration", True),
}


@pytest.mark.parametrize("role", HOMES)
def test_each_role_signs_in_and_lands_on_its_accessible_home(page, live_server, persona_users, audit, role):
    path, heading, totp = HOMES[role]

    sign_in(page, persona_users[role].email, totp=totp)

    page.wait_for_url(live_server.url + path)
    assert page.get_by_role("heading", level=1).first.inner_text().strip() == heading
    audit(page, f"accueil-{role}-bureau")

    page.set_viewport_size(MOBILE)
    page.reload()
    audit(page, f"accueil-{role}-320")
    if role == "admin":
        return  # Django's admin has its own header, without the DSFR menu.
    page.get_by_role("button", name="Menu").click()
    menu = page.get_by_role("dialog")
    menu.get_by_role("button", name="Se déconnecter").wait_for()
    assert menu.get_by_role("link", name="Sécurité du compte").is_visible()
    audit(page, f"accueil-{role}-320-menu", full_page=False)


def test_a_wrong_password_is_reported_accessibly(page, citizen, audit):
    sign_in(page, citizen.user.email, password="pas-le-bon-mot-de-passe", succeeds=False)
    assert page.url.endswith("/compte/login/")
    assert page.locator(".fr-alert--error, .fr-input-group--error").count()
    audit(page, "connexion-erreur-bureau")
