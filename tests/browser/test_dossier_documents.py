"""A citizen adds, reads, hides, finds and deletes documents in the browser, on a desktop and on a 375 px phone."""

import re

import pytest

from dossier.models import Document
from tests.browser.helpers import horizontal_overflow, sign_in
from tests.dossier.documents_samples import image_bytes, pdf_bytes

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
PDF_VIEWER = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"
DETAIL_URL = re.compile(r".*/dossier/documents/[0-9a-f-]{36}/$")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def check(page, audit, name: str) -> None:
    audit(page, name)
    if page.viewport_size["width"] <= PHONE["width"]:
        assert horizontal_overflow(page) <= 0, f"{page.url} défile horizontalement à {PHONE['width']} px"


def add_document(page, *, name: str, mime: str, content: bytes, title: str, type_label: str, act_date: str) -> None:
    page.goto("/dossier/documents/ajouter/")
    page.get_by_label(re.compile(r"^Fichier")).set_input_files({"name": name, "mimeType": mime, "buffer": content})
    page.get_by_label(re.compile(r"^Titre du document")).fill(title)
    page.get_by_label(re.compile(r"^Type de document")).select_option(label=type_label)
    page.get_by_label(re.compile(r"^Date de l’acte")).fill(act_date)
    with page.expect_navigation():
        page.get_by_role("button", name="Ajouter le document").click()


def wait_for_pdf_viewer(page) -> None:
    """Chromium opens its PDF viewer (an extension frame) inside the preview frame; a refused frame would show
    Chromium's error page instead."""
    for _attempt in range(100):
        urls = [frame.url for frame in page.frames]
        assert not any(url.startswith("chrome-error:") for url in urls), urls
        if any(url.endswith("/fichier/") for url in urls) and any(url.startswith(PDF_VIEWER) for url in urls):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"Visionneuse PDF absente : {urls}")


def test_a_citizen_manages_documents_in_the_browser(page, live_server, citizen, audit):
    sign_in(page, citizen.user.email)
    page.goto("/dossier/documents/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Mes documents"
    assert page.get_by_text("Votre dossier ne contient encore aucun document.").is_visible()
    check(page, audit, "documents-liste-vide-bureau")

    page.get_by_role("link", name="Ajouter un document").click()
    page.wait_for_url("**/dossier/documents/ajouter/")
    check(page, audit, "documents-ajout-bureau")

    # A page saved as .pdf is refused, with the reason next to the field.
    add_document(
        page,
        name="ordonnance.pdf",
        mime="application/pdf",
        content=b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        title="Faux PDF",
        type_label="Ordonnance de médicaments ou de produits de santé",
        act_date="2025-01-10",
    )
    assert page.get_by_role("alert").filter(has_text="Le document n’a pas été ajouté").is_visible()
    assert page.get_by_text("Ce fichier est une page web (HTML)").is_visible()
    check(page, audit, "documents-ajout-refus-bureau")
    assert not Document.objects.exists()

    add_document(
        page,
        name="échographie.pdf",
        mime="application/pdf",
        content=pdf_bytes("Echographie cardiaque"),
        title="Compte rendu d’échographie cardiaque",
        type_label="Compte rendu d’imagerie médicale (radio, échographie, IRM…)",
        act_date="2025-01-14",
    )
    page.wait_for_url(DETAIL_URL)
    assert page.get_by_text("Le document « Compte rendu d’échographie cardiaque » a été ajouté").is_visible()
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Compte rendu d’échographie cardiaque"
    # The PDF is shown inside the page by the browser's viewer (a sandboxed frame would be refused by Chromium).
    preview = page.locator("iframe.mes-doc-preview")
    assert preview.is_visible()
    wait_for_pdf_viewer(page)
    check(page, audit, "documents-detail-pdf-bureau")

    # Hide it from professionals, after a confirmation that says what it means.
    page.get_by_role("link", name="Masquer aux professionnels").click()
    page.wait_for_url("**/masquer/")
    assert page.get_by_text("Votre médecin traitant pourra toujours le consulter.").is_visible()
    check(page, audit, "documents-masquer-bureau")
    page.get_by_role("button", name="Masquer le document").click()
    page.wait_for_url(DETAIL_URL)
    assert page.get_by_text("Le document est masqué aux professionnels de santé.").is_visible()
    assert Document.objects.get().hidden_from_professionals

    add_document(
        page,
        name="poignet.png",
        mime="image/png",
        content=image_bytes("PNG", (320, 200)),
        title="Radio du poignet",
        type_label="Image médicale (photo, cliché)",
        act_date="2024-06-02",
    )
    page.wait_for_url(DETAIL_URL)
    image = page.get_by_role("img", name="Image du document « Radio du poignet »")
    image.wait_for()
    assert image.evaluate("element => element.complete && element.naturalWidth") == 320
    check(page, audit, "documents-detail-image-bureau")

    # The list: newest act first, badges, accent-insensitive search, category filter.
    page.goto("/dossier/documents/")
    cards = page.locator("#documents h3")
    assert cards.all_inner_texts() == ["Compte rendu d’échographie cardiaque", "Radio du poignet"]
    assert page.locator("#documents").get_by_text("Masqué aux professionnels").count() == 1
    check(page, audit, "documents-liste-bureau")
    page.get_by_label("Rechercher dans les titres").fill("ECHOGRAPHIE")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(r".*\?q=ECHOGRAPHIE.*"))
    assert cards.all_inner_texts() == ["Compte rendu d’échographie cardiaque"]
    page.get_by_role("link", name="Effacer les filtres").click()
    page.wait_for_url("**/dossier/documents/")
    page.get_by_label("Catégorie").select_option(label="Imagerie médicale")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(r".*categorie=imagerie.*"))
    assert cards.all_inner_texts() == ["Compte rendu d’échographie cardiaque", "Radio du poignet"]
    page.get_by_label("Du (date de l’acte)").fill("2024-01-01")
    page.get_by_label("Au (date de l’acte)").fill("2024-12-31")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(r".*au=2024-12-31.*"))
    assert cards.all_inner_texts() == ["Radio du poignet"]
    check(page, audit, "documents-liste-filtree-bureau")

    # Delete the image, after confirmation.
    page.get_by_role("link", name="Radio du poignet").click()
    page.wait_for_url(DETAIL_URL)
    page.get_by_role("link", name="Supprimer").click()
    page.wait_for_url("**/supprimer/")
    assert page.get_by_text("Cette action ne peut pas être annulée.").is_visible()
    check(page, audit, "documents-supprimer-bureau")
    page.get_by_role("button", name="Supprimer définitivement").click()
    page.wait_for_url("**/dossier/documents/")
    assert page.get_by_text("Le document « Radio du poignet » a été supprimé.").is_visible()
    assert list(Document.objects.values_list("title", flat=True)) == ["Compte rendu d’échographie cardiaque"]

    # The same pages on a phone.
    page.set_viewport_size(PHONE)
    page.goto("/dossier/documents/")
    check(page, audit, "documents-liste-375")
    page.get_by_role("link", name="Compte rendu d’échographie cardiaque").click()
    page.wait_for_url(DETAIL_URL)
    check(page, audit, "documents-detail-pdf-375")
    page.goto("/dossier/documents/ajouter/")
    check(page, audit, "documents-ajout-375")
    with page.expect_navigation():
        page.get_by_role("button", name="Ajouter le document").click()
    assert page.get_by_text("Choisissez le fichier du document.").is_visible()
    check(page, audit, "documents-ajout-erreurs-375")
