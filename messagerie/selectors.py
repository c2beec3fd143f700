"""Reads of the citizen's inbox: the conversations (inbox and archives), a thread, an attachment, the unread count.

Only the person's side reads the messagerie (``access.is_citizen_side``); any other access gets nothing, which the
views turn into a 404. Every lookup is made inside ``access.citizen``'s own rows, so another person's conversation,
message or attachment is not found, exactly like one that does not exist. The lists cost one query whatever the
number of conversations (keyset pagination on ``(last_message_at, id)``, the unread count and the attachment mark
of each row come as subqueries of the same query); a thread costs three (the conversation with its correspondent,
the messages, their attachments).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from mes import keyset
from mes.acces.policy import CitizenAccess
from mes.comptes.models import Citizen
from messagerie.models import Attachment, Conversation, Correspondent, Direction, Message

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


def correspondent_name(correspondent: Correspondent) -> str:
    """How a correspondent is shown: the name their mail server gave, else their address."""
    return correspondent.display_name or correspondent.address


def sender_name(message: Message) -> str:
    return message.from_name or message.from_address


# --- Lookups inside the space -------------------------------------------------------------------------------------


def conversations_visible(access: CitizenAccess) -> QuerySet[Conversation]:
    """The conversations of ``access.citizen``, for the person's side only."""
    if not access.is_citizen_side:
        return Conversation.objects.none()
    return Conversation.objects.filter(citizen=access.citizen)


def conversation_get(access: CitizenAccess, public_id) -> Conversation | None:
    """One conversation of the space, with the correspondent who started it; ``None`` when it is not there."""
    return conversations_visible(access).select_related("correspondent").filter(public_id=public_id).first()


def message_get(access: CitizenAccess, public_id) -> Message | None:
    """One message of the space, with its conversation and the conversation's correspondent."""
    if not access.is_citizen_side:
        return None
    return (
        Message.objects.filter(citizen=access.citizen, public_id=public_id)
        .select_related("conversation__correspondent")
        .first()
    )


def attachment_get(access: CitizenAccess, public_id) -> Attachment | None:
    """One attachment of the space (blocked ones included: the caller decides what it may do with them)."""
    if not access.is_citizen_side:
        return None
    return (
        Attachment.objects.filter(citizen=access.citizen, public_id=public_id)
        .select_related("message__conversation__correspondent")
        .first()
    )


def conversation_messages(conversation: Conversation) -> list[Message]:
    """The messages of a thread, oldest first, each with its attachments (two queries whatever their number).

    Each message and attachment carries its parent already, so that the actions shown beside them cost nothing.
    """
    messages = list(
        Message.objects.filter(citizen_id=conversation.citizen_id, conversation=conversation)
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("pk")))
        .order_by("received_at", "pk")
    )
    for message in messages:
        message.conversation = conversation
    return messages


def conversation_sizes(conversation: Conversation) -> tuple[int, int]:
    """How many messages a conversation holds, and how many attachments (one query)."""
    counts = Message.objects.filter(citizen_id=conversation.citizen_id, conversation=conversation).aggregate(
        messages=Count("pk", distinct=True), attachments=Count("attachments")
    )
    return counts["messages"], counts["attachments"]


def is_last_message(message: Message) -> bool:
    """Whether ``message`` is the only one left in its conversation (deleting it deletes the conversation)."""
    return not Message.objects.filter(conversation_id=message.conversation_id).exclude(pk=message.pk).exists()


# --- Unread counts ------------------------------------------------------------------------------------------------


def unread_messages(citizen: Citizen) -> QuerySet[Message]:
    """The received messages not read yet: exactly the rows of the partial index ``mss_message_unread_idx``."""
    return Message.objects.filter(citizen=citizen, direction=Direction.INBOUND, read_at__isnull=True)


def unread_count(citizen: Citizen | None) -> int:
    """The number of unread messages of a space, in one COUNT answered by the partial index."""
    if citizen is None:
        return 0
    return unread_messages(citizen).count()


def _unread_per_conversation() -> Subquery:
    # Correlated on the citizen too, so that PostgreSQL may answer from the partial index of unread messages.
    unread = (
        Message.objects.filter(
            citizen_id=OuterRef("citizen_id"),
            conversation_id=OuterRef("pk"),
            direction=Direction.INBOUND,
            read_at__isnull=True,
        )
        .order_by()
        .values("conversation_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(unread, output_field=IntegerField()), Value(0))


# --- The lists: keyset pagination on (last_message_at, id) ---------------------------------------------------------


def cursor_encode(direction: str, conversation: Conversation) -> str:
    return keyset.cursor_encode(direction, conversation.last_message_at.isoformat(), conversation.pk)


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(text)
    return moment


def cursor_decode(cursor: str) -> tuple[str, datetime, int]:
    return keyset.cursor_decode(cursor, key_pattern=r"[0-9T:.+\-]{19,40}", parse=_aware)


@dataclass(frozen=True)
class ConversationPage:
    """One page of conversations, newest activity first. Each conversation carries ``unread`` (its unread received
    messages) and ``has_attachments``, and its ``correspondent``."""

    conversations: list[Conversation]
    older_cursor: str | None  # « Conversations plus anciennes »
    newer_cursor: str | None  # « Conversations plus récentes »


def conversation_page(
    access: CitizenAccess, *, archived: bool = False, cursor: str | None = None, size: int = PAGE_SIZE
) -> ConversationPage:
    """The inbox (``archived=False``) or the archives, one page in one query. Raises ``InvalidCursor``."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    conversations = (
        conversations_visible(access)
        .filter(archived_at__isnull=not archived)
        .select_related("correspondent")
        .annotate(
            unread=_unread_per_conversation(),
            has_attachments=Exists(Attachment.objects.filter(message__conversation_id=OuterRef("pk"))),
        )
    )
    rows, older, newer = keyset.keyset_page(
        conversations, field="last_message_at", cursor=cursor, size=size, decode=cursor_decode, encode=cursor_encode
    )
    return ConversationPage(rows, older, newer)
