"""Nightly computation of everyone's prevention key dates (schedule in ``mes.celery``)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from django.utils.dateparse import parse_date

from agenda.services.prevention import prevention_dates_compute as prevention_dates_compute_run

# One run stops taking new chunks after this long and hands over to a fresh task, well before the time limits: at
# national scale the job is then several short tasks, none of which risks being cut in the middle of a chunk (a
# chunk of 50,000 people takes a few seconds).
RUN_SECONDS = 10 * 60


@shared_task(
    bind=True,
    name="agenda.tasks.prevention_dates_compute",
    # A worker killed mid-run leaves the message unacknowledged: it is delivered again, and the new run redoes the
    # chunks, which changes nothing where they were already right (the chunk in progress was rolled back).
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=RUN_SECONDS + 5 * 60,
    time_limit=RUN_SECONDS + 6 * 60,
    # Only transient database failures are retried; the run is idempotent, so a retry simply goes on.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=30,
    retry_backoff_max=15 * 60,
    max_retries=8,
)
def prevention_dates_compute(self, today: str | None = None, start_id: int | None = None) -> dict:
    """Compute the key dates of every citizen for ``today`` (ISO date; default: today in Paris) from ``start_id``."""
    day = (parse_date(today) if today else None) or timezone.localdate()
    result = prevention_dates_compute_run(today=day, start_id=start_id, max_seconds=RUN_SECONDS)
    if not result.finished:
        # The next run keeps the same day, so a run split in several tasks computes the same dates.
        self.apply_async(kwargs={"today": day.isoformat(), "start_id": result.next_id})
    return {
        "created": result.created,
        "updated": result.updated,
        "removed": result.removed,
        "chunks": result.chunks,
        "finished": result.finished,
    }
