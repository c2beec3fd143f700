"""Automatic creation of the spaces whose objection delay has passed (décret 2021-1048, DOMAIN.md §4).

Everyone still ``notified`` once their ``deadline`` has passed — they neither activated nor objected — moves to
``created_automatically``. At national scale that is millions of people per wave, so the work is set-based: the
ids of the due people are cut into ranges of ``chunk_size`` ids, and each range is one transaction running one SQL
statement that updates the due people of the range and writes their journal rows. The rules are those of
``mes.comptes.services.lifecycle`` (allowed transition, timestamp field, journal action, MSS address format),
imported from there, not restated.

Guarantees:

- A chunk is all or nothing: its updates and its journal rows commit together or not at all. A crash (killed
  worker, lost connection) rolls back the chunk in progress; its people are still ``notified`` and the next run
  takes them. A run starts from the due people as they are, so it resumes where a crashed one stopped, and once
  everyone due is created a run changes nothing: the job is idempotent.
- Nobody twice: the update only touches rows whose status is still ``notified`` (re-checked by PostgreSQL on the
  latest row version after waiting for a concurrent writer), and the journal rows come from the rows it updated.
- Several workers at once: each range is claimed with a transaction-level advisory lock; a worker that finds a
  range taken moves on, and comes back to it at the end of its run, waiting for the lock this time, so that a range
  whose holder crashed is still done in this run (the guarded update makes that visit a no-op when the holder
  committed).
"""

import json
import logging
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone

from mes.acces.models import JournalEntry
from mes.comptes.models import Citizen, mss_address_for
from mes.comptes.models import CitizenStatus as S
from mes.comptes.services.lifecycle import JOURNAL_ACTIONS, TIMESTAMP_FIELDS, transition_allowed

logger = logging.getLogger(__name__)

SOURCE, TARGET = S.NOTIFIED, S.CREATED_AUTOMATICALLY
# The transition this job performs must stay one the state machine allows.
if not transition_allowed(SOURCE, TARGET):
    raise ImportError("lifecycle.ALLOWED no longer allows notified → created_automatically")

SYSTEM_LABEL = "Mon espace santé"
DEFAULT_CHUNK_SIZE = 10_000
# First key of the advisory locks of this job (the second is the range number): a fixed, named value.
LOCK_CLASS = zlib.crc32(b"comptes.optout.auto_creation") & 0x7FFFFFFF

# The MSS address format lives in ``mss_address_for``; split it around a marker to build the same text in SQL.
_MARKER = "\x00"
MSS_PREFIX, MSS_SUFFIX = mss_address_for(_MARKER).split(_MARKER)


def _column(name: str) -> str:
    return connection.ops.quote_name(Citizen._meta.get_field(name).column)


# One statement per chunk: the update of the due people of an id range (primary-key range scan, as a raw chunked
# UPDATE would do) and, from its RETURNING, one journal row per person updated, so that both are one unit and the
# journal rows are exactly the updated rows. An MSS address already set is kept, as in ``citizen_transition``.
_CHUNK_SQL = """
WITH created AS (
    UPDATE {citizen} AS c
    SET {status} = %(target)s,
        {timestamp} = %(now)s,
        {mss} = CASE WHEN c.{mss} = '' THEN %(mss_prefix)s || c.{ins} || %(mss_suffix)s ELSE c.{mss} END
    WHERE c.id BETWEEN %(first_id)s AND %(last_id)s AND c.{status} = %(source)s AND c.{deadline} <= %(now)s
    RETURNING c.id, c.{public_id}
), journal AS (
    INSERT INTO {journal} (actor_id, actor_label, action, citizen_id, object_type, object_id, details)
    SELECT NULL, %(actor_label)s, %(action)s, created.id, %(object_type)s, created.{public_id}::text,
           %(details)s::jsonb
    FROM created
    RETURNING 1
)
SELECT count(*) FROM journal
"""

_BOUNDS_SQL = "SELECT min(id), max(id) FROM {citizen} WHERE {status} = %(source)s AND {deadline} <= %(now)s"


def _sql(template: str) -> str:
    return template.format(
        citizen=connection.ops.quote_name(Citizen._meta.db_table),
        journal=connection.ops.quote_name(JournalEntry._meta.db_table),
        status=_column("status"),
        deadline=_column("deadline"),
        timestamp=_column(TIMESTAMP_FIELDS[TARGET]),
        mss=_column("mss_address"),
        ins=_column("ins"),
        public_id=_column("public_id"),
    )


def _chunk_params(*, now: datetime, first_id: int, last_id: int) -> dict:
    return {
        "first_id": first_id,
        "last_id": last_id,
        "now": now,
        "source": SOURCE.value,
        "target": TARGET.value,
        "mss_prefix": MSS_PREFIX,
        "mss_suffix": MSS_SUFFIX,
        "actor_label": SYSTEM_LABEL,
        "action": JOURNAL_ACTIONS[TARGET],
        "object_type": f"{Citizen._meta.app_label}.{Citizen._meta.model_name}",
        # The same details as ``citizen_transition`` writes for one person.
        "details": json.dumps({"from": SOURCE.value, "to": TARGET.value}),
    }


def due_bounds(*, now: datetime) -> tuple[int, int] | None:
    """The lowest and highest id of the people due at ``now``, or None when nobody is due."""
    with connection.cursor() as cursor:
        cursor.execute(_sql(_BOUNDS_SQL), {"source": SOURCE.value, "now": now})
        low, high = cursor.fetchone()
    return None if low is None else (low, high)


def spaces_create_chunk(*, now: datetime, first_id: int, last_id: int, wait: bool = False) -> int | None:
    """Create the spaces of the people due at ``now`` with an id in [first_id, last_id], in one transaction.

    Returns how many were created, or None when another worker holds the range and ``wait`` is False.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        lock = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        cursor.execute(f"SELECT {lock}(%s::int4, %s::int4)", [LOCK_CLASS, _range_key(first_id, last_id)])
        if not wait and not cursor.fetchone()[0]:
            return None
        cursor.execute(_sql(_CHUNK_SQL), _chunk_params(now=now, first_id=first_id, last_id=last_id))
        return cursor.fetchone()[0]


def _range_key(first_id: int, last_id: int) -> int:
    # Ranges are aligned on multiples of their size, so workers with the same chunk size agree on the keys.
    return (first_id // (last_id - first_id + 1)) % 0x7FFFFFFF


@dataclass
class RunResult:
    created: int = 0
    chunks: int = 0
    finished: bool = False  # False when stopped by ``max_seconds``: run again to go on
    skipped: list[int] = field(default_factory=list)  # ranges first found held by another worker


def spaces_create_automatically(
    *,
    now: datetime | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    max_seconds: float | None = None,
    pause: float = 0.0,
) -> RunResult:
    """Create the spaces of everyone due at ``now`` (default: now), range after range, each committed on its own.

    ``max_seconds`` bounds one call so that a task can hand over to a fresh run (``finished`` is then False; the
    next run starts from the people still due). ``pause`` (seconds between chunks) spreads the load on the database.
    """
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("spaces_create_automatically commits chunk by chunk: call it outside a transaction.")
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1.")
    now = now or timezone.now()
    result = RunResult()
    bounds = due_bounds(now=now)
    if bounds is None:
        result.finished = True
        return result
    stop_at = time.monotonic() + max_seconds if max_seconds is not None else None
    start = bounds[0] - bounds[0] % chunk_size
    for first_id in range(start, bounds[1] + 1, chunk_size):
        if stop_at is not None and time.monotonic() >= stop_at:
            break
        created = spaces_create_chunk(now=now, first_id=first_id, last_id=first_id + chunk_size - 1)
        result.chunks += 1
        if created is None:
            result.skipped.append(first_id)
            continue
        result.created += created
        if pause:
            time.sleep(pause)
    else:
        # Every range was visited; the ones another worker held are visited again, waiting for their lock.
        for first_id in result.skipped:
            created = spaces_create_chunk(now=now, first_id=first_id, last_id=first_id + chunk_size - 1, wait=True)
            result.created += created or 0
            result.chunks += 1
        result.finished = True
    logger.info(
        "Automatic creation: %s spaces in %s chunks (finished: %s, ranges held by another worker: %s)",
        result.created,
        result.chunks,
        result.finished,
        len(result.skipped),
    )
    return result
