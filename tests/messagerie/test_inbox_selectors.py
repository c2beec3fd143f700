"""Reads of the inbox: what each list holds and in which order, the pages, the unread counts, and their cost."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mes.acces.policy import CitizenAccess, citizen_access
from mes.keyset import InvalidCursor
from messagerie import selectors
from messagerie.models import Direction
from tests.messagerie.inbox_support import (
    access_for,
    make_attachment,
    make_child,
    make_conversation,
    make_correspondent,
    make_message,
    make_thread,
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_the_inbox_lists_the_active_conversations_newest_activity_first(citizen):
    now = timezone.now()
    make_thread(citizen, subject="Ancienne", at=now - timedelta(days=10))
    make_thread(citizen, subject="Récente", at=now - timedelta(days=1))
    revived = make_thread(citizen, subject="Relancée", at=now - timedelta(days=20))
    make_message(revived, at=now - timedelta(hours=1))
    archived = make_thread(citizen, subject="Archivée", at=now, archived=True)

    page = selectors.conversation_page(access_for(citizen))
    assert [conversation.subject for conversation in page.conversations] == ["Relancée", "Récente", "Ancienne"]
    assert (page.older_cursor, page.newer_cursor) == (None, None)
    assert [c.public_id for c in selectors.conversation_page(access_for(citizen), archived=True).conversations] == [
        archived.public_id
    ]


def test_each_row_carries_its_unread_count_its_attachment_mark_and_its_correspondent(citizen):
    with_unread = make_thread(citizen, messages=3, subject="Trois non lus")
    make_message(with_unread, direction=Direction.OUTBOUND)  # the citizen's own reply is never « unread »
    make_thread(citizen, messages=2, read=True, attachments=1, subject="Lue, avec pièce jointe")
    rows = {c.subject: c for c in selectors.conversation_page(access_for(citizen)).conversations}
    assert (rows["Trois non lus"].unread, rows["Trois non lus"].has_attachments) == (3, False)
    assert (rows["Lue, avec pièce jointe"].unread, rows["Lue, avec pièce jointe"].has_attachments) == (0, True)
    assert selectors.correspondent_name(rows["Trois non lus"].correspondent) == "Dr Jean Martin"


def test_a_correspondent_without_a_name_is_shown_by_address(citizen):
    anonymous = make_correspondent(citizen, address="secretariat@clinique.mssante.fr", display_name="")
    assert selectors.correspondent_name(anonymous) == "secretariat@clinique.mssante.fr"


def test_keyset_pages_walk_the_whole_list_both_ways_without_gap_or_repeat(citizen):
    start = timezone.now() - timedelta(days=30)
    same_moment = start + timedelta(days=5)
    for day in range(7):
        make_conversation(citizen, subject=f"C{day}", at=start + timedelta(days=day))
    # Ties on the date of last activity are ordered by id.
    make_conversation(citizen, subject="C5bis", at=same_moment)
    access = access_for(citizen)
    seen, cursor, pages = [], None, []
    while True:
        page = selectors.conversation_page(access, cursor=cursor, size=3)
        pages.append(page)
        seen.extend(conversation.subject for conversation in page.conversations)
        if not page.older_cursor:
            break
        cursor = page.older_cursor
    assert seen == ["C6", "C5bis", "C5", "C4", "C3", "C2", "C1", "C0"]
    assert [len(page.conversations) for page in pages] == [3, 3, 2]
    assert pages[0].newer_cursor is None
    back = selectors.conversation_page(access, cursor=pages[2].newer_cursor, size=3)
    assert [conversation.subject for conversation in back.conversations] == ["C4", "C3", "C2"]
    assert back.newer_cursor and back.older_cursor


@pytest.mark.parametrize("cursor", ["nimportequoi", "bzoyMDI1LTAxLTAxOjE", "", "!!!"])
def test_a_forged_cursor_is_refused(citizen, cursor):
    make_thread(citizen)
    if not cursor:
        assert selectors.conversation_page(access_for(citizen), cursor=cursor).conversations
        return
    with pytest.raises(InvalidCursor):
        selectors.conversation_page(access_for(citizen), cursor=cursor)


def test_a_list_takes_one_query_whatever_the_number_of_conversations(citizen, django_assert_num_queries):
    access = access_for(citizen)
    make_thread(citizen, messages=2, attachments=1)
    with CaptureQueriesContext(connection) as few:
        selectors.conversation_page(access)
    for _ in range(30):
        make_thread(citizen, messages=2, attachments=1)
    with django_assert_num_queries(1):
        page = selectors.conversation_page(access)
        assert len(page.conversations) == selectors.PAGE_SIZE
        # Reading what the page shows costs nothing more.
        assert [(c.correspondent.address, c.unread, c.has_attachments) for c in page.conversations]
    assert len(few) == 1


def test_the_unread_count_is_one_count_on_the_partial_index(citizen, other_citizen, django_assert_num_queries):
    conversation = make_thread(citizen, messages=2)
    make_message(conversation, read=True)
    make_message(conversation, direction=Direction.OUTBOUND)
    make_thread(other_citizen, messages=4)
    with CaptureQueriesContext(connection) as queries:
        assert selectors.unread_count(citizen) == 2
    assert len(queries) == 1
    sql = queries[0]["sql"]
    assert sql.startswith("SELECT COUNT(*)")
    # The same conditions as the index's, so that PostgreSQL may use it.
    assert '"read_at" IS NULL' in sql and "'entrant'" in sql
    assert selectors.unread_count(None) == 0


def test_the_planner_answers_the_unread_count_from_the_partial_index(citizen):
    for _ in range(3):
        make_thread(citizen, messages=2)
    queryset = selectors.unread_messages(citizen)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()
    assert "mss_message_unread_idx" in plan


def test_a_thread_comes_oldest_first_with_its_attachments_in_three_queries(citizen, django_assert_num_queries):
    conversation = make_thread(citizen, messages=5, attachments=2, read=True)
    access = access_for(citizen)
    with django_assert_num_queries(3):
        found = selectors.conversation_get(access, conversation.public_id)
        thread = selectors.conversation_messages(found)
        names = [[attachment.filename for attachment in message.attachments.all()] for message in thread]
        assert [message.conversation.correspondent.address for message in thread]
        assert [attachment.message.pk for message in thread for attachment in message.attachments.all()]
    assert [message.received_at for message in thread] == sorted(message.received_at for message in thread)
    assert names[0] == ["document-0-0.pdf", "document-0-1.pdf"]


def test_another_citizen_finds_nothing_of_the_space(citizen, other_citizen):
    conversation = make_thread(citizen, attachments=1)
    message = conversation.messages.get()
    attachment = message.attachments.get()
    other = access_for(other_citizen)
    assert selectors.conversation_page(other).conversations == []
    assert selectors.conversation_get(other, conversation.public_id) is None
    assert selectors.message_get(other, message.public_id) is None
    assert selectors.attachment_get(other, attachment.public_id) is None
    mine = access_for(citizen)
    assert selectors.conversation_get(mine, conversation.public_id) == conversation
    assert selectors.message_get(mine, message.public_id) == message
    assert selectors.attachment_get(mine, attachment.public_id) == attachment


def test_a_professional_access_reads_nothing_of_the_messagerie(citizen, professional):
    conversation = make_thread(citizen, attachments=1)
    message = conversation.messages.get()
    care_team = CitizenAccess(actor=professional.user, citizen=citizen, kind="care_team")
    assert selectors.conversation_page(care_team).conversations == []
    assert selectors.conversation_get(care_team, conversation.public_id) is None
    assert selectors.message_get(care_team, message.public_id) is None
    assert selectors.attachment_get(care_team, message.attachments.get().public_id) is None


def test_a_parent_reads_the_child_s_messagerie_not_their_own_through_the_child_s_access(citizen):
    child = make_child(citizen)
    own = make_thread(citizen, subject="Pour Camille")
    childs = make_thread(child, subject="Pour Léa")
    child_access = access_for_representative(citizen, child)
    assert [c.public_id for c in selectors.conversation_page(child_access).conversations] == [childs.public_id]
    assert selectors.conversation_get(child_access, own.public_id) is None


def test_the_sizes_of_a_conversation_and_its_last_message(citizen):
    conversation = make_thread(citizen, messages=2, attachments=2)
    assert selectors.conversation_sizes(conversation) == (2, 4)
    assert not selectors.is_last_message(conversation.messages.first())
    lonely = make_thread(citizen)
    assert selectors.is_last_message(lonely.messages.get())
    make_attachment(lonely.messages.get())
    assert selectors.conversation_sizes(lonely) == (1, 1)


def access_for_representative(parent, child) -> CitizenAccess:
    access = citizen_access(parent.user, child)
    assert access is not None and access.kind == "representative"
    return access
