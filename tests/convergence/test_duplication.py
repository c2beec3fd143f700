"""Duplicating the answers of one platform to another: answers and evidence links copied, files never copied;
differing target answers are conflicts unless overwriting is confirmed; all in one transaction."""

import pytest
from django.core.exceptions import ValidationError

from convergence.models import Answer, AnswerEvidence, EvidenceFile
from convergence.services import DuplicationConflict, answer_save, answers_duplicate, evidence_add
from mes.acces.models import JournalEntry
from tests.convergence.conftest import criterion
from tests.dossier.documents_samples import pdf_bytes, upload


def save(actor, product, code, value, platform, revision=0, comment=""):
    return answer_save(
        actor=actor,
        product=product,
        criterion=criterion(code),
        platform=platform,
        value=value,
        comment=comment,
        expected_revision=revision,
    )


@pytest.fixture
def ios_answers(product_per_platform, editor):
    product = product_per_platform
    save(editor, product, "URB-01", "oui", "ios", comment="Compte personnel")
    save(editor, product, "URB-05", 80, "ios")
    eth = save(editor, product, "ETH-01", "oui", "ios")
    evidence_add(actor=editor, product=product, answer=eth, upload=upload(pdf_bytes()))
    evidence_add(
        actor=editor, product=product, criterion=criterion("ETH-02"), platform="ios", upload=upload(pdf_bytes())
    )
    return product


def _platform_view(product, platform):
    return {
        answer.criterion.criterion_id: (
            answer.value,
            answer.comment,
            sorted(link.evidence_id for link in answer.evidence_links.all()),
        )
        for answer in Answer.objects.filter(product=product, platform=platform).select_related("criterion")
    }


def test_answers_and_evidence_links_are_copied_not_the_files(ios_answers, colleague):
    product = ios_answers
    files_before = EvidenceFile.objects.count()
    copied = answers_duplicate(actor=colleague, product=product, source_platform="ios", target_platform="android")
    assert copied == 4
    assert _platform_view(product, "android") == _platform_view(product, "ios")
    assert EvidenceFile.objects.count() == files_before == 2
    assert AnswerEvidence.objects.count() == 4
    android = Answer.objects.get(product=product, platform="android", criterion__criterion_id="URB-01")
    assert android.updated_by == colleague and android.revision == 1
    entry = JournalEntry.objects.get(action="convergence.reponses.dupliquees")
    assert entry.details | {} == entry.details and entry.details["reponses"] == 4 and entry.details["preuves"] == 2


def test_duplicating_again_identical_answers_is_not_a_conflict(ios_answers, editor):
    answers_duplicate(actor=editor, product=ios_answers, source_platform="ios", target_platform="android")
    assert answers_duplicate(actor=editor, product=ios_answers, source_platform="ios", target_platform="android") == 0


def test_a_differing_target_answer_is_a_conflict_and_nothing_is_written(ios_answers, editor):
    product = ios_answers
    save(editor, product, "URB-01", "non", "android")
    with pytest.raises(DuplicationConflict) as caught:
        answers_duplicate(actor=editor, product=product, source_platform="ios", target_platform="android")
    assert [conflict.criterion_id for conflict in caught.value.conflicts] == ["URB-01"]
    assert caught.value.message.startswith("Aucune réponse n’a été copiée : 1 réponse(s) déjà saisie(s) pour Android")
    assert _platform_view(product, "android") == {"URB-01": ("non", "", [])}
    assert not JournalEntry.objects.filter(action="convergence.reponses.dupliquees").exists()


def test_overwrite_replaces_differing_answers_and_their_links(ios_answers, editor, django_capture_on_commit_callbacks):
    product = ios_answers
    android_eth = save(editor, product, "ETH-01", "non", "android")
    own = evidence_add(actor=editor, product=product, answer=android_eth, upload=upload(pdf_bytes("autre"))).evidence
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        copied = answers_duplicate(
            actor=editor, product=product, source_platform="ios", target_platform="android", overwrite=True
        )
    assert copied == 4
    assert _platform_view(product, "android") == _platform_view(product, "ios")
    assert Answer.objects.get(platform="android", criterion__criterion_id="ETH-01").revision == 2
    # The android-only file lost its last link: its row goes now, its stored file once committed.
    assert not EvidenceFile.objects.filter(pk=own.pk).exists()
    assert len(callbacks) == 1


def test_duplication_needs_two_distinct_platforms_of_a_per_platform_product(product, ios_answers, editor):
    with pytest.raises(ValidationError, match="une seule fois"):
        answers_duplicate(actor=editor, product=product, source_platform="ios", target_platform="android")
    with pytest.raises(ValidationError, match="deux plateformes"):
        answers_duplicate(actor=editor, product=ios_answers, source_platform="ios", target_platform="web")
    with pytest.raises(ValidationError, match="différente"):
        answers_duplicate(actor=editor, product=ios_answers, source_platform="ios", target_platform="ios")
