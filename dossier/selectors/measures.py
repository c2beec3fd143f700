"""Reads of the mesures de santé, always inside the space the access opens, in a constant number of queries.

- ``measures_latest``: the latest value of each measure, one query (an index lookup per measure, whatever the
  number of values);
- ``measure_series``: the values of a measure for the chart, downsampled in the database to at most
  ``SERIES_MAX_POINTS`` buckets of equal duration, each with its minimum, maximum and mean, so that a page with
  50,000 values stays as light as one with 50;
- ``measure_page``: the list of values, newest first, by keyset pagination on (date, public id);
- ``measures_page``, ``measure_of_citizen``, ``device_of_app``: the reads of the FHIR API of the paired apps.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from json import loads
from uuid import UUID

from django.db import connection
from django.db.models import QuerySet

from dossier.measures_catalog import UnitSpec, measure_spec
from dossier.models import Device, Measure, MeasureKind
from mes.acces.models import AppHabilitation, Scope
from mes.acces.policy import CitizenAccess
from mes.comptes.models import Citizen

SERIES_MAX_POINTS = 180
PAGE_SIZE = 20


def measures_visible(access: CitizenAccess) -> QuerySet[Measure]:
    """Every measure of the space, when the access opens the measures (none otherwise)."""
    if not access.can_read(Scope.MEASURES):
        return Measure.objects.none()
    return Measure.objects.filter(citizen=access.citizen)


_LATEST_SQL = """
SELECT latest.*
FROM unnest(%s::varchar[]) WITH ORDINALITY AS wanted(kind, position)
CROSS JOIN LATERAL (
    SELECT m.* FROM dossier_measure m
    WHERE m.citizen_id = %s AND m.kind = wanted.kind
    ORDER BY m.effective_at DESC, m.id DESC
    LIMIT 1
) latest
ORDER BY wanted.position
"""


def measures_latest(access: CitizenAccess) -> dict[str, Measure]:
    """The latest value of each measure that has one, keyed by kind, in one query."""
    if not access.can_read(Scope.MEASURES):
        return {}
    rows = Measure.objects.raw(_LATEST_SQL, [list(MeasureKind.values), access.citizen.pk])
    return {measure.kind: measure for measure in rows}


def measure_latest_unit(access: CitizenAccess, kind: str) -> str | None:
    """The unit of the latest value of ``kind`` (glucose: the unit of the person's meter)."""
    return (
        measures_visible(access)
        .filter(kind=kind)
        .order_by("-effective_at", "-id")
        .values_list("unit", flat=True)
        .first()
    )


@dataclass(frozen=True)
class SeriesPoint:
    """One value, or one bucket of values when the series is downsampled."""

    at: datetime  # the value's date, or the mean date of the bucket
    start: datetime
    end: datetime
    count: int
    low: Decimal
    high: Decimal
    mean: Decimal
    low_secondary: Decimal | None = None
    high_secondary: Decimal | None = None
    mean_secondary: Decimal | None = None


@dataclass(frozen=True)
class MeasureSeries:
    kind: str
    unit: UnitSpec
    points: list[SeriesPoint]
    total: int  # values in the period

    @property
    def aggregated(self) -> bool:
        return any(point.count > 1 for point in self.points)


# Values are converted to the chart's unit row by row (glucose may be entered in g/L, mg/dL or mmol/L). Up to
# ``max`` values, each one is its own point (first branch); beyond, width_bucket cuts the period into ``max`` equal
# spans (second branch; the upper bound is one second past the last value, which would otherwise fall outside).
# PostgreSQL evaluates the count once and skips the branch that does not apply.
_SERIES_SQL = """
WITH points AS (
    SELECT effective_at, {converted} AS v, value_secondary AS v2
    FROM dossier_measure
    WHERE citizen_id = %(citizen)s AND kind = %(kind)s {since}
), bounds AS (
    SELECT count(*) AS n, min(effective_at) AS lo, max(effective_at) AS hi FROM points
)
SELECT 1, effective_at, effective_at, effective_at, v, v, v, v2, v2, v2, (SELECT n FROM bounds)
FROM points
WHERE (SELECT n FROM bounds) <= %(max)s
UNION ALL
SELECT count(*), min(effective_at), max(effective_at), to_timestamp(avg(date_part('epoch', effective_at))),
    min(v), max(v), avg(v), min(v2), max(v2), avg(v2), max(bounds.n)
FROM points CROSS JOIN bounds
WHERE bounds.n > %(max)s
GROUP BY width_bucket(
    date_part('epoch', points.effective_at), date_part('epoch', bounds.lo), date_part('epoch', bounds.hi) + 1, %(max)s
)
ORDER BY 2, 3
"""


def measure_series(
    access: CitizenAccess,
    kind: str,
    *,
    since: datetime | None = None,
    unit: str | None = None,
    max_points: int = SERIES_MAX_POINTS,
) -> MeasureSeries:
    """The values of ``kind`` since ``since`` in the unit ``unit`` (default: the measure's reference unit), at most
    ``max_points`` points, oldest first, in one query."""
    spec = measure_spec(kind)
    target = spec.unit_for(unit) or spec.unit
    # An access that does not open the measures reads the series of no one (citizen_id = NULL matches no row).
    citizen_pk = access.citizen.pk if access.can_read(Scope.MEASURES) else None
    params: dict[str, object] = {"citizen": citizen_pk, "kind": kind, "max": max_points}
    converted = "value"
    if len(spec.units) > 1:
        cases = []
        for index, source in enumerate(spec.units):
            params[f"unit{index}"] = source.code
            params[f"factor{index}"] = source.to_reference / target.to_reference
            cases.append(f"WHEN %(unit{index})s THEN value * %(factor{index})s")
        converted = f"CASE unit {' '.join(cases)} ELSE value END"
    since_sql = ""
    if since is not None:
        params["since"] = since
        since_sql = "AND effective_at >= %(since)s"
    sql = _SERIES_SQL.format(converted=converted, since=since_sql)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    points = [
        SeriesPoint(
            at=row[3],
            start=row[1],
            end=row[2],
            count=row[0],
            low=row[4],
            high=row[5],
            mean=row[6],
            low_secondary=row[7],
            high_secondary=row[8],
            mean_secondary=row[9],
        )
        for row in rows
    ]
    return MeasureSeries(kind=kind, unit=target, points=points, total=rows[0][10] if rows else 0)


@dataclass(frozen=True)
class MeasurePage:
    items: list[Measure]
    next_cursor: str | None
    is_first: bool


def encode_cursor(measure: Measure) -> str:
    raw = f"{measure.effective_at.isoformat()}|{measure.public_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    """The position a cursor stands for; ``None`` for no cursor or a damaged one (the list starts over)."""
    if not cursor or len(cursor) > 200:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, public_id = raw.split("|")
        position = datetime.fromisoformat(moment), UUID(public_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return position if position[0].tzinfo is not None else None


def measure_page(access: CitizenAccess, kind: str, *, cursor: str | None = None, size: int = PAGE_SIZE) -> MeasurePage:
    """One page of the values of ``kind``, newest first, after the position ``cursor`` (one query)."""
    values = measures_visible(access).filter(kind=kind).order_by("-effective_at", "-public_id")
    position = decode_cursor(cursor)
    if position is not None:
        moment, public_id = position
        values = values.filter(effective_at__lte=moment).exclude(effective_at=moment, public_id__gte=public_id)
    rows = list(values[: size + 1])
    next_cursor = encode_cursor(rows[size - 1]) if len(rows) > size else None
    return MeasurePage(items=rows[:size], next_cursor=next_cursor, is_first=position is None)


# --- the FHIR API of the paired apps ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeasureRow:
    """A measure as the API answers it: its stored resource and what the envelope and the keyset are made of."""

    id: int
    public_id: UUID
    effective_at: datetime
    created_at: datetime
    resource: dict


@dataclass(frozen=True)
class MeasureKeysetPage:
    """Up to ``limit`` measures, and the position ``(effective_at, id)`` of the last one when more follow."""

    items: list[MeasureRow]
    next_position: tuple[datetime, int] | None


# The columns an API answer needs: the stored resource and what the envelope and the keyset are made of.
_API_COLUMNS = ("id", "public_id", "effective_at", "created_at", "resource")


def measures_page(
    citizen: Citizen,
    *,
    kinds: Collection[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int = PAGE_SIZE,
    ascending: bool = False,
) -> MeasureKeysetPage:
    """One page of ``citizen``'s measures of every source, by keyset on ``(effective_at, id)``, in one query.

    ``kinds``: the measures wanted (every one when ``None``; the computed BMI included); ``since`` (included) and
    ``until`` (excluded) bound the date of the measure; ``after`` is the position of the last row of the previous
    page. Newest first unless ``ascending``. One kind reads the index ``measure_list_idx`` (citizen, kind,
    -effective_at, -id) in order, from the position on: a deep page costs what the first one does.

    The statement is written out rather than built by the ORM, and the rows come back as ``MeasureRow``: a search
    of the paired apps is on the hot path of every connected device, and building the query and twenty model
    instances cost more CPU than PostgreSQL spends answering it.
    """
    where = ["citizen_id = %s"]
    params: list = [citizen.pk]
    if kinds is not None:
        kinds = list(kinds)
        if len(kinds) == 1:
            where.append("kind = %s")
            params.append(kinds[0])
        else:
            where.append("kind = ANY(%s)")
            params.append(kinds)
    if since is not None:
        where.append("effective_at >= %s")
        params.append(since)
    if until is not None:
        where.append("effective_at < %s")
        params.append(until)
    if after is not None:
        moment, row_id = after
        # (effective_at, id) past the position: the bound on the date is what the index scan starts from, the
        # exclusion only drops the rows of the same instant already served.
        if ascending:
            where.append("effective_at >= %s AND NOT (effective_at = %s AND id <= %s)")
        else:
            where.append("effective_at <= %s AND NOT (effective_at = %s AND id >= %s)")
        params += [moment, moment, row_id]
    order = "effective_at, id" if ascending else "effective_at DESC, id DESC"
    sql = (
        f"SELECT {', '.join(_API_COLUMNS)} FROM dossier_measure WHERE {' AND '.join(where)} "  # noqa: S608 - constants
        f"ORDER BY {order} LIMIT %s"
    )
    params.append(limit + 1)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    # Django's PostgreSQL backend hands jsonb over as text (the ORM's JSONField decodes it the same way).
    items = [
        MeasureRow(id=pk, public_id=public_id, effective_at=effective_at, created_at=created_at, resource=loads(text))
        for pk, public_id, effective_at, created_at, text in found[:limit]
    ]
    more = len(found) > limit
    return MeasureKeysetPage(items=items, next_position=(items[-1].effective_at, items[-1].id) if more else None)


def measure_of_citizen(citizen: Citizen, public_id: UUID) -> Measure | None:
    """One of ``citizen``'s measures by its public id (``None`` for anyone else's: the API answers 404)."""
    return Measure.objects.filter(citizen=citizen, public_id=public_id).only(*_API_COLUMNS).first()


def device_of_app(habilitation: AppHabilitation, public_id: UUID) -> Device | None:
    """One of the app's own devices by its public id (``None`` for another app's)."""
    return Device.objects.filter(habilitation=habilitation, public_id=public_id).first()
