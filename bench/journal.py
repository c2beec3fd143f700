"""Cost of the journal's hash chain on set-based writes.

Mass jobs (opt-out creation, imports) write their journal rows with one ``INSERT ... SELECT`` per chunk. The
seal trigger runs once per statement; this measures how much of a plain insert's throughput it keeps. Baseline: the
same ``INSERT ... SELECT`` into an identical table without triggers. Everything runs in transactions that are
rolled back, so the benchmark leaves no row behind (the journal is append-only).

Run: python bench/journal.py [rows per chunk] [rounds]
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings.dev")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

INSERT = """
INSERT INTO {table} (action, citizen_id, object_type, object_id, details)
SELECT 'bench.creation_automatique', g, 'comptes.citizen', g::text, jsonb_build_object('vague', 1)
FROM generate_series(1, %s) AS g
"""


def _timed_insert(table: str, rows: int) -> float:
    with transaction.atomic():
        with connection.cursor() as cursor:
            start = time.perf_counter()
            cursor.execute(INSERT.format(table=table), [rows])
            elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return elapsed


def main() -> int:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_journal_plain")
        # Same columns, defaults (its own identity sequence) and indexes, no triggers.
        cursor.execute("CREATE TABLE bench_journal_plain (LIKE acces_journalentry INCLUDING ALL)")
    try:
        plain, chained = [], []
        _timed_insert("bench_journal_plain", rows)  # warm-up
        for _ in range(rounds):
            plain.append(rows / _timed_insert("bench_journal_plain", rows))
            chained.append(rows / _timed_insert("acces_journalentry", rows))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_journal_plain")
    plain_rate, chained_rate = statistics.median(plain), statistics.median(chained)
    ratio = chained_rate / plain_rate
    print(f"rows per chunk: {rows}, rounds: {rounds}")
    print(f"plain INSERT ... SELECT:   {plain_rate:12,.0f} rows/s (median)")
    print(f"hash-chained journal rows: {chained_rate:12,.0f} rows/s (median)")
    print(f"GOAL journal_chain_vs_plain_insert {ratio:.2f} target >= 0.75")
    return 0


if __name__ == "__main__":
    sys.exit(main())
