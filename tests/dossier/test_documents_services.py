"""Services of the documents: add (streamed, checked, hashed, journaled, no orphan file), hide, unhide, delete."""

import gc
import hashlib
import re
from dataclasses import replace
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.db import transaction
from django.utils import timezone

from dossier.models import Document
from dossier.models.documents import AuthorKind
from dossier.services.documents import (
    DOCUMENT_ADDED,
    DOCUMENT_DELETED,
    DOCUMENT_HIDDEN,
    DOCUMENT_UNHIDDEN,
    DocumentNotDeletable,
    DocumentRefused,
    document_add,
    document_delete,
    document_hide,
    document_unhide,
)
from dossier.uploads import CHUNK_SIZE
from mes.acces.journal import action_label
from mes.acces.models import JournalEntry
from mes.acces.policy import NO_SCOPE
from tests.dossier.documents_samples import (
    cda_bytes,
    image_bytes,
    make_document,
    padded_pdf,
    pdf_bytes,
    upload,
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def add(access, content=None, **kwargs):
    values = {
        "upload": upload(content if content is not None else pdf_bytes(), name="Compte_rendu-consultation.pdf"),
        "title": "Consultation du Dr Martin",
        "type_code": "11488-4",
        "act_date": date(2025, 1, 15),
    }
    values.update(kwargs)
    return document_add(access=access, **values)


def test_a_citizen_adds_a_pdf_stored_under_a_server_generated_name(access, citizen, settings):
    content = pdf_bytes()
    document = add(access, content, hidden=False)

    document.refresh_from_db()
    assert document.citizen == citizen
    assert (document.category, document.type_code) == ("comptes_rendus", "11488-4")
    assert document.author_kind == AuthorKind.CITIZEN
    assert document.author_label == "Camille DURAND"
    assert document.author_user == citizen.user
    assert document.source_label == "Ajouté depuis Mon espace santé"
    assert (document.format, document.content_type) == ("pdf", "application/pdf")
    assert document.size_bytes == len(content)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.original_name == "Compte_rendu-consultation.pdf"
    assert re.fullmatch(rf"dossier/{citizen.public_id}/documents/[0-9a-f]{{32}}", document.file.name)
    with default_storage.open(document.file.name, "rb") as stored:
        assert stored.read() == content
    assert not document.hidden_from_professionals

    entry = JournalEntry.objects.get(action=DOCUMENT_ADDED)
    assert (entry.actor, entry.citizen_id, entry.object_id) == (citizen.user, citizen.pk, str(document.public_id))
    assert entry.details["sha256"] == document.sha256
    assert action_label(DOCUMENT_ADDED) == "Ajout d’un document au dossier médical"


@pytest.mark.parametrize(
    ("content", "type_code", "expected"),
    [
        (image_bytes("JPEG"), "52040-3", ("jpeg", "image/jpeg", "imagerie")),
        (image_bytes("PNG"), "87273-9", ("png", "image/png", "vaccinations")),
        (cda_bytes(), "18748-4", ("cda", "text/xml", "imagerie")),
    ],
)
def test_images_and_cda_are_added_with_their_detected_type(access, content, type_code, expected):
    # The declared name and type say PDF: only the content counts.
    document = add(access, content, type_code=type_code)
    assert (document.format, document.content_type, document.category) == expected


def test_an_empty_title_is_made_from_the_file_name_and_a_hidden_document_is_dated(access):
    document = add(access, title="  ", hidden=True)
    assert document.title == "Compte rendu-consultation"
    assert document.hidden_from_professionals
    assert timezone.now() - document.hidden_at < timedelta(minutes=1)


def test_a_parent_adds_a_document_to_their_child_s_dossier_as_its_author(child_access, child, citizen):
    document = add(child_access)
    assert document.citizen == child
    assert document.author_label == "Camille DURAND (représentant légal)"
    assert document.author_user == citizen.user
    assert JournalEntry.objects.get(action=DOCUMENT_ADDED).citizen_id == child.pk


def test_an_html_file_named_pdf_is_refused_and_nothing_is_kept(access, settings):
    page = upload(b"<html><body><script>alert(1)</script></body></html>", "ordonnance.pdf", "application/pdf")
    with pytest.raises(DocumentRefused) as caught:
        document_add(access=access, upload=page, title="", type_code="57833-6", act_date=date(2025, 1, 1))
    assert caught.value.code == "html"
    assert "page web" in caught.value.messages[0]
    assert stored_files(settings) == []
    assert not Document.objects.exists()
    assert not JournalEntry.objects.filter(action=DOCUMENT_ADDED).exists()


def test_a_polyglot_refused_at_the_end_of_the_stream_leaves_no_file(access, settings):
    from tests.dossier.documents_samples import png_zip_polyglot_in_chunk

    with pytest.raises(DocumentRefused) as caught:
        add(access, png_zip_polyglot_in_chunk())
    assert caught.value.code == "polyglot_archive"
    assert stored_files(settings) == []


def test_an_empty_file_is_refused(access, settings):
    with pytest.raises(DocumentRefused) as caught:
        add(access, b"")
    assert caught.value.messages == ["Le fichier est vide."]
    assert stored_files(settings) == []


def test_the_size_limit_is_checked_on_the_declared_size(access, settings, monkeypatch):
    settings.DOSSIER_DOCUMENT_MAX_BYTES = 2 * 1024**2

    def no_storage(*args, **kwargs):
        raise AssertionError("le fichier n’aurait pas dû être lu")

    monkeypatch.setattr(default_storage, "save", no_storage)
    with pytest.raises(DocumentRefused) as caught:
        add(access, padded_pdf(2 * 1024**2 + 4096))
    assert caught.value.code == "too_large"
    assert caught.value.messages == ["Le fichier dépasse la taille maximale autorisée de 2 Mo."]
    assert stored_files(settings) == []


def test_the_size_limit_is_checked_while_streaming(access, settings):
    settings.DOSSIER_DOCUMENT_MAX_BYTES = 512 * 1024
    lying = upload(padded_pdf(3 * CHUNK_SIZE))
    lying.size = 1000  # what a client may claim
    with pytest.raises(DocumentRefused) as caught:
        add(access, upload=lying)
    assert caught.value.code == "too_large"
    assert "0,5 Mo" in caught.value.messages[0]
    assert stored_files(settings) == []


def test_a_multi_chunk_upload_from_a_temporary_file_is_hashed_while_it_streams(access, monkeypatch):
    content = padded_pdf(5 * CHUNK_SIZE + 777)
    temporary = TemporaryUploadedFile("gros-examen.pdf", "application/pdf", len(content), None)
    temporary.write(content)
    temporary.seek(0)
    reads = []
    original_read = temporary.file.read

    def counting_read(size=-1):
        reads.append(size)
        return original_read(size)

    monkeypatch.setattr(temporary.file, "read", counting_read)
    document = add(access, upload=temporary)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.size_bytes == len(content)
    with default_storage.open(document.file.name, "rb") as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == document.sha256
    # Read by chunks, never whole.
    assert len(reads) >= 6
    assert all(0 < size <= CHUNK_SIZE for size in reads)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"act_date": timezone.localdate() + timedelta(days=1)}, "act_date", "futur"),
        ({"act_date": date(1850, 1, 1)}, "act_date", "1900"),
        ({"type_code": "99999-9"}, "type_code", "type de document"),
        ({"title": "x" * 201}, "title", "200 caractères"),
    ],
)
def test_metadata_errors_are_french_and_keyed_by_field(access, settings, changes, field, message):
    with pytest.raises(ValidationError) as caught:
        add(access, **changes)
    assert message in caught.value.message_dict[field][0]
    assert stored_files(settings) == []


def test_no_orphan_file_when_the_transaction_fails_after_the_file_was_written(access, settings, monkeypatch):
    written = []
    real_save = default_storage.save

    def remembering_save(name, content, max_length=None):
        written.append(real_save(name, content, max_length=max_length))
        return written[-1]

    def failing_journal(**kwargs):
        raise RuntimeError("journal indisponible")

    monkeypatch.setattr(default_storage, "save", remembering_save)
    monkeypatch.setattr("dossier.services.documents.journal_append", failing_journal)
    with pytest.raises(RuntimeError):
        add(access)
    assert len(written) == 1  # the file was written before the failure...
    assert not default_storage.exists(written[0])  # ...and deleted with the rollback
    assert not Document.objects.exists()


def test_no_orphan_file_when_an_enclosing_transaction_rolls_back(access):
    with pytest.raises(RuntimeError), transaction.atomic():
        first = add(access)
        second = add(access, image_bytes("PNG"))
        names = [first.file.name, second.file.name]
        assert all(default_storage.exists(name) for name in names)
        raise RuntimeError("échec de la transaction d’ensemble")
    assert not any(default_storage.exists(name) for name in names)


def test_the_file_stays_once_its_row_is_committed(access, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        document = add(access)
    gc.collect()
    assert default_storage.exists(document.file.name)


@pytest.mark.django_db(transaction=True)
def test_with_real_commits_and_rollbacks_files_follow_the_rows(citizen):
    from mes.acces.policy import citizen_access

    access = citizen_access(citizen.user, citizen)
    kept = add(access)
    assert default_storage.exists(kept.file.name)

    with pytest.raises(RuntimeError), transaction.atomic():
        dropped = add(access)
        raise RuntimeError("annulé")
    gc.collect()
    assert not default_storage.exists(dropped.file.name)

    # A commit hook registered before ours fails: ours never runs, yet the row is committed and its file kept.
    def failing_hook():
        raise RuntimeError("crochet en échec")

    with pytest.raises(RuntimeError), transaction.atomic():
        transaction.on_commit(failing_hook)
        committed = add(access)
    gc.collect()
    assert Document.objects.filter(pk=committed.pk).exists()
    assert default_storage.exists(committed.file.name)
    assert default_storage.exists(kept.file.name)


def test_writes_need_the_right_to_write(access):
    read_only = replace(access, write_scopes=NO_SCOPE)
    with pytest.raises(PermissionDenied):
        add(read_only)
    document = make_document(access.citizen)
    for service in (document_hide, document_unhide, document_delete):
        with pytest.raises(PermissionDenied):
            service(access=read_only, document=document)


def test_another_citizen_cannot_change_the_document(other_access, citizen):
    document = make_document(citizen)
    for service in (document_hide, document_unhide, document_delete):
        with pytest.raises(PermissionDenied):
            service(access=other_access, document=document)
    assert Document.objects.filter(pk=document.pk, hidden_from_professionals=False).exists()


def test_hide_and_unhide_are_journaled_once_each(access, citizen):
    document = make_document(citizen)
    document_hide(access=access, document=document)
    document_hide(access=access, document=document)  # already hidden: nothing changes, nothing written
    document.refresh_from_db()
    assert document.hidden_from_professionals and document.hidden_at is not None
    document_unhide(access=access, document=document)
    document.refresh_from_db()
    assert not document.hidden_from_professionals and document.hidden_at is None
    assert list(JournalEntry.objects.order_by("seq").values_list("action", flat=True)) == [
        DOCUMENT_HIDDEN,
        DOCUMENT_UNHIDDEN,
    ]
    assert action_label(DOCUMENT_HIDDEN) == "Document masqué aux professionnels de santé"
    assert action_label(DOCUMENT_UNHIDDEN) == "Document de nouveau visible par les professionnels de santé"


def test_a_citizen_deletes_their_document_and_its_file_goes_after_commit(access, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        document = add(access)
    name = document.file.name
    with django_capture_on_commit_callbacks() as callbacks:
        document_delete(access=access, document=document)
        assert default_storage.exists(name)  # not before the commit
    for callback in callbacks:
        callback()
    assert not default_storage.exists(name)
    assert not Document.objects.filter(pk=document.pk).exists()
    entry = JournalEntry.objects.get(action=DOCUMENT_DELETED)
    assert entry.details["titre"] == "Consultation du Dr Martin"
    assert action_label(DOCUMENT_DELETED) == "Suppression d’un document du dossier médical"


def test_a_parent_deletes_what_they_added_for_their_child(child_access):
    document = add(child_access)
    document_delete(access=child_access, document=document)
    assert not Document.objects.filter(pk=document.pk).exists()


@pytest.mark.parametrize(
    ("author_kind", "words"),
    [(AuthorKind.PROFESSIONAL, "professionnel de santé"), (AuthorKind.APP, "service référencé")],
)
def test_documents_added_by_professionals_or_apps_can_be_hidden_not_deleted(access, citizen, author_kind, words):
    document = make_document(citizen, author_kind=author_kind, author_label="Dr Marie Curie")
    with pytest.raises(DocumentNotDeletable) as caught:
        document_delete(access=access, document=document)
    assert words in str(caught.value)
    assert "masquer" in str(caught.value)
    assert Document.objects.filter(pk=document.pk).exists()
    assert not JournalEntry.objects.filter(action=DOCUMENT_DELETED).exists()
    document_hide(access=access, document=document)
    document.refresh_from_db()
    assert document.hidden_from_professionals
