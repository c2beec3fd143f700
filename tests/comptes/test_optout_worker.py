"""The automatic creation job in real Celery workers (real Redis, the test database): SIGKILL, then two at once.

The runs are slowed down with the task's own knobs (small chunks and a pause between chunks, as an operator would
on a loaded database), so that a worker can be killed in the middle of one.
"""

import os
import re
import signal
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection

from mes.acces.services import journal_verify_chain
from mes.celery import app
from mes.comptes.models import CitizenStatus as S
from tests.celery_workers import start_worker, stop_workers
from tests.comptes.optout_people import counts, notified_people

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("CELERY_BROKER_URL")
TASK = "mes.comptes.tasks.optout.spaces_create_automatically"
NOW = datetime(2026, 7, 1, 1, 0, tzinfo=UTC)
PEOPLE = 3000

pytestmark = [
    pytest.mark.worker,
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _broker():
    if not BROKER:
        pytest.skip("CELERY_BROKER_URL n'est pas défini : pas de broker pour un vrai worker.")


def _worker(queue: str, log: Path, *extra_config: str) -> subprocess.Popen:
    return start_worker(queue, output=log.open("w"), loglevel="INFO", extra_config=extra_config)


_stop = stop_workers


def _wait_for(condition, what: str, timeout: float, *workers: subprocess.Popen, logs=()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for worker in workers:
            if worker.poll() is not None:
                pytest.fail(f"Un worker s'est arrêté : {' '.join(log.read_text() for log in logs)}")
        time.sleep(0.1)
    pytest.fail(f"Délai dépassé en attendant : {what}. {' '.join(log.read_text() for log in logs)}")


def _ready(*logs: Path):
    return lambda: all(" ready." in log.read_text() for log in logs)


def _other_sessions_on_the_database() -> int:
    """Sessions on the test database other than ours (a killed worker's session ends once PostgreSQL notices)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def _created() -> int:
    return counts().get(S.CREATED_AUTOMATICALLY, 0)


def _successes(*logs: Path) -> list[int]:
    """The ``created`` figure of every run a worker reported as finished."""
    found = []
    for log in logs:
        found += [
            int(n) for n in re.findall(rf"{re.escape(TASK)}\[[^\]]+\] succeeded in .*'created': (\d+)", log.read_text())
        ]
    return found


def _assert_everyone_created_once() -> None:
    final = counts()
    assert final[S.CREATED_AUTOMATICALLY] == PEOPLE  # nobody lost
    assert final[f"{S.CREATED_AUTOMATICALLY}:journal"] == (0, PEOPLE, 0)  # one journal row each, nobody twice
    assert S.NOTIFIED not in final
    assert journal_verify_chain().ok


def test_a_worker_killed_in_the_middle_of_the_job_loses_nobody_and_creates_nobody_twice(tmp_path):
    notified_people(PEOPLE, deadline=NOW - timedelta(days=1), notified_at=NOW - timedelta(days=42))
    queue = f"test-optout-{uuid.uuid4().hex[:8]}"
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = _worker(queue, first_log)
    second = None
    try:
        _wait_for(_ready(first_log), "le démarrage du worker", 30, first, logs=[first_log])
        # 60 chunks of 50 people, 50 ms apart: about 4 s of work.
        app.send_task(TASK, kwargs={"now": NOW.isoformat(), "chunk_size": 50, "pause": 0.05}, queue=queue)
        _wait_for(lambda: _created() >= 500, "un tiers du travail", 30, first, logs=[first_log])
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        # Its transaction in progress is rolled back (or its commit completes) when its session ends.
        _wait_for(lambda: _other_sessions_on_the_database() == 0, "la fin de la session du worker tué", 10)
        done_when_killed = _created()
        assert 0 < done_when_killed < PEOPLE, "the worker was not killed in the middle of the job"

        # The message was not acknowledged (acks_late): the new worker gets it back once its visibility timeout
        # (shortened for the test, 1 hour in production) has passed, and the run resumes.
        second = _worker(
            queue,
            second_log,
            'broker.transport_options=(dict){"visibility_timeout": 2, "unacked_restore_interval": 1,'
            ' "unacked_restore_throttle": 1}',
        )
        _wait_for(lambda: _successes(second_log), "la fin du travail repris", 40, second, logs=[second_log])
    finally:
        _stop(*[w for w in (first, second) if w is not None])
    assert sum(_successes(second_log)) == PEOPLE - done_when_killed
    _assert_everyone_created_once()


def test_two_workers_running_the_job_at_once_do_what_one_does(tmp_path):
    notified_people(PEOPLE, deadline=NOW - timedelta(days=1), notified_at=NOW - timedelta(days=42))
    queue = f"test-optout-{uuid.uuid4().hex[:8]}"
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = [_worker(queue, log) for log in logs]
    try:
        _wait_for(_ready(*logs), "le démarrage des workers", 30, *workers, logs=logs)
        # Two runs of the same job at once (two schedulers, a duplicated message...), one per worker.
        for _ in workers:
            app.send_task(TASK, kwargs={"now": NOW.isoformat(), "chunk_size": 50, "pause": 0.02}, queue=queue)
        _wait_for(lambda: len(_successes(*logs)) == 2, "la fin des deux travaux", 40, *workers, logs=logs)
    finally:
        _stop(*workers)
    per_worker = [sum(_successes(log)) for log in logs]
    assert sum(per_worker) == PEOPLE
    assert all(per_worker), f"both workers should have created people: {per_worker}"
    _assert_everyone_created_once()
