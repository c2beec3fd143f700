"""« Historique des accès » in a browser: the citizen reads who opened their space, filters by author and period,
is told when the period is reversed, exports the CSV and reads their notifications — on a desktop screen and at
375 px, audited by axe-core at every step."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from mes.acces.services import journal_append
from mes.comptes.models import Notification
from tests.browser.helpers import DESKTOP, horizontal_overflow, sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}


def _check(page, audit, name):
    audit(page, name)
    assert horizontal_overflow(page) <= 0, f"{page.url} défile horizontalement"


@pytest.mark.parametrize(("viewport", "suffix"), [(DESKTOP, "bureau"), (PHONE, "375")])
def test_history_journey(new_page, citizen, professional, audit, viewport, suffix):
    end = timezone.now() + timedelta(days=2)
    journal_append(
        actor=professional.user,
        action="acces.code.utilise",
        citizen=citizen,
        details={"perimetre": ["documents", "mesures"], "fin": end.isoformat()},
    )
    journal_append(
        actor=professional.user,
        action="acces.urgence.ouvert",
        citizen=citizen,
        details={"motif": "Patient inconscient admis aux urgences de l’hôpital Saint-Antoine", "acces": "emergency"},
    )
    Notification.objects.create(
        user=citizen.user,
        citizen=citizen,
        title="Accès en urgence à votre espace santé",
        body="Dr Jean Docteur (Médecin) a ouvert votre espace santé en urgence.",
        link="/historique/",
    )
    page = new_page(viewport)
    sign_in(page, citizen.user.email)

    page.goto("/historique/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Historique des accès"
    history = page.locator("#historique")
    assert "Dr Jean Docteur (Médecin)" in history.inner_text()
    assert "Motif : Patient inconscient admis aux urgences" in history.inner_text()
    assert "Périmètre : documents, mesures de santé" in history.inner_text()
    assert "Par : Vous" in history.inner_text()  # the sign-in
    _check(page, audit, f"historique-{suffix}")

    # Filter by author: the professional only.
    page.get_by_label("Auteur").select_option(label="Dr Jean Docteur (Médecin)")
    with page.expect_navigation():
        page.get_by_role("button", name="Filtrer").click()
    assert "Connexion à l’espace" not in history.inner_text()
    assert history.locator("li.fr-mb-2w").count() == 2

    # A reversed period is explained, not a crash.
    today = timezone.localdate()
    page.get_by_label("Auteur").select_option(label="Tous les auteurs")
    page.get_by_label("Du", exact=True).fill(today.isoformat())
    page.get_by_label("Au", exact=True).fill((today - timedelta(days=3)).isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Filtrer").click()
    assert "La date de fin doit être postérieure ou égale à la date de début." in page.get_by_role("main").inner_text()
    _check(page, audit, f"historique-periode-erreur-{suffix}")

    # The period of today: every row; yesterday: none.
    page.get_by_label("Au", exact=True).fill(today.isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Filtrer").click()
    assert history.locator("li.fr-mb-2w").count() == 3
    _check(page, audit, f"historique-periode-{suffix}")
    yesterday = (today - timedelta(days=1)).isoformat()
    page.get_by_label("Du", exact=True).fill(yesterday)
    page.get_by_label("Au", exact=True).fill(yesterday)
    with page.expect_navigation():
        page.get_by_role("button", name="Filtrer").click()
    assert "Aucun événement ne correspond à ces critères." in page.get_by_role("main").inner_text()
    page.get_by_role("link", name="Effacer les filtres").click()
    page.wait_for_url("**/historique/")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Exporter l’historique (CSV)").click()
    download = download_info.value
    assert download.suggested_filename.startswith("historique-des-acces-")
    content = Path(download.path()).read_text(encoding="utf-8-sig")
    assert content.startswith("Date;Auteur;Action;Détail")
    assert "Patient inconscient admis aux urgences" in content

    # The header tells there is an unread notification; the centre lists it, and marking it read clears the count.
    if viewport is PHONE:
        page.get_by_role("button", name="Menu").click()
        page.locator("#modal-menu").get_by_role("link", name="Notifications : 1 notification non lue").click()
    else:
        page.get_by_role("link", name="Notifications : 1 notification non lue").first.click()
    page.wait_for_url("**/notifications/")
    assert "Accès en urgence à votre espace santé" in page.get_by_role("main").inner_text()
    _check(page, audit, f"notifications-{suffix}")
    with page.expect_navigation():
        page.get_by_role("button", name="Marquer comme lue : Accès en urgence à votre espace santé").click()
    assert "marquée comme lue" in page.get_by_role("status").first.inner_text()
    assert page.get_by_role("link", name="Notifications : 1 notification non lue").count() == 0
    _check(page, audit, f"notifications-lues-{suffix}")
