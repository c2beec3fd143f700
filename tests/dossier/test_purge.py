"""When the content of a closed space is deleted, the dossier goes with it: rows, and stored files after commit."""

from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from dossier.models import Document, Measure, ProfileEntry
from mes.comptes.models import CitizenStatus
from mes.comptes.services.space import spaces_delete_content_due


def _document(citizen, name: str) -> Document:
    stored = default_storage.save(f"dossier/test/{name}", ContentFile(b"%PDF-1.4\n%%EOF\n"))
    return Document.objects.create(
        citizen=citizen,
        title=name,
        category="autres",
        type_code="34133-9",
        act_date=timezone.localdate(),
        author_kind="citizen",
        author_label="Vous",
        source_label="Mon espace santé",
        file=stored,
        original_name=name,
        format="pdf",
        content_type="application/pdf",
        size_bytes=14,
        sha256="0" * 64,
    )


def test_closed_space_content_deletion_empties_the_dossier(
    citizen, other_citizen, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    mine, theirs = _document(citizen, "a.pdf"), _document(other_citizen, "b.pdf")
    ProfileEntry.objects.create(citizen=citizen, section="allergies", label="Pollen")
    ProfileEntry.objects.create(citizen=other_citizen, section="allergies", label="Arachide")
    now = timezone.now()
    type(citizen).objects.filter(pk=citizen.pk).update(
        status=CitizenStatus.CLOSED, closed_at=now, content_deletion_due_at=now - timedelta(days=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert spaces_delete_content_due(now=now) == 1

    assert not Document.objects.filter(citizen=citizen).exists()
    assert not ProfileEntry.objects.filter(citizen=citizen).exists()
    assert not Measure.objects.filter(citizen=citizen).exists()
    assert not default_storage.exists(mine.file.name)
    # The other person's dossier is untouched.
    assert Document.objects.filter(pk=theirs.pk).exists() and default_storage.exists(theirs.file.name)
    assert ProfileEntry.objects.filter(citizen=other_citizen).count() == 1
