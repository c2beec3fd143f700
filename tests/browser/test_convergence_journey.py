"""Convergence's « done when », in Chromium, as an editor does it with the shipped referential 2026.1.

The editor signs in with TOTP and declares, with the declaration form, a product for Android and iOS under the
procedure « avec échange de données » (the one that requires all six questionnaires), answering per platform. For
Android:
- the two questionnaires filled offline (RGPD, Sécurité des échanges de données): on each template's page, the
  workbook is downloaded through its link, filled as a spreadsheet user does (the « Réponse » column, at the level
  the sheet says is expected), and uploaded back through the page's file input;
- then every section page of every questionnaire, from the product page's « Répondre » link and section after
  section by the « Section suivante » links: each criterion of the four online questionnaires is answered with the
  section's own controls (radio buttons, list, number and text fields; every criterion, the optional ones too),
  each answer saved by the page's autosave script (or its « Enregistrer » button where the save has not started
  yet); every evidence file a criterion requires, in the six questionnaires, is uploaded with the criterion's file
  input and « Déposer le fichier » button. The template questionnaires' section pages then show each of their
  criteria « Satisfait ».
The answers are then duplicated to iOS with the product page's form, the product page shows « Prêt pour le
référencement », and the extract is downloaded as PDF and JSON (the JSON's checksum verified).

axe-core audits each kind of page met on the way: the products' list, the declaration form, the product page (before
and ready), an online section page, a section page with evidence files, a template questionnaire's section page, the
template's page and the duplication page.
"""

import json
import re
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook

import convergence
from convergence.exports import export_checksum_verify
from convergence.models import (
    Answer,
    AnswerEvidence,
    Criterion,
    CriterionType,
    EvidenceRule,
    Platform,
    Procedure,
    Product,
    QuestionnaireMode,
    Requirement,
)
from convergence.referential import referential_load
from convergence.scoring import product_readiness
from convergence.selectors import referential_questionnaires
from convergence.templates_xlsx import ANSWER_COLUMN, FIRST_ROW, ID_COLUMN, PLATFORM_CELL, REFERENCE_CELL
from tests.browser.helpers import sign_in
from tests.dossier.documents_samples import pdf_bytes

pytestmark = pytest.mark.browser

SHIPPED_REFERENTIAL = Path(convergence.__file__).resolve().parent / "referentiels" / "2026.1"
PRODUCT_URL = re.compile(r".*/editeurs/convergence/[0-9a-f-]{36}/$")
# A section saves up to about fifteen answers at once: give the live server time on a slow machine.
SAVES_TIMEOUT_MS = 30_000

# What the section page shows of each criterion: its answer control, its file input, its badges.
_CRITERIA_JS = """() => Array.from(document.querySelectorAll("section.convergence-criterion")).map((box) => {
    const form = box.querySelector("form.convergence-answer");
    const control = form.querySelector("input[type=radio][name=value]") ? "radio"
        : form.querySelector("select[name=value]") ? "select"
        : form.querySelector("textarea[name=value]") ? "textarea"
        : form.querySelector("input[name=value]") ? "input" : "none";
    return {
        id: box.id.replace(/^critere-/, ""),
        control,
        upload: box.querySelector("input[type=file]") !== null,
        files: Array.from(box.querySelectorAll(".convergence-evidence__list a")).map((link) => link.textContent.trim()),
        requirement: box.querySelector(".fr-badges-group .fr-badge").textContent.trim(),
        met: box.querySelector("[data-gap]").textContent.trim(),
    };
})"""
# A DSFR button with an icon shows only its icon inside a group that does not say where icons go: its text is cut.
_TEXT_CLIPPED_JS = "(link) => link.scrollWidth > link.clientWidth + 1"
_SAVES_SETTLED_JS = """(ids) => ids.every((id) => {
    const state = document.querySelector(`#critere-${id} [data-status]`).getAttribute("data-state");
    return state === "saved" || state === "error" || state === "conflict";
})"""
_SAVES_PENDING_JS = """(ids) => ids.filter(
    (id) => !document.querySelector(`#critere-${id} [data-status]`).hasAttribute("data-state")
)"""
_SAVES_NOT_SAVED_JS = """(ids) => ids
    .map((id) => [id, document.querySelector(`#critere-${id} [data-status]`)])
    .filter(([, status]) => status.getAttribute("data-state") !== "saved")
    .map(([id, status]) => `${id} : ${status.textContent.trim()}`)"""

# The control the section page draws for each answer type (a list of more than six choices is a select).
_CONTROLS = {
    CriterionType.YES_NO_NA: {"radio"},
    CriterionType.CHOICE: {"radio", "select"},
    CriterionType.NUMBER: {"input"},
    CriterionType.TEXT: {"textarea"},
    CriterionType.EVIDENCE: {"none"},
}
_REQUIREMENT_LABELS = {Requirement.MANDATORY: "Obligatoire", Requirement.OPTIONAL: "Optionnel"}


def _expected_value(criterion: Criterion) -> str:
    """An answer at the level expected for Mon espace santé, as the editor types or picks it on the page."""
    expected = criterion.expected
    if criterion.type == CriterionType.YES_NO_NA:
        return expected
    if criterion.type == CriterionType.CHOICE:
        return expected[0]
    if criterion.type == CriterionType.NUMBER:
        return str(expected["min"] if "min" in expected else expected["max"]).replace(".", ",")
    if criterion.type == CriterionType.TEXT:
        return f"Réponse de l’éditeur au critère {criterion.criterion_id}."
    raise AssertionError(f"Le critère {criterion.criterion_id} se renseigne par un fichier de preuve.")


def _expected_cell(criterion: Criterion):
    """The same answer as a spreadsheet user writes it in the template's « Réponse » column (the labels of its
    drop-down lists, a number), or None for a criterion answered by its evidence file."""
    expected = criterion.expected
    if criterion.type == CriterionType.YES_NO_NA:
        return {"oui": "Oui", "non": "Non"}[expected]
    if criterion.type == CriterionType.CHOICE:
        return next(choice["label"] for choice in criterion.choices if choice["value"] == expected[0])
    if criterion.type == CriterionType.NUMBER:
        return expected["min"] if "min" in expected else expected["max"]
    if criterion.type == CriterionType.TEXT:
        return f"Réponse de l’éditeur au critère {criterion.criterion_id}, dans le modèle."
    return None


def _read_criteria(page, section) -> list[dict]:
    """The criteria the section page shows, checked against the section's criteria in the referential."""
    boxes = page.evaluate(_CRITERIA_JS)
    criteria = list(section.criteria.all())
    assert [box["id"] for box in boxes] == [criterion.criterion_id for criterion in criteria], page.url
    for box, criterion in zip(boxes, criteria, strict=True):
        box["criterion"] = criterion
        assert box["control"] in _CONTROLS[criterion.type], (criterion.criterion_id, box["control"])
        assert box["requirement"] == _REQUIREMENT_LABELS[criterion.requirement], criterion.criterion_id
        assert box["upload"] == (criterion.evidence != EvidenceRule.NONE), criterion.criterion_id
    return boxes


def _upload_evidence(page, code: str, evidence: bytes) -> None:
    """The criterion's file input and « Déposer le fichier » button: the form posts and the page comes back."""
    name = f"preuve-{code.lower()}.pdf"
    page.locator(f"#id_{code}-file").set_input_files({"name": name, "mimeType": "application/pdf", "buffer": evidence})
    page.get_by_role("button", name=f"Déposer le fichier : {code}", exact=True).click()
    page.get_by_text(f"Le fichier « {name} » est ajouté au critère {code}.").wait_for()
    assert page.locator(f"#critere-{code}").get_by_role("link", name=name).count() == 1


def _answer(page, box: dict) -> None:
    """Set the criterion's answer with the control the page draws for it."""
    anchor = f"critere-{box['id']}"
    value = _expected_value(box["criterion"])
    if box["control"] == "radio":
        page.locator(f'label[for="{anchor}-{value}"]').click()
    elif box["control"] == "select":
        page.locator(f"#{anchor}-valeur").select_option(value)
    else:
        page.locator(f"#{anchor}-valeur").fill(value)


def _wait_for_saves(page, ids: list[str]) -> None:
    """The script saves each answer 0.8 s after its last change; « Enregistrer » saves at once: press it where the
    save has not started yet, rather than wait. Then every answer must say it is saved."""
    for code in page.evaluate(_SAVES_PENDING_JS, ids):
        page.get_by_role("button", name=f"Enregistrer : {code}", exact=True).click()
    page.wait_for_function(_SAVES_SETTLED_JS, arg=ids, timeout=SAVES_TIMEOUT_MS)
    not_saved = page.evaluate(_SAVES_NOT_SAVED_JS, ids)
    assert not not_saved, f"Réponses non enregistrées sur {page.url} :\n" + "\n".join(not_saved)


def _fill_template(content: bytes, questionnaire, product: Product) -> bytes:
    """Fill the downloaded workbook's « Réponse » column as a spreadsheet user does; the header and the other
    columns stay as generated."""
    workbook = load_workbook(BytesIO(content))
    sheet = workbook.active
    assert sheet[REFERENCE_CELL].value == product.reference
    assert sheet[PLATFORM_CELL].value == "Android"
    criteria = {criterion.criterion_id: criterion for criterion in questionnaire.criteria.all()}
    filled = set()
    for row in range(FIRST_ROW, FIRST_ROW + len(criteria)):
        criterion = criteria[sheet.cell(row=row, column=ID_COLUMN).value]
        value = _expected_cell(criterion)
        if value is not None:
            sheet.cell(row=row, column=ANSWER_COLUMN, value=value)
        filled.add(criterion.criterion_id)
    assert filled == set(criteria)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_an_editor_declares_answers_everything_duplicates_and_downloads_a_ready_extract(page, persona_users, audit):
    referential = referential_load(SHIPPED_REFERENTIAL)
    questionnaires = list(referential_questionnaires(referential))
    assert [(q.code, q.mode) for q in questionnaires] == [
        ("urbanisation", QuestionnaireMode.ONLINE),
        ("interoperabilite", QuestionnaireMode.ONLINE),
        ("securite", QuestionnaireMode.ONLINE),
        ("ethique", QuestionnaireMode.ONLINE),
        ("rgpd", QuestionnaireMode.TEMPLATE),
        ("echanges", QuestionnaireMode.TEMPLATE),
    ]
    assert all(questionnaire.requires(Procedure.AVEC_ECHANGE) for questionnaire in questionnaires)
    templates = [questionnaire for questionnaire in questionnaires if questionnaire.mode == QuestionnaireMode.TEMPLATE]
    all_criteria = Criterion.objects.filter(referential=referential)
    evidence = pdf_bytes("Preuve de conformité au référentiel Convergence")
    editor = persona_users["editor"]
    sign_in(page, editor.email, totp=True)

    # Declare the product: Android and iOS, with data exchange, one answer per platform.
    page.goto("/editeurs/convergence/")
    audit(page, "convergence-parcours-produits")
    page.get_by_role("link", name="Déclarer un produit").click()
    audit(page, "convergence-parcours-declaration")
    page.get_by_label(re.compile(r"^Nom du service")).fill("Carnet Tension")
    page.get_by_label(re.compile(r"^Version")).fill("1.4")
    page.get_by_label(re.compile(r"^Type de produit")).select_option("application_mobile")
    page.locator('label[for="id_platforms_1"]', has_text="Android").click()
    page.locator('label[for="id_platforms_2"]', has_text="iOS").click()
    page.locator('label[for="id_procedure_1"]', has_text="Avec échange de données").click()
    page.locator('label[for="id_answering_1"]', has_text="Une réponse par plateforme").click()
    page.get_by_role("button", name="Déclarer le produit").click()
    page.wait_for_url(PRODUCT_URL)
    product = Product.objects.get(name="Carnet Tension")
    assert product.platforms == [Platform.ANDROID, Platform.IOS]
    assert product.procedure == Procedure.AVEC_ECHANGE
    assert product.answers_per_platform
    assert product.referential_id == referential.pk
    page.get_by_text(f"Le produit « Carnet Tension » est déclaré sous la référence {product.reference}.").wait_for()
    assert page.locator(".fr-badge", has_text="Prêt pour le référencement").count() == 0
    audit(page, "convergence-parcours-produit-avant")

    # The offline questionnaires: download each template from its page, fill it, upload it back there.
    for index, questionnaire in enumerate(templates):
        page.get_by_role("link", name=f"Déposer le modèle rempli : {questionnaire.title}", exact=True).click()
        heading = f"Questionnaire « {questionnaire.title} » : modèle à remplir"
        page.get_by_role("heading", level=1, name=heading).wait_for()
        for platform in ("Android", "iOS"):
            link = page.get_by_role("link", name=f"Télécharger le modèle (.xlsx) — {platform}", exact=True)
            assert not link.evaluate(_TEXT_CLIPPED_JS), platform
        with page.expect_download() as download_info:
            page.get_by_role("link", name="Télécharger le modèle (.xlsx) — Android", exact=True).click()
        download = download_info.value
        assert download.suggested_filename.endswith(".xlsx")
        filled = _fill_template(Path(download.path()).read_bytes(), questionnaire, product)
        page.get_by_label(re.compile(r"^Classeur rempli")).set_input_files(
            {
                "name": f"{questionnaire.code}-rempli.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "buffer": filled,
            }
        )
        page.get_by_role("button", name="Déposer le classeur").click()
        count = Criterion.objects.filter(questionnaire=questionnaire).exclude(type=CriterionType.EVIDENCE).count()
        page.get_by_text(
            f"Le modèle « {questionnaire.title} » a été déposé : {count} réponse(s) enregistrée(s), 0 inchangée(s)."
        ).wait_for()
        if index == 0:
            audit(page, "convergence-parcours-modele")
        page.get_by_role("link", name="Revenir au produit").click()
        page.wait_for_url(PRODUCT_URL)

    # Every section page for Android, from the first one to the last, by the « Section suivante » links.
    sequence = [(q, s) for q in questionnaires for s in q.sections.all()]
    answered_on_pages: set[str] = set()
    mandatory_on_pages: set[str] = set()
    uploads = 0
    audited: set[str] = set()
    page.get_by_role("link", name=f"Répondre : {questionnaires[0].title} — Android", exact=True).click()
    for index, (questionnaire, section) in enumerate(sequence):
        if index:
            page.get_by_role("link", name=f"Section suivante : {section.title}", exact=True).click()
        page.wait_for_url(f"**/{questionnaire.code}/{section.code}/?plateforme=android")
        assert page.get_by_role("heading", level=1).inner_text().strip() == section.title
        if index == 1:
            for name in ("Section précédente", "Section suivante", "Revenir au produit"):
                link = page.get_by_role("link", name=re.compile(f"^{name}"))
                assert not link.evaluate(_TEXT_CLIPPED_JS), name
        boxes = _read_criteria(page, section)
        mandatory_on_pages |= {box["id"] for box in boxes if box["requirement"] == "Obligatoire"}
        for box in boxes:
            if box["criterion"].evidence == EvidenceRule.REQUIRED:
                _upload_evidence(page, box["id"], evidence)
                uploads += 1
        if questionnaire.mode == QuestionnaireMode.ONLINE:
            if "section" not in audited:
                assert page.get_by_role("link", name="Android", exact=True).get_attribute("aria-current") == "page"
                audit(page, "convergence-parcours-section")
                audited.add("section")
            if uploads and "preuves" not in audited:
                audit(page, "convergence-parcours-section-preuves")
                audited.add("preuves")
            to_answer = [box for box in boxes if box["control"] != "none"]
            for box in to_answer:
                _answer(page, box)
            _wait_for_saves(page, [box["id"] for box in to_answer])
            answered_on_pages |= {box["id"] for box in boxes}
        else:
            # Answered by the uploaded template: each criterion is shown met, with its evidence file when required.
            shown = _read_criteria(page, section)
            assert [box["id"] for box in shown if box["met"] != "Satisfait"] == [], page.url
            if "modele" not in audited:
                assert page.get_by_role("link", name="Télécharger le modèle").count() == 1
                audit(page, "convergence-parcours-section-modele")
                audited.add("modele")
    assert audited == {"section", "preuves", "modele"}
    assert page.get_by_role("link", name=re.compile(r"^Section suivante")).count() == 0
    assert uploads == all_criteria.filter(evidence=EvidenceRule.REQUIRED).count() > 0
    online = all_criteria.filter(questionnaire__mode=QuestionnaireMode.ONLINE)
    assert answered_on_pages == set(online.values_list("criterion_id", flat=True))
    assert mandatory_on_pages == set(
        all_criteria.filter(requirement=Requirement.MANDATORY).values_list("criterion_id", flat=True)
    )
    assert {criterion.type for criterion in online} == set(CriterionType.values)
    assert Answer.objects.filter(product=product, platform=Platform.ANDROID).count() == all_criteria.count()

    readiness = product_readiness(product)
    android_scores = [score for score in readiness.scores if score.platform == Platform.ANDROID]
    assert len(android_scores) == len(questionnaires)
    assert all(score.complete and score.ready for score in android_scores), [
        (score.questionnaire.code, [(gap.criterion.criterion_id, gap.reason) for gap in score.gaps])
        for score in android_scores
        if not score.ready
    ]
    assert not readiness.ready  # iOS is not answered yet
    assert {gap.platform for gap in readiness.gaps} == {Platform.IOS}

    # Back on the product page: no Android gap left. The duplication page, audited; then the product page's own
    # form duplicates Android to iOS.
    page.get_by_role("link", name="Revenir au produit").click()
    page.wait_for_url(PRODUCT_URL)
    assert page.locator(".convergence-gaps").get_by_role("link", name=re.compile(r"\(Android\)")).count() == 0
    assert page.locator(".convergence-gaps").get_by_role("link", name=re.compile(r"\(iOS\)")).count() > 0
    page.goto(f"/editeurs/convergence/{product.public_id}/dupliquer/")
    assert page.get_by_role("heading", level=1).inner_text().strip() == "Dupliquer les réponses de « Carnet Tension »"
    audit(page, "convergence-parcours-duplication")
    page.get_by_role("link", name="Revenir au produit").click()
    page.wait_for_url(PRODUCT_URL)
    page.get_by_label(re.compile(r"^Plateforme source")).select_option(Platform.ANDROID.value)
    page.get_by_label(re.compile(r"^Plateforme cible")).select_option(Platform.IOS.value)
    page.get_by_role("button", name="Dupliquer les réponses").click()
    page.get_by_text(f"{all_criteria.count()} réponse(s) de Android copiée(s) vers iOS.", exact=True).wait_for()
    page.wait_for_url(PRODUCT_URL)

    android = Answer.objects.filter(product=product, platform=Platform.ANDROID)
    ios = Answer.objects.filter(product=product, platform=Platform.IOS)
    assert ios.count() == android.count() == all_criteria.count()
    assert dict(ios.values_list("criterion_id", "value")) == dict(android.values_list("criterion_id", "value"))
    assert (
        AnswerEvidence.objects.filter(answer__in=ios).count()
        == AnswerEvidence.objects.filter(answer__in=android).count()
        == uploads
    )

    # Ready: the badge, the message, no blocking gap left; every questionnaire row at 100 % for both platforms.
    main = page.get_by_role("main")
    main.locator(".fr-badge", has_text="Prêt pour le référencement").wait_for()
    main.get_by_text("Tous les critères obligatoires de la démarche sont satisfaits").wait_for()
    assert main.locator(".convergence-gaps").count() == 0
    progress_values = main.locator("table progress").evaluate_all("bars => bars.map((bar) => bar.value)")
    assert progress_values == [100] * (len(questionnaires) * 2)
    assert product_readiness(product).ready
    audit(page, "convergence-parcours-produit-pret")

    # The extract: the PDF report and the JSON whose checksum the commission checks.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Rapport PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"convergence-{product.reference}.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Données JSON (avec somme de contrôle)").click()
    download = download_info.value
    assert download.suggested_filename == f"convergence-{product.reference}.json"
    extract = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert export_checksum_verify(extract)
    assert extract["product"]["reference"] == product.reference
    assert extract["product"]["procedure"] == Procedure.AVEC_ECHANGE
    assert extract["referential"]["version"] == "2026.1"
    assert extract["readiness"] == {"ready": True, "blocking_gaps": 0}
    online_codes = [q.code for q in questionnaires if q.mode == QuestionnaireMode.ONLINE]
    assert [(block["code"], block["platform"]) for block in extract["questionnaires"]] == [
        (code, platform) for code in online_codes for platform in (Platform.ANDROID, Platform.IOS)
    ]
    assert all(row["met"] for block in extract["questionnaires"] for row in block["criteria"])
    required_ids = set(online.filter(evidence=EvidenceRule.REQUIRED).values_list("criterion_id", flat=True))
    required = [row for block in extract["questionnaires"] for row in block["criteria"] if row["id"] in required_ids]
    assert len(required) == 2 * len(required_ids) > 0
    assert all(row["evidence"] and len(row["evidence"][0]["sha256"]) == 64 for row in required)
    extract["readiness"]["blocking_gaps"] = 1
    assert not export_checksum_verify(extract)  # an altered extract no longer matches its checksum
