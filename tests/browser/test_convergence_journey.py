"""Convergence's « done when », in Chromium: an editor signs in with TOTP, declares a product for Android and iOS
(procedure « sans échange de données », one answer per platform), answers every criterion of every questionnaire the
procedure requires for Android at the level expected for Mon espace santé, with an evidence file wherever one is
required, duplicates the answers to iOS with the product page's form, sees the product « Prêt pour le
référencement », and downloads the extract as PDF and JSON (the JSON's checksum verified).

Answering the 187 criteria of the shipped referential 2026.1 one by one through the section pages would make this
the slowest test of the suite by far (90 to 140 s measured on 2 busy cores). So the questionnaire « Éthique », the one
with every answer type (oui/non, choix, nombre, texte, preuve) and five required evidence files, is answered entirely
through its section pages — section after section by the « Section suivante » links, each answer saved by the page's
own autosave script, each evidence file uploaded through the section's form; the four other questionnaires are
answered from the product page with the page's own ``fetch``, posting the same fields (the page's CSRF token
included) to the same endpoints: the answers' JSON endpoint the autosave script calls, and the evidence upload the
section's form posts to. Still the browser, its session and the real endpoints.

axe-core audits the product page before and after, the first section page and the duplication page.
"""

import base64
import json
import re
from pathlib import Path

import pytest
from django.urls import reverse

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
)
from convergence.referential import referential_load
from convergence.scoring import product_readiness
from convergence.selectors import referential_questionnaires
from tests.browser.helpers import sign_in
from tests.dossier.documents_samples import pdf_bytes

pytestmark = pytest.mark.browser

SHIPPED_REFERENTIAL = Path(convergence.__file__).resolve().parent / "referentiels" / "2026.1"
PRODUCT_URL = re.compile(r".*/editeurs/convergence/[0-9a-f-]{36}/$")
# A section saves up to about fifteen answers at once: give the live server time on a slow machine.
SAVES_TIMEOUT_MS = 30_000

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


def _expected_value(criterion: Criterion) -> str:
    """An answer at the level expected for Mon espace santé, as the editor types or picks it."""
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


def _answer_expected(page, criterion: Criterion) -> None:
    """Set the criterion's answer on its section page, as an editor would."""
    anchor = f"critere-{criterion.criterion_id}"
    value = _expected_value(criterion)
    if criterion.type in (CriterionType.YES_NO_NA, CriterionType.CHOICE):
        radio_label = page.locator(f'label[for="{anchor}-{value}"]')
        if radio_label.count():
            radio_label.click()
        else:  # a long list of choices is a select
            page.locator(f"#{anchor}-valeur").select_option(value)
    else:
        page.locator(f"#{anchor}-valeur").fill(value)


def _answer_section(page, criteria: list[Criterion], evidence: bytes) -> int:
    """Upload the required evidence (each upload posts the form and reloads the page), then answer every other
    criterion and wait until the autosave script says each answer is saved. Returns the number of uploads."""
    uploads = 0
    for criterion in criteria:
        if criterion.evidence != EvidenceRule.REQUIRED:
            continue
        code = criterion.criterion_id
        name = f"preuve-{code.lower()}.pdf"
        upload = {"name": name, "mimeType": "application/pdf", "buffer": evidence}
        page.locator(f"#id_{code}-file").set_input_files(upload)
        page.get_by_role("button", name=f"Déposer le fichier : {code}").click()
        page.get_by_text(f"Le fichier « {name} » est ajouté au critère {code}.").wait_for()
        assert page.locator(f"#critere-{code}").get_by_role("link", name=name).count() == 1
        uploads += 1
    answered = [criterion for criterion in criteria if criterion.type != CriterionType.EVIDENCE]
    for criterion in answered:
        _answer_expected(page, criterion)
    ids = [criterion.criterion_id for criterion in answered]
    if ids:
        # The script saves each answer 0.8 s after its last change; « Enregistrer » saves at once: press it where
        # the save has not started yet, rather than wait.
        for code in page.evaluate(_SAVES_PENDING_JS, ids):
            page.get_by_role("button", name=f"Enregistrer : {code}", exact=True).click()
        page.wait_for_function(_SAVES_SETTLED_JS, arg=ids, timeout=SAVES_TIMEOUT_MS)
        not_saved = page.evaluate(_SAVES_NOT_SAVED_JS, ids)
        assert not not_saved, f"Réponses non enregistrées sur {page.url} :\n" + "\n".join(not_saved)
    for criterion in criteria:
        badge = page.locator(f'[data-gap="{criterion.criterion_id}"]')
        # The badges are drawn with the page: after the last upload, the evidence-only criteria are already met.
        if criterion.type == CriterionType.EVIDENCE:
            assert badge.text_content().strip() == "Satisfait", criterion.criterion_id
    return uploads


_ANSWERS_POST_JS = """async ({items, concurrency}) => {
    const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
    const failures = [];
    let next = 0;
    async function worker() {
        while (next < items.length) {
            const item = items[next++];
            const body = new FormData();
            body.append("csrfmiddlewaretoken", token);
            body.append("revision", "0");
            body.append("plateforme", item.platform);
            body.append("value", item.value);
            body.append("comment", "");
            const response = await fetch(item.url, {
                method: "POST", body, credentials: "same-origin",
                headers: {"Accept": "application/json", "X-Requested-With": "fetch"},
            });
            const data = await response.json();
            if (response.status !== 200 || data.status !== "saved") {
                failures.push(`${item.id} : ${response.status} ${data.message || ""}`);
            }
        }
    }
    await Promise.all(Array.from({length: concurrency}, worker));
    return failures;
}"""

_EVIDENCE_POST_JS = """async ({items, pdf}) => {
    const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
    const bytes = Uint8Array.from(atob(pdf), (character) => character.charCodeAt(0));
    const failures = [];
    for (const item of items) {
        const body = new FormData();
        body.append("csrfmiddlewaretoken", token);
        body.append("criterion", item.id);
        body.append(`${item.id}-file`, new Blob([bytes], {type: "application/pdf"}), item.name);
        const response = await fetch(item.url, {method: "POST", body, credentials: "same-origin"});
        const page = await response.text();
        if (!response.ok || !response.redirected || !page.includes(item.message)) {
            failures.push(`${item.id} : ${response.status} ${response.url}`);
        }
    }
    return failures;
}"""


def _post_answers(page, product: Product, criteria: list[Criterion]) -> None:
    """Post each answer as the autosave script does (its JSON endpoint, the form's fields), a few at a time."""
    items = [
        {
            "id": criterion.criterion_id,
            "url": reverse(
                "convergence_answer", kwargs={"product_id": product.public_id, "criterion_id": criterion.criterion_id}
            ),
            "platform": Platform.ANDROID.value,
            "value": _expected_value(criterion),
        }
        for criterion in criteria
    ]
    failures = page.evaluate(_ANSWERS_POST_JS, {"items": items, "concurrency": 3})
    assert not failures, "Réponses refusées :\n" + "\n".join(failures)


def _post_evidence(page, product: Product, criteria: list[Criterion], evidence: bytes) -> int:
    """Upload an evidence file for each criterion as the section's form does; each must land on the section page
    with its confirmation."""
    items = []
    for criterion in criteria:
        code = criterion.criterion_id
        name = f"preuve-{code.lower()}.pdf"
        url = reverse(
            "convergence_evidence_upload",
            kwargs={
                "product_id": product.public_id,
                "questionnaire": criterion.questionnaire.code,
                "section": criterion.section.code,
            },
        )
        items.append(
            {
                "id": code,
                "name": name,
                "url": f"{url}?plateforme={Platform.ANDROID.value}",
                "message": f"Le fichier « {name} » est ajouté au critère {code}.",
            }
        )
    failures = page.evaluate(_EVIDENCE_POST_JS, {"items": items, "pdf": base64.b64encode(evidence).decode("ascii")})
    assert not failures, "Fichiers de preuve refusés :\n" + "\n".join(failures)
    return len(items)


def test_an_editor_declares_answers_everything_duplicates_and_downloads_a_ready_extract(page, persona_users, audit):
    referential = referential_load(SHIPPED_REFERENTIAL)
    questionnaires = [
        questionnaire
        for questionnaire in referential_questionnaires(referential)
        if questionnaire.requires(Procedure.SANS_ECHANGE)
    ]
    assert [questionnaire.code for questionnaire in questionnaires] == [
        "urbanisation",
        "interoperabilite",
        "securite",
        "ethique",
        "rgpd",
    ]
    evidence = pdf_bytes("Preuve de conformité au référentiel Convergence")
    editor = persona_users["editor"]
    sign_in(page, editor.email, totp=True)

    # Declare the product: Android and iOS, without data exchange, one answer per platform.
    page.goto("/editeurs/convergence/")
    page.get_by_role("link", name="Déclarer un produit").click()
    page.get_by_label(re.compile(r"^Nom du service")).fill("Carnet Tension")
    page.get_by_label(re.compile(r"^Version")).fill("1.4")
    page.get_by_label(re.compile(r"^Type de produit")).select_option("application_mobile")
    page.locator('label[for="id_platforms_1"]', has_text="Android").click()
    page.locator('label[for="id_platforms_2"]', has_text="iOS").click()
    page.locator('label[for="id_procedure_0"]', has_text="Sans échange de données").click()
    page.locator('label[for="id_answering_1"]', has_text="Une réponse par plateforme").click()
    page.get_by_role("button", name="Déclarer le produit").click()
    page.wait_for_url(PRODUCT_URL)
    product = Product.objects.get(name="Carnet Tension")
    assert product.platforms == [Platform.ANDROID, Platform.IOS]
    assert product.procedure == Procedure.SANS_ECHANGE
    assert product.answers_per_platform
    assert product.referential_id == referential.pk
    page.get_by_text(f"Le produit « Carnet Tension » est déclaré sous la référence {product.reference}.").wait_for()
    assert page.locator(".fr-badge", has_text="Prêt pour le référencement").count() == 0
    audit(page, "convergence-parcours-produit-avant")

    # « Éthique » for Android through its section pages: every criterion, every required evidence file.
    ethics = next(questionnaire for questionnaire in questionnaires if questionnaire.code == "ethique")
    page.get_by_role("link", name=f"Répondre : {ethics.title} — Android", exact=True).click()
    uploads = 0
    sections = list(ethics.sections.all())
    for index, section in enumerate(sections):
        if index:
            page.get_by_role("link", name=re.compile(r"^Section suivante")).click()
        page.wait_for_url(f"**/{ethics.code}/{section.code}/?plateforme=android")
        assert page.get_by_role("heading", level=1).inner_text().strip() == section.title
        if index == 0:
            assert page.get_by_role("link", name="Android", exact=True).get_attribute("aria-current") == "page"
            audit(page, "convergence-parcours-section")
        uploads += _answer_section(page, list(section.criteria.all()), evidence)
    ethics_criteria = Criterion.objects.filter(questionnaire=ethics)
    assert uploads == ethics_criteria.filter(evidence=EvidenceRule.REQUIRED).count() > 0
    assert {criterion.type for criterion in ethics_criteria} == set(CriterionType.values)
    ethics_answers = Answer.objects.filter(product=product, platform=Platform.ANDROID, criterion__questionnaire=ethics)
    assert ethics_answers.count() == ethics_criteria.count()

    # The other questionnaires from the product page, through the same endpoints, with the page's session.
    page.get_by_role("link", name="Revenir au produit").click()
    page.wait_for_url(PRODUCT_URL)
    others = list(
        Criterion.objects.filter(questionnaire__in=questionnaires)
        .exclude(questionnaire=ethics)
        .select_related("questionnaire", "section")
    )
    _post_answers(page, product, [criterion for criterion in others if criterion.type != CriterionType.EVIDENCE])
    uploads += _post_evidence(page, product, [c for c in others if c.evidence == EvidenceRule.REQUIRED], evidence)
    answered_criteria = Criterion.objects.filter(questionnaire__in=questionnaires).count()
    assert uploads == Criterion.objects.filter(questionnaire__in=questionnaires, evidence=EvidenceRule.REQUIRED).count()
    assert Answer.objects.filter(product=product, platform=Platform.ANDROID).count() == answered_criteria

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

    # The duplication page, audited; then the product page's own form duplicates Android to iOS.
    page.reload()
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
    page.get_by_text(re.compile(r"^\d+ réponse\(s\) de Android copiée\(s\) vers iOS\.$")).wait_for()
    page.wait_for_url(PRODUCT_URL)

    android = Answer.objects.filter(product=product, platform=Platform.ANDROID)
    ios = Answer.objects.filter(product=product, platform=Platform.IOS)
    assert ios.count() == android.count() == answered_criteria
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
    assert extract["readiness"] == {"ready": True, "blocking_gaps": 0}
    online = [q.code for q in questionnaires if q.mode == QuestionnaireMode.ONLINE]
    assert [(block["code"], block["platform"]) for block in extract["questionnaires"]] == [
        (code, platform) for code in online for platform in (Platform.ANDROID, Platform.IOS)
    ]
    assert all(row["met"] for block in extract["questionnaires"] for row in block["criteria"])
    required_ids = set(
        Criterion.objects.filter(referential=referential, evidence=EvidenceRule.REQUIRED).values_list(
            "criterion_id", flat=True
        )
    )
    required = [row for block in extract["questionnaires"] for row in block["criteria"] if row["id"] in required_ids]
    assert required and all(row["evidence"] for row in required)
    extract["readiness"]["blocking_gaps"] = 1
    assert not export_checksum_verify(extract)  # an altered extract no longer matches its checksum
