"""A real Celery worker process, against the configured broker, runs a task on the test database."""

import subprocess
import time
import uuid

import pytest

from mes.acces.models import JournalEntry
from mes.acces.services import journal_append
from mes.celery import app
from tests.celery_workers import BROKER, start_worker, stop_workers


def test_celery_configuration():
    app.loader.import_default_modules()
    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit and conf.task_soft_time_limit < conf.task_time_limit
    assert "journal-verify-nightly" in conf.beat_schedule
    for name, entry in conf.beat_schedule.items():
        assert entry["task"] in app.tasks, name


@pytest.mark.worker
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_journal_verification():
    if not BROKER:
        pytest.skip("CELERY_BROKER_URL n'est pas défini : pas de broker pour un vrai worker.")
    journal_append(actor=None, action="test.avant_worker")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = start_worker(queue, output=subprocess.PIPE)
    try:
        app.send_task("mes.acces.tasks.journal_verify", queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if JournalEntry.objects.filter(action="journal.verification").exists():
                break
            if worker.poll() is not None:
                pytest.fail(f"Le worker s'est arrêté : {worker.stdout.read()}")
            time.sleep(0.3)
        entry = JournalEntry.objects.get(action="journal.verification")
        assert entry.details["ok"] is True
        assert entry.details["checked"] == 1
    finally:
        stop_workers(worker)
