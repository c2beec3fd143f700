"""The agenda in a browser: a weekly appointment with a reminder, seen in the upcoming list and the month grid, one
of its dates removed, a task ticked, the series deleted — on a desktop screen and at 375 px, audited by axe-core at
every step; and the month grid's day links are reached with the Tab key."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from agenda.models import Event, Task
from tests.browser.helpers import DESKTOP, horizontal_overflow, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
WEEKDAYS = ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche"]


def check(page, audit, name: str) -> None:
    audit(page, name)
    assert horizontal_overflow(page) <= 0, f"{page.url} défile horizontalement"


def day_label(day) -> str:
    """« Lundi 7 décembre 2026 », as the pages write a day."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


@pytest.mark.parametrize(("viewport", "suffix"), [(DESKTOP, "bureau"), (PHONE, "375")])
def test_agenda_journey(new_page, citizen, audit, viewport, suffix):
    page = new_page(viewport)
    sign_in(page, citizen.user.email)
    page.goto("/agenda/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Mon agenda"
    assert page.get_by_text("Rien de prévu pour l’instant").is_visible()
    check(page, audit, f"agenda-accueil-vide-{suffix}")

    # A weekly physiotherapy session, on the next Monday at 09:00, six times, reminded one hour before.
    today = timezone.localdate()
    first = today + timedelta(days=7 - today.weekday())
    second = first + timedelta(days=7)
    page.get_by_role("link", name="Ajouter un rendez-vous").first.click()
    page.wait_for_url("**/agenda/evenements/nouveau/")
    check(page, audit, f"agenda-formulaire-{suffix}")
    page.get_by_label(re.compile(r"^Titre")).fill("Kinésithérapie du genou")
    page.get_by_label(re.compile(r"^Date\b(?! de fin)")).fill(first.isoformat())
    page.get_by_label(re.compile(r"^Heure de début")).fill("09:00")
    page.get_by_label(re.compile(r"^Heure de fin")).fill("09:45")
    page.get_by_label(re.compile(r"^Lieu")).fill("Cabinet du Parc, 12 avenue Jean Jaurès, Lyon")
    page.get_by_label(re.compile(r"^Professionnel de santé")).fill("M. Petit, kinésithérapeute")
    page.get_by_label(re.compile(r"^Rappel")).select_option(label="1 heure avant")
    page.get_by_label(re.compile(r"^Fréquence")).select_option(label="Toutes les semaines")
    page.get_by_text("Après un nombre de fois", exact=True).click()  # the DSFR draws the radio in its label
    page.get_by_label(re.compile(r"^Nombre de fois")).fill("6")
    with page.expect_navigation():
        page.get_by_role("button", name="Ajouter à mon agenda").click()
    assert "a été ajouté à votre agenda" in page.get_by_role("status").first.inner_text()
    assert "Toutes les semaines, 6 fois" in page.get_by_role("main").inner_text()
    assert "1 heure avant" in page.get_by_role("main").inner_text()
    check(page, audit, f"agenda-detail-serie-{suffix}")
    event = Event.objects.get(citizen=citizen)
    assert event.rrule == "FREQ=WEEKLY;COUNT=6" and event.reminder_minutes == 60

    # The upcoming list shows its dates, grouped by day, with where it comes from.
    page.goto("/agenda/")
    main = page.get_by_role("main")
    assert main.get_by_role("link", name=day_label(first)).is_visible()
    assert main.get_by_role("link", name="Kinésithérapie du genou").count() >= 2
    assert "09:00 – 09:45" in main.inner_text() and "Ajouté par vous" in main.text_content()
    check(page, audit, f"agenda-accueil-{suffix}")

    # The month grid of the second date; its link opens that occurrence.
    page.goto(f"/agenda/mois/{second.year}/{second.month}/")
    check(page, audit, f"agenda-mois-{suffix}")
    cell = page.locator("td", has=page.get_by_role("link", name=day_label(second), exact=True))
    assert cell.is_visible()
    if viewport is PHONE:
        # A list of the busy days: no column headers, no empty day.
        assert page.locator("thead").bounding_box()["height"] <= 1
        assert page.locator("td.mes-agenda-month__cell--free").first.is_hidden()
    cell.get_by_role("link", name=re.compile("Kinésithérapie du genou")).click()
    page.wait_for_url(re.compile(r".*\?occurrence=\d{8}T\d{6}Z$"))
    assert day_label(second) in page.get_by_role("main").inner_text()
    assert "Cette date fait partie d’une série" in page.get_by_role("main").inner_text()
    check(page, audit, f"agenda-occurrence-{suffix}")

    # Remove that date only.
    page.get_by_role("link", name="Supprimer cette date seulement").click()
    check(page, audit, f"agenda-suppression-date-{suffix}")
    with page.expect_navigation():
        page.get_by_role("button", name="Retirer cette date").click()
    assert "a été retirée" in page.get_by_role("status").first.inner_text()
    next_dates = page.locator(".mes-agenda-dates").inner_text()
    assert day_label(first) in next_dates and day_label(second) not in next_dates
    assert "(sauf 1 date supprimée)" in page.get_by_role("main").inner_text()

    # The day view of the first date.
    page.goto(f"/agenda/jour/{first.year}-{first.month}-{first.day}/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == day_label(first)
    assert "Kinésithérapie du genou" in page.get_by_role("main").inner_text()
    check(page, audit, f"agenda-jour-{suffix}")

    # A task, ticked from the list.
    page.goto("/agenda/")
    page.get_by_role("link", name="Ajouter une tâche").first.click()
    page.get_by_label(re.compile(r"^Titre")).fill("Apporter l’ordonnance du kiné")
    page.get_by_label(re.compile(r"^Échéance")).fill(first.isoformat())
    check(page, audit, f"agenda-tache-formulaire-{suffix}")
    with page.expect_navigation():
        page.get_by_role("button", name="Ajouter la tâche").click()
    assert "a été ajoutée" in page.get_by_role("status").first.inner_text()
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("^Marquer comme faite")).click()
    assert "est marquée comme faite" in page.get_by_role("status").first.inner_text()
    check(page, audit, f"agenda-taches-{suffix}")
    assert Task.objects.get(citizen=citizen).is_done

    # Delete the whole series.
    page.goto(f"/agenda/evenements/{event.public_id}/")
    page.get_by_role("link", name="Supprimer toute la série").click()
    check(page, audit, f"agenda-suppression-serie-{suffix}")
    with page.expect_navigation():
        page.get_by_role("button", name="Supprimer définitivement").click()
    assert "a été supprimé de votre agenda" in page.get_by_role("status").first.inner_text()
    assert not Event.objects.filter(citizen=citizen).exists()


@pytest.mark.parametrize(("viewport", "suffix"), [(DESKTOP, "bureau"), (PHONE, "375")])
def test_form_errors_are_announced_and_readable(new_page, citizen, audit, viewport, suffix):
    page = new_page(viewport)
    sign_in(page, citizen.user.email)
    page.goto("/agenda/evenements/nouveau/?date=2027-03-28")
    page.get_by_label(re.compile(r"^Heure de début")).fill("02:30")
    with page.expect_navigation():
        page.get_by_role("button", name="Ajouter à mon agenda").click()
    assert page.get_by_role("alert").is_visible()
    main = page.get_by_role("main").inner_text()
    assert "Indiquez le titre de l’événement." in main
    assert "passage à l’heure d’été" in main
    check(page, audit, f"agenda-formulaire-erreurs-{suffix}")


def test_month_day_links_are_reached_with_the_tab_key(page, citizen, audit):
    sign_in(page, citizen.user.email)
    today = timezone.localdate()
    page.goto(f"/agenda/mois/{today.year}/{today.month}/")
    day_links = page.locator("a.mes-agenda-month__day")
    expected = [day_links.nth(index).get_attribute("href") for index in range(day_links.count())]
    assert len(expected) >= 28
    today_link = page.locator('a[aria-current="date"]')
    assert today_link.get_attribute("href") == f"/agenda/jour/{today.year}-{today.month}-{today.day}/"
    reached = []
    for _press in range(len(expected) + 80):
        page.keyboard.press("Tab")
        href = page.evaluate("document.activeElement.getAttribute('href')")
        if href in expected and href not in reached:
            reached.append(href)
            # The focused link is visibly outlined (the DSFR's focus ring).
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", href
        if len(reached) == len(expected):
            break
    assert reached == expected
    # Enter follows the focused link.
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(expected[-1])
    audit(page, "agenda-jour-clavier")
