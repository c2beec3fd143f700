"""The beat task ``agenda.tasks.reminders_send``: registered under its name, scheduled every minute, runs inline in the
test settings and in real worker processes, where two workers running it at once still send each reminder once."""

import subprocess
import time
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from agenda.models import Reminder, ReminderStatus
from agenda.tasks import reminders_send
from mes.celery import app
from mes.comptes.models import Notification
from tests.agenda.reminder_helpers import PARIS, add_event
from tests.celery_workers import BROKER, start_worker, stop_workers
from tests.factories import CitizenFactory


def _due_now(citizen, minutes_ahead: int = 30):
    """An appointment in ``minutes_ahead`` minutes with a one-hour reminder: due at the current time."""
    start = (timezone.now() + timedelta(minutes=minutes_ahead)).astimezone(PARIS)
    return add_event(citizen, starts_at=start, reminder_minutes=60)


def test_the_task_is_registered_and_scheduled_every_minute():
    assert reminders_send.name == "agenda.tasks.reminders_send"
    assert app.tasks["agenda.tasks.reminders_send"].run.__module__ == "agenda.tasks.reminders"
    entry = app.conf.beat_schedule["agenda-reminders-every-minute"]
    assert entry["task"] == reminders_send.name
    assert entry["schedule"].minute == set(range(60))
    assert reminders_send.acks_late and reminders_send.reject_on_worker_lost
    assert reminders_send.soft_time_limit < reminders_send.time_limit


@pytest.mark.django_db
def test_the_task_called_directly_schedules_and_sends(citizen):
    _due_now(citizen)
    assert reminders_send() == {"created": 1, "sent": 1}
    assert reminders_send() == {"created": 0, "sent": 0}
    assert len(mail.outbox) == 1 and Notification.objects.filter(user=citizen.user).count() == 1


@pytest.mark.django_db
def test_the_task_queued_runs_inline_with_the_test_settings(citizen, other_citizen):
    _due_now(citizen)
    _due_now(other_citizen, minutes_ahead=45)
    assert reminders_send.delay().get(timeout=10) == {"created": 2, "sent": 2}
    assert reminders_send.delay().get(timeout=10) == {"created": 0, "sent": 0}
    assert sorted(m.to[0] for m in mail.outbox) == sorted([citizen.user.email, other_citizen.user.email])


@pytest.mark.worker
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
@pytest.mark.django_db(transaction=True)
def test_two_real_workers_running_the_job_at_once_send_each_reminder_once():
    if not BROKER:
        pytest.skip("CELERY_BROKER_URL n'est pas défini : pas de broker pour de vrais workers.")
    citizens = [CitizenFactory() for _ in range(6)]
    for index, citizen in enumerate(citizens):
        _due_now(citizen, minutes_ahead=20 + index)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    workers = [start_worker(queue, output=subprocess.PIPE) for _ in range(2)]
    try:
        # The job queued several times (beat twice, a redelivery): both workers run it at the same time.
        for _ in range(4):
            app.send_task("agenda.tasks.reminders_send", queue=queue)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if Reminder.objects.filter(status=ReminderStatus.SENT).count() == len(citizens):
                break
            for worker in workers:
                if worker.poll() is not None:
                    pytest.fail(f"Un worker s'est arrêté : {worker.stdout.read()}")
            time.sleep(0.3)
        time.sleep(2)  # let the remaining runs finish: they must find nothing left to send
    finally:
        stop_workers(*workers)
    assert Reminder.objects.count() == len(citizens)
    assert set(Reminder.objects.values_list("status", flat=True)) == {ReminderStatus.SENT}
    for citizen in citizens:
        assert Notification.objects.filter(user=citizen.user).count() == 1
