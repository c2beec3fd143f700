"""Writes of the citizen's inbox: read a thread, archive it or bring it back, delete it or one of its messages, and
the trace of an attachment's download.

Only the person's side acts here (the person, or the legal representative of a minor child): any other access is
refused with ``PermissionDenied``, and so is an object of another space. Each change writes its journal rows in its
own transaction; the rows say what happened and to which object, never what the messages say (no subject, no text,
no file name: the journal is about access, not health content). Stored files follow the rows: the files of deleted
attachments go once the deletion is committed, and stay when it is rolled back.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.acces.journal import register_action
from mes.acces.policy import CitizenAccess
from mes.acces.services import journal_append
from messagerie.models import Attachment, Conversation, Direction, Message

logger = logging.getLogger(__name__)

__all__ = [
    "ATTACHMENT_DOWNLOADED",
    "CONVERSATION_ARCHIVED",
    "CONVERSATION_DELETED",
    "CONVERSATION_UNARCHIVED",
    "MESSAGE_DELETED",
    "MESSAGE_READ",
    "attachment_download_trace",
    "conversation_archive",
    "conversation_delete",
    "conversation_read",
    "conversation_unarchive",
    "message_delete",
]

MESSAGE_READ = "messagerie.message.lu"
CONVERSATION_ARCHIVED = "messagerie.conversation.archivee"
CONVERSATION_UNARCHIVED = "messagerie.conversation.desarchivee"
CONVERSATION_DELETED = "messagerie.conversation.supprimee"
MESSAGE_DELETED = "messagerie.message.supprime"
ATTACHMENT_DOWNLOADED = "messagerie.piece.telechargee"
register_action(MESSAGE_READ, gettext_lazy("Lecture d’un message de la messagerie de santé"))
register_action(CONVERSATION_ARCHIVED, gettext_lazy("Conversation de la messagerie de santé archivée"))
register_action(CONVERSATION_UNARCHIVED, gettext_lazy("Conversation de la messagerie de santé sortie des archives"))
register_action(CONVERSATION_DELETED, gettext_lazy("Suppression d’une conversation de la messagerie de santé"))
register_action(MESSAGE_DELETED, gettext_lazy("Suppression d’un message de la messagerie de santé"))
register_action(ATTACHMENT_DOWNLOADED, gettext_lazy("Téléchargement d’une pièce jointe de la messagerie de santé"))


def _require_citizen_side(access: CitizenAccess, obj: Conversation | Message | Attachment) -> None:
    if not access.is_citizen_side:
        raise PermissionDenied(_("Seule la personne ou son représentant légal peut gérer sa messagerie de santé."))
    if obj.citizen_id != access.citizen.pk:
        raise PermissionDenied(_("Ce message n’appartient pas à cette messagerie."))


def _locked_conversation(access: CitizenAccess, conversation: Conversation) -> Conversation | None:
    """The conversation's row, locked until the end of the transaction (``None`` once deleted).

    The lock keeps a message from being added to the thread while it is read or deleted: inserting a message takes
    a key-share lock on its conversation, which waits for this one.
    """
    return (
        Conversation.objects.select_for_update(of=("self",)).filter(pk=conversation.pk, citizen=access.citizen).first()
    )


def _files_delete_after_commit(names: list[str]) -> None:
    """Delete the stored files once the deletion of their rows is committed; a rollback keeps them."""
    names = [name for name in names if name]
    if not names:
        return

    def delete() -> None:
        for name in names:
            try:
                default_storage.delete(name)
            except OSError:
                # The rows are gone for good: a file the storage refused to delete is an orphan to clean up, not an
                # error for the person, who asked for the deletion and got it.
                logger.exception("Attachment file could not be deleted from the storage")

    transaction.on_commit(delete)


@transaction.atomic
def conversation_read(*, access: CitizenAccess, conversation: Conversation) -> list[Message]:
    """Mark the unread received messages of ``conversation`` read; returns those read now (oldest first).

    One journal row per message read for the first time: a message already read (by this request or a concurrent
    one, whose lock this one waits for) is neither marked nor journaled again.
    """
    _require_citizen_side(access, conversation)
    unread = list(
        Message.objects.select_for_update()
        .filter(
            citizen=access.citizen,
            conversation=conversation,
            direction=Direction.INBOUND,
            read_at__isnull=True,
        )
        .order_by("received_at", "pk")
    )
    if not unread:
        return []
    now = timezone.now()
    Message.objects.filter(pk__in=[message.pk for message in unread]).update(read_at=now)
    for message in unread:
        message.read_at = now
        journal_append(
            actor=access.actor,
            action=MESSAGE_READ,
            citizen=access.citizen,
            obj=message,
            details={"conversation": str(conversation.public_id)},
        )
    return unread


@transaction.atomic
def conversation_archive(*, access: CitizenAccess, conversation: Conversation) -> Conversation:
    """Move ``conversation`` to the archives (it leaves the inbox, nothing is deleted)."""
    _require_citizen_side(access, conversation)
    changed = Conversation.objects.filter(pk=conversation.pk, archived_at__isnull=True).update(
        archived_at=timezone.now()
    )
    conversation.refresh_from_db(fields=["archived_at"])
    if changed:
        journal_append(actor=access.actor, action=CONVERSATION_ARCHIVED, citizen=access.citizen, obj=conversation)
    return conversation


@transaction.atomic
def conversation_unarchive(*, access: CitizenAccess, conversation: Conversation) -> Conversation:
    """Bring ``conversation`` back from the archives into the inbox."""
    _require_citizen_side(access, conversation)
    changed = Conversation.objects.filter(pk=conversation.pk, archived_at__isnull=False).update(archived_at=None)
    conversation.refresh_from_db(fields=["archived_at"])
    if changed:
        journal_append(actor=access.actor, action=CONVERSATION_UNARCHIVED, citizen=access.citizen, obj=conversation)
    return conversation


def _delete_conversation_rows(access: CitizenAccess, conversation: Conversation) -> tuple[int, int]:
    """Delete the (locked) conversation with its messages and attachments: (messages, attachments) deleted."""
    attachments = list(
        Attachment.objects.filter(citizen=access.citizen, message__conversation=conversation).values_list(
            "file", flat=True
        )
    )
    messages = Message.objects.filter(citizen=access.citizen, conversation=conversation).count()
    Conversation.objects.filter(pk=conversation.pk).delete()
    _files_delete_after_commit(attachments)
    return messages, len(attachments)


@transaction.atomic
def conversation_delete(*, access: CitizenAccess, conversation: Conversation) -> bool:
    """Delete ``conversation``, its messages and their attachments, for good; ``False`` when it was already gone.

    What was saved from it stays where it was saved (documents in the dossier, events in the agenda), and the
    professional who started it may still be answered: their address stays among the correspondents.
    """
    _require_citizen_side(access, conversation)
    if _locked_conversation(access, conversation) is None:
        return False  # deleted by a concurrent request, which wrote its journal row
    messages, attachments = _delete_conversation_rows(access, conversation)
    journal_append(
        actor=access.actor,
        action=CONVERSATION_DELETED,
        citizen=access.citizen,
        obj=conversation,
        details={"messages": messages, "pieces_jointes": attachments},
    )
    return True


@transaction.atomic
def message_delete(*, access: CitizenAccess, message: Message) -> bool:
    """Delete one message and its attachments; deleting the last message of a thread deletes the thread.

    Returns ``True`` when the conversation was deleted with it. The thread's date of last message follows the
    messages that remain.
    """
    _require_citizen_side(access, message)
    conversation = _locked_conversation(access, message.conversation)
    if conversation is None:
        return True
    attachments = list(
        Attachment.objects.filter(citizen=access.citizen, message=message).values_list("file", flat=True)
    )
    deleted, _rows = Message.objects.filter(pk=message.pk, citizen=access.citizen).delete()
    if not deleted:
        return False  # deleted by a concurrent request, which wrote its journal row
    _files_delete_after_commit(attachments)
    journal_append(
        actor=access.actor,
        action=MESSAGE_DELETED,
        citizen=access.citizen,
        obj=message,
        details={"conversation": str(conversation.public_id), "pieces_jointes": len(attachments)},
    )
    last = Message.objects.filter(conversation=conversation).aggregate(last=Max("received_at"))["last"]
    if last is None:
        Conversation.objects.filter(pk=conversation.pk).delete()
        journal_append(
            actor=access.actor,
            action=CONVERSATION_DELETED,
            citizen=access.citizen,
            obj=conversation,
            details={"messages": 0, "pieces_jointes": 0},
        )
        return True
    if last != conversation.last_message_at:
        Conversation.objects.filter(pk=conversation.pk).update(last_message_at=last)
    return False


@transaction.atomic
def attachment_download_trace(*, access: CitizenAccess, attachment: Attachment) -> None:
    """Record that an attachment was downloaded (what and how big, never its name: it may tell the illness)."""
    _require_citizen_side(access, attachment)
    if attachment.blocked:
        raise PermissionDenied(_("Cette pièce jointe est bloquée : elle ne peut pas être téléchargée."))
    journal_append(
        actor=access.actor,
        action=ATTACHMENT_DOWNLOADED,
        citizen=access.citizen,
        obj=attachment,
        details={"format": attachment.format, "taille": attachment.size_bytes, "sha256": attachment.sha256},
    )
