"""Export of the dossier in a browser: request it, see it ready (tasks run inline here), download it; the progress
page follows a running export by itself; audited by axe-core on a desktop screen and at 375 px."""

import json
import re

import pytest
from fhir.resources.R4B.bundle import Bundle
from playwright.sync_api import expect

from dossier.models import DossierExport
from dossier.services.exports import export_build, export_claim
from mes.comptes.models import Citizen
from tests.browser.helpers import DESKTOP, horizontal_overflow, sign_in
from tests.dossier.exports_data import PNG_BYTES, make_document, make_measure, remove_citizen_files

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}


@pytest.fixture(autouse=True)
def _clean_storage(db):
    yield
    remove_citizen_files(Citizen.objects.values_list("public_id", flat=True))


def _download_and_check(page, citizen, hidden_title: str) -> None:
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Télécharger le dossier").click()
    download = download_info.value
    assert re.fullmatch(r"dossier-mon-espace-sante-\d{4}-\d{2}-\d{2}\.json", download.suggested_filename)
    with open(download.path(), encoding="utf-8") as handle:
        data = json.load(handle)
    Bundle.model_validate(data)
    resources = [entry["resource"] for entry in data["entry"]]
    assert resources[0]["identifier"][0]["value"] == citizen.ins
    hidden = next(r for r in resources if r["resourceType"] == "DocumentReference" and r["description"] == hidden_title)
    assert any(c["code"] == "MASQUE_PS" for label in hidden["securityLabel"] for c in label["coding"])


def _request_export(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"^Préparer (l’|un nouvel )export$")).click()
    assert page.get_by_role("heading", level=2, name="Votre export est prêt").is_visible()


def test_request_see_ready_and_download_on_desktop_and_phone(new_page, citizen, audit):
    make_measure(citizen)
    make_document(citizen, title="Compte rendu de consultation")
    make_document(
        citizen,
        PNG_BYTES,
        title="Radiographie du genou",
        hidden=True,
        file_format="png",
        content_type="image/png",
    )

    page = new_page(DESKTOP)
    sign_in(page, citizen.user.email)
    page.goto("/dossier/export/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Exporter mon dossier"
    assert "y compris 1 document masqué aux professionnels" in page.get_by_role("main").inner_text()
    audit(page, "export-liste-bureau")

    _request_export(page)
    audit(page, "export-pret-bureau")
    _download_and_check(page, citizen, "Radiographie du genou")

    page.get_by_role("link", name="Tous les exports").click()
    page.wait_for_url("**/dossier/export/")
    table = page.get_by_role("region", name="Exports récents")
    assert "prêt" in table.inner_text().lower()  # the badge is drawn in capitals
    audit(page, "export-liste-pret-bureau")

    phone = new_page(PHONE)
    phone.goto("/dossier/export/")
    assert horizontal_overflow(phone) <= 0
    audit(phone, "export-liste-375")
    _request_export(phone)
    assert horizontal_overflow(phone) <= 0
    audit(phone, "export-pret-375")
    _download_and_check(phone, citizen, "Radiographie du genou")
    assert DossierExport.objects.filter(citizen=citizen, status=DossierExport.Status.DONE).count() == 2


def test_the_progress_page_follows_a_running_export_by_itself(new_page, citizen, audit):
    make_measure(citizen)
    export = DossierExport.objects.create(citizen=citizen, requested_by=citizen.user)
    export_claim(export_id=export.pk)
    export_build(export_id=export.pk)
    # Back to « running » as a worker would hold it, its file already there to be offered once it is done.
    DossierExport.objects.filter(pk=export.pk).update(
        status=DossierExport.Status.RUNNING, progress=30, phase=DossierExport.Phase.MEASURES
    )

    page = new_page(PHONE)
    sign_in(page, citizen.user.email)
    page.goto(f"/dossier/export/{export.public_id}/")
    assert page.locator("#export-percent").inner_text() == "30"
    # The script polls the status: the refresh link, needed without JavaScript, is hidden.
    page.locator("#export-reload").wait_for(state="hidden")
    assert horizontal_overflow(page) <= 0
    audit(page, "export-en-cours-375")

    DossierExport.objects.filter(pk=export.pk).update(progress=60, phase=DossierExport.Phase.DOCUMENTS)
    expect(page.locator("#export-percent")).to_have_text("60")
    expect(page.locator("#export-phase")).to_have_text("Documents")
    assert page.locator("#export-progress-bar").get_attribute("value") is not None

    DossierExport.objects.filter(pk=export.pk).update(status=DossierExport.Status.DONE, progress=100)
    page.get_by_role("heading", level=2, name="Votre export est prêt").wait_for()
    audit(page, "export-termine-375")
