"""Answers: validation per type, optimistic locking (sequential and truly concurrent), evidence files."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connections

from convergence.models import Answer, AnswerEvidence, EvidenceFile
from convergence.services import AnswerConflict, answer_save, evidence_add, evidence_remove
from dossier.uploads import DocumentRefused
from tests.convergence.conftest import criterion
from tests.dossier.documents_samples import cda_bytes, image_bytes, pdf_bytes, upload, zip_bytes


def save(actor, product, code, value, revision=0, platform="", comment=""):
    return answer_save(
        actor=actor,
        product=product,
        criterion=criterion(code),
        platform=platform,
        value=value,
        comment=comment,
        expected_revision=revision,
    )


@pytest.mark.parametrize(
    ("code", "value", "stored"),
    [
        ("URB-01", "oui", "oui"),
        ("URB-01", "na", "na"),
        ("URB-04", "interne", "interne"),
        ("URB-05", "75", 75),
        ("URB-05", "12,5", 12.5),
        ("URB-05", 0, 0),
        ("URB-06", "  Export FHIR complet.  ", "Export FHIR complet."),
        ("URB-06", "", None),
        ("URB-01", None, None),
    ],
)
def test_valid_values_are_stored_normalised(product, editor, code, value, stored):
    assert save(editor, product, code, value).value == stored


@pytest.mark.parametrize(
    ("code", "value", "message"),
    [
        ("URB-01", "peut-être", "Répondez Oui, Non ou Non applicable."),
        ("URB-04", "hds", "Choisissez l’une des réponses proposées."),
        ("URB-05", "beaucoup", "La réponse doit être un nombre, par exemple 75 ou 12,5."),
        ("URB-05", "150", "La réponse doit être au plus 100 %."),
        ("URB-05", -1, "La réponse doit être au moins 0 %."),
        ("URB-05", True, "La réponse doit être un nombre."),
        ("URB-05", "NaN", "La réponse doit être un nombre, par exemple 75 ou 12,5."),
        ("URB-06", ["liste"], "La réponse doit être un texte."),
        ("URB-06", "x" * 5001, "La réponse ne doit pas dépasser 5000 caractères."),
        ("ETH-02", "oui", "Ce critère se renseigne en déposant un fichier de preuve."),
    ],
)
def test_invalid_values_are_refused_in_french(product, editor, code, value, message):
    with pytest.raises(ValidationError) as caught:
        save(editor, product, code, value)
    assert caught.value.messages == [message]
    assert not Answer.objects.exists()


def test_platform_must_match_the_answering_mode(product, product_per_platform, editor):
    with pytest.raises(ValidationError, match="une seule fois"):
        save(editor, product, "URB-01", "oui", platform="ios")
    with pytest.raises(ValidationError, match="plateformes du produit"):
        save(editor, product_per_platform, "URB-01", "oui", platform="")
    with pytest.raises(ValidationError, match="plateformes du produit"):
        save(editor, product_per_platform, "URB-01", "oui", platform="web")


def test_a_questionnaire_not_required_by_the_procedure_is_refused(referential, editor, organisation):
    from tests.convergence.conftest import declare

    simple = declare(editor, organisation, procedure="sans_echange")
    with pytest.raises(ValidationError, match="pas demandé"):
        save(editor, simple, "ECH-01", "oui")


def test_revisions_increase_and_keep_the_author(product, editor, colleague):
    first = save(editor, product, "URB-01", "oui", comment="Compte unique")
    assert (first.revision, first.updated_by, first.comment) == (1, editor, "Compte unique")
    second = save(colleague, product, "URB-01", "non", revision=1)
    assert (second.revision, second.updated_by, second.value) == (2, colleague, "non")


def test_the_second_writer_with_the_same_revision_gets_a_conflict_and_the_first_answer_is_kept(
    product, editor, colleague
):
    save(editor, product, "URB-01", "oui")
    save(editor, product, "URB-01", "non", revision=1)
    with pytest.raises(AnswerConflict) as caught:
        save(colleague, product, "URB-01", "na", revision=1)
    conflict = caught.value
    assert conflict.current.value == "non" and conflict.current.revision == 2
    assert conflict.current.updated_by == editor
    assert "modifiée par Alice Test le " in conflict.message and "n’a pas été enregistrée" in conflict.message
    stored = Answer.objects.get()
    assert (stored.value, stored.revision) == ("non", 2)


def test_two_first_answers_conflict_too(product, editor, colleague):
    save(editor, product, "URB-01", "oui")
    with pytest.raises(AnswerConflict):
        save(colleague, product, "URB-01", "non", revision=0)
    assert Answer.objects.get().value == "oui"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("initial", [False, True], ids=["first-answer", "update"])
def test_concurrent_writers_on_two_connections_one_wins_one_gets_a_conflict(initial, request):
    referential = request.getfixturevalue("referential")
    assert referential.is_current
    product = request.getfixturevalue("product")
    editor = request.getfixturevalue("editor")
    colleague = request.getfixturevalue("colleague")
    revision = 0
    if initial:
        revision = save(editor, product, "URB-01", "oui").revision
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def write(name, actor, value):
        try:
            barrier.wait(timeout=10)
            outcomes[name] = save(actor, product, "URB-01", value, revision=revision).value
        except AnswerConflict as conflict:
            outcomes[name] = conflict
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=write, args=("a", editor, "non")),
        threading.Thread(target=write, args=("b", colleague, "na")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    conflicts = [value for value in outcomes.values() if isinstance(value, AnswerConflict)]
    winners = [value for value in outcomes.values() if not isinstance(value, AnswerConflict)]
    assert len(conflicts) == 1 and len(winners) == 1, outcomes
    stored = Answer.objects.get()
    assert stored.value == winners[0] and stored.revision == revision + 1
    assert conflicts[0].current.value == winners[0]


# --- Evidence -------------------------------------------------------------------------------------------------


def test_pdf_png_and_jpeg_are_accepted_and_stored_under_a_server_name(
    product, editor, django_capture_on_commit_callbacks
):
    answer = save(editor, product, "ETH-01", "oui")
    for content, name in (
        (pdf_bytes(), "politique.pdf"),
        (image_bytes("PNG"), "capture.png"),
        (image_bytes("JPEG"), "photo.jpg"),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            link = evidence_add(actor=editor, product=product, answer=answer, upload=upload(content, name=name))
        evidence = link.evidence
        assert evidence.original_name == name and name not in evidence.file.name
        assert evidence.file.name.startswith(f"convergence/{product.public_id}/preuves/")
        assert default_storage.exists(evidence.file.name)
        assert len(evidence.sha256) == 64 and evidence.size_bytes == len(content)
    assert {e.format for e in EvidenceFile.objects.all()} == {"pdf", "png", "jpeg"}
    answer.refresh_from_db()
    assert answer.revision == 1  # attaching evidence overwrites nothing


def test_evidence_on_a_criterion_without_answer_creates_an_empty_answer(product, editor):
    link = evidence_add(
        actor=editor,
        product=product,
        criterion=criterion("ETH-02"),
        upload=upload(pdf_bytes(), "../../déclaration.pdf"),
    )
    assert link.answer.value is None and link.answer.criterion.criterion_id == "ETH-02"
    assert link.evidence.original_name == "déclaration.pdf"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (zip_bytes(), "preuve.pdf", None),
        (b"<html><script>alert(1)</script></html>", "preuve.pdf", None),
        (cda_bytes(), "preuve.xml", "Une preuve doit être un fichier PDF, JPEG ou PNG : ce fichier (CDA) est refusé."),
    ],
    ids=["zip", "html", "cda"],
)
def test_other_content_is_refused_in_french_and_nothing_is_kept(product, editor, content, name, message):
    answer = save(editor, product, "ETH-01", "oui")
    before = set(_stored_files(product))
    with pytest.raises(DocumentRefused) as caught:
        evidence_add(actor=editor, product=product, answer=answer, upload=upload(content, name=name))
    if message:
        assert caught.value.messages == [message]
    assert not EvidenceFile.objects.exists()
    # The refused CDA was stored before its format was known: it goes once the transaction rolls back.
    import gc

    gc.collect()
    assert set(_stored_files(product)) == before


def _stored_files(product):
    folder = f"convergence/{product.public_id}/preuves"
    if not default_storage.exists(folder):
        return []
    return default_storage.listdir(folder)[1]


def test_a_file_is_deleted_after_commit_only_when_no_answer_refers_to_it(
    product_per_platform, editor, django_capture_on_commit_callbacks
):
    from convergence.services import answers_duplicate

    product = product_per_platform
    ios = save(editor, product, "ETH-01", "oui", platform="ios")
    with django_capture_on_commit_callbacks(execute=True):
        evidence = evidence_add(actor=editor, product=product, answer=ios, upload=upload(pdf_bytes())).evidence
    answers_duplicate(actor=editor, product=product, source_platform="ios", target_platform="android")
    android = Answer.objects.get(platform="android")
    name = evidence.file.name
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert evidence_remove(actor=editor, product=product, answer=ios, evidence=evidence)
    assert callbacks == [] and EvidenceFile.objects.filter(pk=evidence.pk).exists()  # android still refers to it
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert evidence_remove(actor=editor, product=product, answer=android, evidence=evidence)
    assert not EvidenceFile.objects.filter(pk=evidence.pk).exists()
    assert default_storage.exists(name)  # not before the commit
    for callback in callbacks:
        callback()
    assert not default_storage.exists(name)
    assert not AnswerEvidence.objects.exists()
    assert not evidence_remove(actor=editor, product=product, answer=android, evidence=evidence)
