"""Scoring, table-tested on criteria and answers built in memory, then readiness on stored products."""

from decimal import Decimal

import pytest

from convergence.models import Answer, Criterion, Product, Questionnaire
from convergence.scoring import criterion_gap, criterion_met, product_readiness, questionnaire_score
from convergence.services import answer_save, evidence_add
from tests.convergence.conftest import criterion, declare
from tests.dossier.documents_samples import pdf_bytes, upload


def crit(pk=1, type="oui_non_na", requirement="obligatoire", expected="oui", evidence="aucune", **fields):
    return Criterion(
        pk=pk,
        criterion_id=f"TST-{pk:02d}",
        type=type,
        requirement=requirement,
        expected=expected,
        evidence=evidence,
        choices=fields.pop("choices", []),
        not_applicable_allowed=fields.pop("na", False),
        unit=fields.pop("unit", ""),
        **fields,
    )


HDS = [{"value": "hds_certifie", "label": "Hébergeur certifié HDS"}, {"value": "interne", "label": "Interne"}]

CASES = [
    # (criterion, answer value (missing: no answer), has evidence, expected gap reason or None)
    (crit(), "oui", False, None),
    (crit(), "non", False, "réponse attendue : Oui"),
    (crit(expected="non"), "non", False, None),
    (crit(expected="non"), "oui", False, "réponse attendue : Non"),
    (crit(), "missing", False, "non renseigné"),
    (crit(), None, False, "non renseigné"),
    (crit(), "na", False, "« Non applicable » n’est pas admis pour ce critère"),
    (crit(na=True), "na", False, None),
    (crit(na=True, evidence="requise"), "na", False, None),
    (crit(evidence="requise"), "oui", False, "preuve manquante"),
    (crit(evidence="requise"), "oui", True, None),
    (crit(evidence="requise"), "non", True, "réponse attendue : Oui"),
    (crit(evidence="facultative"), "oui", False, None),
    (crit(type="choix", expected=["hds_certifie"], choices=HDS), "hds_certifie", False, None),
    (
        crit(type="choix", expected=["hds_certifie"], choices=HDS),
        "interne",
        False,
        "réponse attendue : « Hébergeur certifié HDS »",
    ),
    (crit(type="choix", expected=["hds_certifie", "interne"], choices=HDS), "interne", False, None),
    (crit(type="nombre", expected={"min": 50}, unit="%"), 50, False, None),
    (crit(type="nombre", expected={"min": 50}, unit="%"), 49.5, False, "valeur attendue : au moins 50 %"),
    (crit(type="nombre", expected={"max": 2.5}), 3, False, "valeur attendue : au plus 2,5"),
    (crit(type="nombre", expected={"min": 1, "max": 3}), 0, False, "valeur attendue : au moins 1"),
    (crit(type="nombre", expected={"min": 0}), 0, False, None),
    (crit(type="texte", expected="renseigne"), "Plan décrit", False, None),
    (crit(type="texte", expected="renseigne"), "", False, "non renseigné"),
    (crit(type="preuve", expected="fournie", evidence="requise"), "missing", True, None),
    (crit(type="preuve", expected="fournie", evidence="requise"), None, True, None),
    (crit(type="preuve", expected="fournie", evidence="requise"), None, False, "preuve manquante"),
]


@pytest.mark.parametrize(("criterion_", "value", "has_evidence", "reason"), CASES)
def test_criterion_gap_table(criterion_, value, has_evidence, reason):
    answer = None if value == "missing" else Answer(pk=10, value=value)
    assert criterion_gap(criterion_, answer, has_evidence) == reason
    assert criterion_met(criterion_, answer, has_evidence) is (reason is None)


@pytest.mark.parametrize(
    ("answers", "ready", "share", "gaps"),
    [
        ({1: "oui", 2: "oui", 3: "oui"}, True, Decimal("100.0"), []),
        ({1: "oui", 2: "oui"}, True, Decimal("100.0"), []),  # optional unmet → still ready
        ({1: "oui", 2: "oui", 3: "non"}, True, Decimal("100.0"), []),
        ({1: "oui", 3: "oui"}, False, Decimal("50.0"), ["TST-02"]),  # mandatory unmet → not ready
        ({1: "non", 2: "non"}, False, Decimal("0.0"), ["TST-01", "TST-02"]),
        ({}, False, Decimal("0.0"), ["TST-01", "TST-02"]),
    ],
)
def test_questionnaire_score_table(answers, ready, share, gaps):
    criteria = [crit(1), crit(2), crit(3, requirement="optionnel")]
    stored = {pk: Answer(pk=100 + pk, value=value) for pk, value in answers.items()}
    score = questionnaire_score(Questionnaire(pk=1), criteria, stored, set(), "ios")
    assert score.ready is ready
    assert score.share == share
    assert [gap.criterion.criterion_id for gap in score.gaps] == gaps
    assert all(gap.platform == "ios" and gap.platform_label == "iOS" for gap in score.gaps)
    assert score.answered == len(answers) and score.total == 3 and score.mandatory == 2
    assert score.complete is (len(answers) == 3)


def test_share_rounds_to_one_decimal():
    criteria = [crit(1), crit(2), crit(3)]
    score = questionnaire_score(Questionnaire(pk=1), criteria, {1: Answer(pk=5, value="oui")}, set())
    assert score.share == Decimal("33.3") and score.progress == Decimal("33.3")


def _answer_all(actor, product: Product, platform: str = "", **overrides):
    values = {
        "URB-01": "oui",
        "URB-02": "oui",
        "URB-03": "non",
        "URB-04": "hds_certifie",
        "URB-05": 90,
        "ETH-01": "oui",
        "ETH-03": "oui",
        "ECH-01": "oui",
    } | {code.replace("_", "-"): value for code, value in overrides.items()}
    for code, value in values.items():
        if value is not None:
            answer_save(
                actor=actor,
                product=product,
                criterion=criterion(code),
                platform=platform,
                value=value,
                expected_revision=0,
            )
    for code in ("ETH-01", "ETH-02"):
        evidence_add(
            actor=actor, product=product, criterion=criterion(code), platform=platform, upload=upload(pdf_bytes())
        )


def test_a_product_with_every_mandatory_criterion_met_is_ready(product, editor):
    _answer_all(editor, product, URB_02=None)
    readiness = product_readiness(product)
    assert readiness.ready and readiness.gaps == []
    assert [score.questionnaire.code for score in readiness.scores] == ["urbanisation", "ethique", "echanges"]


def test_a_missing_evidence_is_a_blocking_gap(product, editor):
    for code, value in {
        "URB-01": "oui",
        "URB-03": "na",
        "URB-04": "hds_certifie",
        "URB-05": 50,
        "ETH-01": "oui",
        "ETH-03": "oui",
        "ECH-01": "oui",
    }.items():
        answer_save(actor=editor, product=product, criterion=criterion(code), value=value, expected_revision=0)
    readiness = product_readiness(product)
    assert not readiness.ready
    assert [(gap.criterion.criterion_id, gap.reason) for gap in readiness.gaps] == [
        ("ETH-01", "preuve manquante"),
        ("ETH-02", "preuve manquante"),
    ]


def test_the_data_exchange_questionnaire_counts_only_for_its_procedure(referential, editor, organisation):
    simple = declare(editor, organisation, procedure="sans_echange")
    _answer_all(editor, simple, ECH_01=None)
    readiness = product_readiness(simple)
    assert readiness.ready
    assert "echanges" not in [score.questionnaire.code for score in readiness.scores]


def test_per_platform_readiness_needs_every_platform(product_per_platform, editor, django_assert_num_queries):
    _answer_all(editor, product_per_platform, platform="ios")
    with django_assert_num_queries(4):
        readiness = product_readiness(product_per_platform)
    assert not readiness.ready
    assert {gap.platform for gap in readiness.gaps} == {"android"}
    _answer_all(editor, product_per_platform, platform="android")
    assert product_readiness(product_per_platform).ready


def test_the_score_reads_a_constant_number_of_queries(product, editor, django_assert_num_queries):
    with django_assert_num_queries(4):
        product_readiness(product)
    _answer_all(editor, product)
    with django_assert_num_queries(4):
        assert product_readiness(product).ready
