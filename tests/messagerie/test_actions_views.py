"""The pages of the citizen's actions: who reaches what, the forms and their French errors, forged POSTs, and the
action buttons shown in the thread."""

from datetime import date

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse

from dossier.services.documents import document_add
from messagerie.models import Conversation, DeliveryStatus, Direction, Message
from messagerie.services.outgoing import message_reply
from tests.dossier.documents_samples import pdf_bytes, upload
from tests.messagerie.actions_support import (
    CARDIO_ADDRESS,
    CARDIO_NAME,
    DOCTOR_ADDRESS,
    EXE_BYTES,
    act_for,
    attachment_of,
    correspondent_for,
    ics_bytes,
    inbound_message,
    minor_child_of,
    own_access,
    page_text,
)

OTHER_ROLES = ["professional", "editor", "commission", "admin"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def received(citizen):
    message = inbound_message(citizen, body="Bonjour,\n<script>alert('x')</script>\nDr Martin")
    attachment_of(message, filename="Compte rendu.pdf")
    attachment_of(message, filename="rdv.ics", data=ics_bytes(), format="ics")
    attachment_of(message, filename="analyse.pdf", data=EXE_BYTES, blocked_reason="Programme exécutable (Windows)")
    return message


@pytest.fixture
def document(citizen):
    return document_add(
        access=own_access(citizen),
        upload=upload(pdf_bytes("Ordonnance"), "ordonnance.pdf"),
        title="Ordonnance de janvier",
        type_code="57833-6",
        act_date=date(2025, 1, 10),
    )


def thread_path(conversation: Conversation) -> str:
    return f"/messagerie/{conversation.public_id}/"


def flashed(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def outbound() -> list[Message]:
    return list(Message.objects.filter(direction=Direction.OUTBOUND))


# --- Who reaches what -----------------------------------------------------------------------------------------


def message_routes(message):
    return [
        reverse("messagerie_reply", args=[message.public_id]),
        reverse("messagerie_forward", args=[message.public_id]),
        reverse("messagerie_document_send") + f"?message={message.public_id}",
    ]


def test_visitors_sign_in_and_other_roles_are_refused(client, persona_users, received):
    routes = [*message_routes(received), reverse("messagerie_document_send")]
    routes.append(reverse("messagerie_resend", args=[received.public_id]))
    for route in routes:
        response = client.post(route, {"body": "x"})
        assert response.status_code == 302, route
        assert response["Location"].startswith(reverse("account_login"))
    for role in OTHER_ROLES:
        client.force_login(persona_users[role])
        for route in routes:
            assert client.get(route).status_code in (403, 405), (role, route)
            assert client.post(route, {"body": "x"}).status_code == 403, (role, route)
    assert outbound() == []


def test_another_citizens_message_is_not_found(client, other_citizen, received):
    client.force_login(other_citizen.user)
    correspondent_for(other_citizen)  # the same doctor wrote to them too: still not their message
    for route in message_routes(received):
        assert client.get(route).status_code == 404, route
        assert client.post(route, {"body": "x", "correspondent": ""}).status_code == 404, route
    assert client.post(reverse("messagerie_resend", args=[received.public_id])).status_code == 404
    assert outbound() == []


def test_a_sent_message_has_no_reply_or_forward_page(client, citizen, received):
    reply = message_reply(access=own_access(citizen), message=received, body="Merci.")
    client.force_login(citizen.user)
    for route in message_routes(reply):
        assert client.get(route).status_code == 404, route


def test_resend_is_post_only(client, citizen, received):
    client.force_login(citizen.user)
    assert client.get(reverse("messagerie_resend", args=[received.public_id])).status_code == 405


# --- Reply ----------------------------------------------------------------------------------------------------


def test_reply_page_and_sending(client, citizen, received, django_capture_on_commit_callbacks):
    client.force_login(citizen.user)
    url = reverse("messagerie_reply", args=[received.public_id])
    response = client.get(url)
    assert response.status_code == 200
    text = page_text(response)
    assert "Répondre à Dr Claire Martin" in text
    assert f"À Dr Claire Martin <{DOCTOR_ADDRESS}>" in text
    assert "Objet RE : Compte rendu de votre consultation" in text
    assert "Votre message" in text
    # The quoted original is shown as text, never as markup.
    assert "<script>alert" not in response.content.decode()
    assert "&lt;script&gt;alert" in response.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"body": "Merci docteur."})
    assert response.status_code == 302
    assert response["Location"] == thread_path(received.conversation)
    assert flashed(response) == [
        "Votre message à Dr Claire Martin est en cours d’envoi. Son état s’affiche dans la conversation."
    ]
    (reply,) = outbound()
    assert reply.delivery_status == DeliveryStatus.SENT
    assert mail.outbox[0].to == [DOCTOR_ADDRESS]
    # The thread shows it.
    thread = page_text(client.get(response["Location"]))
    assert "Merci docteur." in thread


def test_reply_without_text_is_refused_in_french(client, citizen, received):
    client.force_login(citizen.user)
    response = client.post(reverse("messagerie_reply", args=[received.public_id]), {"body": "   "})
    assert response.status_code == 400
    text = page_text(response)
    assert "Votre réponse n’a pas été envoyée" in text
    assert "Écrivez votre message." in text
    assert outbound() == []


def test_a_too_long_reply_comes_back_whole_with_the_error(client, citizen, received):
    client.force_login(citizen.user)
    body = "x" * 10_001
    response = client.post(reverse("messagerie_reply", args=[received.public_id]), {"body": body})
    assert response.status_code == 400
    assert "Votre message compte 10001 caractères : il ne doit pas dépasser 10000 caractères." in page_text(response)
    assert body in response.content.decode()
    assert outbound() == []


# --- Forward --------------------------------------------------------------------------------------------------


def test_forward_page_offers_only_the_citizens_correspondents_and_the_allowed_attachments(
    client, citizen, other_citizen, received
):
    correspondent_for(citizen, CARDIO_ADDRESS, CARDIO_NAME)
    correspondent_for(other_citizen, "dr.autre@ailleurs.mssante.fr", "Dr Autre")
    client.force_login(citizen.user)
    response = client.get(reverse("messagerie_forward", args=[received.public_id]))
    assert response.status_code == 200
    html = response.content.decode()
    text = page_text(response)
    assert CARDIO_ADDRESS in html and DOCTOR_ADDRESS in html
    assert "dr.autre@ailleurs.mssante.fr" not in html
    assert "Compte rendu.pdf" in text and "rdv.ics" in text
    assert "ne sera pas transférée" in text and "analyse.pdf — Programme exécutable (Windows)" in text
    form = response.context["form"]
    assert [label for _value, label in form.fields["attachments"].choices] == ["Compte rendu.pdf", "rdv.ics"]


def test_forward_sends_to_the_chosen_correspondent(client, citizen, received, django_capture_on_commit_callbacks):
    cardio = correspondent_for(citizen, CARDIO_ADDRESS, CARDIO_NAME)
    pdf = received.attachments.get(filename="Compte rendu.pdf")
    client.force_login(citizen.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("messagerie_forward", args=[received.public_id]),
            {"correspondent": str(cardio.public_id), "attachments": [str(pdf.public_id)], "body": "Pour avis."},
        )
    assert response.status_code == 302
    (forwarded,) = outbound()
    assert response["Location"] == thread_path(forwarded.conversation)
    assert forwarded.to_addresses == [CARDIO_ADDRESS]
    assert [attachment.filename for attachment in forwarded.attachments.all()] == ["Compte rendu.pdf"]
    assert mail.outbox[0].to == [CARDIO_ADDRESS]


@pytest.mark.parametrize("forged", ["anyone@gmail.com", "00000000-0000-0000-0000-000000000000", "another-citizen"])
def test_a_forged_recipient_is_refused(client, citizen, other_citizen, received, forged):
    if forged == "another-citizen":
        forged = str(correspondent_for(other_citizen, "dr.autre@ailleurs.mssante.fr", "Dr Autre").public_id)
    client.force_login(citizen.user)
    response = client.post(
        reverse("messagerie_forward", args=[received.public_id]), {"correspondent": forged, "body": "Bonjour"}
    )
    assert response.status_code == 400
    assert "seuls ceux qui vous ont écrit y figurent" in page_text(response)
    assert outbound() == []
    assert mail.outbox == []


def test_a_forged_blocked_attachment_is_refused(client, citizen, received):
    blocked = received.attachments.get(filename="analyse.pdf")
    client.force_login(citizen.user)
    response = client.post(
        reverse("messagerie_forward", args=[received.public_id]),
        {
            "correspondent": str(correspondent_for(citizen).public_id),
            "attachments": [str(blocked.public_id)],
            "body": "Tout",
        },
    )
    assert response.status_code == 400
    assert "Cette pièce jointe ne peut pas être transférée." in page_text(response)
    assert outbound() == []


# --- Send a document ------------------------------------------------------------------------------------------


def test_document_send_page_without_correspondents_explains_the_rule(client, citizen):
    client.force_login(citizen.user)
    response = client.get(reverse("messagerie_document_send"))
    assert response.status_code == 200
    assert "c’est toujours un professionnel de santé qui écrit en premier" in page_text(response)
    assert "Envoyer le document" not in page_text(response)


def test_document_send_page_without_documents_invites_to_add_one(client, citizen, received):
    client.force_login(citizen.user)
    response = client.get(reverse("messagerie_document_send"))
    assert "Votre dossier ne contient aucun document" in page_text(response)
    assert reverse("document_new") in response.content.decode()


def test_document_send_in_a_new_conversation(client, citizen, received, document, django_capture_on_commit_callbacks):
    cardio = correspondent_for(citizen, CARDIO_ADDRESS, CARDIO_NAME)
    client.force_login(citizen.user)
    url = reverse("messagerie_document_send") + f"?document={document.public_id}"
    response = client.get(url)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial == {"document": document.public_id, "subject": "Ordonnance de janvier"}
    assert "Ordonnance de janvier (10 janvier 2025)" in page_text(response)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {
                "document": str(document.public_id),
                "correspondent": str(cardio.public_id),
                "subject": "Mon ordonnance",
                "body": "Bonjour, voici mon ordonnance.",
            },
        )
    assert response.status_code == 302
    (sent,) = outbound()
    assert response["Location"] == thread_path(sent.conversation)
    assert sent.conversation_id != received.conversation_id
    assert sent.subject == "Mon ordonnance" and sent.to_addresses == [CARDIO_ADDRESS]
    assert mail.outbox[0].attachments[0].filename == "ordonnance.pdf"


def test_document_send_as_a_reply_from_the_thread(client, citizen, received, document):
    client.force_login(citizen.user)
    url = reverse("messagerie_document_send") + f"?message={received.public_id}"
    response = client.get(url)
    text = page_text(response)
    assert "Le document sera envoyé en réponse à ce message" in text
    assert f"À Dr Claire Martin <{DOCTOR_ADDRESS}>" in text
    assert "correspondent" not in response.context["form"].fields
    # A forged recipient in the POST is ignored: a reply goes to the sender.
    cardio = correspondent_for(citizen, CARDIO_ADDRESS, CARDIO_NAME)
    response = client.post(
        url, {"document": str(document.public_id), "correspondent": str(cardio.public_id), "body": "Voici."}
    )
    assert response.status_code == 302
    assert response["Location"] == thread_path(received.conversation)
    (sent,) = outbound()
    assert sent.to_addresses == [DOCTOR_ADDRESS] and sent.in_reply_to == received.message_id


def test_another_citizens_document_cannot_be_chosen(client, citizen, other_citizen, received, document):
    theirs = document_add(
        access=own_access(other_citizen),
        upload=upload(pdf_bytes("Secret"), "secret.pdf"),
        title="Secret de Bruno",
        type_code="57833-6",
        act_date=date(2025, 1, 10),
    )
    client.force_login(citizen.user)
    url = reverse("messagerie_document_send")
    assert "Secret de Bruno" not in client.get(url + f"?document={theirs.public_id}").content.decode()
    response = client.post(
        url,
        {
            "document": str(theirs.public_id),
            "correspondent": str(correspondent_for(citizen).public_id),
            "subject": "x",
            "body": "x",
        },
    )
    assert response.status_code == 400
    assert "Choisissez un document de votre dossier dans la liste." in page_text(response)
    assert outbound() == []


def test_document_send_with_an_unknown_message_is_not_found(client, citizen):
    client.force_login(citizen.user)
    url = reverse("messagerie_document_send")
    assert client.get(url + "?message=pas-un-identifiant").status_code == 404
    assert client.get(url + "?message=00000000-0000-0000-0000-000000000000").status_code == 404


# --- The buttons in the thread --------------------------------------------------------------------------------


def test_the_thread_offers_the_actions(client, citizen, received):
    client.force_login(citizen.user)
    response = client.get(thread_path(received.conversation))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("messagerie_reply", args=[received.public_id]) in html
    assert reverse("messagerie_forward", args=[received.public_id]) in html
    assert reverse("messagerie_document_send") + f"?message={received.public_id}" in html
    pdf = received.attachments.get(filename="Compte rendu.pdf")
    ics = received.attachments.get(filename="rdv.ics")
    blocked = received.attachments.get(filename="analyse.pdf")
    assert reverse("messagerie_attachment_save", args=[pdf.public_id]) in html
    assert reverse("messagerie_attachment_agenda", args=[ics.public_id]) in html
    assert reverse("messagerie_attachment_save", args=[ics.public_id]) not in html
    assert reverse("messagerie_attachment_agenda", args=[pdf.public_id]) not in html
    assert str(blocked.public_id) not in html.replace(f"message-{received.public_id}", "")
    text = page_text(response)
    for label in ("Répondre", "Transférer", "Enregistrer dans mon dossier", "Ajouter à mon agenda"):
        assert label in text


def test_a_failed_delivery_is_shown_with_a_retry_button(client, citizen, received, settings):
    settings.EMAIL_BACKEND = "tests.messagerie.actions_support.RefusingBackend"
    reply = message_reply(access=own_access(citizen), message=received, body="Merci.")
    from messagerie.services.outgoing import message_deliver

    message_deliver(message_id=reply.pk)
    client.force_login(citizen.user)
    response = client.get(thread_path(received.conversation))
    text = page_text(response)
    assert "Échec de l’envoi" in text and "550" in text
    resend = reverse("messagerie_resend", args=[reply.public_id])
    assert resend in response.content.decode()
    assert "Réessayer l’envoi" in text
    # The thread's other messages have no such button.
    assert reverse("messagerie_resend", args=[received.public_id]) not in response.content.decode()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = client.post(resend)
    assert response.status_code == 302 and response["Location"] == thread_path(received.conversation)
    reply.refresh_from_db()
    assert reply.delivery_status == DeliveryStatus.PENDING


# --- A parent acting for the child ----------------------------------------------------------------------------


def test_a_parent_replies_from_the_childs_space(client, citizen):
    child = minor_child_of(citizen)
    received = inbound_message(child)
    client.force_login(citizen.user)
    url = reverse("messagerie_reply", args=[received.public_id])
    assert client.get(url).status_code == 404  # not in the parent's own space
    act_for(client, child)
    response = client.get(url)
    assert "vous agissez en tant que représentant légal" in page_text(response)
    assert child.mss_address in page_text(response)
    assert client.post(url, {"body": "Merci pour Léa."}).status_code == 302
    (reply,) = outbound()
    assert reply.citizen == child and reply.from_address == child.mss_address and reply.sent_by == citizen.user
