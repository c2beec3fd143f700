"""Statistics for administrators: products declared, self-assessed and ready, in all and per procedure."""

from convergence.selectors import convergence_statistics
from convergence.services import answer_save, evidence_add
from tests.convergence.conftest import criterion, declare
from tests.dossier.documents_samples import pdf_bytes, upload

ETHIQUE = {"ETH-01": "oui", "ETH-03": "oui"}
ALL = {"URB-01": "oui", "URB-02": "non", "URB-03": "non", "URB-04": "hds_certifie", "URB-05": 60, "URB-06": "Plan"}


def _answer(actor, product, values, platform="", evidence=True):
    for code, value in values.items():
        answer_save(
            actor=actor, product=product, criterion=criterion(code), platform=platform, value=value, expected_revision=0
        )
    if evidence:
        for code in ("ETH-01", "ETH-02"):
            evidence_add(
                actor=actor, product=product, criterion=criterion(code), platform=platform, upload=upload(pdf_bytes())
            )


def _counts(bucket):
    return (bucket.declared, bucket.self_assessed, bucket.ready)


def test_statistics_count_declared_self_assessed_and_ready_per_procedure(
    referential, editor, organisation, outsider, django_assert_num_queries
):
    other = outsider.memberships.get().organisation
    declare(editor, organisation, name="Rien de saisi")
    # Éthique fully answered (with its evidence) but Urbanisation not: self-assessed, not ready.
    partial = declare(editor, organisation, name="Partiel", procedure="sans_echange")
    _answer(editor, partial, ETHIQUE)
    # Everything of its procedure met: ready.
    ready = declare(outsider, other, name="Prêt", procedure="sans_echange")
    _answer(outsider, ready, ALL | ETHIQUE)
    # Per platform: everything met on iOS, only Éthique answered on Android → self-assessed (Éthique complete on
    # every platform), not ready (Android misses mandatory criteria).
    per_platform = declare(outsider, other, name="Multi", answers_per_platform=True)
    _answer(outsider, per_platform, ALL | ETHIQUE | {"ECH-01": "oui"}, platform="ios")
    _answer(outsider, per_platform, ETHIQUE, platform="android")

    with django_assert_num_queries(5):
        statistics = convergence_statistics()
    assert _counts(statistics.total) == (4, 3, 1)
    assert _counts(statistics.by_procedure["sans_echange"]) == (2, 2, 1)
    assert _counts(statistics.by_procedure["avec_echange"]) == (2, 1, 0)
    # Without ETH-02's file on Android (a preuve criterion is answered by its file), Éthique is no longer complete
    # on every platform of Multi.
    from convergence.models import AnswerEvidence

    AnswerEvidence.objects.filter(answer__product=per_platform, answer__platform="android").delete()
    assert _counts(convergence_statistics().by_procedure["avec_echange"]) == (2, 0, 0)
    assert statistics.by_procedure["avec_echange"].label == "Avec échange de données"


def test_statistics_query_count_does_not_grow_with_products(
    referential, editor, organisation, django_assert_num_queries
):
    for number in range(5):
        product = declare(editor, organisation, name=f"Produit {number}")
        _answer(editor, product, ETHIQUE)
    with django_assert_num_queries(5):
        statistics = convergence_statistics()
    assert _counts(statistics.total) == (5, 5, 0)


def test_statistics_without_products(db):
    statistics = convergence_statistics()
    assert _counts(statistics.total) == (0, 0, 0)
    assert set(statistics.by_procedure) == {"sans_echange", "avec_echange"}
