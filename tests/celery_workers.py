"""Real Celery worker processes for the tests, working on the test database through the configured broker."""

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
BROKER = os.environ.get("CELERY_BROKER_URL")


def test_database_url() -> str:
    """The URL of the database the tests run on (pytest-django's test database), for a worker process."""
    db = connection.settings_dict
    if db["HOST"].startswith("/"):
        return f"postgres://{quote(db['USER'])}@/{db['NAME']}?host={quote(db['HOST'])}"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{quote(db['USER'])}:{quote(db['PASSWORD'] or '')}@{db['HOST']}{port}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def start_worker(
    queue: str, *, output: IO | int, loglevel: str = "WARNING", extra_config: tuple[str, ...] = ()
) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mes.settings.test",
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": BROKER or "",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "mes", "worker", "--pool=solo", "-Q", queue,
        f"--loglevel={loglevel}", "--without-heartbeat", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    if extra_config:
        command += ["--", *extra_config]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, text=True)


def stop_workers(*workers: subprocess.Popen) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
