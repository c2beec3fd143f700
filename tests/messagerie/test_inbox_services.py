"""Writes of the inbox: reading, archiving, deleting, and the trace of a download — with their journal rows and the
fate of the stored files."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from mes.acces.journal import action_label
from mes.acces.models import JournalEntry
from mes.acces.policy import CitizenAccess, citizen_access
from messagerie.models import Attachment, Conversation, Direction, Message
from messagerie.services.inbox import (
    ATTACHMENT_DOWNLOADED,
    CONVERSATION_ARCHIVED,
    CONVERSATION_DELETED,
    CONVERSATION_UNARCHIVED,
    MESSAGE_DELETED,
    MESSAGE_READ,
    attachment_download_trace,
    conversation_archive,
    conversation_delete,
    conversation_read,
    conversation_unarchive,
    message_delete,
)
from tests.messagerie.inbox_support import (
    EXE_BYTES,
    access_for,
    make_attachment,
    make_child,
    make_message,
    make_thread,
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def rows(action: str, citizen=None) -> list[JournalEntry]:
    entries = JournalEntry.objects.filter(action=action)
    if citizen is not None:
        entries = entries.filter(citizen=citizen)
    return list(entries.order_by("seq"))


def files_of(conversation: Conversation) -> list[str]:
    return list(Attachment.objects.filter(message__conversation=conversation).values_list("file", flat=True))


# --- Reading ------------------------------------------------------------------------------------------------------


def test_reading_a_thread_marks_its_received_messages_read_and_journals_each_once(citizen):
    conversation = make_thread(citizen, messages=2)
    already = make_message(conversation, read=True)
    reply = make_message(conversation, direction=Direction.OUTBOUND)
    access = access_for(citizen)

    read_now = conversation_read(access=access, conversation=conversation)

    assert len(read_now) == 2 and all(message.read_at for message in read_now)
    assert not Message.objects.filter(conversation=conversation, direction=Direction.INBOUND, read_at=None).exists()
    entries = rows(MESSAGE_READ, citizen)
    assert [entry.object_id for entry in entries] == [str(message.public_id) for message in read_now]
    assert {entry.actor_id for entry in entries} == {citizen.user.pk}
    # Nothing of what the message says: no subject, no text, no sender's name.
    assert entries[0].details == {"conversation": str(conversation.public_id)}
    assert action_label(MESSAGE_READ) == "Lecture d’un message de la messagerie de santé"
    already_read_at = Message.objects.get(pk=already.pk).read_at
    assert already_read_at == already.read_at
    assert Message.objects.get(pk=reply.pk).read_at is None

    # Opening the thread again reads nothing new and writes nothing.
    assert conversation_read(access=access, conversation=conversation) == []
    assert len(rows(MESSAGE_READ, citizen)) == 2


def test_a_new_message_in_a_read_thread_is_read_and_journaled_on_its_own(citizen):
    conversation = make_thread(citizen)
    access = access_for(citizen)
    conversation_read(access=access, conversation=conversation)
    newer = make_message(conversation, at=timezone.now() + timedelta(minutes=1))
    assert [message.pk for message in conversation_read(access=access, conversation=conversation)] == [newer.pk]
    assert len(rows(MESSAGE_READ, citizen)) == 2


def test_a_parent_reading_the_child_s_thread_signs_the_journal_of_the_child(citizen):
    child = make_child(citizen)
    conversation = make_thread(child)
    access = citizen_access(citizen.user, child)
    conversation_read(access=access, conversation=conversation)
    (entry,) = rows(MESSAGE_READ)
    assert (entry.citizen_id, entry.actor_id) == (child.pk, citizen.user.pk)


# --- Who may act --------------------------------------------------------------------------------------------------


def _every_service(access, conversation, message, attachment):
    return [
        lambda: conversation_read(access=access, conversation=conversation),
        lambda: conversation_archive(access=access, conversation=conversation),
        lambda: conversation_unarchive(access=access, conversation=conversation),
        lambda: conversation_delete(access=access, conversation=conversation),
        lambda: message_delete(access=access, message=message),
        lambda: attachment_download_trace(access=access, attachment=attachment),
    ]


def test_only_the_person_s_side_of_the_space_acts(citizen, other_citizen, professional):
    conversation = make_thread(citizen, attachments=1)
    message = conversation.messages.get()
    attachment = message.attachments.get()
    care_team = CitizenAccess(actor=professional.user, citizen=citizen, kind="care_team")
    other = access_for(other_citizen)
    for access in (care_team, other):
        for call in _every_service(access, conversation, message, attachment):
            with pytest.raises(PermissionDenied):
                call()
    message.refresh_from_db()
    conversation.refresh_from_db()
    assert message.read_at is None and conversation.archived_at is None
    assert default_storage.exists(attachment.file.name)
    assert not JournalEntry.objects.filter(action__startswith="messagerie.").exists()


# --- Archives -----------------------------------------------------------------------------------------------------


def test_archiving_and_unarchiving_journal_each_change_once(citizen):
    conversation = make_thread(citizen)
    access = access_for(citizen)
    conversation_archive(access=access, conversation=conversation)
    assert conversation.archived_at is not None
    conversation_archive(access=access, conversation=conversation)
    assert len(rows(CONVERSATION_ARCHIVED, citizen)) == 1
    conversation_unarchive(access=access, conversation=conversation)
    assert conversation.archived_at is None
    conversation_unarchive(access=access, conversation=conversation)
    assert len(rows(CONVERSATION_UNARCHIVED, citizen)) == 1
    (entry,) = rows(CONVERSATION_ARCHIVED, citizen)
    assert (entry.object_type, entry.object_id) == ("messagerie.conversation", str(conversation.public_id))
    assert Message.objects.filter(conversation=conversation).count() == 1


# --- Deleting a conversation --------------------------------------------------------------------------------------


def test_deleting_a_conversation_deletes_its_messages_attachments_and_files_after_the_commit(
    citizen, django_capture_on_commit_callbacks
):
    conversation = make_thread(citizen, messages=2, attachments=2)
    kept = make_thread(citizen, attachments=1, subject="Autre")
    names = files_of(conversation)
    assert len(names) == 4 and all(default_storage.exists(name) for name in names)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert conversation_delete(access=access_for(citizen), conversation=conversation) is True
        assert not Conversation.objects.filter(pk=conversation.pk).exists()
        # The rows are gone at once; the files wait for the commit.
        assert all(default_storage.exists(name) for name in names)
    for callback in callbacks:
        callback()

    assert not any(default_storage.exists(name) for name in names)
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()
    assert Attachment.objects.filter(citizen=citizen).count() == 1
    assert default_storage.exists(files_of(kept)[0])
    (entry,) = rows(CONVERSATION_DELETED, citizen)
    assert entry.details == {"messages": 2, "pieces_jointes": 4}
    # The professional may still be answered: the correspondent stays.
    assert citizen.mss_correspondents.filter(pk=conversation.correspondent_id).exists()


def test_a_rolled_back_deletion_keeps_the_rows_and_the_files(citizen, django_capture_on_commit_callbacks):
    conversation = make_thread(citizen, attachments=2)
    names = files_of(conversation)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        conversation_delete(access=access_for(citizen), conversation=conversation)
        raise RuntimeError("la suite échoue")
    assert callbacks == []
    assert Conversation.objects.filter(pk=conversation.pk).exists()
    assert len(files_of(conversation)) == 2
    assert all(default_storage.exists(name) for name in names)
    assert rows(CONVERSATION_DELETED, citizen) == []


def test_deleting_an_already_deleted_conversation_does_nothing(citizen):
    conversation = make_thread(citizen)
    access = access_for(citizen)
    assert conversation_delete(access=access, conversation=conversation) is True
    assert conversation_delete(access=access, conversation=conversation) is False
    assert len(rows(CONVERSATION_DELETED, citizen)) == 1


# --- Deleting a message -------------------------------------------------------------------------------------------


def test_deleting_a_message_deletes_its_attachments_and_keeps_the_thread(citizen, django_capture_on_commit_callbacks):
    conversation = make_thread(citizen, messages=3, attachments=1)
    first, middle, last = conversation.messages.order_by("received_at")
    middle_file = middle.attachments.get().file.name
    last_file = last.attachments.get().file.name
    access = access_for(citizen)

    with django_capture_on_commit_callbacks(execute=True):
        assert message_delete(access=access, message=middle) is False
    assert not default_storage.exists(middle_file) and default_storage.exists(last_file)
    assert list(conversation.messages.order_by("received_at")) == [first, last]
    (entry,) = rows(MESSAGE_DELETED, citizen)
    assert entry.details == {"conversation": str(conversation.public_id), "pieces_jointes": 1}

    # Deleting the newest message takes the thread's date back to the one before.
    with django_capture_on_commit_callbacks(execute=True):
        message_delete(access=access, message=last)
    conversation.refresh_from_db()
    assert conversation.last_message_at == first.received_at


def test_deleting_the_last_message_deletes_the_conversation(citizen, django_capture_on_commit_callbacks):
    conversation = make_thread(citizen, attachments=1)
    message = conversation.messages.get()
    name = message.attachments.get().file.name
    with django_capture_on_commit_callbacks(execute=True):
        assert message_delete(access=access_for(citizen), message=message) is True
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not default_storage.exists(name)
    assert [entry.action for entry in rows(MESSAGE_DELETED) + rows(CONVERSATION_DELETED)] == [
        MESSAGE_DELETED,
        CONVERSATION_DELETED,
    ]


def test_a_rolled_back_message_deletion_keeps_its_files(citizen, django_capture_on_commit_callbacks):
    conversation = make_thread(citizen, messages=2, attachments=1)
    message = conversation.messages.first()
    name = message.attachments.get().file.name
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        message_delete(access=access_for(citizen), message=message)
        raise RuntimeError("la suite échoue")
    assert callbacks == []
    assert Message.objects.filter(pk=message.pk).exists() and default_storage.exists(name)


# --- Downloads ----------------------------------------------------------------------------------------------------


def test_a_download_is_journaled_without_the_file_s_name(citizen):
    conversation = make_thread(citizen)
    attachment = make_attachment(conversation.messages.get(), filename="sérologie VIH.pdf")
    attachment_download_trace(access=access_for(citizen), attachment=attachment)
    (entry,) = rows(ATTACHMENT_DOWNLOADED, citizen)
    assert entry.details == {"format": "pdf", "taille": attachment.size_bytes, "sha256": attachment.sha256}
    assert "VIH" not in str(entry.details)


def test_a_blocked_attachment_is_never_traced_as_downloaded(citizen):
    conversation = make_thread(citizen)
    blocked = make_attachment(
        conversation.messages.get(),
        content=EXE_BYTES,
        filename="resultats.pdf",
        format="autre",
        content_type="application/octet-stream",
        blocked_reason="Programme exécutable (Windows).",
    )
    with pytest.raises(PermissionDenied):
        attachment_download_trace(access=access_for(citizen), attachment=blocked)
    assert rows(ATTACHMENT_DOWNLOADED) == []
