"""The inbox's pages: who reaches what, the lists, a thread (and what of a message reaches the browser), archiving and
deleting, a parent acting for their child, and the cost of each page."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mes.acces.models import JournalEntry
from messagerie.models import Conversation, Direction, Message
from messagerie.services.inbox import CONVERSATION_ARCHIVED, CONVERSATION_DELETED, MESSAGE_READ
from tests.messagerie.inbox_support import (
    EXE_BYTES,
    MALICIOUS_HTML,
    act_for,
    make_attachment,
    make_child,
    make_conversation,
    make_correspondent,
    make_message,
    make_thread,
)

OTHER_ROLES = ["professional", "editor", "commission", "admin"]
LIST_ROUTES = ["messagerie_inbox", "messagerie_archives"]
CONVERSATION_ROUTES = [
    ("messagerie_conversation", ("GET",)),
    ("messagerie_conversation_archive", ("POST",)),
    ("messagerie_conversation_unarchive", ("POST",)),
    ("messagerie_conversation_delete", ("GET", "POST")),
]
MESSAGE_ROUTES = [("messagerie_message_delete", ("GET", "POST"))]
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def thread(citizen):
    """A conversation with Dr Martin: one unread message with a PDF attachment."""
    conversation = make_thread(citizen, attachments=1)
    return conversation


def conversation_url(name: str, conversation: Conversation) -> str:
    return reverse(name, kwargs={"conversation_id": conversation.public_id})


def message_url(name: str, message: Message) -> str:
    return reverse(name, kwargs={"message_id": message.public_id})


def object_urls(conversation: Conversation):
    message = conversation.messages.first()
    for name, methods in CONVERSATION_ROUTES:
        yield conversation_url(name, conversation), methods
    for name, methods in MESSAGE_ROUTES:
        yield message_url(name, message), methods


def call(client, method: str, url: str):
    return getattr(client, method.lower())(url)


def message_bodies(page: str) -> str:
    """The rendered texts of the messages, and nothing else of the page."""
    return "\n".join(re.findall(r'<div class="mes-message__body mes-break">(.*?)\n  </div>', page, flags=re.S))


# --- Who reaches what ---------------------------------------------------------------------------------------------


def test_every_route_asks_visitors_to_sign_in_and_refuses_other_roles(client, persona_users, thread):
    targets = [(reverse(name), ("GET",)) for name in LIST_ROUTES] + list(object_urls(thread))
    for url, methods in targets:
        for method in methods:
            response = call(client, method, url)
            assert response.status_code == 302, (method, url)
            assert response["Location"].startswith(reverse("account_login"))
    for role in OTHER_ROLES:
        client.force_login(persona_users[role])
        for url, methods in targets:
            for method in methods:
                assert call(client, method, url).status_code == 403, (role, method, url)
    assert Conversation.objects.filter(pk=thread.pk, archived_at=None).exists()


def test_another_citizen_gets_404_on_every_object_route_and_nothing_changes(client, other_citizen, thread):
    client.force_login(other_citizen.user)
    for url, methods in object_urls(thread):
        for method in methods:
            assert call(client, method, url).status_code == 404, (method, url)
    message = thread.messages.get()
    assert message.read_at is None
    assert Conversation.objects.filter(pk=thread.pk, archived_at=None).exists()
    assert default_storage.exists(message.attachments.get().file.name)
    assert not JournalEntry.objects.filter(action__startswith="messagerie.").exists()
    inbox = client.get(reverse("messagerie_inbox")).content.decode()
    assert thread.subject not in inbox and "Dr Jean Martin" not in inbox


def test_unknown_objects_answer_404(client, citizen):
    client.force_login(citizen.user)
    missing = "6f1c1a9e-52e7-4a4a-9a55-0a0a0a0a0a0a"
    assert client.get(f"/messagerie/{missing}/").status_code == 404
    assert client.post(f"/messagerie/{missing}/archiver/").status_code == 404
    assert client.get(f"/messagerie/messages/{missing}/supprimer/").status_code == 404


def test_methods_that_a_route_does_not_serve_are_refused(client, citizen, thread):
    client.force_login(citizen.user)
    assert client.get(conversation_url("messagerie_conversation_archive", thread)).status_code == 405
    assert client.get(conversation_url("messagerie_conversation_unarchive", thread)).status_code == 405
    assert client.post(conversation_url("messagerie_conversation", thread)).status_code == 405
    assert client.post(reverse("messagerie_inbox")).status_code == 405
    assert client.put(conversation_url("messagerie_conversation_delete", thread)).status_code == 405
    assert Conversation.objects.filter(pk=thread.pk, archived_at=None).exists()


def test_changes_need_the_csrf_token(citizen, thread):
    client = Client(enforce_csrf_checks=True)
    client.force_login(citizen.user)
    message = thread.messages.get()
    assert client.post(conversation_url("messagerie_conversation_archive", thread)).status_code == 403
    assert client.post(conversation_url("messagerie_conversation_delete", thread)).status_code == 403
    assert client.post(message_url("messagerie_message_delete", message)).status_code == 403
    assert Conversation.objects.filter(pk=thread.pk, archived_at=None).exists()
    assert Message.objects.filter(pk=message.pk).exists()


# --- The lists ----------------------------------------------------------------------------------------------------


def test_the_inbox_explains_the_messagerie_and_shows_the_address(client, citizen):
    client.force_login(citizen.user)
    page = client.get(reverse("messagerie_inbox")).content.decode()
    assert "<h1>Messagerie de santé</h1>" in page
    assert "espace de confiance MSSanté" in page
    assert f'<strong class="mes-break">{citizen.mss_address}</strong>' in page
    assert "Seul un professionnel de santé peut vous écrire en premier" in page
    assert "Vous n’avez encore reçu aucun message." in page
    assert f'href="{reverse("messagerie_inbox")}" aria-current="page">Boîte de réception</a>' in page
    assert f'href="{reverse("messagerie_archives")}">Archives</a>' in page


def test_the_inbox_lists_each_conversation_with_its_correspondent_date_unread_and_attachment_marks(client, citizen):
    at = datetime(2027, 3, 12, 9, 30, tzinfo=PARIS)
    unread = make_thread(citizen, messages=2, attachments=1, subject="Compte rendu d’IRM", at=at)
    other_doctor = make_correspondent(citizen, address="labo@biologie.mssante.fr", display_name="")
    read = make_conversation(citizen, subject="Ordonnance", correspondent=other_doctor, at=at - timedelta(days=40))
    make_message(read, read=True, at=at - timedelta(days=40))
    make_thread(citizen, subject="Rangée dans les archives", archived=True)
    client.force_login(citizen.user)
    page = client.get(reverse("messagerie_inbox")).content.decode()

    rows = re.findall(r'<li class="mes-conversation[^"]*">.*?</li>', page, flags=re.S)
    assert len(rows) == 2
    first, second = rows
    assert "mes-conversation--unread" in first and "--unread" not in second
    assert "Dr Jean Martin" in first and "Compte rendu d’IRM" in first
    assert f'href="{conversation_url("messagerie_conversation", unread)}"' in first
    assert "12 mars 2027" in first
    assert "2 non lus" in first
    assert "Contient des pièces jointes" in first and "Contient des pièces jointes" not in second
    assert "labo@biologie.mssante.fr" in second and "non lu" not in second
    assert "Rangée dans les archives" not in page


def test_the_archives_list_the_archived_conversations(client, citizen):
    make_thread(citizen, subject="Dans la boîte")
    make_thread(citizen, subject="Rangée", archived=True)
    client.force_login(citizen.user)
    page = client.get(reverse("messagerie_archives")).content.decode()
    assert "Conversations archivées" in page and "Rangée" in page and "Dans la boîte" not in page
    assert f'href="{reverse("messagerie_archives")}" aria-current="page">Archives</a>' in page
    Conversation.objects.update(archived_at=None)
    assert "Aucune conversation archivée." in client.get(reverse("messagerie_archives")).content.decode()


def test_the_inbox_is_paged_by_25_with_links_to_older_and_newer_conversations(client, citizen):
    start = timezone.now() - timedelta(days=60)
    for day in range(30):
        make_conversation(citizen, subject=f"Conversation n° {day:02d}", at=start + timedelta(days=day))
    client.force_login(citizen.user)
    first = client.get(reverse("messagerie_inbox")).content.decode()
    assert first.count('class="mes-conversation"') == 25
    assert "Conversation n° 29" in first and "Conversation n° 05" in first and "Conversation n° 04" not in first
    older = re.search(r'href="(\?curseur=[^"]+)">Conversations plus anciennes', first).group(1)
    second = client.get(reverse("messagerie_inbox") + older.replace("&amp;", "&")).content.decode()
    assert second.count('class="mes-conversation"') == 5
    assert "Conversation n° 04" in second and "Conversation n° 00" in second
    assert "Conversations plus récentes" in second and "Conversations les plus récentes" in second
    assert "Conversations plus anciennes" not in second


def test_a_forged_cursor_shows_the_first_page_with_an_error(client, citizen):
    make_thread(citizen, subject="Visible")
    client.force_login(citizen.user)
    response = client.get(reverse("messagerie_inbox"), {"curseur": "forge"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Lien de pagination invalide" in page and "Visible" in page


def test_a_list_page_takes_as_many_queries_for_30_conversations_as_for_one(client, citizen):
    make_thread(citizen, attachments=1)
    client.force_login(citizen.user)
    client.get(reverse("messagerie_inbox"))  # the session's first use
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("messagerie_inbox")).status_code == 200
    for _ in range(30):
        make_thread(citizen, messages=2, attachments=1)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("messagerie_inbox")).status_code == 200
    assert len(many) == len(few)


# --- A thread -----------------------------------------------------------------------------------------------------


def test_opening_a_thread_shows_its_messages_in_order_and_marks_them_read(client, citizen):
    at = datetime(2027, 3, 12, 9, 30, tzinfo=PARIS)
    conversation = make_conversation(citizen, subject="Votre consultation", at=at)
    first = make_message(
        conversation,
        at=at,
        body_text="Bonjour,\n\nVoici le compte rendu.\n<b>pas du HTML</b>",
        cc=["secretariat@hopital-exemple.mssante.fr"],
    )
    make_message(conversation, direction=Direction.OUTBOUND, at=at + timedelta(hours=2), body_text="Merci docteur.")
    client.force_login(citizen.user)

    page = client.get(conversation_url("messagerie_conversation", conversation)).content.decode()

    assert '<h1 class="mes-break">Votre consultation</h1>' in page
    assert "Conversation commencée par Dr Jean Martin &lt;dr.martin@hopital-exemple.mssante.fr&gt;" in page
    assert page.index("Message de Dr Jean Martin") < page.index("Votre message") < page.index("Merci docteur.")
    assert "vendredi 12 mars 2027 à 09:30" in page
    assert "secretariat@hopital-exemple.mssante.fr" in page and "Copie à" in page
    assert f'<dd class="mes-break">{citizen.mss_address}</dd>' in page
    # Plain text: escaped, paragraphs and line breaks kept.
    assert "<p>Bonjour,</p>" in page and "Voici le compte rendu.<br>&lt;b&gt;pas du HTML&lt;/b&gt;" in page
    assert "Nouveau" in page
    assert "Envoyé" in page  # the reply's delivery
    first.refresh_from_db()
    assert first.read_at is not None
    assert JournalEntry.objects.filter(action=MESSAGE_READ, object_id=str(first.public_id)).count() == 1

    again = client.get(conversation_url("messagerie_conversation", conversation)).content.decode()
    assert "Nouveau" not in again
    assert JournalEntry.objects.filter(action=MESSAGE_READ).count() == 1


def test_the_thread_includes_the_actions_of_each_message_and_attachment(client, citizen):
    conversation = make_thread(citizen, messages=2, attachments=1)
    blocked = make_attachment(
        conversation.messages.first(),
        content=EXE_BYTES,
        filename="resultats.pdf",
        format="autre",
        content_type="application/octet-stream",
        blocked_reason="Programme exécutable (Windows).",
    )
    client.force_login(citizen.user)
    response = client.get(conversation_url("messagerie_conversation", conversation))
    used = [template.name for template in response.templates]
    assert used.count("messagerie/_message_actions.html") == 2
    # Blocked attachments get no action: nothing may be done with them.
    assert used.count("messagerie/_attachment_actions.html") == 2
    page = response.content.decode()
    assert "Pièce jointe bloquée par sécurité : Programme exécutable (Windows)." in page
    assert reverse("messagerie_attachment_download", args=[blocked.public_id]) not in page
    for attachment in conversation.messages.first().attachments.exclude(pk=blocked.pk):
        assert f'href="{reverse("messagerie_attachment_download", args=[attachment.public_id])}" download' in page
    assert "document-0-0.pdf" in page and "PDF" in page


def test_nothing_executable_of_a_malicious_html_body_reaches_the_browser(client, citizen):
    conversation = make_conversation(citizen, subject="Résultats")
    make_message(conversation, body_html=MALICIOUS_HTML, body_text="version texte")
    client.force_login(citizen.user)
    response = client.get(conversation_url("messagerie_conversation", conversation))
    page = response.content.decode()
    body = message_bodies(page)

    assert "<p>Bonjour,</p>" in body and "Cordialement" in body
    assert '<a href="https://exemple.fr/resultats" rel="noopener noreferrer nofollow">Lien sûr</a>' in body
    assert "version texte" not in body  # the formatted text is the one shown
    for forbidden in ("<script", "onerror", "onclick", "javascript:", "<iframe", "<svg", "<form", "<input",
                      "<object", "<embed", "<meta", "<style", "style=", "<img", "class=", 'href="/'):  # fmt: skip
        assert forbidden not in body, forbidden
    for forbidden in ("alert(", "javascript:", "onerror", "exemple.fr/piege", "x.swf"):
        assert forbidden not in page, forbidden
    # The page's own policy forbids inline scripts and styles: a third layer.
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy


def test_a_message_without_any_text_says_so(client, citizen):
    conversation = make_conversation(citizen)
    make_message(conversation, body_text="")
    client.force_login(citizen.user)
    page = client.get(conversation_url("messagerie_conversation", conversation)).content.decode()
    assert "Ce message ne contient pas de texte." in page


def test_a_thread_takes_as_many_queries_for_eight_messages_as_for_one(client, citizen):
    small = make_thread(citizen, messages=1, attachments=1, read=True)
    large = make_thread(citizen, messages=8, attachments=2, read=True)
    client.force_login(citizen.user)
    client.get(reverse("messagerie_inbox"))
    with CaptureQueriesContext(connection) as few:
        assert client.get(conversation_url("messagerie_conversation", small)).status_code == 200
    with CaptureQueriesContext(connection) as many:
        assert client.get(conversation_url("messagerie_conversation", large)).status_code == 200
    assert len(many) == len(few)


# --- Archive, unarchive, delete -----------------------------------------------------------------------------------


def test_archiving_moves_the_conversation_to_the_archives_and_back(client, citizen, thread):
    client.force_login(citizen.user)
    page = client.get(conversation_url("messagerie_conversation", thread)).content.decode()
    assert f'action="{conversation_url("messagerie_conversation_archive", thread)}"' in page

    response = client.post(conversation_url("messagerie_conversation_archive", thread), follow=True)
    assert response.redirect_chain == [(reverse("messagerie_inbox"), 302)]
    assert "La conversation est archivée." in response.content.decode()
    assert thread.subject not in response.content.decode().split("<main")[1].split("La conversation est archivée")[1]
    assert JournalEntry.objects.filter(action=CONVERSATION_ARCHIVED).count() == 1
    assert thread.subject in client.get(reverse("messagerie_archives")).content.decode()

    page = client.get(conversation_url("messagerie_conversation", thread)).content.decode()
    assert "Archivée le" in page and "Remettre dans la boîte de réception" in page
    assert f'<a class="fr-breadcrumb__link" href="{reverse("messagerie_archives")}">Archives</a>' in page
    response = client.post(conversation_url("messagerie_conversation_unarchive", thread), follow=True)
    assert response.redirect_chain == [(conversation_url("messagerie_conversation", thread), 302)]
    assert "La conversation est de retour dans votre boîte de réception." in response.content.decode()
    thread.refresh_from_db()
    assert thread.archived_at is None


def test_deleting_a_conversation_is_confirmed_first_and_its_files_go_after_the_commit(
    client, citizen, thread, django_capture_on_commit_callbacks
):
    make_message(thread, read=True)
    name = thread.messages.first().attachments.get().file.name
    client.force_login(citizen.user)
    confirm = client.get(conversation_url("messagerie_conversation_delete", thread)).content.decode()
    assert "Supprimer la conversation « Résultats de votre bilan sanguin » ?" in confirm
    assert "Ses 2 messages seront définitivement supprimés de votre messagerie, avec sa pièce jointe." in confirm
    assert "archivez-la plutôt" in confirm
    assert Conversation.objects.filter(pk=thread.pk).exists()  # the page changes nothing

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(conversation_url("messagerie_conversation_delete", thread), follow=True)
    assert response.redirect_chain == [(reverse("messagerie_inbox"), 302)]
    assert "La conversation et ses messages ont été supprimés." in response.content.decode()
    assert not Conversation.objects.filter(pk=thread.pk).exists()
    assert not default_storage.exists(name)
    assert JournalEntry.objects.filter(action=CONVERSATION_DELETED).count() == 1


def test_deleting_an_archived_conversation_goes_back_to_the_archives(client, citizen):
    conversation = make_thread(citizen, archived=True)
    client.force_login(citizen.user)
    response = client.post(conversation_url("messagerie_conversation_delete", conversation))
    assert response["Location"] == reverse("messagerie_archives")


def test_deleting_one_message_keeps_the_thread_and_the_last_one_takes_the_thread(
    client, citizen, django_capture_on_commit_callbacks
):
    conversation = make_thread(citizen, messages=2, attachments=1)
    first, second = conversation.messages.order_by("received_at")
    name = first.attachments.get().file.name
    client.force_login(citizen.user)
    confirm = client.get(message_url("messagerie_message_delete", first)).content.decode()
    assert "Supprimer le message de Dr Jean Martin du" in confirm
    assert "Le message et sa pièce jointe seront définitivement supprimés" in confirm
    assert "C’est le dernier message" not in confirm

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(message_url("messagerie_message_delete", first))
    assert response["Location"] == conversation_url("messagerie_conversation", conversation)
    assert not Message.objects.filter(pk=first.pk).exists() and not default_storage.exists(name)

    confirm = client.get(message_url("messagerie_message_delete", second)).content.decode()
    assert "C’est le dernier message de la conversation : elle sera supprimée avec lui." in confirm
    response = client.post(message_url("messagerie_message_delete", second), follow=True)
    assert response.redirect_chain == [(reverse("messagerie_inbox"), 302)]
    assert "et avec lui la conversation" in response.content.decode()
    assert not Conversation.objects.filter(pk=conversation.pk).exists()


# --- A parent acting for their child ------------------------------------------------------------------------------


def test_a_parent_acting_for_their_child_sees_and_manages_the_child_s_messagerie_only(client, citizen):
    child = make_child(citizen)
    own = make_thread(citizen, subject="Pour Camille")
    childs = make_thread(child, subject="Vaccins de Léa", attachments=1)
    client.force_login(citizen.user)
    act_for(client, child)

    page = client.get(reverse("messagerie_inbox")).content.decode()
    assert "Messagerie de santé de Léa DURAND — vous agissez en tant que représentant légal." in page
    assert "Vaccins de Léa" in page and "Pour Camille" not in page
    assert child.mss_address in page
    assert client.get(conversation_url("messagerie_conversation", childs)).status_code == 200
    assert childs.messages.get().read_at is not None
    entry = JournalEntry.objects.get(action=MESSAGE_READ)
    assert (entry.citizen_id, entry.actor_id) == (child.pk, citizen.user.pk)
    assert client.get(conversation_url("messagerie_conversation", own)).status_code == 404
    assert own.messages.get().read_at is None

    session = client.session
    session.pop("mes_active_citizen")
    session.save()
    assert client.get(conversation_url("messagerie_conversation", childs)).status_code == 404
    assert client.get(conversation_url("messagerie_conversation", own)).status_code == 200
