"""The administrator opens the campaign statistics: tables, the SVG chart, accessible at desktop and 320 px."""

import pytest

from mes.comptes.demo import pilot_wave_create
from tests.browser.helpers import MOBILE, sign_in

pytestmark = pytest.mark.browser


def test_administrator_reads_the_statistics(page, persona_users, audit):
    pilot_wave_create()
    sign_in(page, persona_users["admin"].email, totp=True)

    page.goto("/gestion/statistiques/")

    heading = page.get_by_role("heading", level=1).inner_text().strip()
    assert heading == "Statistiques de la campagne de création des espaces"
    chart = page.get_by_role("img", name="Cumul des activations, oppositions et créations automatiques")
    assert chart.count() == 1 and chart.locator("polyline").count() == 3
    assert "3,63\u00a0%" in page.locator("#par-vague").inner_text()
    assert "0,41\u00a0%" in page.locator("#par-vague").inner_text()
    page.get_by_text("Afficher les données du graphique sous forme de tableau").click()
    assert page.locator("#donnees-graphique").is_visible()
    audit(page, "statistiques-bureau")

    page.set_viewport_size(MOBILE)
    page.reload()
    audit(page, "statistiques-320")

    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger les tableaux (CSV, tableur)").click()
    assert download.value.suggested_filename.startswith("statistiques-campagne-")
