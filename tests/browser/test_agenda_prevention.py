"""Prevention key dates in a browser: the page of a citizen whose space was just created (the key dates come from the
signal after commit), « C’est fait », « Remettre à faire », « Ne plus afficher » by keyboard — on a desktop screen
and at 375 px, audited by axe-core at every step."""

import re

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from agenda.models import PreventionDate
from agenda.services.prevention import prevention_dates_refresh_citizen
from mes.comptes.models import Citizen
from tests.browser.helpers import DESKTOP, horizontal_overflow, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
BOOSTER = "Rappel de vaccination diphtérie, tétanos, poliomyélite"


def _check(page, audit, name):
    audit(page, name)
    assert horizontal_overflow(page) <= 0, f"{page.url} défile horizontalement"


def _press(page, name: str):
    """Activate a button by keyboard (focus, then Enter), and wait for the page that answers."""
    button = page.get_by_role("button", name=re.compile(rf"^{re.escape(name)} : {re.escape(BOOSTER)}$"))
    button.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")


@pytest.mark.parametrize(("viewport", "suffix"), [(DESKTOP, "bureau"), (PHONE, "375")])
def test_prevention_key_dates_journey(new_page, citizen, audit, viewport, suffix):
    # Created by the fixture in a committed transaction (live server): the signal has generated the key dates.
    assert PreventionDate.objects.filter(citizen=citizen, programme="rappel-dtp").exists()
    page = new_page(viewport)
    sign_in(page, citizen.user.email)
    page.goto("/agenda/prevention/")
    main = page.get_by_role("main")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Dates clés de prévention"
    assert page.get_by_role("heading", level=3, name=BOOSTER).is_visible()
    assert re.search(r"à faire entre le \d{1,2}(er)? \w+ \d{4} et le \d{1,2}(er)? \w+ \d{4}", main.inner_text())
    link = page.get_by_role("link", name="Le calendrier des vaccinations (ministère de la Santé)")
    assert link.get_attribute("target") == "_blank" and link.get_attribute("rel") == "noopener"
    assert "version 2026.1" in main.inner_text()
    _check(page, audit, f"prevention-liste-{suffix}")

    _press(page, "C’est fait")
    assert (
        "est noté comme fait" in page.get_by_role("status").first.inner_text() or "noté comme fait" in main.inner_text()
    )
    history = page.locator("section", has=page.get_by_role("heading", name="Faites ou masquées"))
    assert BOOSTER in history.inner_text() and "Fait, noté le" in history.inner_text()
    _check(page, audit, f"prevention-fait-{suffix}")

    _press(page, "Remettre à faire")
    assert page.get_by_role("heading", name="Faites ou masquées").count() == 0
    _press(page, "Ne plus afficher")
    assert (
        "Masqué le" in page.locator("section", has=page.get_by_role("heading", name="Faites ou masquées")).inner_text()
    )
    _check(page, audit, f"prevention-masque-{suffix}")
    assert PreventionDate.objects.get(citizen=citizen, programme="rappel-dtp").status == "dismissed"


def test_a_person_concerned_by_no_programme_sees_a_friendly_empty_state(new_page, citizen, audit):
    # A baby (the page depends on the birth date only): no programme yet.
    Citizen.objects.filter(pk=citizen.pk).update(birth_date=timezone.localdate() - relativedelta(years=1))
    prevention_dates_refresh_citizen(citizen=Citizen.objects.get(pk=citizen.pk))
    page = new_page(PHONE)
    sign_in(page, citizen.user.email)
    page.goto("/agenda/prevention/")
    assert page.get_by_role("heading", name="Aucune date clé de prévention pour le moment").is_visible()
    assert page.get_by_role("button").filter(has_text="C’est fait").count() == 0
    _check(page, audit, "prevention-vide-375")
