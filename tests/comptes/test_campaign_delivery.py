"""E-mails the mail server refuses are sent again with new codes; after every retry the people go back to « à
notifier », so that nobody's space is created without a notice received. Lost tasks are queued again."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from mes.acces.models import JournalEntry
from mes.comptes.codes import code_matches
from mes.comptes.models import Citizen, CitizenStatus, Wave
from mes.comptes.services.campaigns import progress_set, wave_create, waves_stalled
from mes.comptes.services.notification import (
    EMAIL_RETRY_ATTEMPTS,
    NOTICE_RENEWED,
    NOTICE_UNDELIVERED,
    wave_notify_start,
)
from mes.comptes.tasks.campaigns import campaign_notify, campaigns_resume_stalled
from tests.comptes import flaky_mail
from tests.comptes.test_campaign_import import HEADER, line, run_import
from tests.comptes.test_campaign_notify import CODE_RE


@pytest.fixture(autouse=True)
def _settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.CAMPAIGN_NOTIFY_CHUNK = 10
    settings.CAMPAIGN_EMAIL_BATCH_SIZE = 2
    settings.EMAIL_BACKEND = "tests.comptes.flaky_mail.FlakyBackend"
    flaky_mail.REFUSED.update(addresses={"personne1@exemple.fr"}, left=0)


@pytest.fixture
def wave(db, administrator):
    lines = [HEADER] + [line(n, email=f"personne{n}@exemple.fr") for n in range(1, 4)] + [line(4)]
    return run_import("\n".join(lines) + "\n", actor=administrator)


def notify(wave, actor, capture):
    with capture(execute=True):
        wave_notify_start(wave=wave, actor=actor)
        campaign_notify.delay(wave.pk, actor.pk)
    wave.refresh_from_db()
    return wave


def test_a_refused_batch_is_sent_again_with_new_codes(wave, administrator, django_capture_on_commit_callbacks):
    flaky_mail.REFUSED["left"] = 1  # the batch of personne1 and personne2 is refused once
    wave = notify(wave, administrator, django_capture_on_commit_callbacks)

    assert wave.status == Wave.Status.NOTIFIED and wave.undelivered_count == 0
    assert len(mail.outbox) == 3  # everyone got exactly one e-mail that arrived
    for message in mail.outbox:
        person = Citizen.objects.get(contact_email=message.to[0])
        code = "".join(CODE_RE.search(message.body).groups())
        # The code of the delivered e-mail is the one that works (the lost one was replaced).
        assert code_matches(code, person.code_hash)
        assert person.status == CitizenStatus.NOTIFIED
        assert person.code_expires_at == person.deadline
    renewed = JournalEntry.objects.filter(action=NOTICE_RENEWED)
    assert renewed.count() == 2
    assert {entry.details["essai"] for entry in renewed} == {1}


def test_after_every_retry_the_people_go_back_to_be_notified_again(
    wave, administrator, client, django_capture_on_commit_callbacks
):
    flaky_mail.REFUSED["left"] = 1 + EMAIL_RETRY_ATTEMPTS  # the batch of personne1 and personne2, every time
    wave = notify(wave, administrator, django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 1
    assert wave.status == Wave.Status.NOTIFIED and wave.undelivered_count == 2
    back = Citizen.objects.filter(wave=wave, status=CitizenStatus.IMPORTED)
    assert back.count() == 2
    for person in back:
        # No deadline runs for them, and no code of theirs works any more.
        assert person.deadline is None and person.code_hash == "" and person.notification_channel == ""
        assert JournalEntry.objects.filter(action=NOTICE_UNDELIVERED, citizen=person).count() == 1
        assert JournalEntry.objects.filter(action=NOTICE_RENEWED, citizen=person).count() == EMAIL_RETRY_ATTEMPTS

    client.force_login(administrator)
    page = client.get(reverse("campaign_detail", args=[wave.public_id])).content.decode()
    assert "2 courriels n’ont pas pu être remis" in page
    assert "Notifier à nouveau ces personnes" in page
    confirm = client.get(reverse("campaign_notify", args=[wave.public_id])).content.decode()
    assert "2 personnes recevront un courriel" in confirm

    flaky_mail.REFUSED["left"] = 0  # the mail server is back
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("campaign_notify", args=[wave.public_id]))
    wave.refresh_from_db()
    assert wave.status == Wave.Status.NOTIFIED
    assert not Citizen.objects.filter(wave=wave, status=CitizenStatus.IMPORTED).exists()
    assert len(mail.outbox) == 3


def test_a_person_who_tried_a_code_meanwhile_is_not_renewed(wave, administrator, django_capture_on_commit_callbacks):
    from mes.comptes.services.notification import notices_renew

    notify(wave, administrator, django_capture_on_commit_callbacks)
    person = Citizen.objects.filter(wave=wave, notification_channel="email").first()
    Citizen.objects.filter(pk=person.pk).update(code_failures=1)

    assert notices_renew(wave_id=wave.pk, public_ids=[str(person.public_id)], attempt=1) == []
    person.refresh_from_db()
    assert person.code_failures == 1


def test_a_lost_import_task_is_queued_again(administrator, client, monkeypatch, django_capture_on_commit_callbacks):
    from mes.comptes.tasks.campaigns import campaign_import

    def broker_down(*args, **kwargs):
        raise OperationalError("Connexion au broker impossible")

    monkeypatch.setattr(campaign_import, "delay", broker_down)
    client.force_login(administrator)
    body = (HEADER + "\n" + line(1, email="a@exemple.fr") + "\n").encode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("campaign_new"),
            {"name": "Vague perdue", "departments": "31", "file": SimpleUploadedFile("v.csv", body)},
        )
    assert response.status_code == 302  # the page does not fail
    wave = Wave.objects.get(name="Vague perdue")
    assert wave.status == Wave.Status.IMPORTING and wave.source_name

    # Too recent: nothing is queued again yet.
    assert waves_stalled().importing == []
    monkeypatch.undo()
    Wave.objects.filter(pk=wave.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert campaigns_resume_stalled.delay().get() == 1
    wave.refresh_from_db()
    assert wave.status == Wave.Status.IMPORTED and wave.imported_count == 1


def test_a_notification_whose_progress_stopped_is_queued_again(wave, administrator):
    wave_notify_start(wave=wave, actor=administrator)  # the task was never queued
    progress_set(wave.pk, phase="Notification en cours", percent=0)
    assert waves_stalled().notifying == []  # progress is fresh

    later = timezone.now() + timedelta(hours=1)
    assert [pk for pk, _actor in waves_stalled(now=later).notifying] == [wave.pk]


@pytest.mark.django_db(transaction=True)
def test_a_wave_being_imported_is_not_stalled(administrator):
    from django.db import connections

    wave = wave_create(name="En cours", departments=["31"], source_filename="x.csv", actor=administrator)
    Wave.objects.filter(pk=wave.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert [pk for pk, *_ in waves_stalled().importing] == [wave.pk]
    # Another connection holds the wave's row lock, as a running import does.
    other = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute("SELECT 1 FROM comptes_wave WHERE id = %s FOR UPDATE", [wave.pk])
        assert waves_stalled().importing == []
    finally:
        other.rollback()
        other.close()
