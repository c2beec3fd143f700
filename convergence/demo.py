"""Demo data of Convergence: two products of the demo editor (Claire Bernard, Santé Connectée SAS), one ready to
apply (every mandatory criterion of its procedure met, a demo PDF attached where evidence is required) and one in
progress, answered per platform. Idempotent: a product that already exists is left as it is."""

from __future__ import annotations

from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from convergence.models import Criterion, CriterionType, Platform, Procedure, Product, ProductType
from convergence.services import answer_save, evidence_add, product_declare
from mes.comptes.demo import DEMO_DOMAIN
from mes.comptes.models import User

DEMO_EDITOR = f"claire.bernard@{DEMO_DOMAIN}"
READY_NAME = "Carnet Santé Famille"
IN_PROGRESS_NAME = "Suivi Tension"


def demo_evidence_pdf(title: str) -> bytes:
    buffer = BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    page.setTitle(title)
    page.setFont("Helvetica-Bold", 16)
    page.drawString(72, 770, "Santé Connectée SAS — pièce justificative (démonstration)")
    page.setFont("Helvetica", 12)
    page.drawString(72, 740, title)
    page.showPage()
    page.save()
    return buffer.getvalue()


def _value_meeting(criterion: Criterion):
    """A value at the level expected for Mon espace santé."""
    expected = criterion.expected
    if criterion.type == CriterionType.YES_NO_NA:
        return expected
    if criterion.type == CriterionType.CHOICE:
        return expected[0]
    if criterion.type == CriterionType.NUMBER:
        return expected.get("min", expected.get("max"))
    if criterion.type == CriterionType.TEXT:
        return "Décrit dans le dossier d’architecture transmis en pièce jointe."
    return None


def _answer(editor: User, product: Product, criterion: Criterion, platform: str = "") -> None:
    if criterion.type != CriterionType.EVIDENCE:
        answer_save(
            actor=editor,
            product=product,
            criterion=criterion,
            platform=platform,
            value=_value_meeting(criterion),
            expected_revision=0,
        )
    if criterion.evidence_required:
        name = f"preuve-{criterion.criterion_id}.pdf"
        content = demo_evidence_pdf(f"{criterion.criterion_id} — {criterion.wording[:70]}")
        evidence_add(
            actor=editor,
            product=product,
            criterion=criterion,
            platform=platform,
            upload=SimpleUploadedFile(name, content, content_type="application/pdf"),
        )


def _criteria(product: Product) -> list[Criterion]:
    return [
        criterion
        for criterion in Criterion.objects.filter(referential=product.referential)
        .select_related("questionnaire")
        .order_by("questionnaire__position", "section__position", "position")
        if criterion.questionnaire.requires(product.procedure)
    ]


@transaction.atomic
def demo_products_create() -> None:
    editor = User.objects.filter(email=DEMO_EDITOR).first()
    if editor is None or not editor.memberships.exists():
        return
    organisation = editor.memberships.select_related("organisation").first().organisation
    existing = set(Product.objects.filter(organisation=organisation).values_list("name", flat=True))
    if READY_NAME not in existing:
        product = product_declare(
            actor=editor,
            organisation=organisation,
            name=READY_NAME,
            version="2.1",
            product_type=ProductType.WEBSITE,
            platforms=[Platform.WEB],
            procedure=Procedure.SANS_ECHANGE,
        )
        for criterion in _criteria(product):
            if criterion.is_mandatory:
                _answer(editor, product, criterion)
    if IN_PROGRESS_NAME not in existing:
        product = product_declare(
            actor=editor,
            organisation=organisation,
            name=IN_PROGRESS_NAME,
            version="3.2",
            product_type=ProductType.MOBILE_APP,
            platforms=[Platform.ANDROID, Platform.IOS],
            procedure=Procedure.AVEC_ECHANGE,
            answers_per_platform=True,
        )
        # The first questionnaire answered on Android; iOS waits for the duplication.
        criteria = _criteria(product)
        first = criteria[0].questionnaire_id if criteria else None
        for criterion in criteria:
            if criterion.questionnaire_id == first:
                _answer(editor, product, criterion, Platform.ANDROID)
