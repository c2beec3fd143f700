"""Throughput of the campaign import against PostgreSQL's own limit, raw COPY.

A valid CSV of insured people (1 million lines by default) is generated in a temporary file, with beside it the same
people as ready-made rows of ``comptes_citizen`` (COPY text format). Each round measures, side by side:
- raw COPY (the baseline of the goal): ``COPY comptes_citizen FROM STDIN`` of the ready-made rows, streamed from
  Python by blocks of 1 MiB — PostgreSQL storing these people in their table, with its indexes and its foreign key
  checked (``SET CONSTRAINTS ALL IMMEDIATE``), and no check or transformation of ours at all;
- raw COPY into a plain table (shown for information): the CSV file into a table of one text column per CSV column,
  without index. No import can reach a large share of it: storing the same people in ``comptes_citizen`` by raw COPY
  alone already runs at about a tenth of its speed (indexes, unique checks, WAL of a wider row);
- our path: ``wave_import`` (mes.comptes.services.campaigns), the service the import task runs: decoding, COPY into
  the staging table, set-based checks, INSERT into comptes_citizen with its indexes, the journal row, then
  ``SET CONSTRAINTS ALL IMMEDIATE`` so that the deferred foreign-key checks of the commit are paid inside the timing.

Each measured import runs inside a transaction that is rolled back (the journal is append-only, so nothing could be
deleted afterwards): the benchmark leaves no citizen, wave or journal row behind, and drops its table and files. The
tables are vacuumed between rounds (not timed), so that a round does not pay for the dead rows of the previous one.

Run: python bench/campaign_import.py [lines] [rounds]
"""

import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings.dev")

import django

django.setup()

from django.core.files import File  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from mes.comptes.identifiers import ins_key  # noqa: E402
from mes.comptes.models import Wave  # noqa: E402
from mes.comptes.services.campaigns import COLUMNS, wave_create, wave_import  # noqa: E402

BLOCK = 1 << 20
DEPARTMENTS = ("31", "44", "80")


def write_csv(path: Path, lines: int) -> None:
    """``lines`` valid, distinct people, each with a postal address: one in three without e-mail address."""
    start = date(1940, 1, 1)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(";".join(COLUMNS) + "\n")
        for n in range(lines):
            birth = start + timedelta(days=n % 25_000)
            sex = 1 + n % 2
            department = DEPARTMENTS[n % 3]
            commune = f"{(n // 3) % 1000:03d}"
            order = f"{(n // 3000) % 1000:03d}"
            nir = f"{sex}{birth:%y%m}{department}{commune}{order}"
            email = f"personne{n}@exemple.fr" if n % 3 else ""
            out.write(
                f"{nir}{ins_key(nir)};NOM{n};Prénom{n} Second;{birth:%d/%m/%Y};{'MF'[n % 2]};"
                f"{department}{commune};{department};{email};06{n % 100_000_000:08d};"
                f"{n % 200 + 1} rue de la République;{'Bâtiment B' if n % 5 == 0 else ''};"
                f"{department}000;Ville{n % 1000}\n"
            )


# The columns of comptes_citizen the ready-made rows fill (the others take their database defaults).
CITIZEN_COLUMNS = (
    "public_id, ins, birth_name, first_names, used_first_name, birth_date, sex, birthplace_code, contact_email, "
    "contact_phone, closure_reason, code_failures, code_hash, department, mss_address, notification_channel, status, "
    "wave_id, address_line, address_complement, postal_code, city"
)


def write_citizen_rows(csv_path: Path, rows_path: Path, wave_id: int) -> None:
    """The people of the CSV as rows of comptes_citizen (COPY text format), as the import would store them."""
    with csv_path.open(encoding="utf-8") as source, rows_path.open("w", encoding="utf-8", newline="\n") as out:
        next(source)
        for line in source:
            ins, name, first, birth, sex, place, dept, email, phone, street, more, postal, city = line.rstrip(
                "\n"
            ).split(";")
            day, month, year = birth.split("/")
            out.write(
                f"{uuid.uuid4()}\t{ins}\t{name.upper()}\t{first}\t\t{year}-{month}-{day}\t{sex}\t{place}\t{email}\t"
                f"{phone}\t\t0\t\t{dept}\t\t\timported\t{wave_id}\t{street}\t{more}\t{postal}\t{city}\n"
            )


def _timed_copy(sql: str, path: Path, *, immediate: bool = False) -> float:
    with transaction.atomic(), connection.cursor() as cursor:
        start = time.perf_counter()
        with path.open("rb") as source, cursor.copy(sql) as copy:
            while block := source.read(BLOCK):
                copy.write(block)
        if immediate:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        elapsed = time.perf_counter() - start
        transaction.set_rollback(True)
    return elapsed


def raw_copy_plain(path: Path) -> float:
    return _timed_copy("COPY bench_campaign_plain FROM STDIN WITH (FORMAT csv, DELIMITER ';', HEADER)", path)


def raw_copy_citizens(rows_path: Path) -> float:
    return _timed_copy(f"COPY comptes_citizen ({CITIZEN_COLUMNS}) FROM STDIN", rows_path, immediate=True)


def our_import(path: Path) -> tuple[float, int]:
    with transaction.atomic():
        wave = wave_create(name="bench", departments=list(DEPARTMENTS), source_filename=path.name, actor=None)
        with path.open("rb") as source:
            name = default_storage.save(f"campagnes/imports/bench-{wave.public_id}.csv", File(source))
        try:
            start = time.perf_counter()
            wave = wave_import(wave_id=wave.pk, source_name=name, actor=None)
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            elapsed = time.perf_counter() - start
        finally:
            if default_storage.exists(name):
                default_storage.delete(name)
            if wave.rejected_report:
                wave.rejected_report.delete(save=False)
        if wave.status != "imported" or wave.rejected_count:
            raise SystemExit(f"import failed: {wave.status} {wave.error_message} ({wave.rejected_count} rejected)")
        transaction.set_rollback(True)
    return elapsed, wave.imported_count


def vacuum() -> None:
    """A rolled-back round leaves dead rows and index entries behind (the same INS each round): without this, each
    round would check its unique index against the previous rounds' dead entries. Not timed."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM comptes_citizen")
        cursor.execute("VACUUM bench_campaign_plain")


def main() -> int:
    lines = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    # The wave the ready-made rows point to (their foreign key is checked): created for the run, deleted after it.
    wave = Wave.objects.create(name="bench raw copy", departments=list(DEPARTMENTS), status=Wave.Status.IMPORTED)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "campagne.csv"
        rows_path = Path(folder) / "citoyens.copy"
        write_csv(path, lines)
        write_citizen_rows(path, rows_path, wave.pk)
        size = path.stat().st_size
        columns = ", ".join(f"{name} text" for name in COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_campaign_plain")
            cursor.execute(f"CREATE TABLE bench_campaign_plain ({columns})")
        try:
            plain_rates, raw_rates, our_rates = [], [], []
            for _ in range(rounds):
                plain_rates.append(lines / raw_copy_plain(path))
                vacuum()
                raw_rates.append(lines / raw_copy_citizens(rows_path))
                vacuum()
                elapsed, imported = our_import(path)
                if imported != lines:
                    raise SystemExit(f"imported {imported} of {lines} lines")
                our_rates.append(lines / elapsed)
                vacuum()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS bench_campaign_plain")
            Wave.objects.filter(pk=wave.pk).delete()
    plain_rate = statistics.median(plain_rates)
    raw_rate, our_rate = statistics.median(raw_rates), statistics.median(our_rates)
    print(f"lines: {lines:,} ({size / 1024**2:.0f} MiB), rounds: {rounds}")
    print(f"raw COPY into a plain text table:        {plain_rate:12,.0f} rows/s (median, for information)")
    print(f"raw COPY into comptes_citizen:           {raw_rate:12,.0f} rows/s (median, baseline)")
    print(f"campaign import (service, checks incl.): {our_rate:12,.0f} rows/s (median)")
    print(f"import vs plain-table COPY: {our_rate / plain_rate:.2f} (information)")
    print(f"GOAL import_vs_copy {our_rate / raw_rate:.2f} target >= 0.30")
    return 0


if __name__ == "__main__":
    sys.exit(main())
