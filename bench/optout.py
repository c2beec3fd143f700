"""Automatic creation of spaces at national scale: the job against a raw chunked SQL UPDATE of the same rows.

Fills the citizen table with 3.4 million notified people whose deadline has passed (the pilot's size, DOMAIN.md §4),
set-based with ``generate_series``. Each round takes a slice of them (default 1 million, a different slice per
round) and moves it to ``created_automatically`` twice, side by side:

- raw: ``UPDATE ... SET <the job's SET clause> WHERE id BETWEEN lo AND hi AND status = 'notified' AND deadline <= now``,
  10,000 ids per chunk — the best PostgreSQL does for this change with no journal;
- job: ``spaces_create_chunk`` (the unit of work of the daily task) on the same 10,000-id ranges: claim of the
  range with an advisory lock, then one statement that updates the due people and writes one sealed journal row
  per person.

The journal is append-only (its triggers refuse DELETE), so every round runs inside a transaction that is rolled
back, for both paths alike: each chunk is a savepoint inside it, as it is a transaction of its own in production.
Nothing is left behind but the bench citizens, which are deleted at the end. The cost of the final commit (one WAL
flush per 10,000-row chunk in production) is therefore not measured, for either path. Between two measurements the
table is vacuumed so that both start from the same state; the order of the two paths alternates between rounds.
The job's one query per run for the bounds of the due ids (a sequential scan of the citizen table without a partial
index on the waiting people) is timed and printed apart: it is paid once per run, not per row.

Run: DATABASE_URL=postgres://... python bench/optout.py [people in the table] [people per round] [rounds]
"""

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings.dev")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from mes.comptes.services import optout  # noqa: E402

MARKER = "BENCHOPTOUT"  # birth_name of the bench people, to find and delete them
CHUNK = 10_000

# 15 digits starting with 9: matches the INS format constraint, unique per row, and never a real person's INS
# (the first digit of a real one is the sex, 1 or 2, or 7/8 for temporary numbers).
FILL = """
INSERT INTO comptes_citizen (
    public_id, ins, birth_name, first_names, used_first_name, birth_date, sex, birthplace_code, contact_email,
    contact_phone, status, department, notification_channel, notified_at, deadline, closure_reason, mss_address,
    code_hash, code_failures)
SELECT gen_random_uuid(), '9' || lpad(g::text, 14, '0'), %(marker)s, 'Alice Marie', '', DATE '1980-05-17', 'F',
       '31555', '', '', 'notified', '31', 'letter', %(notified_at)s, %(deadline)s, '', '', '', 0
FROM generate_series(1, %(people)s) AS g
"""

RAW_UPDATE = """
UPDATE comptes_citizen AS c
SET status = %(target)s,
    auto_created_at = %(now)s,
    mss_address = CASE WHEN c.mss_address = '' THEN %(mss_prefix)s || c.ins || %(mss_suffix)s ELSE c.mss_address END
WHERE c.id BETWEEN %(lo)s AND %(hi)s AND c.status = %(source)s AND c.deadline <= %(now)s
"""


def _sql(statement: str, params=None, fetch: bool = False):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if fetch else cursor.rowcount


def _vacuum() -> None:
    _sql("VACUUM (ANALYZE) comptes_citizen")


def _raw_round(lo: int, hi: int, now) -> tuple[int, float]:
    done = 0
    params = {
        "target": optout.TARGET.value,
        "source": optout.SOURCE.value,
        "now": now,
        "mss_prefix": optout.MSS_PREFIX,
        "mss_suffix": optout.MSS_SUFFIX,
    }
    with transaction.atomic():
        start = time.perf_counter()
        for chunk_lo in range(lo, hi + 1, CHUNK):
            with transaction.atomic():
                done += _sql(RAW_UPDATE, {**params, "lo": chunk_lo, "hi": min(chunk_lo + CHUNK - 1, hi)})
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return done, elapsed


def _job_round(lo: int, hi: int, now) -> tuple[int, float]:
    done = 0
    with transaction.atomic():
        start = time.perf_counter()
        for chunk_lo in range(lo, hi + 1, CHUNK):
            done += optout.spaces_create_chunk(now=now, first_id=chunk_lo, last_id=min(chunk_lo + CHUNK - 1, hi))
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return done, elapsed


def main() -> int:
    people = int(sys.argv[1]) if len(sys.argv) > 1 else 3_400_000
    per_round = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    now = timezone.now()
    _sql("DELETE FROM comptes_citizen WHERE birth_name = %s", [MARKER])  # left over by an interrupted run
    try:
        start = time.perf_counter()
        _sql(
            FILL,
            {
                "marker": MARKER,
                "people": people,
                "notified_at": now - timedelta(days=45),
                "deadline": now - timedelta(days=4),
            },
        )
        _vacuum()
        print(f"filled {people:,} notified people in {time.perf_counter() - start:.1f} s")
        ((first_id, last_id),) = _sql(
            "SELECT min(id), max(id) FROM comptes_citizen WHERE birth_name = %s", [MARKER], fetch=True
        )
        other_due = _sql(
            "SELECT count(*) FROM comptes_citizen WHERE status = 'notified' AND birth_name <> %s", [MARKER], fetch=True
        )[0][0]
        if other_due or last_id - first_id + 1 != people:
            print("the table holds other notified people or the bench ids are not contiguous", file=sys.stderr)
            return 1
        start = time.perf_counter()
        optout.due_bounds(now=now)
        print(f"bounds of the due ids (once per run): {time.perf_counter() - start:.2f} s")
        raw_rates, job_rates = [], []
        for number in range(rounds):
            lo = first_id + (number * per_round) % people
            hi = min(lo + per_round - 1, last_id)
            order = [("raw", _raw_round), ("job", _job_round)]
            if number % 2:
                order.reverse()
            for name, run in order:
                _vacuum()
                done, elapsed = run(lo, hi, now)
                if done != hi - lo + 1:
                    print(f"{name}: {done} rows instead of {hi - lo + 1}", file=sys.stderr)
                    return 1
                (raw_rates if name == "raw" else job_rates).append(done / elapsed)
                print(f"round {number + 1} {name}: {done:,} rows in {elapsed:.2f} s = {done / elapsed:,.0f} rows/s")
    finally:
        _sql("DELETE FROM comptes_citizen WHERE birth_name = %s", [MARKER])
        _vacuum()
    raw_rate, job_rate = statistics.median(raw_rates), statistics.median(job_rates)
    print(f"people in the table: {people:,}, per round: {per_round:,}, rounds: {rounds}, chunk: {CHUNK:,}")
    print(f"raw chunked UPDATE:               {raw_rate:12,.0f} rows/s (median)")
    print(f"job (update + sealed journal):    {job_rate:12,.0f} rows/s (median)")
    print(f"GOAL optout_vs_raw_update {job_rate / raw_rate:.2f} target >= 0.50")
    return 0


if __name__ == "__main__":
    sys.exit(main())
