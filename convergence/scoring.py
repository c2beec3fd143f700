"""Scoring of a product's answers: pure functions over criteria, answers and the presence of evidence.

A criterion is *met* when its answer reaches the level expected for Mon espace santé (``Criterion.expected``) and,
when its evidence rule is ``requise``, at least one evidence file is attached. « Non applicable » is met only where
the referential allows it (``not_applicable_allowed``), and then needs no evidence. A product is *ready* to apply
when every mandatory criterion of every questionnaire its procedure requires is met — for each of its platforms
when it answers per platform.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from convergence.models import Answer, Criterion, CriterionType, Platform, Product, Questionnaire

__all__ = [
    "Gap",
    "QuestionnaireScore",
    "Readiness",
    "criterion_gap",
    "criterion_met",
    "product_readiness",
    "questionnaire_score",
    "readiness_compute",
]

NOT_ANSWERED = "non renseigné"
EVIDENCE_MISSING = "preuve manquante"
NA_NOT_ALLOWED = "« Non applicable » n’est pas admis pour ce critère"
YES_NO_LABELS = {"oui": "Oui", "non": "Non"}


@dataclass(frozen=True)
class Gap:
    criterion: Criterion
    platform: str
    reason: str

    @property
    def platform_label(self) -> str:
        return str(Platform(self.platform).label) if self.platform else ""


@dataclass(frozen=True)
class QuestionnaireScore:
    questionnaire: Questionnaire
    platform: str  # "" when the product answers once for all platforms
    total: int
    answered: int
    mandatory: int
    mandatory_met: int
    optional_met: int
    gaps: list[Gap] = field(default_factory=list)

    @property
    def share(self) -> Decimal:
        """Percentage of mandatory criteria met, one decimal (100 when the questionnaire has none)."""
        if not self.mandatory:
            return Decimal("100.0")
        return (Decimal(100) * self.mandatory_met / self.mandatory).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def progress(self) -> Decimal:
        """Percentage of criteria answered (the progress bar), one decimal."""
        if not self.total:
            return Decimal("100.0")
        return (Decimal(100) * self.answered / self.total).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def complete(self) -> bool:
        return self.answered == self.total

    @property
    def ready(self) -> bool:
        return self.mandatory_met == self.mandatory


@dataclass(frozen=True)
class Readiness:
    product: Product
    scores: list[QuestionnaireScore]

    @property
    def ready(self) -> bool:
        return all(score.ready for score in self.scores)

    @property
    def gaps(self) -> list[Gap]:
        return [gap for score in self.scores for gap in score.gaps]

    @property
    def self_assessed(self) -> bool:
        """At least one required questionnaire fully answered, on every platform answered separately."""
        by_questionnaire: dict[int, list[QuestionnaireScore]] = {}
        for score in self.scores:
            by_questionnaire.setdefault(score.questionnaire.pk, []).append(score)
        return any(all(score.complete for score in scores) for scores in by_questionnaire.values())


def _answered(criterion: Criterion, answer: Answer | None, has_evidence: bool) -> bool:
    if criterion.type == CriterionType.EVIDENCE:
        return has_evidence
    return answer is not None and answer.value not in (None, "")


def _number(value) -> Decimal:
    return Decimal(str(value))


def _fmt(value) -> str:
    return format(_number(value).normalize(), "f").replace(".", ",")


def criterion_gap(criterion: Criterion, answer: Answer | None, has_evidence: bool) -> str | None:
    """Why ``criterion`` is not met by ``answer``, in French, or ``None`` when it is met."""
    if not _answered(criterion, answer, has_evidence):
        return EVIDENCE_MISSING if criterion.type == CriterionType.EVIDENCE else NOT_ANSWERED
    value = answer.value if answer is not None else None
    expected = criterion.expected
    if criterion.type == CriterionType.YES_NO_NA:
        if value == "na":
            return None if criterion.not_applicable_allowed else NA_NOT_ALLOWED
        if value != expected:
            return f"réponse attendue : {YES_NO_LABELS.get(expected, expected)}"
    elif criterion.type == CriterionType.CHOICE:
        if value not in expected:
            labels = " ou ".join(f"« {criterion.choice_label(item)} »" for item in expected)
            return f"réponse attendue : {labels}"
    elif criterion.type == CriterionType.NUMBER:
        unit = f" {criterion.unit}" if criterion.unit else ""
        number = _number(value)
        if "min" in expected and number < _number(expected["min"]):
            return f"valeur attendue : au moins {_fmt(expected['min'])}{unit}"
        if "max" in expected and number > _number(expected["max"]):
            return f"valeur attendue : au plus {_fmt(expected['max'])}{unit}"
    # texte (renseigne) and preuve (fournie) are met once answered.
    if criterion.evidence_required and not has_evidence:
        return EVIDENCE_MISSING
    return None


def criterion_met(criterion: Criterion, answer: Answer | None, has_evidence: bool) -> bool:
    return criterion_gap(criterion, answer, has_evidence) is None


def questionnaire_score(
    questionnaire: Questionnaire,
    criteria: Iterable[Criterion],
    answers: Mapping[int, Answer],
    evidence_answer_ids: set[int],
    platform: str = "",
) -> QuestionnaireScore:
    """The score of one questionnaire for one platform. ``answers`` maps a criterion pk to its answer for that
    platform; ``evidence_answer_ids`` holds the pks of the answers with at least one evidence file."""
    total = answered = mandatory = mandatory_met = optional_met = 0
    gaps: list[Gap] = []
    for criterion in criteria:
        answer = answers.get(criterion.pk)
        has_evidence = answer is not None and answer.pk in evidence_answer_ids
        total += 1
        answered += _answered(criterion, answer, has_evidence)
        reason = criterion_gap(criterion, answer, has_evidence)
        if criterion.is_mandatory:
            mandatory += 1
            if reason is None:
                mandatory_met += 1
            else:
                gaps.append(Gap(criterion, platform, reason))
        elif reason is None:
            optional_met += 1
    return QuestionnaireScore(
        questionnaire=questionnaire,
        platform=platform,
        total=total,
        answered=answered,
        mandatory=mandatory,
        mandatory_met=mandatory_met,
        optional_met=optional_met,
        gaps=gaps,
    )


def readiness_compute(
    product: Product,
    questionnaires: Iterable[Questionnaire],
    criteria: Iterable[Criterion],
    answers: Iterable[Answer],
    evidence_answer_ids: set[int],
) -> Readiness:
    """The readiness of ``product`` from data already loaded: the questionnaires of its referential (those its
    procedure does not require are skipped), their criteria, the product's answers and the answers with evidence."""
    by_questionnaire: dict[int, list[Criterion]] = {}
    for criterion in criteria:
        by_questionnaire.setdefault(criterion.questionnaire_id, []).append(criterion)
    by_platform: dict[str, dict[int, Answer]] = {}
    for answer in answers:
        by_platform.setdefault(answer.platform, {})[answer.criterion_id] = answer
    scores = [
        questionnaire_score(
            questionnaire,
            by_questionnaire.get(questionnaire.pk, []),
            by_platform.get(platform, {}),
            evidence_answer_ids,
            platform,
        )
        for questionnaire in questionnaires
        if questionnaire.requires(product.procedure)
        for platform in product.answer_platforms
    ]
    return Readiness(product=product, scores=scores)


def product_readiness(product: Product) -> Readiness:
    """Scores, gaps and readiness of ``product``, read in a constant number of queries."""
    from convergence.selectors import product_score_data

    return readiness_compute(product, *product_score_data(product))
