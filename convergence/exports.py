"""The extract of a product's self-assessment, handed over with the référencement dossier: JSON, PDF and CSV.

The extract covers the online questionnaires (mode ``en_ligne``) the product's procedure requires, per platform
when the product answers per platform. The JSON carries a ``checksum``: the SHA-256 of the canonical JSON of every
other key (keys sorted, compact separators, UTF-8 without escaping), so the commission can check that the file was
not altered (``export_checksum_verify``). The PDF and the CSV are views of the same extract; the PDF prints the
checksum in the footer of every page.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from xml.sax.saxutils import escape

from django.utils import timezone

from convergence.models import (
    Answer,
    Criterion,
    CriterionType,
    EvidenceRule,
    Platform,
    Procedure,
    Product,
    QuestionnaireMode,
)
from convergence.scoring import criterion_gap, questionnaire_score
from convergence.selectors import referential_questionnaires
from mes.comptes.views.statistics import csv_safe

__all__ = [
    "EXPORT_FORMAT",
    "answer_label",
    "canonical_json",
    "expected_label",
    "export_checksum",
    "export_checksum_verify",
    "export_csv",
    "export_data",
    "export_filename",
    "export_json",
    "export_pdf",
]

EXPORT_FORMAT = "convergence-export/1"
YES_NO_NA_LABELS = {"oui": "Oui", "non": "Non", "na": "Non applicable"}
ALL_PLATFORMS_LABEL = "Toutes les plateformes"


# --- Labels (shared with the .xlsx templates) -----------------------------------------------------------------


def _number_text(value) -> str:
    number = Decimal(str(value))
    text = format(number.normalize(), "f") if number == number.to_integral_value() else format(number, "f")
    return text.replace(".", ",")


def expected_label(criterion: Criterion) -> str:
    """The level expected for Mon espace santé, in French (« Oui », « au moins 50 % », « Preuve fournie »…)."""
    expected = criterion.expected
    unit = f" {criterion.unit}" if criterion.unit else ""
    if criterion.type == CriterionType.YES_NO_NA:
        text = YES_NO_NA_LABELS.get(expected, str(expected))
        if criterion.not_applicable_allowed:
            text += " (ou Non applicable)"
    elif criterion.type == CriterionType.CHOICE:
        text = " ou ".join(f"« {criterion.choice_label(value)} »" for value in expected)
    elif criterion.type == CriterionType.NUMBER:
        if "min" in expected and "max" in expected:
            text = f"entre {_number_text(expected['min'])} et {_number_text(expected['max'])}{unit}"
        elif "min" in expected:
            text = f"au moins {_number_text(expected['min'])}{unit}"
        else:
            text = f"au plus {_number_text(expected['max'])}{unit}"
    elif criterion.type == CriterionType.TEXT:
        text = "Réponse renseignée"
    else:
        return "Preuve fournie"
    if criterion.evidence == EvidenceRule.REQUIRED:
        text += ", avec une preuve jointe"
    return text


def answer_label(criterion: Criterion, value) -> str:
    """An answer as the editor gave it, in French (empty when not answered)."""
    if value is None or value == "":
        return ""
    if criterion.type == CriterionType.YES_NO_NA:
        return YES_NO_NA_LABELS.get(value, str(value))
    if criterion.type == CriterionType.CHOICE:
        return criterion.choice_label(value)
    if criterion.type == CriterionType.NUMBER:
        return _number_text(value) + (f" {criterion.unit}" if criterion.unit else "")
    return str(value)


def platform_label(platform: str) -> str:
    return str(Platform(platform).label) if platform else ALL_PLATFORMS_LABEL


# --- The extract ------------------------------------------------------------------------------------------------


def canonical_json(data) -> bytes:
    """The canonical form the checksum is computed on: keys sorted, no spaces, UTF-8, non-ASCII kept as is."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def export_checksum(data: dict) -> str:
    """SHA-256 (hexadecimal) of the canonical JSON of ``data`` without its ``checksum`` key."""
    body = {key: value for key, value in data.items() if key != "checksum"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def export_checksum_verify(data) -> bool:
    """Whether ``data`` (a parsed JSON extract) carries the checksum of its own content."""
    if not isinstance(data, dict) or not isinstance(data.get("checksum"), str):
        return False
    return data["checksum"] == export_checksum(data)


def export_data(product: Product, *, now: datetime | None = None) -> dict:
    """The extract of ``product``, with its checksum (a constant number of queries)."""
    referential = product.referential
    questionnaires = [
        questionnaire
        for questionnaire in referential_questionnaires(referential)
        if questionnaire.mode == QuestionnaireMode.ONLINE and questionnaire.requires(product.procedure)
    ]
    answers = list(
        Answer.objects.filter(product=product, criterion__questionnaire__in=questionnaires).prefetch_related(
            "evidence_links__evidence"
        )
    )
    by_platform: dict[str, dict[int, Answer]] = {}
    for answer in answers:
        by_platform.setdefault(answer.platform, {})[answer.criterion_id] = answer
    with_evidence = {answer.pk for answer in answers if answer.evidence_links.all()}

    blocks = []
    ready = True
    gaps_count = 0
    for questionnaire in questionnaires:
        sections = list(questionnaire.sections.all())
        criteria = [criterion for section in sections for criterion in section.criteria.all()]
        section_titles = {section.pk: section.title for section in sections}
        for platform in product.answer_platforms:
            platform_answers = by_platform.get(platform, {})
            score = questionnaire_score(questionnaire, criteria, platform_answers, with_evidence, platform)
            ready = ready and score.ready
            gaps_count += len(score.gaps)
            rows = []
            for criterion in criteria:
                answer = platform_answers.get(criterion.pk)
                value = answer.value if answer else None
                evidence = (
                    [
                        {"name": link.evidence.original_name, "sha256": link.evidence.sha256}
                        for link in sorted(answer.evidence_links.all(), key=lambda link: link.pk)
                    ]
                    if answer
                    else []
                )
                reason = criterion_gap(criterion, answer, answer is not None and answer.pk in with_evidence)
                rows.append(
                    {
                        "id": criterion.criterion_id,
                        "section": section_titles[criterion.section_id],
                        "wording": criterion.wording,
                        "type": criterion.type,
                        "requirement": criterion.requirement,
                        "expected": criterion.expected,
                        "expected_label": expected_label(criterion),
                        "answer": value,
                        "answer_label": answer_label(criterion, value),
                        "comment": answer.comment if answer else "",
                        "evidence": evidence,
                        "met": reason is None,
                        "gap": reason or "",
                    }
                )
            blocks.append(
                {
                    "code": questionnaire.code,
                    "title": questionnaire.title,
                    "platform": platform or None,
                    "platform_label": platform_label(platform),
                    "score": {
                        "share": str(score.share),
                        "progress": str(score.progress),
                        "total": score.total,
                        "answered": score.answered,
                        "mandatory": score.mandatory,
                        "mandatory_met": score.mandatory_met,
                        "optional_met": score.optional_met,
                        "ready": score.ready,
                    },
                    "gaps": [{"id": gap.criterion.criterion_id, "reason": gap.reason} for gap in score.gaps],
                    "criteria": rows,
                }
            )
    generated = (now or timezone.now()).astimezone(UTC).replace(microsecond=0)
    data = {
        "format": EXPORT_FORMAT,
        "generated_at": generated.isoformat().replace("+00:00", "Z"),
        "product": {
            "reference": product.reference,
            "name": product.name,
            "version": product.version,
            "type": product.product_type,
            "organisation": {"name": product.organisation.name, "siret": product.organisation.siret},
            "platforms": list(product.platforms),
            "answers_per_platform": product.answers_per_platform,
            "procedure": product.procedure,
            "procedure_label": str(Procedure(product.procedure).label),
        },
        "referential": {
            "version": referential.version,
            "title": referential.title,
            "published_on": referential.published_on.isoformat(),
        },
        "readiness": {"ready": ready, "blocking_gaps": gaps_count},
        "questionnaires": blocks,
    }
    data["checksum"] = export_checksum(data)
    return data


def export_filename(product: Product, extension: str) -> str:
    return f"convergence-{product.reference}.{extension}"


def export_json(data: dict) -> bytes:
    """The JSON file: indented for reading; the checksum is computed on the canonical form, not on this layout."""
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


# --- CSV ----------------------------------------------------------------------------------------------------------

CSV_HEADER = (
    "Référence",
    "Référentiel",
    "Questionnaire",
    "Plateforme",
    "Section",
    "Critère",
    "Libellé",
    "Exigence",
    "Niveau attendu",
    "Réponse",
    "Commentaire",
    "Preuves",
    "Atteint",
    "Écart",
)


def export_csv(data: dict) -> str:
    """One row per criterion (and platform) for a French spreadsheet: « ; », UTF-8 with a byte order mark, every
    cell a spreadsheet would read as a formula prefixed with a quote."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    reference, version = data["product"]["reference"], data["referential"]["version"]
    for block in data["questionnaires"]:
        for row in block["criteria"]:
            cells = (
                reference,
                version,
                block["title"],
                block["platform_label"],
                row["section"],
                row["id"],
                row["wording"],
                "Obligatoire" if row["requirement"] == "obligatoire" else "Optionnel",
                row["expected_label"],
                row["answer_label"],
                row["comment"],
                ", ".join(f"{item['name']} (SHA-256 {item['sha256']})" for item in row["evidence"]),
                "Oui" if row["met"] else "Non",
                row["gap"],
            )
            writer.writerow([csv_safe(cell) for cell in cells])
    return buffer.getvalue()


# --- PDF ----------------------------------------------------------------------------------------------------------


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def export_pdf(data: dict) -> bytes:
    """The extract as an A4 PDF in French; the checksum of the JSON extract is printed in every page's footer."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontSize=9, leading=11)
    cell = ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9)
    product, referential = data["product"], data["referential"]
    checksum = data["checksum"]
    generated = datetime.fromisoformat(data["generated_at"].replace("Z", "+00:00"))

    def footer(canvas, document) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(15 * mm, 10 * mm, f"Empreinte SHA-256 de l’extrait JSON : {checksum}")
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"{product['reference']} — page {document.page}")
        canvas.restoreState()

    story = [
        Paragraph(escape("Convergence — extrait d’auto-évaluation"), styles["Title"]),
        Paragraph(
            escape(f"{product['name']} {product['version']} — {product['organisation']['name']}"), styles["Heading2"]
        ),
        Paragraph(
            escape(
                f"Référence : {product['reference']} · Démarche : {product['procedure_label']} · "
                f"Référentiel : {referential['version']} ({referential['title']})"
            ),
            body,
        ),
        Paragraph(escape(f"Généré le {generated:%d/%m/%Y à %H:%M} UTC"), body),
        Spacer(1, 3 * mm),
    ]
    readiness = data["readiness"]
    if readiness["ready"]:
        verdict = "Prêt à déposer : tous les critères obligatoires sont atteints."
    else:
        verdict = f"Pas encore prêt à déposer : {readiness['blocking_gaps']} écart(s) bloquant(s)."
    story.append(Paragraph(f"<b>{escape(verdict)}</b>", body))
    # ✓ and ✗ are drawn from ZapfDingbats (« 4 » and « 8 »), a standard font: Helvetica has neither.
    mark = {
        True: '<font name="ZapfDingbats" color="#18753c">4</font> oui',
        False: '<font name="ZapfDingbats" color="#ce0500">8</font> non',
    }
    headers = ("Critère", "Libellé", "Exigence", "Réponse", "Atteint")
    for block in data["questionnaires"]:
        title = block["title"] + (f" — {block['platform_label']}" if block["platform"] else "")
        score = block["score"]
        story += [
            Spacer(1, 4 * mm),
            Paragraph(escape(title), styles["Heading2"]),
            Paragraph(
                escape(
                    f"Score : {score['share'].replace('.', ',')} % des critères obligatoires atteints "
                    f"({score['mandatory_met']} sur {score['mandatory']}) · "
                    f"{score['answered']} critère(s) renseigné(s) sur {score['total']}"
                ),
                body,
            ),
        ]
        rows = [[Paragraph(f"<b>{label}</b>", cell) for label in headers]]
        for row in block["criteria"]:
            answer = row["answer_label"] or ("fichier(s) fourni(s)" if row["evidence"] else "—")
            rows.append(
                [
                    Paragraph(escape(row["id"]), cell),
                    Paragraph(escape(_short(row["wording"])), cell),
                    Paragraph("Obligatoire" if row["requirement"] == "obligatoire" else "Optionnel", cell),
                    Paragraph(escape(_short(answer, 80)), cell),
                    Paragraph(mark[row["met"]], cell),
                ]
            )
        table = Table(rows, colWidths=[18 * mm, 92 * mm, 20 * mm, 34 * mm, 16 * mm], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3e3fd")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story += [Spacer(1, 2 * mm), table]
        if block["gaps"]:
            story += [Spacer(1, 2 * mm), Paragraph("<b>Écarts bloquants</b>", body)]
            story += [Paragraph(escape(f"• {gap['id']} : {gap['reason']}"), body) for gap in block["gaps"]]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=f"Convergence — {product['reference']}",
        author=product["organisation"]["name"],
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
