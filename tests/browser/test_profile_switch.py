"""A parent switches to their child's space from the header, without JavaScript needed, and comes back."""

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from tests.browser.helpers import MOBILE, sign_in
from tests.factories import CitizenFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def child(citizen):
    lea = CitizenFactory(
        user=None, first_names="Léa Anne", birth_name="DURAND", birth_date=timezone.localdate() - relativedelta(years=8)
    )
    lea.legal_representatives.add(citizen.user)
    return lea


def test_parent_switches_to_the_child_space_and_back(page, citizen, child, audit):
    sign_in(page, citizen.user.email)
    page.goto("/")
    audit(page, "profil-parent-bureau")

    header = page.locator(".fr-header__tools")
    header.get_by_label("Espace affiché").select_option(label="Espace de Léa DURAND")
    header.get_by_role("button", name="Changer d’espace").click()

    page.wait_for_load_state()
    assert page.get_by_text("Vous consultez l’espace de Léa DURAND").is_visible()
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Espace de Léa"
    assert child.ins in page.locator("main").inner_text()
    audit(page, "profil-enfant-bureau")

    page.set_viewport_size(MOBILE)
    page.reload()
    audit(page, "profil-enfant-320")

    page.get_by_role("button", name="Revenir à mon espace").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Bonjour Camille"
    assert citizen.ins in page.locator("main").inner_text()
