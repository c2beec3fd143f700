"""Daily automatic creation of the spaces whose objection delay has passed (schedule in ``mes.celery``)."""

from datetime import datetime

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from mes.comptes.services.optout import DEFAULT_CHUNK_SIZE, spaces_create_automatically

# One run stops taking new chunks after this long and hands over to a fresh task, well before the time limits:
# a long wave is then several short tasks, none of which risks being cut in the middle of a chunk.
RUN_SECONDS = 10 * 60


@shared_task(
    bind=True,
    name="mes.comptes.tasks.optout.spaces_create_automatically",
    # A worker killed mid-run leaves the message unacknowledged: it is delivered again and the new run resumes from
    # the people still due (the chunk in progress was rolled back with the connection).
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
def spaces_create_automatically_task(
    self, now: str | None = None, chunk_size: int = DEFAULT_CHUNK_SIZE, pause: float = 0.0
) -> dict:
    """Create the spaces of everyone due at ``now`` (ISO 8601; default: when the first run of the day starts).

    ``chunk_size`` and ``pause`` (seconds between chunks) let an operator slow a run down on a loaded database.
    """
    at: datetime = (parse_datetime(now) if now else None) or timezone.now()
    result = spaces_create_automatically(now=at, chunk_size=chunk_size, max_seconds=RUN_SECONDS, pause=pause)
    if not result.finished:
        # The next run keeps the same reference time, so a run split in several tasks creates the same people.
        self.apply_async(kwargs={"now": at.isoformat(), "chunk_size": chunk_size, "pause": pause})
    return {"created": result.created, "chunks": result.chunks, "finished": result.finished}
