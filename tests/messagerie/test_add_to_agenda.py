"""Adding an attached calendar to the agenda: the preview, the import (once, all or nothing) and its page."""

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from agenda.models import Event, Source, Task
from agenda.services.ical import CALENDAR_IMPORTED
from mes.acces.models import JournalEntry
from mes.acces.policy import citizen_access
from messagerie.models import Attachment, AttachmentFormat
from messagerie.services.attachments import (
    ATTACHMENT_AGENDA,
    AttachmentAlreadyAdded,
    attachment_add_to_agenda,
    attachment_calendar_preview,
)
from tests.messagerie.actions_support import (
    ICS_BROKEN,
    ICS_WITHOUT_START,
    act_for,
    attachment_of,
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
def access(citizen):
    return own_access(citizen)


def calendar(citizen, data: bytes = b"", *, filename: str = "rendez-vous.ics") -> Attachment:
    return attachment_of(inbound_message(citizen), filename=filename, data=data or ics_bytes(), format="ics")


def url(attachment: Attachment) -> str:
    return reverse("messagerie_attachment_agenda", args=[attachment.public_id])


# --- The service ----------------------------------------------------------------------------------------------


def test_the_preview_lists_the_event_and_the_task(access, citizen):
    preview = attachment_calendar_preview(access=access, attachment=calendar(citizen))
    event, task = preview.items
    assert not event.is_task and event.title == "Consultation de cardiologie"
    assert event.location == "Clinique Sud, 12 rue de la Paix, Paris"
    assert event.starts_at.isoformat() == "2030-03-12T09:30:00+01:00"
    assert event.kind_label == "Rendez-vous"
    assert task.is_task and task.title == "Faire la prise de sang avant la consultation"
    assert task.due_date.isoformat() == "2030-03-10"
    assert not Event.objects.exists() and not Task.objects.exists()


def test_events_and_tasks_are_added_once(access, citizen):
    attachment = calendar(citizen)
    summary = attachment_add_to_agenda(access=access, attachment=attachment)
    assert summary.created == 2
    event = Event.objects.get(citizen=citizen)
    assert event.title == "Consultation de cardiologie" and event.uid == "rdv-cardio-20300312@clinique-sud.mssante.fr"
    # The agenda names the message the appointment came from.
    assert event.source == Source.MESSAGE and event.source_label.startswith("Message de ")
    task = Task.objects.get(citizen=citizen)
    assert task.source == Source.MESSAGE
    assert task.title == "Faire la prise de sang avant la consultation"
    attachment.refresh_from_db()
    assert attachment.calendar_added_at is not None
    entry = JournalEntry.objects.get(action=ATTACHMENT_AGENDA, citizen=citizen)
    assert entry.object_id == str(attachment.public_id)
    assert entry.details == {"ajoutes": 2, "mis_a_jour": 0, "inchanges": 0, "non_importes": 0}
    assert JournalEntry.objects.filter(action=CALENDAR_IMPORTED, citizen=citizen).count() == 1

    with pytest.raises(AttachmentAlreadyAdded):
        attachment_add_to_agenda(access=access, attachment=attachment)
    assert Event.objects.count() == 1 and Task.objects.count() == 1
    assert JournalEntry.objects.filter(action=ATTACHMENT_AGENDA).count() == 1


def test_the_same_appointment_sent_again_is_not_duplicated(access, citizen):
    attachment_add_to_agenda(access=access, attachment=calendar(citizen))
    again = attachment_add_to_agenda(access=access, attachment=calendar(citizen, ics_bytes(with_task=False)))
    assert again.created == 0 and again.unchanged == 1
    assert Event.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (ICS_WITHOUT_START, "« Rendez-vous sans date »"),
        (ICS_BROKEN, "n’est pas un calendrier iCalendar valide"),
        (
            b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//T//FR\r\nEND:VCALENDAR\r\n",
            "aucun",
        ),
    ],
)
def test_an_invalid_calendar_is_refused_in_french_and_nothing_is_added(access, citizen, data, message):
    attachment = calendar(citizen, data)
    with pytest.raises(ValidationError) as preview_error:
        attachment_calendar_preview(access=access, attachment=attachment)
    assert message in preview_error.value.messages[0]
    with pytest.raises(ValidationError) as refused:
        attachment_add_to_agenda(access=access, attachment=attachment)
    assert refused.value.messages[0]
    assert not Event.objects.exists() and not Task.objects.exists()
    attachment.refresh_from_db()
    assert attachment.calendar_added_at is None
    assert not JournalEntry.objects.filter(action__in=[ATTACHMENT_AGENDA, CALENDAR_IMPORTED]).exists()


@pytest.mark.parametrize(
    ("format", "blocked", "message"),
    [(AttachmentFormat.PDF, "", "Seul un calendrier iCalendar"), ("ics", "Fichier suspect", "bloquée par sécurité")],
)
def test_only_a_calendar_not_blocked_may_be_added(access, citizen, format, blocked, message):
    attachment = attachment_of(
        inbound_message(citizen), filename="rdv.ics", data=ics_bytes(), format=format, blocked_reason=blocked
    )
    with pytest.raises(ValidationError) as refused:
        attachment_add_to_agenda(access=access, attachment=attachment)
    assert message in refused.value.messages[0]
    assert not Event.objects.exists()


def test_another_citizen_cannot_add_it(other_citizen, citizen):
    with pytest.raises(PermissionDenied):
        attachment_add_to_agenda(access=own_access(other_citizen), attachment=calendar(citizen))
    assert not Event.objects.exists()


def test_a_parent_adds_to_the_childs_agenda(citizen):
    child = minor_child_of(citizen)
    attachment_add_to_agenda(access=citizen_access(citizen.user, child), attachment=calendar(child))
    assert Event.objects.get().citizen == child
    assert JournalEntry.objects.get(action=ATTACHMENT_AGENDA).actor_label == "Camille Test (représentant légal)"


# --- The page -------------------------------------------------------------------------------------------------


def test_the_page_previews_then_adds(client, citizen):
    attachment = calendar(citizen)
    client.force_login(citizen.user)
    response = client.get(url(attachment))
    assert response.status_code == 200
    text = page_text(response)
    assert "Ajouter « rendez-vous.ics » à mon agenda" in text
    assert "Ce calendrier contient les 2 éléments suivants" in text
    assert "Consultation de cardiologie" in text
    assert "mardi 12 mars 2030, de 09:30 à 10:00" in text
    assert "Lieu : Clinique Sud, 12 rue de la Paix, Paris" in text
    assert "Faire la prise de sang avant la consultation" in text
    assert "À faire avant le dimanche 10 mars 2030" in text
    assert not Event.objects.exists()  # a GET adds nothing

    response = client.post(url(attachment))
    assert response.status_code == 302
    assert response["Location"] == f"/messagerie/{attachment.message.conversation.public_id}/"
    assert "Import terminé : 2 éléments ajoutés." in [str(m) for m in get_messages(response.wsgi_request)]
    assert Event.objects.count() == 1 and Task.objects.count() == 1
    thread = page_text(client.get(response["Location"]))
    assert "Ajouté à votre agenda le" in thread
    assert "Ajouter à mon agenda" not in thread

    # Once: the page says so, a second POST adds nothing.
    assert "Déjà dans votre agenda" in page_text(client.get(url(attachment)))
    response = client.post(url(attachment))
    assert response.status_code == 302
    assert Event.objects.count() == 1


def test_an_invalid_calendar_shows_the_reason_and_no_button(client, citizen):
    attachment = calendar(citizen, ICS_WITHOUT_START)
    client.force_login(citizen.user)
    response = client.get(url(attachment))
    text = page_text(response)
    assert "Ce calendrier ne peut pas être ajouté à votre agenda" in text
    assert "Rendez-vous sans date" in text and "date de début (DTSTART)" in text
    assert "Rien n’a été ajouté à votre agenda" in text
    assert f'action="{url(attachment)}"' not in response.content.decode()
    response = client.post(url(attachment))
    assert response.status_code == 400
    assert not Event.objects.exists()


def test_another_citizens_attachment_is_not_found(client, other_citizen, citizen):
    attachment = calendar(citizen)
    client.force_login(other_citizen.user)
    assert client.get(url(attachment)).status_code == 404
    assert client.post(url(attachment)).status_code == 404
    assert not Event.objects.exists()


def test_other_roles_are_refused_and_visitors_sign_in(client, persona_users, citizen):
    attachment = calendar(citizen)
    response = client.post(url(attachment))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    for role in OTHER_ROLES:
        client.force_login(persona_users[role])
        assert client.get(url(attachment)).status_code == 403
        assert client.post(url(attachment)).status_code == 403
    assert not Event.objects.exists()


def test_a_parent_acting_for_the_child_adds_to_the_childs_agenda(client, citizen):
    child = minor_child_of(citizen)
    attachment = calendar(child)
    client.force_login(citizen.user)
    assert client.get(url(attachment)).status_code == 404  # in their own space, the child's attachment is not there
    act_for(client, child)
    assert client.post(url(attachment)).status_code == 302
    assert Event.objects.get().citizen == child
