"""Celery tasks of the dossier: thin, taking ids, idempotent (each claims its work by a guarded state change)."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from dossier.services.exports import export_build, export_claim, export_purge_expired

# An export of a very large dossier (thousands of documents) streams gigabytes through the temporary file and the
# storage: two hours at most, then the soft limit marks it failed with a message before the hard limit kills it.
EXPORT_TIME_LIMIT = 2 * 3600


@shared_task(
    name="dossier.tasks.dossier_export_build",
    # A worker killed mid-run leaves the message unacknowledged: it is delivered again, and the new delivery takes
    # the export over once its row shows no progress for STALE_AFTER (export_claim); until then it finds nothing.
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=EXPORT_TIME_LIMIT - 60,
    time_limit=EXPORT_TIME_LIMIT,
    # Only a database that cannot be reached at claim time is worth retrying; the claim makes a retry harmless.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=30,
    retry_backoff_max=10 * 60,
    max_retries=5,
)
def dossier_export_build(export_id: int) -> str:
    """Build one export (queued by ``export_request``); returns the export's final status, or ``skipped``."""
    if not export_claim(export_id=export_id):
        return "skipped"
    export = export_build(export_id=export_id)
    return export.status if export is not None else "skipped"


@shared_task(
    name="dossier.tasks.dossier_export_purge_expired",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=14 * 60,
    time_limit=15 * 60,
)
def dossier_export_purge_expired() -> dict:
    """Hourly (schedule in ``mes.celery``). Idempotent: a second run finds nothing left to expire."""
    return {"expired": export_purge_expired()}
