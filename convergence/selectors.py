"""Reads of Convergence. An editor only ever reads the products of the organisations they are a member of."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from django.db.models import Prefetch, QuerySet

from convergence.models import (
    Answer,
    AnswerEvidence,
    Criterion,
    Procedure,
    Product,
    Questionnaire,
    Referential,
)
from convergence.scoring import Readiness, readiness_compute
from mes.comptes.models import Role, User

__all__ = [
    "ProcedureStatistics",
    "Statistics",
    "convergence_statistics",
    "product_answers",
    "product_for_actor",
    "product_score_data",
    "products_for_actor",
    "products_readiness",
    "referential_current",
    "referential_questionnaires",
]


def referential_current() -> Referential | None:
    return Referential.objects.filter(is_current=True).first()


def products_for_actor(actor: User) -> QuerySet[Product]:
    """The products of the organisations ``actor`` is a member of (none for anyone but an editor)."""
    if not getattr(actor, "is_authenticated", False) or actor.role != Role.EDITOR:
        return Product.objects.none()
    return (
        Product.objects.filter(organisation__memberships__user=actor)
        .select_related("organisation", "referential")
        .order_by("name", "id")
    )


def product_for_actor(actor: User, public_id: UUID | str) -> Product:
    """The product ``public_id`` if ``actor`` may see it; ``Product.DoesNotExist`` otherwise (another
    organisation's product is not revealed to exist)."""
    return products_for_actor(actor).get(public_id=public_id)


def referential_questionnaires(referential: Referential) -> list[Questionnaire]:
    """The questionnaires of ``referential`` with their sections and criteria, in order (3 queries)."""
    from convergence.models import Section

    return list(
        Questionnaire.objects.filter(referential=referential)
        .order_by("position")
        .prefetch_related(
            Prefetch(
                "sections",
                queryset=Section.objects.order_by("position").prefetch_related(
                    Prefetch("criteria", queryset=Criterion.objects.order_by("position"))
                ),
            )
        )
    )


def product_answers(product: Product, platform: str = "") -> dict[int, Answer]:
    """The answers of ``product`` for ``platform``, keyed by criterion pk, with their evidence files (2 queries)."""
    answers = (
        Answer.objects.filter(product=product, platform=platform)
        .select_related("updated_by")
        .prefetch_related(
            Prefetch("evidence_links", queryset=AnswerEvidence.objects.select_related("evidence").order_by("id"))
        )
    )
    return {answer.criterion_id: answer for answer in answers}


def product_score_data(product: Product) -> tuple[list[Questionnaire], list[Criterion], list[Answer], set[int]]:
    """Everything the score of ``product`` needs, in 4 queries whatever the number of criteria and answers."""
    questionnaires = list(Questionnaire.objects.filter(referential_id=product.referential_id).order_by("position"))
    criteria = list(
        Criterion.objects.filter(referential_id=product.referential_id).order_by(
            "questionnaire__position", "section__position", "position"
        )
    )
    answers = list(Answer.objects.filter(product=product).only("id", "criterion_id", "platform", "value"))
    with_evidence = set(
        AnswerEvidence.objects.filter(answer__product=product).values_list("answer_id", flat=True).distinct()
    )
    return questionnaires, criteria, answers, with_evidence


def products_readiness(products: list[Product]) -> dict[int, Readiness]:
    """The readiness of several products in 4 queries (their referential versions, criteria, answers, evidence)."""
    if not products:
        return {}
    referential_ids = {product.referential_id for product in products}
    questionnaires: dict[int, list[Questionnaire]] = {}
    for questionnaire in Questionnaire.objects.filter(referential_id__in=referential_ids).order_by("position"):
        questionnaires.setdefault(questionnaire.referential_id, []).append(questionnaire)
    criteria: dict[int, list[Criterion]] = {}
    for criterion in Criterion.objects.filter(referential_id__in=referential_ids).only(
        "id",
        "questionnaire_id",
        "referential_id",
        "criterion_id",
        "type",
        "requirement",
        "expected",
        "evidence",
        "choices",
        "unit",
        "not_applicable_allowed",
    ):
        criteria.setdefault(criterion.referential_id, []).append(criterion)
    product_ids = [product.pk for product in products]
    answers: dict[int, list[Answer]] = {}
    for answer in Answer.objects.filter(product_id__in=product_ids).only(
        "id", "product_id", "criterion_id", "platform", "value"
    ):
        answers.setdefault(answer.product_id, []).append(answer)
    with_evidence = set(
        AnswerEvidence.objects.filter(answer__product_id__in=product_ids).values_list("answer_id", flat=True).distinct()
    )
    return {
        product.pk: readiness_compute(
            product,
            questionnaires.get(product.referential_id, []),
            criteria.get(product.referential_id, []),
            answers.get(product.pk, []),
            with_evidence,
        )
        for product in products
    }


@dataclass
class ProcedureStatistics:
    procedure: str
    declared: int = 0
    self_assessed: int = 0
    ready: int = 0

    @property
    def label(self) -> str:
        return str(Procedure(self.procedure).label) if self.procedure else "Toutes démarches"


@dataclass
class Statistics:
    total: ProcedureStatistics = field(default_factory=lambda: ProcedureStatistics(""))
    by_procedure: dict[str, ProcedureStatistics] = field(
        default_factory=lambda: {procedure: ProcedureStatistics(procedure) for procedure in Procedure.values}
    )


def convergence_statistics() -> Statistics:
    """Products declared, self-assessed and ready to apply, in all and per procedure, in 5 queries.

    *Self-assessed*: at least one questionnaire required by its procedure fully answered (on every platform when it
    answers per platform). *Ready*: every mandatory criterion of every required questionnaire met.
    """
    products = list(
        Product.objects.only("id", "procedure", "platforms", "answers_per_platform", "referential_id").order_by("id")
    )
    readiness = products_readiness(products)
    statistics = Statistics()
    for product in products:
        result = readiness[product.pk]
        for bucket in (statistics.total, statistics.by_procedure[product.procedure]):
            bucket.declared += 1
            bucket.self_assessed += result.self_assessed
            bucket.ready += result.ready
    return statistics
