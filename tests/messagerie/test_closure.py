"""When the content of a closed space is deleted, the messagerie goes with it: rows, and stored files after commit."""

import gc
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from mes.comptes.events import space_content_deleting
from mes.comptes.models import Citizen, CitizenStatus
from mes.comptes.services.space import spaces_delete_content_due
from messagerie.models import Attachment, Conversation, Correspondent, Message
from messagerie.services.ingest import message_ingest
from tests.messagerie.mime_samples import DOCTOR, ics_bytes, mail, patient_address, pdf_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def deliver(citizen) -> Message:
    to = patient_address(citizen)
    raw = mail(to=to, attachments=[("cr.pdf", "application/pdf", pdf_bytes()), ("rdv.ics", "text/calendar",
                                                                               ics_bytes())])  # fmt: skip
    [message] = message_ingest(raw=raw, envelope_from=DOCTOR, recipients=[to])
    return message


def rows(citizen) -> list[int]:
    return [model.objects.filter(citizen=citizen).count() for model in (Correspondent, Conversation, Message,
                                                                         Attachment)]  # fmt: skip


def test_closed_space_content_deletion_empties_the_messagerie(
    citizen, other_citizen, django_capture_on_commit_callbacks
):
    mine, theirs = deliver(citizen), deliver(other_citizen)
    my_files = [attachment.file.name for attachment in mine.attachments.all()]
    now = timezone.now()
    Citizen.objects.filter(pk=citizen.pk).update(
        status=CitizenStatus.CLOSED, closed_at=now, content_deletion_due_at=now - timedelta(days=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert spaces_delete_content_due(now=now) == 1

    assert rows(citizen) == [0, 0, 0, 0]
    assert not any(default_storage.exists(name) for name in my_files)
    # The other person's inbox is untouched.
    assert rows(other_citizen) == [1, 1, 1, 2]
    assert all(default_storage.exists(attachment.file.name) for attachment in theirs.attachments.all())


def test_a_rolled_back_deletion_keeps_rows_and_files(citizen):
    message = deliver(citizen)
    names = [attachment.file.name for attachment in message.attachments.all()]
    with pytest.raises(RuntimeError), transaction.atomic():
        space_content_deleting.send(sender=Citizen, citizen_ids=[citizen.pk])
        assert rows(citizen) == [0, 0, 0, 0]
        raise RuntimeError("annulé")
    gc.collect()
    assert rows(citizen) == [1, 1, 1, 2]
    assert all(default_storage.exists(name) for name in names)
