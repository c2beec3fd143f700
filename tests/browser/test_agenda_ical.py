"""The agenda's iCalendar pages in a browser: import a phone's ``.ics`` (first a wrong file, refused with a clear
message), read the summary, create the subscription feed and copy its URL, then fetch that URL as a calendar
application does and read it — on a desktop screen and at 375 px, audited by axe-core at every step."""

import re
import urllib.request

import pytest
import vobject
from icalendar import Calendar
from playwright.sync_api import expect

from agenda.models import Event, Feed, Task
from tests.browser.helpers import DESKTOP, horizontal_overflow, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}

PHONE_EXPORT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Apple Inc.//iOS 18.0//EN
BEGIN:VEVENT
UID:1B2C3D4E-0001@icloud.example
SUMMARY:Ophtalmologue
DTSTART;TZID=Europe/Paris:20270310T090000
DTEND;TZID=Europe/Paris:20270310T093000
LOCATION:Centre de la vision\\, 4 place Bellecour\\, Lyon
DESCRIPTION:Apporter les anciennes lunettes.
ATTENDEE;CN=Camille:mailto:camille@exemple.fr
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Rappel
TRIGGER:-PT1H
END:VALARM
END:VEVENT
BEGIN:VEVENT
UID:1B2C3D4E-0002@icloud.example
SUMMARY:Orthophonie
DTSTART;TZID=Europe/Paris:20270302T170000
DTEND;TZID=Europe/Paris:20270302T174500
RRULE:FREQ=WEEKLY;UNTIL=20270601T150000Z
EXDATE;TZID=Europe/Paris:20270413T170000
END:VEVENT
BEGIN:VTODO
UID:1B2C3D4E-0003@icloud.example
SUMMARY:Renouveler l’ordonnance
DUE;VALUE=DATE:20270305
END:VTODO
END:VCALENDAR
"""


def _check(page, audit, name):
    audit(page, name)
    assert horizontal_overflow(page) <= 0, f"{page.url} défile horizontalement"


def _import(page, path):
    page.get_by_label(re.compile(r"^Fichier iCalendar")).set_input_files(str(path))
    with page.expect_navigation():
        page.get_by_role("button", name="Importer le fichier").click()


@pytest.mark.parametrize(("viewport", "suffix"), [(DESKTOP, "bureau"), (PHONE, "375")])
def test_import_then_subscribe_and_read_the_feed(
    new_page, citizen, audit, viewport, suffix, tmp_path, live_server, settings
):
    # The feed's URL is made from PUBLIC_BASE_URL: here, the test server, so that the test can fetch it.
    settings.PUBLIC_BASE_URL = live_server.url
    page = new_page(viewport)
    sign_in(page, citizen.user.email)

    page.goto("/agenda/importer/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Importer un fichier .ics"
    breadcrumb = page.locator(".fr-breadcrumb")
    assert "Mon espace" in breadcrumb.inner_text(timeout=1000) or page.viewport_size["width"] < 768
    _check(page, audit, f"agenda-import-{suffix}")

    # A wrong file: refused, nothing added, and the reason is on the field.
    wrong = tmp_path / "notes.ics"
    wrong.write_text("Liste de courses\nPain\n", encoding="utf-8")
    _import(page, wrong)
    main = page.get_by_role("main")
    assert "Le fichier n’a pas été importé" in main.inner_text()
    assert "n’est pas un calendrier iCalendar valide" in main.inner_text()
    assert page.get_by_label(re.compile(r"^Fichier iCalendar")).get_attribute("aria-invalid") == "true"
    _check(page, audit, f"agenda-import-erreur-{suffix}")
    assert Event.objects.filter(citizen=citizen).count() == 0

    # The phone's export: two events and a task, with a summary and what could not be kept.
    export = tmp_path / "iphone.ics"
    export.write_text(PHONE_EXPORT.replace("\n", "\r\n"), encoding="utf-8")
    _import(page, export)
    result = page.locator("#resultat-import")
    assert "Import terminé : 3 éléments ajoutés." in result.inner_text()
    assert "participants (ATTENDEE)" in page.get_by_role("main").inner_text()
    _check(page, audit, f"agenda-import-resume-{suffix}")
    ophtalmo = Event.objects.get(citizen=citizen, uid="1B2C3D4E-0001@icloud.example")
    assert (ophtalmo.reminder_minutes, ophtalmo.location) == (60, "Centre de la vision, 4 place Bellecour, Lyon")
    assert Task.objects.filter(citizen=citizen, title="Renouveler l’ordonnance").exists()

    # Again: nothing is duplicated.
    _import(page, export)
    assert "Import terminé : aucun élément ajouté, 3 déjà à jour." in page.locator("#resultat-import").inner_text()
    assert Event.objects.filter(citizen=citizen).count() == 2

    # The feed: explained, created with the default options, its URL shown once with a copy button.
    page.goto("/agenda/abonnement/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Voir mon agenda dans mon téléphone"
    assert page.get_by_label(re.compile(r"^Titres et horaires seulement")).is_checked()
    assert not page.get_by_label(re.compile(r"^Inclure les tâches")).is_checked()
    _check(page, audit, f"agenda-abonnement-{suffix}")
    with page.expect_navigation():
        page.get_by_role("button", name="Créer mon adresse d’abonnement").click()
    address = page.get_by_label(re.compile(r"^Adresse de l’abonnement"))
    url = address.input_value()
    assert url.startswith(f"{live_server.url}/agenda/flux/") and url.endswith(".ics")
    webcal = page.get_by_role("link", name="Ouvrir dans mon application de calendrier").get_attribute("href")
    assert webcal == "webcal://" + url.split("://", 1)[1]
    context = page.context
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    try:
        page.get_by_role("button", name="Copier l’adresse").click()
        # The status is written once the clipboard's promise resolves: wait for it rather than read it at once.
        expect(page.locator("#copie-statut")).to_have_text("Adresse copiée dans le presse-papiers.", timeout=5000)
        assert page.evaluate("navigator.clipboard.readText()") == url
    finally:
        context.clear_permissions()
    _check(page, audit, f"agenda-abonnement-cree-{suffix}")

    # A calendar application fetches the URL: no cookie, no sign-in; titles and times only.
    # The test's own server, over http: the URL comes from the page just checked.
    request = urllib.request.Request(url, headers={"User-Agent": "iOS/18.0 (22A3354) dataaccessd/1.0"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        body = response.read()
    calendar = Calendar.from_ical(body)
    # The imported events, and the prevention key dates (included by default) marked as such.
    mine = [str(event["SUMMARY"]) for event in calendar.walk("VEVENT") if "X-MES-SOURCE" not in event]
    assert sorted(mine) == ["Ophtalmologue", "Orthophonie"]
    assert calendar.walk("VTODO") == []
    assert b"Bellecour" not in body and b"lunettes" not in body
    parsed = vobject.readOne(body.decode("utf-8"))
    series = next(event for event in parsed.vevent_list if event.summary.value == "Orthophonie")
    starts = list(series.getrruleset(addRDate=True))
    assert all(start.hour == 17 for start in starts) and len(starts) == 13

    # Back on the page, the URL is no longer shown; the feed can be stopped.
    page.goto("/agenda/abonnement/")
    assert page.get_by_label(re.compile(r"^Adresse de l’abonnement")).count() == 0
    with page.expect_navigation():
        page.get_by_role("button", name="Arrêter l’abonnement").click()
    assert "L’abonnement est arrêté" in page.get_by_role("status").first.inner_text()
    assert not Feed.objects.filter(citizen=citizen).exists()
    _check(page, audit, f"agenda-abonnement-arrete-{suffix}")
