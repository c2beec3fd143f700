"""Opt-out campaigns: create a wave, import its CSV of insured people, notify them (e-mail or printed letter).

Import — the whole file in one transaction, so that a failure leaves no citizen row behind:
1. the file is decoded while it streams into a temporary table by ``COPY`` (one text column per line, numbered by an
   identity); a block that is not UTF-8 is decoded line by line, and each undecodable line is rejected alone;
2. one ``INSERT ... SELECT`` splits and checks every line with the SQL functions of migration 0003 (the same rules
   as ``mes.comptes.identifiers``) and keeps the first reason of each rejected line, later duplicates included;
3. one ``INSERT ... SELECT ... ON CONFLICT (ins) DO NOTHING`` creates the citizens (status ``imported``): a person
   already known, from any wave, is counted as « déjà connue » and never duplicated;
4. the rejected lines are written as a CSV report by ``COPY ... TO STDOUT``.
Progress goes to the cache (Redis in production), which other processes read while the transaction is still open.

Notification — chunk by chunk, each chunk in its own transaction (state, code hash, journal rows and letter PDF
together), so that an interrupted notification resumes where it stopped: codes are drawn in Python, only their keyed
hashes reach the database (``COPY`` into a temporary table, then one ``UPDATE ... FROM``), e-mails are sent after the
commit, letters are one PDF page per person in batches of ``CAMPAIGN_LETTER_BATCH_SIZE``.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.acces.journal import register_action
from mes.acces.services import journal_append
from mes.comptes.models import User, Wave

logger = logging.getLogger(__name__)

WAVE_CREATED = "campagne.vague.creee"
WAVE_IMPORTED = "campagne.vague.importee"
WAVE_NOTIFIED = "campagne.vague.notifiee"
register_action(WAVE_CREATED, gettext_lazy("Création d’une vague de notification"))
register_action(WAVE_IMPORTED, gettext_lazy("Import du fichier d’une vague de notification"))
register_action(WAVE_NOTIFIED, gettext_lazy("Notification d’une vague"))

# The columns of the file, in the documented order (docs/campagnes.md); the header may list them in any order.
COLUMNS = (
    "ins",
    "nom_naissance",
    "prenoms",
    "date_naissance",
    "sexe",
    "code_lieu_naissance",
    "departement",
    "email",
    "telephone",
    "adresse",
    "complement_adresse",
    "code_postal",
    "commune",
)
# The contact columns may be absent from the header (a file of people who all have an e-mail needs no address).
OPTIONAL_COLUMNS = frozenset({"email", "telephone", "adresse", "complement_adresse", "code_postal", "commune"})
REQUIRED_COLUMNS = frozenset(COLUMNS) - OPTIONAL_COLUMNS
DEPARTMENT_RE = re.compile(r"^(0[1-9]|1[0-9]|2[1-9]|2A|2B|[3-8][0-9]|9[0-5]|97[1-46])$")

READ_BLOCK = 1 << 20  # bytes read and decoded at once
PROGRESS_TIMEOUT = 24 * 3600
# The separator and quote of the internal COPY: control characters that a line of text never contains (a line that
# does is rejected before COPY), so each line lands whole in one column.
_COPY_DELIMITER = "\x1f"
_COPY_QUOTE = "\x1e"


class CampaignError(Exception):
    """An action on a wave is refused: a French message for the administrator."""


class CampaignFileError(CampaignError):
    """The file as a whole is refused (size, header, empty file)."""


# --- Progress -------------------------------------------------------------------------------------------------


def _progress_key(wave_id: int) -> str:
    return f"campagnes:progression:{wave_id}"


def progress_set(wave_id: int, *, phase: str, percent: float, lines: int | None = None) -> None:
    cache.set(
        _progress_key(wave_id),
        {"phase": phase, "percent": round(max(0.0, min(100.0, percent)), 1), "lines": lines, "at": time.time()},
        PROGRESS_TIMEOUT,
    )


def progress_get(wave_id: int) -> dict | None:
    return cache.get(_progress_key(wave_id))


# --- Wave creation --------------------------------------------------------------------------------------------


def departments_parse(value: str) -> list[str]:
    """« 31, 44 80 » → ["31", "44", "80"]; a code that is not a French département is refused in French."""
    codes = [code.upper().zfill(2) for code in re.split(r"[\s,;]+", value or "") if code]
    wrong = [code for code in codes if not DEPARTMENT_RE.match(code)]
    if wrong:
        raise CampaignFileError(
            _("Département inconnu : %(codes)s (codes attendus : 01 à 95, 2A, 2B, 971 à 976).")
            % {"codes": ", ".join(wrong)}
        )
    return list(dict.fromkeys(codes))


@transaction.atomic
def wave_create(*, name: str, departments: list[str], source_filename: str, actor: User) -> Wave:
    wave = Wave.objects.create(
        name=name,
        departments=departments,
        source_filename=source_filename[:255],
        created_by=actor,
        status=Wave.Status.IMPORTING,
    )
    journal_append(
        actor=actor,
        action=WAVE_CREATED,
        obj=wave,
        details={"nom": name, "departements": departments, "fichier": wave.source_filename},
    )
    progress_set(wave.pk, phase=_("En attente de traitement"), percent=0)
    return wave


def wave_store_upload(*, wave: Wave, upload: File) -> str:
    """Keep the uploaded file in the default storage (S3 in production) for the worker; returns its name, also kept
    on the wave so that a lost import task can be queued again (``waves_stalled``)."""
    wave.source_name = default_storage.save(f"campagnes/imports/{wave.public_id}.csv", upload)
    wave.save(update_fields=["source_name"])
    return wave.source_name


@dataclass(frozen=True)
class StalledWaves:
    importing: list[tuple[int, str, int | None]]  # (wave id, stored file, administrator id)
    notifying: list[tuple[int, int | None]]  # (wave id, administrator id)


def waves_stalled(*, now: datetime | None = None) -> StalledWaves:
    """The waves whose task was lost (the broker refused it, or a worker died and the message is gone).

    An import holds its wave's row lock for its whole transaction: an importing wave that is not locked is not being
    imported, and is queued again once ``CAMPAIGN_STALL_MINUTES`` have passed since its creation (a task merely
    waiting in a busy queue gets a twin, which finds the wave imported and stops). A notifying wave is stalled when
    its progress has not moved for that long; its chunks claim people with ``SKIP LOCKED``, so a second run never
    notifies anyone twice.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.CAMPAIGN_STALL_MINUTES)
    with transaction.atomic():
        importing = list(
            Wave.objects.select_for_update(skip_locked=True)
            .filter(status=Wave.Status.IMPORTING, created_at__lt=cutoff)
            .values_list("pk", "source_name", "created_by_id")
        )
    notifying = []
    for pk, actor_id in Wave.objects.filter(status=Wave.Status.NOTIFYING).values_list("pk", "created_by_id"):
        progress = progress_get(pk)
        if progress is None or progress.get("at", 0) < cutoff.timestamp():
            notifying.append((pk, actor_id))
    return StalledWaves(importing=importing, notifying=notifying)


# --- Import ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    total_lines: int
    imported: int
    duplicates: int
    rejected: int


class _Streamer:
    """Reads the file (after its header) by blocks of whole lines, decodes them and writes them to COPY.

    The common case costs one ``decode`` per megabyte. A block that does not decode, or that holds a control
    character COPY would misread, is handled line by line: the faulty lines go to ``rejects`` with their number and
    an empty line takes their place, so that the identity numbering of the staging table stays the file's.
    """

    def __init__(self, source: IO[bytes], *, first_line: int, total_bytes: int, on_progress: Callable) -> None:
        self.source = source
        self.next_line = first_line  # the file line number of the next line to write
        self.total_bytes = total_bytes
        self.read_bytes = 0
        self.on_progress = on_progress
        self.rejects: list[tuple[int, str, str]] = []

    def blocks(self) -> Iterator[str]:
        pending = b""
        while True:
            data = self.source.read(READ_BLOCK)
            self.read_bytes += len(data)
            if not data:
                break
            data = pending + data
            cut = data.rfind(b"\n")
            if cut < 0:
                pending = data
                continue
            pending = data[cut + 1 :]
            yield self._decode(data[: cut + 1])
            self.on_progress(self.read_bytes, self.next_line)
        if pending:
            yield self._decode(pending + b"\n")

    def _decode(self, block: bytes) -> str:
        count = block.count(b"\n")
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and not _has_control(text):
            self.next_line += count
            return _protect_end_marker(text.replace("\r\n", "\n").replace("\r", ""))
        out = []
        for raw in block.split(b"\n")[:-1]:
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.rejects.append(
                    (
                        self.next_line,
                        _("Ligne illisible : le fichier doit être encodé en UTF-8."),
                        raw.decode("utf-8", "replace"),
                    )
                )
                line = ""
            line = line.rstrip("\r").replace("\r", "")
            if _has_control(line):
                self.rejects.append((self.next_line, _("Caractère de contrôle interdit dans la ligne."), line))
                line = ""
            out.append(line)
            self.next_line += 1
        return _protect_end_marker("\n".join(out) + "\n")


def _protect_end_marker(text: str) -> str:
    """A line made of « \\. » alone would end COPY's data early: it is quoted, so it stays an ordinary line."""
    if "\\." not in text:
        return text
    return "\n".join(f"{_COPY_QUOTE}{line}{_COPY_QUOTE}" if line == "\\." else line for line in text.split("\n"))


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _has_control(text: str) -> bool:
    return _CONTROL_RE.search(text) is not None


def _read_header(source: IO[bytes]) -> dict[str, int]:
    """The header line: which column holds which field (1-based, for SQL arrays)."""
    raw = source.readline(64 * 1024)
    if not raw:
        raise CampaignFileError(_("Le fichier est vide."))
    try:
        header = raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise CampaignFileError(
            _("La ligne d’en-tête n’est pas lisible : le fichier doit être encodé en UTF-8.")
        ) from None
    names = [name.strip().strip('"').strip().lower() for name in header.split(";")]
    unknown = [name for name in names if name not in COLUMNS]
    missing = sorted(REQUIRED_COLUMNS - set(names))
    if unknown or missing or len(set(names)) != len(names):
        raise CampaignFileError(
            _(
                "La ligne d’en-tête est incorrecte (colonnes séparées par « ; ») : attendu %(expected)s, "
                "reçu %(received)s."
            )
            % {"expected": ";".join(COLUMNS), "received": header[:300]}
        )
    return {name: position + 1 for position, name in enumerate(names)}


def _field(columns: dict[str, int], name: str) -> str:
    """SQL expression of one trimmed field of the split line (empty text when the column is absent)."""
    if name not in columns:
        return "''"
    return f"btrim(f[{columns[name]}], E' \\t\"')"


# One pass over the staging table: split, normalise, and the first reason of refusal of each line. Each level is
# fenced by OFFSET 0, so that a normalised field is computed once per line and the checks read it as a plain column.
_PARSE_SQL = """
CREATE UNLOGGED TABLE {parsed} AS
SELECT line, raw, ins, birth_name, first_names, birth_date, sex, birthplace_code, department, email, phone,
       address_line, address_complement, postal_code, city,
       CASE
           WHEN n_fields <> {n_columns} THEN
               'Nombre de colonnes incorrect : ' || n_fields::text || ' au lieu de {n_columns} (séparateur « ; »).'
           WHEN ins = '' THEN 'Le matricule INS est obligatoire.'
           WHEN ins_error IS NOT NULL THEN ins_error
           WHEN birth_name = '' THEN 'Le nom de naissance est obligatoire.'
           WHEN length(birth_name) > 100 THEN 'Le nom de naissance dépasse 100 caractères.'
           WHEN first_names = '' THEN 'Les prénoms de naissance sont obligatoires.'
           WHEN length(first_names) > 200 THEN 'Les prénoms de naissance dépassent 200 caractères.'
           WHEN birth_date IS NULL THEN
               'Date de naissance invalide (« ' || left(birth_date_text, 20) || ' ») : format JJ/MM/AAAA attendu.'
           WHEN birth_date > current_date THEN 'La date de naissance est dans le futur.'
           WHEN sex NOT IN ('M', 'F', 'I') THEN
               'Sexe invalide (« ' || left(sex, 10) || ' ») : M, F ou I attendu.'
           WHEN length(birthplace_code) <> 5 OR NOT comptes_digits_only(
                   left(birthplace_code, 1) || translate(substr(birthplace_code, 2, 1), 'AB', '00')
                   || substr(birthplace_code, 3)) THEN
               'Code du lieu de naissance invalide (« ' || left(birthplace_code, 10)
               || ' ») : code INSEE de 5 caractères attendu.'
           WHEN NOT comptes_department_valid(department) THEN
               'Département invalide (« ' || left(department, 10) || ' »).'
           WHEN %(restricted)s AND department <> ALL(%(departments)s::text[]) THEN
               'Le département ' || department || ' ne fait pas partie de cette vague.'
           WHEN email <> '' AND (length(email) > 254 OR email !~ '^[^@\\s;<>,]+@[^@\\s;<>,]+\\.[^@\\s;<>,.]+$') THEN
               'Adresse électronique invalide (« ' || left(email, 60) || ' »).'
           WHEN phone <> '' AND (length(phone) NOT BETWEEN 6 AND 16 OR NOT comptes_digits_only(
                   CASE WHEN left(phone, 1) = '+' THEN substr(phone, 2) ELSE phone END)) THEN
               'Numéro de téléphone invalide (« ' || left(phone, 25) || ' »).'
           WHEN length(address_line) > 200 THEN 'L’adresse dépasse 200 caractères.'
           WHEN length(address_complement) > 200 THEN 'Le complément d’adresse dépasse 200 caractères.'
           WHEN postal_code <> '' AND (length(postal_code) <> 5 OR NOT comptes_digits_only(postal_code)) THEN
               'Code postal invalide (« ' || left(postal_code, 10) || ' ») : 5 chiffres attendus.'
           WHEN length(city) > 100 THEN 'La commune dépasse 100 caractères.'
           WHEN email = '' AND (address_line = '' OR postal_code = '' OR city = '') THEN
               'Adresse postale incomplète : une personne sans adresse électronique reçoit un courrier '
               || '(adresse, code postal et commune obligatoires).'
       END AS error
FROM (
    SELECT *, comptes_ins_error(ins) AS ins_error, comptes_fr_date(birth_date_text) AS birth_date
    FROM (
        SELECT line + 1 AS line, raw, cardinality(f) AS n_fields,
               comptes_ins_normalize({ins}) AS ins,
               upper({birth_name}) AS birth_name,
               {first_names} AS first_names,
               {birth_date} AS birth_date_text,
               upper({sex}) AS sex,
               upper({birthplace_code}) AS birthplace_code,
               lpad(upper({department}), 2, '0') AS department,
               lower({email}) AS email,
               translate({phone}, ' .-', '') AS phone,
               {address_line} AS address_line,
               {address_complement} AS address_complement,
               translate({postal_code}, ' ', '') AS postal_code,
               {city} AS city
        FROM (
            SELECT line, raw, string_to_array(raw, ';') AS f FROM {raw} WHERE btrim(raw) <> '' OFFSET 0
        ) s
        OFFSET 0
    ) n
    OFFSET 0
) v
"""

# The later occurrences of an INS inside the file are refused (the first one is kept when it is valid). Hashing
# the INS (no sort) finds the few duplicated ones; only their lines are joined back.
_DUPLICATES_SQL = """
UPDATE {parsed} p
SET error = 'Matricule INS en double dans le fichier (déjà présent ligne ' || d.first_line::text || ').'
FROM (SELECT ins, min(line) AS first_line FROM {parsed} WHERE ins <> '' GROUP BY ins HAVING count(*) > 1) d
WHERE p.ins = d.ins AND p.line > d.first_line AND p.error IS NULL
"""

_COUNT_SQL = "SELECT count(*) FILTER (WHERE error IS NULL), count(*) FROM {parsed}"

_INSERT_SQL = """
INSERT INTO comptes_citizen (
    public_id, ins, birth_name, first_names, used_first_name, birth_date, sex, birthplace_code, contact_email,
    contact_phone, closure_reason, code_failures, code_hash, department, mss_address, notification_channel, status,
    wave_id, address_line, address_complement, postal_code, city
)
SELECT gen_random_uuid(), ins, birth_name, first_names, '', birth_date, sex, birthplace_code, email,
       phone, '', 0, '', department, '', '', 'imported', %(wave_id)s, address_line, address_complement, postal_code,
       city
FROM {parsed} p
WHERE error IS NULL AND NOT EXISTS (SELECT 1 FROM comptes_citizen c WHERE c.ins = p.ins)
ORDER BY ins
"""

# The report: line number, reason, original content. A cell that a spreadsheet would read as a formula
# (= + - @, tab, carriage return) is prefixed with an apostrophe.
_REPORT_SQL = """
COPY (
    SELECT line, error,
           CASE WHEN raw ~ '^[=+\\-@\\t\\r]' THEN '''' || raw ELSE raw END
    FROM (
        SELECT line, error, raw FROM {parsed} WHERE error IS NOT NULL
        UNION ALL
        SELECT line, error, raw FROM {rejects}
    ) r
    ORDER BY line
) TO STDOUT WITH (FORMAT csv, DELIMITER ';', FORCE_QUOTE *)
"""


def _staging_tables(wave: Wave) -> dict[str, str]:
    """Unlogged tables of one import (shared buffers, no WAL), created and dropped inside its transaction: a
    rollback drops them too. Not temporary tables: those live in a small per-session buffer pool."""
    return {kind: f"campaign_{kind}_{wave.pk}" for kind in ("raw", "parsed", "rejects")}


_DROP_SQL = "DROP TABLE IF EXISTS {raw}, {rejects}, {parsed}"


def _copy_lines(cursor, streamer: _Streamer, table: str) -> None:
    sql = f"COPY {table} (raw) FROM STDIN WITH (FORMAT csv, DELIMITER E'\\x1f', QUOTE E'\\x1e', ENCODING 'UTF8')"
    with cursor.copy(sql) as copy:
        for block in streamer.blocks():
            copy.write(block)


def _write_report(cursor, wave: Wave, tables: dict[str, str]) -> None:
    with tempfile.TemporaryFile() as spool:
        spool.write("\ufeffligne;motif;contenu\n".encode())  # BOM: spreadsheets then read the accents right
        with cursor.copy(_REPORT_SQL.format(**tables)) as copy:
            for data in copy:
                spool.write(data)
        spool.seek(0)
        wave.rejected_report.save(f"rejets-{wave.public_id}.csv", File(spool), save=False)


def wave_import(*, wave_id: int, source_name: str, actor: User | None) -> Wave:
    """Import the stored CSV into the wave, all or nothing; on failure the wave is marked ``import_failed``.

    Idempotent: a wave that is no longer ``importing`` is left as it is (a redelivered task does nothing).
    """
    try:
        wave = _wave_import_atomic(wave_id=wave_id, source_name=source_name, actor=actor)
    except CampaignFileError as error:
        wave = _wave_import_failed(wave_id, str(error))
    except DatabaseError:
        logger.exception("Campaign import of wave %s failed", wave_id)
        wave = _wave_import_failed(
            wave_id,
            _("L’import a échoué à cause d’une erreur de la base de données ; aucune personne n’a été importée."),
        )
    except OSError:
        logger.exception("Campaign import of wave %s: the file could not be read", wave_id)
        wave = _wave_import_failed(
            wave_id, _("Le fichier déposé n’a pas pu être relu ; aucune personne n’a été importée.")
        )
    if wave.status != Wave.Status.IMPORTING and default_storage.exists(source_name):
        # The source file holds personal data: it is not kept once the import has ended, whatever the outcome.
        default_storage.delete(source_name)
    return wave


@transaction.atomic
def _wave_import_failed(wave_id: int, message: str) -> Wave:
    wave = Wave.objects.select_for_update().get(pk=wave_id)
    if wave.status == Wave.Status.IMPORTING:
        wave.status = Wave.Status.IMPORT_FAILED
        wave.error_message = message
        wave.imported_count = wave.duplicate_count = wave.rejected_count = 0
        if wave.rejected_report:
            wave.rejected_report.delete(save=False)
        wave.save(
            update_fields=[
                "status",
                "error_message",
                "imported_count",
                "duplicate_count",
                "rejected_count",
                "rejected_report",
            ]
        )
    progress_set(wave.pk, phase=_("Import refusé"), percent=100)
    return wave


@transaction.atomic
def _wave_import_atomic(*, wave_id: int, source_name: str, actor: User | None) -> Wave:
    # The lock orders a redelivered task after the first one; it then finds the wave imported and stops.
    wave = Wave.objects.select_for_update().get(pk=wave_id)
    if wave.status != Wave.Status.IMPORTING:
        return wave
    # Imports run one at a time, so that the anti-join of one sees the people another has just created (cheaper
    # than ON CONFLICT's speculative insertion). Anything else creating the same INS meanwhile makes the unique
    # index refuse the statement: the import then fails whole and can be run again.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('mes.comptes.campaign_import'))")
        # The checks hash and sort whole files: enough memory to do it without spilling to disk.
        cursor.execute("SET LOCAL work_mem = '256MB'")
    try:
        return _import(wave, source_name, actor)
    except Exception:
        # The transaction rolls back: the report written to the storage must not outlive it.
        if wave.rejected_report:
            wave.rejected_report.delete(save=False)
        raise


def _import(wave: Wave, source_name: str, actor: User | None) -> Wave:
    max_bytes = settings.CAMPAIGN_IMPORT_MAX_BYTES
    total_bytes = default_storage.size(source_name)
    if total_bytes > max_bytes:
        raise CampaignFileError(_size_message(max_bytes))
    progress_set(wave.pk, phase=_("Lecture du fichier"), percent=0, lines=0)

    def on_progress(read_bytes: int, lines: int) -> None:
        # Reading and COPY take most of the time: 0 → 70 %.
        progress_set(wave.pk, phase=_("Lecture du fichier"), percent=70 * read_bytes / max(total_bytes, 1), lines=lines)

    with default_storage.open(source_name, "rb") as source, connection.cursor() as cursor:
        columns = _read_header(source)
        streamer = _Streamer(source, first_line=2, total_bytes=total_bytes, on_progress=on_progress)
        tables = _staging_tables(wave)
        cursor.execute(_DROP_SQL.format(**tables))
        cursor.execute(f"CREATE UNLOGGED TABLE {tables['raw']} (line bigint GENERATED ALWAYS AS IDENTITY, raw text)")
        cursor.execute(f"CREATE UNLOGGED TABLE {tables['rejects']} (line bigint, error text, raw text)")
        _copy_lines(cursor, streamer, tables["raw"])
        total_lines = streamer.next_line - 2
        if streamer.rejects:
            with cursor.copy(f"COPY {tables['rejects']} (line, error, raw) FROM STDIN") as copy:
                for row in streamer.rejects:
                    copy.write_row(row)

        progress_set(wave.pk, phase=_("Vérification des lignes"), percent=75, lines=total_lines)
        fields = {name: _field(columns, name) for name in COLUMNS}
        cursor.execute(
            _PARSE_SQL.format(
                **tables,
                n_columns=len(columns),
                ins=fields["ins"],
                birth_name=fields["nom_naissance"],
                first_names=fields["prenoms"],
                birth_date=fields["date_naissance"],
                sex=fields["sexe"],
                birthplace_code=fields["code_lieu_naissance"],
                department=fields["departement"],
                email=fields["email"],
                phone=fields["telephone"],
                address_line=fields["adresse"],
                address_complement=fields["complement_adresse"],
                postal_code=fields["code_postal"],
                city=fields["commune"],
            ),
            {"restricted": bool(wave.departments), "departments": list(wave.departments)},
        )
        # Temporary tables are never analysed automatically: without statistics the planner guesses badly.
        cursor.execute(f"ANALYZE {tables['parsed']}")
        cursor.execute(_DUPLICATES_SQL.format(**tables))
        cursor.execute(_COUNT_SQL.format(**tables))
        valid, parsed = cursor.fetchone()
        if parsed == 0 and not streamer.rejects:
            raise CampaignFileError(_("Le fichier ne contient aucune ligne après l’en-tête."))

        progress_set(wave.pk, phase=_("Création des personnes"), percent=85, lines=total_lines)
        cursor.execute(_INSERT_SQL.format(**tables), {"wave_id": wave.pk})
        imported = cursor.rowcount
        rejected = parsed - valid + len(streamer.rejects)
        if rejected:
            progress_set(wave.pk, phase=_("Rapport des lignes rejetées"), percent=95, lines=total_lines)
            _write_report(cursor, wave, tables)
        cursor.execute(_DROP_SQL.format(**tables))

    wave.status = Wave.Status.IMPORTED
    wave.total_lines = total_lines
    wave.processed_lines = total_lines
    wave.imported_count = imported
    wave.duplicate_count = valid - imported
    wave.rejected_count = rejected
    wave.error_message = ""
    wave.save(
        update_fields=[
            "status",
            "total_lines",
            "processed_lines",
            "imported_count",
            "duplicate_count",
            "rejected_count",
            "rejected_report",
            "error_message",
        ]
    )
    journal_append(
        actor=actor,
        action=WAVE_IMPORTED,
        obj=wave,
        details={
            "lignes": total_lines,
            "importees": imported,
            "deja_connues": valid - imported,
            "rejetees": rejected,
        },
    )
    transaction.on_commit(lambda: progress_set(wave.pk, phase=_("Import terminé"), percent=100, lines=total_lines))
    return wave


def _size_message(max_bytes: int) -> str:
    return _("Le fichier dépasse la taille maximale autorisée (%(size)s) : découpez-le en plusieurs vagues.") % {
        "size": formats.number_format(max_bytes / 1024**2, 0) + " Mo"
    }


def size_limit_message() -> str:
    return _size_message(settings.CAMPAIGN_IMPORT_MAX_BYTES)


def example_csv() -> str:
    """The downloadable example of the page: valid lines (one in Corsica, one without e-mail, hence with a postal
    address for its letter)."""
    from datetime import date

    from mes.comptes.demo import make_ins
    from mes.comptes.models import Sex

    people = [
        (
            "DURAND",
            "Camille Marie",
            date(1984, 3, 12),
            Sex.FEMALE,
            "31",
            "555",
            42,
            "camille.durand@exemple.fr",
            ("12 rue des Lilas", "", "31000", "Toulouse"),
        ),
        (
            "MARTIN",
            "Lucas Pierre",
            date(1956, 11, 2),
            Sex.MALE,
            "44",
            "109",
            117,
            "",
            ("8 allée des Tilleuls", "Bâtiment B, appartement 12", "44000", "Nantes"),
        ),
        (
            "ORSINI",
            "Paul Antoine",
            date(1971, 1, 30),
            Sex.MALE,
            "2A",
            "004",
            56,
            "paul.orsini@exemple.fr",
            ("", "", "", ""),
        ),
    ]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(COLUMNS)
    for birth_name, first_names, birth, sex, department, commune, order, email, address in people:
        ins = make_ins(sex=sex, birth=birth, department=department, commune=commune, order=order)
        writer.writerow(
            [
                ins,
                birth_name,
                first_names,
                f"{birth:%d/%m/%Y}",
                sex,
                f"{department}{commune}",
                department,
                email,
                "",
                *address,
            ]
        )
    return out.getvalue()
