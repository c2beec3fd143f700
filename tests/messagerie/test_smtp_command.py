"""``manage.py smtp_ingress`` as it runs in production: its own process, stopped by SIGTERM."""

import os
import re
import signal
import smtplib
import subprocess
import sys
import threading

import pytest

from messagerie.models import Message
from tests.celery_workers import ROOT, test_database_url
from tests.messagerie.mime_samples import DOCTOR, mail, patient_address, pdf_bytes

pytestmark = pytest.mark.django_db(transaction=True)

LISTENING = re.compile(r"à l’écoute sur ([0-9.]+):(\d+)")


def start(tmp_path, *arguments: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mes.settings.test",
        "DATABASE_URL": test_database_url(),
        "MES_DATA_DIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "smtp_ingress", *arguments],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_line(process: subprocess.Popen, pattern: re.Pattern, timeout: float = 60) -> re.Match:
    found: list = []

    def read() -> None:
        for line in process.stdout:
            found.append(line)
            if pattern.search(line):
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    match = next((pattern.search(line) for line in found if pattern.search(line)), None)
    assert match is not None, "".join(found)
    return match


def test_the_command_serves_smtp_until_sigterm(citizen, tmp_path):
    process = start(tmp_path, "--host", "127.0.0.1", "--port", "0")
    try:
        host, port = wait_for_line(process, LISTENING).groups()
        to = patient_address(citizen)
        with smtplib.SMTP(host, int(port), timeout=30) as client:
            refused = client.sendmail(DOCTOR, [to], mail(to=to, attachments=[("cr.pdf", "application/pdf",
                                                                              pdf_bytes())]))  # fmt: skip
        assert refused == {}
        message = Message.objects.get(citizen=citizen)
        assert (tmp_path / "test-media" / message.attachments.get().file.name).is_file()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "Serveur SMTP arrêté." in output


def test_the_command_says_in_french_when_it_cannot_listen(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = start(tmp_path, "--host", "127.0.0.1", "--port", str(taken.getsockname()[1]))
        output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    assert "Le serveur SMTP n’a pas pu démarrer" in output
