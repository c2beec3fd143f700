"""An administrator imports a small campaign file through the real form and reads the result, accessibly."""

import re

import pytest

from mes.comptes.models import Wave
from tests.browser.helpers import MOBILE, sign_in
from tests.comptes.test_campaign_import import HEADER, line

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_administrator_imports_a_file_and_sees_progress_result_and_report(page, live_server, administrator, audit):
    content = "\n".join([HEADER, line(1, email="a@exemple.fr"), line(2), line(3, sexe="X")]) + "\n"
    sign_in(page, administrator.email, totp=True)

    page.goto("/gestion/campagnes/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Campagnes de notification"
    audit(page, "campagnes-liste-bureau")
    page.get_by_role("link", name="Nouvelle vague").click()
    page.wait_for_url("**/gestion/campagnes/nouvelle/")
    audit(page, "campagnes-nouvelle-bureau")

    page.get_by_label("Nom de la vague").fill("Vague pilote")
    page.get_by_label(re.compile("^Départements de la vague")).fill("31")
    page.get_by_label(re.compile("^Fichier des personnes assurées")).set_input_files(
        {"name": "vague.csv", "mimeType": "text/csv", "buffer": content.encode()}
    )
    page.get_by_role("button", name="Importer le fichier").click()

    page.wait_for_url(re.compile(r".*/gestion/campagnes/[0-9a-f-]{36}/$"))
    wave = Wave.objects.get()
    assert wave.status == Wave.Status.IMPORTED
    assert page.locator("#campaign-status").text_content().strip() == "Importée"
    assert page.locator("#campaign-progress-bar").get_attribute("value") == "100"
    assert page.locator("#count-imported").inner_text() == "2"
    assert page.locator("#count-rejected").inner_text() == "1"
    report = page.get_by_role("link", name=re.compile("rapport de la ligne rejetée"))
    assert report.get_attribute("href").endswith("/lignes-rejetees.csv")
    assert page.get_by_role("link", name="Notifier la vague").is_visible()
    audit(page, "campagnes-vague-bureau")

    page.set_viewport_size(MOBILE)
    page.reload()
    audit(page, "campagnes-vague-320")


def test_a_refused_file_is_explained_accessibly(page, live_server, administrator, audit):
    sign_in(page, administrator.email, totp=True)
    page.goto("/gestion/campagnes/nouvelle/")
    page.get_by_label("Nom de la vague").fill("Vague refusée")
    page.get_by_label(re.compile("^Fichier des personnes assurées")).set_input_files(
        {"name": "vague.csv", "mimeType": "text/csv", "buffer": b"nir,nom\n1,2\n"}
    )
    page.get_by_role("button", name="Importer le fichier").click()

    page.wait_for_url(re.compile(r".*/gestion/campagnes/[0-9a-f-]{36}/$"))
    assert page.get_by_role("alert").filter(has_text="en-tête").is_visible()
    audit(page, "campagnes-vague-refusee-bureau")
