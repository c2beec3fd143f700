"""Exactly once under concurrency and crashes: two runs at the same time, a run meeting a claimed reminder, and a
worker process killed in the middle of sending (real database sessions, committed data)."""

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection, transaction

from agenda.models import Reminder, ReminderStatus
from agenda.services.reminders import reminders_schedule, reminders_send_due
from mes.comptes.models import Notification
from tests.agenda.reminder_helpers import DAY, add_event, paris
from tests.celery_workers import ROOT, test_database_url
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db(transaction=True)

START = paris(2027, 3, 16, 9, 30)
NOW = START - timedelta(days=1) + timedelta(hours=6)


def _reminders(count: int) -> list[Reminder]:
    for index in range(count):
        add_event(CitizenFactory(), starts_at=START + timedelta(hours=index % 5), reminder_minutes=DAY)
    assert reminders_schedule(now=NOW) == count
    return list(Reminder.objects.order_by("pk"))


def _own_connection(target):
    """``target`` for a thread: Django opens it its own database connection, closed when it ends."""

    def body(*args):
        try:
            return target(*args)
        finally:
            connection.close()

    return body


def test_two_runs_at_the_same_time_send_each_reminder_once():
    reminders = _reminders(8)
    start_together = threading.Barrier(2)
    original = locmem.EmailBackend.send_messages

    def slow_send(self, messages):
        time.sleep(0.15)  # an SMTP exchange: the other run works meanwhile
        return original(self, messages)

    def one_run():
        start_together.wait(timeout=10)
        return reminders_send_due(now=NOW)

    with mock.patch.object(locmem.EmailBackend, "send_messages", slow_send), ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(_own_connection(one_run)) for _ in range(2)]
        results = [run.result(timeout=60) for run in runs]

    assert sum(results) == len(reminders)
    assert all(result > 0 for result in results)  # both ran at the same time and shared the work
    assert len(mail.outbox) == len(reminders)
    assert len({message.extra_headers["Message-ID"] for message in mail.outbox}) == len(reminders)
    assert Notification.objects.count() == len(reminders)
    assert set(Reminder.objects.values_list("status", flat=True)) == {ReminderStatus.SENT}
    assert reminders_send_due(now=NOW) == 0 and len(mail.outbox) == len(reminders)


def test_a_run_skips_a_reminder_claimed_by_another_and_never_sends_it_twice():
    claimed, *others = _reminders(3)
    lock_taken, release = threading.Event(), threading.Event()

    def other_worker():
        # Another worker's transaction holds the claim (as while it talks to the SMTP server).
        with transaction.atomic():
            Reminder.objects.select_for_update().get(pk=claimed.pk)
            lock_taken.set()
            release.wait(timeout=30)

    pool = ThreadPoolExecutor(1)
    holder = pool.submit(_own_connection(other_worker))
    try:
        assert lock_taken.wait(timeout=10)
        started = time.monotonic()
        assert reminders_send_due(now=NOW) == len(others)  # without waiting for the lock
        assert time.monotonic() - started < 5
        assert Reminder.objects.get(pk=claimed.pk).status == ReminderStatus.PENDING
    finally:
        release.set()
        pool.shutdown(wait=True)
    assert holder.result() is None
    assert reminders_send_due(now=NOW) == 1
    assert reminders_send_due(now=NOW) == 0
    assert len(mail.outbox) == 3 and Notification.objects.count() == 3


KILLED_WORKER = """
import sys, time
from datetime import datetime
from pathlib import Path
from unittest import mock

import django

django.setup()
from django.core.mail.backends import locmem

from agenda.services.reminders import reminders_send_due

marker = Path(sys.argv[1])


def hang_in_smtp(self, messages):
    marker.write_text(messages[0].extra_headers["Message-ID"])
    time.sleep(60)  # killed here, in the middle of the SMTP exchange


with mock.patch.object(locmem.EmailBackend, "send_messages", hang_in_smtp):
    reminders_send_due(now=datetime.fromisoformat(sys.argv[2]))
"""


def test_a_worker_killed_while_sending_leaves_the_reminder_to_the_next_run(tmp_path: Path):
    [reminder] = _reminders(1)
    marker = tmp_path / "sending"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mes.settings.test", "DATABASE_URL": test_database_url()}
    worker = subprocess.Popen(
        [sys.executable, "-c", KILLED_WORKER, str(marker), NOW.isoformat()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            if worker.poll() is not None:
                pytest.fail(f"Le worker s'est arrêté : {worker.stdout.read()}")
            assert time.monotonic() < deadline, "le worker n'a pas commencé l'envoi"
            time.sleep(0.05)
        # Mid-send: the worker has written the notification and marked the row sent, uncommitted. Another run
        # sees the reminder neither sent nor claimable.
        assert reminders_send_due(now=NOW) == 0
        assert Reminder.objects.get().status == ReminderStatus.PENDING
        assert not Notification.objects.exists()
        worker.kill()  # SIGKILL: no exception handler, no rollback by the worker itself
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        worker.stdout.close()

    # PostgreSQL rolls the dead session's transaction back: the next run sends the reminder, once.
    sent, deadline = 0, time.monotonic() + 10
    while not sent and time.monotonic() < deadline:
        sent = reminders_send_due(now=NOW)
        time.sleep(0.05)
    assert sent == 1
    assert reminders_send_due(now=NOW) == 0
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (ReminderStatus.SENT, 1)
    assert Notification.objects.count() == 1
    [message] = mail.outbox
    # Had the SMTP server accepted the dead worker's e-mail, this one is the same message for mail clients.
    assert message.extra_headers["Message-ID"] == marker.read_text()
