"""Mesures de santé in a browser: enter a weight and a height, see the BMI appear, enter a blood pressure, read
the chart, delete an entry — on a desktop screen and at 375 px, audited by axe-core at every step."""

import re

import pytest
from django.utils import timezone

from dossier.models import Measure
from tests.browser.helpers import DESKTOP, horizontal_overflow, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}


def _check(page, audit, name):
    audit(page, name)
    assert horizontal_overflow(page) <= 0, f"{page.url} défile horizontalement"


def _add(page, audit, kind_label, values: dict, shot: str, *, moment=None):
    page.goto("/dossier/mesures/")
    page.get_by_role("link", name=kind_label, exact=True).click()
    page.get_by_role("link", name="Ajouter une valeur").click()
    for label, value in values.items():
        page.get_by_label(re.compile(label)).fill(value)
    if moment:
        page.get_by_label(moment).check()
    _check(page, audit, shot)
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer la valeur").click()
    assert "Valeur enregistrée" in page.get_by_role("status").first.inner_text()


@pytest.mark.parametrize(("viewport", "suffix"), [(DESKTOP, "bureau"), (PHONE, "375")])
def test_measures_journey(new_page, citizen, audit, viewport, suffix):
    page = new_page(viewport)
    sign_in(page, citizen.user.email)
    page.goto("/dossier/mesures/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Mesures de santé"
    _check(page, audit, f"mesures-vide-{suffix}")

    _add(page, audit, "Poids", {r"^Poids \(kg\)": "72,5"}, f"mesures-ajout-poids-{suffix}")
    _check(page, audit, f"mesures-poids-{suffix}")
    _add(page, audit, "Taille", {r"^Taille \(cm\)": "172"}, f"mesures-ajout-taille-{suffix}")

    # The BMI appears on the overview, computed from both.
    page.goto("/dossier/mesures/")
    bmi_card = page.locator(".fr-card", has=page.get_by_role("link", name="Indice de masse corporelle (IMC)"))
    assert "24,5\u00a0kg/m²" in bmi_card.inner_text()
    _check(page, audit, f"mesures-apercu-{suffix}")
    bmi_card.get_by_role("link").click()
    assert "Calculée par Mon espace santé" in page.get_by_role("main").inner_text()
    assert page.get_by_role("link", name="Ajouter une valeur").count() == 0
    _check(page, audit, f"mesures-imc-{suffix}")

    # An impossible value is refused with a clear message, then a real blood pressure is recorded.
    page.goto("/dossier/mesures/tension/ajouter/")
    page.get_by_label(re.compile(r"^Pression systolique")).fill("80")
    page.get_by_label(re.compile(r"^Pression diastolique")).fill("120")
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer la valeur").click()
    assert "doit être supérieure à la pression diastolique" in page.get_by_role("main").inner_text()
    _check(page, audit, f"mesures-tension-erreur-{suffix}")
    _add(
        page,
        audit,
        "Tension artérielle",
        {r"^Pression systolique": "128", r"^Pression diastolique": "82"},
        f"mesures-ajout-tension-{suffix}",
    )
    yesterday = timezone.localtime() - timezone.timedelta(days=1)
    page.get_by_role("link", name="Ajouter une valeur").click()
    page.get_by_label(re.compile(r"^Pression systolique")).fill("135")
    page.get_by_label(re.compile(r"^Pression diastolique")).fill("88")
    page.get_by_label(re.compile(r"^Date de la mesure")).fill(yesterday.strftime("%Y-%m-%d"))
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer la valeur").click()

    # The chart: an image with a title and a description, and its data as a table.
    chart = page.get_by_role("img", name=re.compile(r"^Tension artérielle : évolution du"))
    assert chart.count() == 1 and chart.is_visible()
    page.get_by_text("Afficher les données du graphique sous forme de tableau").click()
    table = page.locator("#donnees-graphique table")
    assert "135\u00a0mmHg" in table.inner_text() and "82\u00a0mmHg" in table.inner_text()
    page.get_by_role("link", name="1 mois").click()
    assert page.get_by_role("link", name="1 mois").get_attribute("aria-current") == "true"
    _check(page, audit, f"mesures-tension-graphique-{suffix}")

    # A glucose needs its moment: refused without it, recorded with it, in the unit of the meter.
    page.goto("/dossier/mesures/glycemie/ajouter/")
    page.get_by_label(re.compile(r"^Glycémie")).fill("1,05")
    page.get_by_label("Unité", exact=True).select_option("g/L")
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer la valeur").click()
    assert "Indiquez le moment de la mesure." in page.get_by_role("main").inner_text()
    _check(page, audit, f"mesures-glycemie-erreur-{suffix}")
    page.locator("label", has_text=re.compile(r"^À jeun$")).click()  # the DSFR draws the radio in its label
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer la valeur").click()
    assert "1,05\u00a0g/L" in page.locator("#liste-valeurs").inner_text()
    assert "À jeun" in page.locator("#liste-valeurs").inner_text()
    page.goto("/dossier/mesures/tension/?periode=1m")

    # Delete the latest entry, after confirmation.
    page.get_by_role("link", name=re.compile(r"^Supprimer la valeur 128\/82")).click()
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Supprimer une valeur"
    _check(page, audit, f"mesures-suppression-{suffix}")
    with page.expect_navigation():
        page.get_by_role("button", name="Supprimer définitivement").click()
    assert "a été supprimée" in page.get_by_role("status").first.inner_text()
    assert "128/82" not in page.locator("#liste-valeurs").inner_text()
    _check(page, audit, f"mesures-apres-suppression-{suffix}")

    kinds = list(Measure.objects.filter(citizen=citizen).values_list("kind", flat=True))
    expected = ["poids", "taille", "imc", "tension", "glycemie"]
    assert sorted(kinds) == sorted(expected)
