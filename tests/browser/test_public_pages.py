"""Pages met outside the role homes (presentation, sign-in and second-factor steps, statement, errors),
audited on a desktop screen (1280 px) and then on a 320 px wide one."""

import re

import pytest

from tests.browser.helpers import MOBILE, sign_in
from tests.factories import PASSWORD, CitizenFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.browser


def open_landing(page):
    page.goto("/")
    return "Mon espace santé"


def open_login(page):
    page.goto("/compte/login/")
    return "Se connecter"


def open_accessibility(page):
    page.goto("/accessibilite/")
    return "Déclaration d’accessibilité"


def open_forbidden(page):
    """A citizen opening the professionals' space."""
    sign_in(page, CitizenFactory().user.email)
    assert page.goto("/pro/").status == 403
    return "Accès refusé"


def open_not_found(page):
    assert page.goto("/cette-page-n-existe-pas/").status == 404
    return "Page introuvable"


def open_second_factor(page):
    """The code asked of an editor after the password."""
    sign_in(page, MembershipFactory().user.email, succeeds=False)
    page.wait_for_url("**/compte/2fa/authenticate/")
    return "Authentification à deux facteurs"


def _editor_without_second_factor(page):
    """An editor without a second factor is sent to its enrolment whatever they open; allauth first asks
    for the password again."""
    sign_in(page, UserFactory(role="editor").email)
    page.goto("/editeurs/")
    page.wait_for_url("**/compte/reauthenticate/**")


def open_reauthentication(page):
    _editor_without_second_factor(page)
    return "Confirmer l'accès"


def open_totp_enrolment(page):
    _editor_without_second_factor(page)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Confirmer").click()
    page.wait_for_url("**/compte/2fa/totp/activate/")
    return "Activer l’application d’authentification"


PAGES = {
    "accueil-public": open_landing,
    "connexion": open_login,
    "accessibilite": open_accessibility,
    "403": open_forbidden,
    "404": open_not_found,
    "code-2fa": open_second_factor,
    "reauthentification": open_reauthentication,
    "activation-totp": open_totp_enrolment,
}


@pytest.mark.parametrize("name", PAGES)
def test_page_is_accessible_on_desktop_and_at_320_px(page, db, audit, name):
    heading = PAGES[name](page)
    assert page.get_by_role("heading", level=1).first.inner_text().strip() == heading
    audit(page, f"{name}-bureau")

    page.set_viewport_size(MOBILE)
    page.reload()
    assert page.get_by_role("heading", level=1).first.inner_text().strip() == heading
    audit(page, f"{name}-320")


def test_a_field_error_is_announced_with_its_field(page, db, audit):
    """A wrong code on the enrolment page: the input is marked invalid and described by its error."""
    open_totp_enrolment(page)
    code = page.get_by_label(re.compile(r"^Code"))
    code.fill("000000")
    page.get_by_role("main").get_by_role("button", name="Activer").click()
    page.wait_for_load_state()
    code = page.get_by_label(re.compile(r"^Code"))
    assert code.get_attribute("aria-invalid") == "true"
    for described_by in code.get_attribute("aria-describedby").split():
        assert page.locator(f"#{described_by}").count() == 1, described_by
    assert page.locator(".fr-error-text").inner_text().strip()
    audit(page, "activation-totp-erreur-bureau")
