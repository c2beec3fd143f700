"""The iCalendar pages: who may open them (anonymous, every role, another citizen), the import form and its summary
or errors, the downloads, the feed page (the secret URL shown once), and the public feed URL."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from agenda import services
from agenda.models import Event, Feed
from agenda.services.feed import feed_create_or_regenerate
from agenda.services.ical import MAX_FILE_BYTES
from mes.acces.policy import citizen_access

PARIS = ZoneInfo("Europe/Paris")

pytestmark = pytest.mark.django_db

ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//FR\r\n"
    b"BEGIN:VEVENT\r\nUID:page@x\r\nSUMMARY:Ophtalmologue\r\nDTSTART;TZID=Europe/Paris:20270310T090000\r\n"
    b"END:VEVENT\r\nBEGIN:VTODO\r\nUID:todo@x\r\nSUMMARY:Ordonnance\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
def access(citizen):
    return citizen_access(citizen.user, citizen)


@pytest.fixture
def event(access):
    return services.event_create(
        access=access, title="Dentiste", starts_at=datetime(2027, 3, 12, 9, 30, tzinfo=PARIS), location="Cabinet"
    )


def page_urls(event) -> list[str]:
    return [
        reverse("agenda_import"),
        reverse("agenda_export"),
        reverse("event_export", kwargs={"event_id": event.public_id}),
        reverse("agenda_feed"),
    ]


def test_anonymous_visitors_are_asked_to_sign_in(client, event):
    for url in page_urls(event):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login"))
    response = client.post(reverse("agenda_feed"), {"action": "create"})
    assert response.status_code == 302
    assert not Feed.objects.exists()


@pytest.mark.parametrize("role", ["professional", "editor", "commission", "admin"])
def test_other_roles_are_refused(client, persona_users, event, role):
    client.force_login(persona_users[role])
    for url in page_urls(event):
        assert client.get(url).status_code == 403, (role, url)
    assert client.post(reverse("agenda_feed"), {"action": "create"}).status_code == 403
    ics = SimpleUploadedFile("a.ics", ICS, content_type="text/calendar")
    assert client.post(reverse("agenda_import"), {"file": ics}).status_code == 403
    assert not Feed.objects.exists() and Event.objects.count() == 1


def test_another_citizens_event_answers_404(client, other_citizen, event):
    client.force_login(other_citizen.user)
    response = client.get(reverse("event_export", kwargs={"event_id": event.public_id}))
    assert response.status_code == 404
    assert b"Dentiste" not in response.content
    # Their own export does not carry it either.
    response = client.get(reverse("agenda_export"))
    assert response.status_code == 200 and b"Dentiste" not in response.content


def test_downloads(client, citizen, event):
    client.force_login(citizen.user)
    response = client.get(reverse("agenda_export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="agenda-mon-espace-sante.ics"'
    assert response["Cache-Control"] == "private, no-store"
    calendar = Calendar.from_ical(response.content)
    assert [str(component["SUMMARY"]) for component in calendar.walk("VEVENT")] == ["Dentiste"]
    assert str(calendar.walk("VEVENT")[0]["LOCATION"]) == "Cabinet"

    response = client.get(reverse("event_export", kwargs={"event_id": event.public_id}))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="evenement-2027-03-12.ics"'
    assert [str(component["UID"]) for component in Calendar.from_ical(response.content).walk("VEVENT")] == [event.uid]


def test_import_page_shows_the_summary(client, citizen):
    client.force_login(citizen.user)
    response = client.get(reverse("agenda_import"))
    assert response.status_code == 200
    assert "Importer un fichier .ics" in response.content.decode()
    upload = SimpleUploadedFile("téléphone.ics", ICS, content_type="text/calendar")
    response = client.post(reverse("agenda_import"), {"file": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Import terminé : 2 éléments ajoutés." in page
    assert Event.objects.get(uid="page@x").source_label == "Fichier importé : téléphone.ics"
    upload = SimpleUploadedFile("téléphone.ics", ICS, content_type="text/calendar")
    response = client.post(reverse("agenda_import"), {"file": upload})
    assert "Import terminé : aucun élément ajouté, 2 déjà à jour." in response.content.decode()


def test_import_page_shows_errors_on_the_form(client, citizen):
    client.force_login(citizen.user)
    response = client.post(reverse("agenda_import"), {})
    assert response.status_code == 400
    assert "Choisissez le fichier .ics à importer." in response.content.decode()
    bad = SimpleUploadedFile("photo.ics", b"\x89PNG\r\n\x1a\n\x00\x00", content_type="image/png")
    response = client.post(reverse("agenda_import"), {"file": bad})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Le fichier n’a pas été importé" in page
    assert "c’est un fichier binaire" in page
    assert 'class="fr-upload-group fr-mb-3w fr-upload-group--error"' in page
    assert Event.objects.count() == 0


def test_import_refuses_a_body_larger_than_the_limit_before_reading_it(client, citizen):
    client.force_login(citizen.user)
    big = SimpleUploadedFile(
        "big.ics", b"BEGIN:VCALENDAR\r\n" + b"X" * (MAX_FILE_BYTES + 10), content_type="text/calendar"
    )
    response = client.post(reverse("agenda_import"), {"file": big})
    assert response.status_code == 413
    assert "Le fichier dépasse la taille maximale autorisée de 2 Mo." in response.content.decode()


def test_import_checks_the_csrf_token(citizen):
    client = Client(enforce_csrf_checks=True)
    client.force_login(citizen.user)
    upload = SimpleUploadedFile("a.ics", ICS, content_type="text/calendar")
    assert client.post(reverse("agenda_import"), {"file": upload}).status_code == 403
    assert Event.objects.count() == 0


def test_feed_page_create_shows_the_url_once_then_update_regenerate_and_stop(client, citizen, settings):
    settings.PUBLIC_BASE_URL = "https://sante.example.fr"
    client.force_login(citizen.user)
    page = client.get(reverse("agenda_feed")).content.decode()
    assert "Créer mon adresse d’abonnement" in page
    assert "Toute personne qui connaît l’adresse" in page

    response = client.post(reverse("agenda_feed"), {"action": "create", "titles_only": "on"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    https_url = page.split('id="adresse-abonnement" value="')[1].split('"')[0]
    assert https_url.startswith("https://sante.example.fr/agenda/flux/") and https_url.endswith(".ics")
    token = https_url.rsplit("/", 1)[1][: -len(".ics")]
    assert f'href="webcal://sante.example.fr/agenda/flux/{token}.ics"' in page
    feed = Feed.objects.get(citizen=citizen)
    assert (feed.titles_only, feed.include_tasks, feed.include_prevention) == (True, False, False)

    # Shown once: the page does not show it again.
    page = client.get(reverse("agenda_feed")).content.decode()
    assert token not in page and "Votre abonnement" in page
    assert client.get(reverse("agenda_feed_ics", kwargs={"token": token})).status_code == 200

    response = client.post(reverse("agenda_feed"), {"action": "update", "include_tasks": "on"})
    assert response.status_code == 302
    feed.refresh_from_db()
    assert (feed.titles_only, feed.include_tasks, feed.include_prevention) == (False, True, False)
    assert client.get(reverse("agenda_feed_ics", kwargs={"token": token})).status_code == 200

    response = client.post(reverse("agenda_feed"), {"action": "create", "include_tasks": "on"})
    page = response.content.decode()
    assert "Votre nouvelle adresse d’abonnement est prête" in page
    new_token = page.split('id="adresse-abonnement" value="')[1].split('"')[0].rsplit("/", 1)[1][:-4]
    assert new_token != token
    assert client.get(reverse("agenda_feed_ics", kwargs={"token": token})).status_code == 404
    assert client.get(reverse("agenda_feed_ics", kwargs={"token": new_token})).status_code == 200

    response = client.post(reverse("agenda_feed"), {"action": "delete"}, follow=True)
    assert "L’abonnement est arrêté" in response.content.decode()
    assert not Feed.objects.exists()
    assert client.get(reverse("agenda_feed_ics", kwargs={"token": new_token})).status_code == 404


def test_public_feed_url_needs_no_login_and_answers_404_to_a_bad_token(client, access, event, other_citizen):
    token = feed_create_or_regenerate(access=access, titles_only=True)
    response = client.get(reverse("agenda_feed_ics", kwargs={"token": token}))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"] == "private, no-store"
    assert "noindex" in response["X-Robots-Tag"]
    assert b"Dentiste" in response.content and b"Cabinet" not in response.content
    assert client.head(reverse("agenda_feed_ics", kwargs={"token": token})).status_code == 200
    assert client.post(reverse("agenda_feed_ics", kwargs={"token": token})).status_code == 405
    assert client.get(reverse("agenda_feed_ics", kwargs={"token": "pas-un-jeton"})).status_code == 404
    # Signed in as another citizen changes nothing: the token decides, and shows only its own agenda.
    client.force_login(other_citizen.user)
    other_token = feed_create_or_regenerate(access=citizen_access(other_citizen.user, other_citizen))
    response = client.get(reverse("agenda_feed_ics", kwargs={"token": other_token}))
    assert response.status_code == 200 and b"Dentiste" not in response.content
