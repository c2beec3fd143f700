"""« Messagerie » in the citizen's navigation, with the unread messages of the space being acted for."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from messagerie.models import Direction
from tests.messagerie.inbox_support import act_for, make_child, make_message, make_thread

INBOX = "/messagerie/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def nav_link(page: str) -> str:
    start = page.index(f'<a class="fr-nav__link" href="{INBOX}"')
    return page[start : page.index("</a>", start) + 4]


def test_the_citizen_navigation_has_the_messagerie_after_the_dossier(client, citizen):
    client.force_login(citizen.user)
    page = client.get(reverse("dossier_home")).content.decode()
    assert page.index(">Dossier médical</a>") < page.index(f'href="{INBOX}"') < page.index(">Catalogue</a>")
    assert nav_link(page) == f'<a class="fr-nav__link" href="{INBOX}">Messagerie</a>'
    # Its pages are its section.
    inbox = client.get(reverse("messagerie_archives")).content.decode()
    assert nav_link(inbox).startswith(f'<a class="fr-nav__link" href="{INBOX}" aria-current="page">Messagerie')


def test_the_unread_count_is_shown_with_words_for_screen_readers(client, citizen, other_citizen):
    conversation = make_thread(citizen, messages=2)
    make_message(conversation, read=True)
    make_message(conversation, direction=Direction.OUTBOUND)
    make_thread(other_citizen, messages=5)
    client.force_login(citizen.user)
    page = client.get(reverse("dossier_home")).content.decode()
    link = nav_link(page)
    assert (
        '<span class="fr-badge fr-badge--sm fr-badge--info fr-badge--no-icon fr-ml-1w" aria-hidden="true">2</span>'
        in link
    )
    assert '<span class="fr-sr-only"> : 2 messages non lus</span>' in link
    # The header tools and the mobile menu share one navigation.
    assert page.count("2 messages non lus") == 1


def test_one_unread_message_is_singular_and_reading_it_clears_the_badge(client, citizen):
    conversation = make_thread(citizen)
    client.force_login(citizen.user)
    assert "1 message non lu<" in client.get(reverse("dossier_home")).content.decode()
    page = client.get(reverse("messagerie_conversation", args=[conversation.public_id])).content.decode()
    # The thread is read before the header is drawn.
    assert "non lu" not in nav_link(page)


def test_a_parent_acting_for_their_child_sees_the_child_s_count(client, citizen):
    child = make_child(citizen)
    make_thread(citizen, messages=1)
    make_thread(child, messages=3)
    client.force_login(citizen.user)
    assert "1 message non lu" in nav_link(client.get(reverse("dossier_home")).content.decode())
    act_for(client, child)
    assert "3 messages non lus" in nav_link(client.get(reverse("dossier_home")).content.decode())


def test_the_count_is_one_count_query_per_page(client, citizen):
    make_thread(citizen, messages=3)
    client.force_login(citizen.user)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("agenda_home"))
    counts = [query["sql"] for query in queries if "messagerie_message" in query["sql"]]
    assert len(counts) == 1
    assert counts[0].startswith("SELECT COUNT(*)") and '"read_at" IS NULL' in counts[0]


def test_pages_without_the_navigation_do_not_count(client, citizen):
    conversation = make_thread(citizen, attachments=1)
    attachment = conversation.messages.get().attachments.get()
    client.force_login(citizen.user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("messagerie_attachment_download", args=[attachment.public_id]))
        b"".join(response.streaming_content)
    assert not [query for query in queries if "COUNT(*)" in query["sql"] and "messagerie_message" in query["sql"]]


def test_other_roles_have_no_messagerie_entry(client, professional):
    client.force_login(professional.user)
    page = client.get(reverse("pro_home")).content.decode()
    assert f'href="{INBOX}"' not in page
