"""Prevention key dates: generated set-based from the versioned table, and what the person does with them.

Generation (DESIGN.md §6). For each person whose space exists (activated or created automatically) and each
programme of ``agenda.prevention`` that fits their sex, the key date kept is the occurrence that is current, or
else the one that opens within the next 12 months. One SQL statement per range of citizen ids computes those dates
from the birth dates (PostgreSQL date arithmetic), inserts the missing rows, updates the dates of the pending rows
whose window moved (birth date corrected, new table version), and deletes the pending rows that no longer follow
(window over, sex or birth date corrected, programme removed or changed, space closed). Rows the person marked as
done or dismissed are history: never changed, never deleted. A row is identified by (citizen, programme, occurrence),
unique in the database: it is never duplicated, a second run writes nothing, and a row keeps its public id (its URL)
for as long as it applies.

The nightly job (``prevention_dates_compute``) walks the citizen ids in chunks, each chunk its own transaction;
``prevention_dates_refresh_citizen`` runs the very same statement on one id (after a profile change), so both paths
give the same rows.

Birthdays: people born on 29 February have their birthday on 1 March in the other years, as for the majority
(``mes.acces.policy.majority_cutoff``) and as PostgreSQL's ``age()`` counts.

Nothing is journaled by the generation: it reads no one's data for anyone and changes nothing the person did. The
person's own actions (done, dismissed, back to do) write one journal row each.
"""

from __future__ import annotations

import logging
import time
import zlib
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agenda.models import PreventionDate, PreventionStatus
from agenda.prevention import SEX_ALL, PreventionTable, current_table
from mes.acces.journal import register_action
from mes.acces.policy import CitizenAccess
from mes.acces.services import journal_append
from mes.comptes.models import Citizen, CitizenStatus

logger = logging.getLogger(__name__)

PREVENTION_DONE = "agenda.prevention.faite"
PREVENTION_DISMISSED = "agenda.prevention.masquee"
PREVENTION_REOPENED = "agenda.prevention.rouverte"
register_action(PREVENTION_DONE, gettext_lazy("Date clé de prévention marquée comme faite"))
register_action(PREVENTION_DISMISSED, gettext_lazy("Date clé de prévention masquée"))
register_action(PREVENTION_REOPENED, gettext_lazy("Date clé de prévention remise à faire"))

# The spaces that exist (``Citizen.has_space``): nobody else gets key dates, and their pending ones are removed.
SPACE_STATUSES = (CitizenStatus.ACTIVATED.value, CitizenStatus.CREATED_AUTOMATICALLY.value)
# A key date is shown from up to this many months before its window opens.
HORIZON_MONTHS = 12
# Citizen ids per transaction of the nightly job: large enough for set-based speed, small enough for short locks.
CHUNK_SIZE = 50_000
# Each chunk of CHUNK_SIZE ids is claimed with a transaction-level advisory lock (class, chunk number), by the job
# and by a one-person refresh alike: two runs of the job, or a run and a profile change, never write the same
# person's rows at once (no deadlock, no double work), and a second run of the job simply finds nothing to do.
LOCK_CLASS = zlib.crc32(b"agenda.prevention.refresh") & 0x7FFFFFFF
MAX_CHUNKS_PER_CALL = 20


@dataclass
class RefreshCounts:
    created: int = 0
    updated: int = 0  # pending rows whose window moved (birth date corrected, new table version)
    removed: int = 0  # pending rows that no longer follow from the table and the profile

    def add(self, other: RefreshCounts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.removed += other.removed


@dataclass
class ComputeResult(RefreshCounts):
    chunks: int = 0
    next_id: int | None = None  # where a run stopped by ``max_seconds`` resumes
    finished: bool = False


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _col(model, field: str) -> str:
    return _q(model._meta.get_field(field).column)


# The occurrences that follow from the table for the people of an id range, one per (person, programme): the current
# one, or else the next one opening within HORIZON_MONTHS. Rules arrive as arrays (one element per row of the
# table's lookups), so the text of the statement does not depend on the table.
#
# - A birthday is ``birth + n years``, moved to 1 March when PostgreSQL clamps 29 February to the 28th; ages are
#   counted by ``age()``, which agrees (born 29 February, one is a year older on 1 March).
# - Birthday windows: with A the person's age today, the current window is the one A falls in, and otherwise the
#   next one can only be the window opening at A + 1, shown once that birthday is within the horizon (age at the
#   horizon > A). ``age_windows_rows`` lists that one window per (age, programme): a hash join on the age, a few
#   rows per person, no sort.
# - Seasons (the flu campaign): the campaign opened in year Y runs from its opening day (or the person's 65th
#   birthday, if later) to its closing day. Last year's, this year's and next year's are the only ones that can meet
#   [today, horizon] (next year's counts when this year's closes before the 65th birthday); the earliest is kept.
_WANTED_CTE = """
people AS (
    SELECT c.id, c.{birth_date} AS birth_date, c.{sex} AS sex,
           extract(day FROM c.{birth_date})::int AS birth_day,
           date_part('year', age(%(today)s::date, c.{birth_date}))::int AS age_now,
           date_part('year', age(%(horizon)s::date, c.{birth_date}))::int AS age_soon
    FROM {citizen} AS c
    WHERE c.id BETWEEN %(first_id)s AND %(last_id)s AND c.{status} = ANY(%(statuses)s)
),
age_rules AS (
    SELECT * FROM unnest(%(w_age)s::int[], %(w_programme)s::text[], %(w_sex)s::text[], %(w_occurrence)s::text[],
                         %(w_opens)s::int[], %(w_closes)s::int[], %(w_upcoming)s::bool[])
        AS r(age, programme, sex, occurrence, opens, closes, upcoming)
),
season_rules AS (
    SELECT * FROM unnest(%(s_programme)s::text[], %(s_sex)s::text[], %(s_from_age)s::int[],
                         %(s_open_month)s::int[], %(s_open_day)s::int[], %(s_close_month)s::int[],
                         %(s_close_day)s::int[])
        AS s(programme, sex, from_age, open_month, open_day, close_month, close_day)
),
birthday_windows AS (
    SELECT p.id AS citizen_id, r.programme, r.occurrence,
           raw.opens_on + (extract(day FROM raw.opens_on)::int <> p.birth_day)::int AS due_from,
           raw.closes_on + (extract(day FROM raw.closes_on)::int <> p.birth_day)::int - 1 AS due_until
    FROM people AS p
    JOIN age_rules AS r
      ON r.age = p.age_now AND (r.sex = %(sex_all)s OR r.sex = p.sex) AND (NOT r.upcoming OR p.age_soon > p.age_now)
    CROSS JOIN LATERAL (
        SELECT (p.birth_date + make_interval(years => r.opens))::date AS opens_on,
               (p.birth_date + make_interval(years => r.closes))::date AS closes_on
    ) AS raw
),
campaigns AS (
    SELECT p.id AS citizen_id, s.programme, y.year::text AS occurrence,
           greatest(make_date(y.year, s.open_month, s.open_day), eligible.on_day) AS due_from,
           make_date(y.year + (ARRAY[s.close_month, s.close_day] < ARRAY[s.open_month, s.open_day])::int,
                     s.close_month, s.close_day) AS due_until
    FROM people AS p
    JOIN season_rules AS s ON (s.sex = %(sex_all)s OR s.sex = p.sex) AND s.from_age <= p.age_soon
    CROSS JOIN LATERAL (VALUES (%(year)s::int - 1), (%(year)s::int), (%(year)s::int + 1)) AS y(year)
    CROSS JOIN LATERAL (
        SELECT (p.birth_date + make_interval(years => s.from_age))::date AS raw_day
    ) AS birthday
    CROSS JOIN LATERAL (
        SELECT birthday.raw_day + (extract(day FROM birthday.raw_day)::int <> p.birth_day)::int AS on_day
    ) AS eligible
),
wanted AS (
    SELECT citizen_id, programme, occurrence, due_from, due_until FROM birthday_windows
    UNION ALL
    (SELECT DISTINCT ON (citizen_id, programme) citizen_id, programme, occurrence, due_from, due_until
     FROM campaigns
     WHERE due_until >= %(today)s AND due_from <= %(horizon)s AND due_from <= due_until
     ORDER BY citizen_id, programme, due_from)
)
"""

# The writes, one statement: obsolete pending rows deleted, pending rows whose window moved updated, missing rows
# inserted. The three touch disjoint rows (all read from the statement's snapshot); the status conditions are checked
# again on the latest version of a row the person changes meanwhile, so what they did (done, dismissed) is never
# overwritten or deleted. Rows already right are not written at all: a second run writes nothing. The existing rows
# are found through the unique index (ON CONFLICT DO NOTHING), never by a join against the table being filled: on
# an empty table the planner would scan it again for every new row.
_REFRESH_SQL = """
WITH {wanted},
removed AS (
    DELETE FROM {prevention} AS d
    WHERE d.{citizen_id} BETWEEN %(first_id)s AND %(last_id)s AND d.{pstatus} = %(pending)s
      AND NOT EXISTS (
          SELECT 1 FROM wanted AS w
          WHERE w.citizen_id = d.{citizen_id} AND w.programme = d.{programme} AND w.occurrence = d.{occurrence}
      )
    RETURNING 1
),
moved AS (
    UPDATE {prevention} AS d
    SET {due_from} = w.due_from, {due_until} = w.due_until, {table_version} = %(version)s
    FROM wanted AS w
    WHERE d.{citizen_id} BETWEEN %(first_id)s AND %(last_id)s
      AND d.{citizen_id} = w.citizen_id AND d.{programme} = w.programme AND d.{occurrence} = w.occurrence
      AND d.{pstatus} = %(pending)s
      AND (d.{due_from}, d.{due_until}, d.{table_version})
          IS DISTINCT FROM (w.due_from, w.due_until, %(version)s::varchar)
    RETURNING 1
),
added AS (
    INSERT INTO {prevention}
        ({public_id}, {citizen_id}, {programme}, {occurrence}, {due_from}, {due_until}, {pstatus}, {table_version})
    SELECT gen_random_uuid(), w.citizen_id, w.programme, w.occurrence, w.due_from, w.due_until, %(pending)s,
           %(version)s
    FROM wanted AS w
    -- An existing row (kept, moved above, or history) is found by the unique index and skipped, without a lock.
    ON CONFLICT ({citizen_id}, {programme}, {occurrence}) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM removed), (SELECT count(*) FROM added), (SELECT count(*) FROM moved)
"""

_WANTED_SQL = "WITH {wanted} SELECT citizen_id, programme, occurrence, due_from, due_until FROM wanted"

_BOUNDS_SQL = "SELECT min(id), max(id) FROM {citizen}"


def _sql(template: str) -> str:
    names = _names()
    return template.format(wanted=_WANTED_CTE.format(**names), **names)


def _names() -> dict[str, str]:
    return {
        "citizen": _q(Citizen._meta.db_table),
        "birth_date": _col(Citizen, "birth_date"),
        "sex": _col(Citizen, "sex"),
        "status": _col(Citizen, "status"),
        "prevention": _q(PreventionDate._meta.db_table),
        "public_id": _col(PreventionDate, "public_id"),
        "citizen_id": _col(PreventionDate, "citizen"),
        "programme": _col(PreventionDate, "programme"),
        "occurrence": _col(PreventionDate, "occurrence"),
        "due_from": _col(PreventionDate, "due_from"),
        "due_until": _col(PreventionDate, "due_until"),
        "pstatus": _col(PreventionDate, "status"),
        "table_version": _col(PreventionDate, "table_version"),
    }


def horizon_of(today: date) -> date:
    """The last day on which an opening window is already shown (12 months ahead, 29 February → 28 February)."""
    return today + relativedelta(months=HORIZON_MONTHS)


def _params(*, first_id: int, last_id: int, today: date, table: PreventionTable) -> dict:
    windows = table.age_windows_rows()
    seasons = table.season_rows()
    return {
        "first_id": first_id,
        "last_id": last_id,
        "today": today,
        "horizon": horizon_of(today),
        "year": today.year,
        "statuses": list(SPACE_STATUSES),
        "sex_all": SEX_ALL,
        "pending": PreventionStatus.PENDING.value,
        "version": table.version,
        "w_age": [row[0] for row in windows],
        "w_programme": [row[1] for row in windows],
        "w_sex": [row[2] for row in windows],
        "w_occurrence": [row[3] for row in windows],
        "w_opens": [row[4] for row in windows],
        "w_closes": [row[5] for row in windows],
        "w_upcoming": [row[6] for row in windows],
        "s_programme": [row[0] for row in seasons],
        "s_sex": [row[1] for row in seasons],
        "s_from_age": [row[2] for row in seasons],
        "s_open_month": [row[3] for row in seasons],
        "s_open_day": [row[4] for row in seasons],
        "s_close_month": [row[5] for row in seasons],
        "s_close_day": [row[6] for row in seasons],
    }


def _lock_chunks(cursor, first_id: int, last_id: int) -> None:
    # In ascending order, so that two callers never wait for each other in a cycle.
    for chunk in range(first_id // CHUNK_SIZE, last_id // CHUNK_SIZE + 1):
        cursor.execute("SELECT pg_advisory_xact_lock(%s::int4, %s::int4)", [LOCK_CLASS, chunk % 0x7FFFFFFF])


def prevention_dates_refresh_range(
    *, first_id: int, last_id: int, today: date | None = None, table: PreventionTable | None = None
) -> RefreshCounts:
    """Bring the key dates of the people with an id in [first_id, last_id] in line with the table, in one transaction.

    ``today`` (default: today in Paris) is the day the dates are computed for; ``table`` (default: the table in
    force) is for tests and for checking a new version before it is installed.
    """
    if last_id < first_id:
        raise ValueError("last_id must not be lower than first_id.")
    if last_id // CHUNK_SIZE - first_id // CHUNK_SIZE >= MAX_CHUNKS_PER_CALL:
        raise ValueError(f"At most {MAX_CHUNKS_PER_CALL * CHUNK_SIZE} ids per call: walk the ids in chunks.")
    today = today or timezone.localdate()
    table = table or current_table()
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_chunks(cursor, first_id, last_id)
        cursor.execute(_sql(_REFRESH_SQL), _params(first_id=first_id, last_id=last_id, today=today, table=table))
        removed, created, updated = cursor.fetchone()
    return RefreshCounts(created=created, updated=updated, removed=removed)


def prevention_dates_refresh_citizen(
    *, citizen: Citizen, today: date | None = None, table: PreventionTable | None = None
) -> RefreshCounts:
    """The same statement as the nightly job, on one person (after a change of birth date, sex or space status)."""
    return prevention_dates_refresh_range(first_id=citizen.pk, last_id=citizen.pk, today=today, table=table)


def prevention_occurrences_applicable(
    *, citizen: Citizen, today: date | None = None, table: PreventionTable | None = None
) -> set[tuple[str, str]]:
    """The (programme, occurrence) pairs that follow today from the table and the person's profile (a read).

    The same SQL as the generation, so a row that is not in this set is one the next refresh would not keep pending.
    """
    today = today or timezone.localdate()
    table = table or current_table()
    with connection.cursor() as cursor:
        cursor.execute(_sql(_WANTED_SQL), _params(first_id=citizen.pk, last_id=citizen.pk, today=today, table=table))
        return {(programme, occurrence) for _citizen, programme, occurrence, _from, _until in cursor.fetchall()}


def citizen_id_bounds() -> tuple[int, int] | None:
    with connection.cursor() as cursor:
        cursor.execute(_sql(_BOUNDS_SQL))
        low, high = cursor.fetchone()
    return None if low is None else (low, high)


def prevention_dates_compute(
    *,
    today: date | None = None,
    start_id: int | None = None,
    chunk_size: int = CHUNK_SIZE,
    max_seconds: float | None = None,
    table: PreventionTable | None = None,
) -> ComputeResult:
    """The nightly job: every citizen id range, chunk after chunk, each chunk committed on its own.

    Idempotent: a second run (or a run resumed from ``start_id`` after a crash) rewrites nothing that is already
    right. ``max_seconds`` bounds one call so that the task can hand over to a fresh one (``finished`` False and
    ``next_id`` set). Call it outside a transaction, so that each chunk commits (inside one, the chunks are
    savepoints and their locks are held to the end).
    """
    if not 1 <= chunk_size <= CHUNK_SIZE * MAX_CHUNKS_PER_CALL:
        raise ValueError("chunk_size out of range.")
    today = today or timezone.localdate()
    table = table or current_table()
    result = ComputeResult()
    bounds = citizen_id_bounds()
    if bounds is None:
        result.finished = True
        return result
    stop_at = time.monotonic() + max_seconds if max_seconds is not None else None
    # Chunks aligned on multiples of their size: the same ranges, hence the same locks, from run to run.
    first = max(bounds[0], start_id or 0)
    first -= first % chunk_size
    for chunk_first in range(first, bounds[1] + 1, chunk_size):
        if stop_at is not None and time.monotonic() >= stop_at:
            result.next_id = chunk_first
            break
        result.add(
            prevention_dates_refresh_range(
                first_id=chunk_first, last_id=chunk_first + chunk_size - 1, today=today, table=table
            )
        )
        result.chunks += 1
    else:
        result.finished = True
    logger.info(
        "Prevention key dates (table %s, %s): %s created, %s updated, %s removed in %s chunks (finished: %s)",
        table.version,
        today.isoformat(),
        result.created,
        result.updated,
        result.removed,
        result.chunks,
        result.finished,
    )
    return result


# --- The person's actions ------------------------------------------------------------------------------------------


def _require_own(access: CitizenAccess, prevention_date: PreventionDate) -> None:
    if not access.is_citizen_side:
        raise PermissionDenied(_("Seule la personne ou son représentant légal gère ses dates de prévention."))
    if prevention_date.citizen_id != access.citizen.pk:
        raise PermissionDenied(_("Cette date clé n’appartient pas à cet espace."))


def _status_set(*, access: CitizenAccess, prevention_date: PreventionDate, status: str, action: str) -> PreventionDate:
    _require_own(access, prevention_date)
    locked = PreventionDate.objects.select_for_update().filter(pk=prevention_date.pk).first()
    if locked is None:
        # Removed by a refresh meanwhile (profile corrected, window over).
        raise ValidationError(_("Cette date clé ne vous concerne plus : la page a été mise à jour."), code="gone")
    if locked.status == status:
        return locked  # already so (a second click): nothing to change or to journal
    previous = locked.status
    locked.status = status
    locked.status_changed_at = timezone.now()
    locked.save(update_fields=["status", "status_changed_at"])
    journal_append(
        actor=access.actor,
        action=action,
        citizen=access.citizen,
        obj=locked,
        details={"programme": locked.programme, "occurrence": locked.occurrence, "from": previous, "to": status},
    )
    return locked


@transaction.atomic
def prevention_date_mark_done(*, access: CitizenAccess, prevention_date: PreventionDate) -> PreventionDate:
    """The person says it is done: the key date moves to their history."""
    return _status_set(
        access=access, prevention_date=prevention_date, status=PreventionStatus.DONE, action=PREVENTION_DONE
    )


@transaction.atomic
def prevention_date_dismiss(*, access: CitizenAccess, prevention_date: PreventionDate) -> PreventionDate:
    """The person does not want to see this key date any more (the next occurrence will show in its time)."""
    return _status_set(
        access=access,
        prevention_date=prevention_date,
        status=PreventionStatus.DISMISSED,
        action=PREVENTION_DISMISSED,
    )


@transaction.atomic
def prevention_date_reopen(
    *, access: CitizenAccess, prevention_date: PreventionDate, today: date | None = None
) -> PreventionDate:
    """Back to do, while the key date still applies (a past or obsolete one stays in the history as it is)."""
    _require_own(access, prevention_date)
    if prevention_date.status != PreventionStatus.PENDING and (
        (prevention_date.programme, prevention_date.occurrence)
        not in prevention_occurrences_applicable(citizen=access.citizen, today=today)
    ):
        raise ValidationError(
            _("Cette date clé est passée ou ne vous concerne plus : elle reste dans votre historique."),
            code="not_applicable",
        )
    return _status_set(
        access=access, prevention_date=prevention_date, status=PreventionStatus.PENDING, action=PREVENTION_REOPENED
    )
