"""A real Celery worker process prepares an export through the configured broker, as in production."""

import subprocess
import time
import uuid

import pytest

from dossier.models import DossierExport
from mes.celery import app
from mes.comptes.models import Citizen
from tests.celery_workers import BROKER, start_worker, stop_workers
from tests.dossier.exports_data import make_document, make_measure, read_bundle, remove_citizen_files
from tests.factories import CitizenFactory


@pytest.mark.worker
@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_prepares_the_export_once():
    if not BROKER:
        pytest.skip("CELERY_BROKER_URL n'est pas défini : pas de broker pour un vrai worker.")
    citizen = CitizenFactory()
    make_measure(citizen)
    make_document(citizen)
    export = DossierExport.objects.create(citizen=citizen, requested_by=citizen.user)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = start_worker(queue, output=subprocess.PIPE)
    try:
        # The same message twice, as a redelivery would: the second finds nothing to claim.
        app.send_task("dossier.tasks.dossier_export_build", args=[export.pk], queue=queue)
        app.send_task("dossier.tasks.dossier_export_build", args=[export.pk], queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            export.refresh_from_db()
            if export.status == DossierExport.Status.DONE:
                break
            if worker.poll() is not None:
                pytest.fail(f"Le worker s'est arrêté : {worker.stdout.read()}")
            time.sleep(0.3)
        assert export.status == DossierExport.Status.DONE
        kinds = [entry["resource"]["resourceType"] for entry in read_bundle(export)["entry"]]
        assert kinds == ["Patient", "Observation", "Binary", "DocumentReference"]
        time.sleep(1)  # let the duplicate delivery run
        assert DossierExport.objects.get(pk=export.pk).file.name == export.file.name
    finally:
        stop_workers(worker)
        remove_citizen_files(Citizen.objects.values_list("public_id", flat=True))
