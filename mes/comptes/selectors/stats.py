"""Reads for the opt-out campaign statistics (administrators).

Two aggregate queries whatever the population (65 M people at national scale): one for the tables, grouped by
wave and by département with ``GROUPING SETS``, one for the chart over time. Each notified person is counted once,
in the column of their current state, so that a row adds up: notified = activated + opposed + created automatically
+ pending + closed. Rates are over the notified people.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _

from mes.comptes.models import CitizenStatus as S

# The columns of the tables, in order; each is a count of notified people by current state.
COUNT_COLUMNS = ("notified", "activated", "opposed", "auto_created", "pending", "closed")


@dataclass(frozen=True)
class CampaignRow:
    """One line of a statistics table: a wave, a département, or the total (``key`` empty)."""

    key: str
    label: str
    notified: int
    activated: int
    opposed: int
    auto_created: int
    pending: int
    closed: int

    def _rate(self, count: int) -> Decimal | None:
        if not self.notified:
            return None
        return (Decimal(count) * 100 / self.notified).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    @property
    def activation_rate(self) -> Decimal | None:
        return self._rate(self.activated)

    @property
    def opposition_rate(self) -> Decimal | None:
        return self._rate(self.opposed)

    @property
    def auto_creation_rate(self) -> Decimal | None:
        return self._rate(self.auto_created)

    @property
    def pending_rate(self) -> Decimal | None:
        return self._rate(self.pending)


@dataclass(frozen=True)
class CampaignTables:
    waves: list[CampaignRow]
    departments: list[CampaignRow]
    total: CampaignRow


# GROUPING(w, d) tells the sets apart: 1 = per wave (department rolled up), 2 = per département, 3 = total.
_TABLES_SQL = f"""
SELECT GROUPING(c.wave_id, c.department) AS level,
       c.wave_id,
       min(w.name) AS wave_name,
       min(w.notified_at) AS wave_notified_at,
       c.department,
       count(*) AS notified,
       count(*) FILTER (WHERE c.status = '{S.ACTIVATED}') AS activated,
       count(*) FILTER (WHERE c.status = '{S.OPPOSED}') AS opposed,
       count(*) FILTER (WHERE c.status = '{S.CREATED_AUTOMATICALLY}') AS auto_created,
       count(*) FILTER (WHERE c.status = '{S.NOTIFIED}') AS pending,
       count(*) FILTER (WHERE c.status = '{S.CLOSED}') AS closed
FROM comptes_citizen c
LEFT JOIN comptes_wave w ON w.id = c.wave_id
WHERE c.notified_at IS NOT NULL
GROUP BY GROUPING SETS ((c.wave_id), (c.department), ())
"""  # noqa: S608 - only constants are interpolated


def campaign_tables() -> CampaignTables:
    """The tables per wave and per département, with their total, in one query."""
    waves: list[tuple] = []
    departments: list[CampaignRow] = []
    total = CampaignRow("", _("Total"), 0, 0, 0, 0, 0, 0)
    with connection.cursor() as cursor:
        cursor.execute(_TABLES_SQL)
        for level, wave_id, wave_name, wave_notified_at, department, *counts in cursor.fetchall():
            if level == 1:
                label = wave_name or _("Sans vague")
                waves.append((wave_notified_at, label, CampaignRow(str(wave_id or ""), label, *counts)))
            elif level == 2:
                departments.append(CampaignRow(department, department or _("Non renseigné"), *counts))
            else:
                total = CampaignRow("", _("Total"), *counts)
    # Waves in the order they were notified; départements in their code order (01 … 2A, 2B … 976).
    waves.sort(key=lambda item: (item[0] is None, item[0] or date.min, item[1]))
    departments.sort(key=lambda row: (row.key == "", row.key.zfill(3)))
    return CampaignTables(waves=[row for _, _, row in waves], departments=departments, total=total)


@dataclass(frozen=True)
class TimelinePoint:
    day: date
    activated: int
    opposed: int
    auto_created: int


@dataclass(frozen=True)
class Timeline:
    step: str  # "day", "week" or "month"
    points: list[TimelinePoint]  # cumulative counts at the end of each step, first notification included


# Each person counts once, at the date they entered their current state (so the chart ends on the table's
# totals). The step follows the span: daily up to 3 months, weekly up to 3 years, monthly beyond, so the chart
# never has more than ~160 points.
_TIMELINE_SQL = f"""
WITH events AS (
    SELECT c.status,
           (CASE c.status WHEN '{S.ACTIVATED}' THEN c.activated_at
                          WHEN '{S.OPPOSED}' THEN c.opposed_at
                          ELSE c.auto_created_at END AT TIME ZONE %(tz)s)::date AS day
    FROM comptes_citizen c
    WHERE c.notified_at IS NOT NULL
      AND c.status IN ('{S.ACTIVATED}', '{S.OPPOSED}', '{S.CREATED_AUTOMATICALLY}')
),
bounds AS (
    SELECT first_day, last_day,
           CASE WHEN last_day - first_day <= 92 THEN 'day'
                WHEN last_day - first_day <= 3 * 366 THEN 'week'
                ELSE 'month' END AS step
    FROM (
        SELECT (min(c.notified_at) AT TIME ZONE %(tz)s)::date AS first_day,
               greatest((max(c.notified_at) AT TIME ZONE %(tz)s)::date, (SELECT max(day) FROM events)) AS last_day
        FROM comptes_citizen c
        WHERE c.notified_at IS NOT NULL
    ) m
    WHERE first_day IS NOT NULL
),
buckets AS (
    SELECT date_trunc(b.step, g)::date AS bucket, b.step
    FROM bounds b, generate_series(b.first_day, b.last_day, ('1 ' || b.step)::interval) g
    UNION
    SELECT date_trunc(b.step, b.last_day)::date, b.step FROM bounds b
),
counts AS (
    SELECT date_trunc(b.step, e.day)::date AS bucket,
           count(*) FILTER (WHERE e.status = '{S.ACTIVATED}') AS activated,
           count(*) FILTER (WHERE e.status = '{S.OPPOSED}') AS opposed,
           count(*) FILTER (WHERE e.status = '{S.CREATED_AUTOMATICALLY}') AS auto_created
    FROM events e, bounds b
    GROUP BY 1
)
SELECT k.bucket, k.step,
       sum(coalesce(n.activated, 0)) OVER w,
       sum(coalesce(n.opposed, 0)) OVER w,
       sum(coalesce(n.auto_created, 0)) OVER w
FROM buckets k
LEFT JOIN counts n ON n.bucket = k.bucket
WINDOW w AS (ORDER BY k.bucket)
ORDER BY k.bucket
"""  # noqa: S608 - only constants are interpolated


def campaign_timeline() -> Timeline:
    """Cumulative activations, oppositions and automatic creations since the first notification, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(_TIMELINE_SQL, {"tz": settings.TIME_ZONE})
        rows = cursor.fetchall()
    if not rows:
        return Timeline(step="day", points=[])
    return Timeline(
        step=rows[0][1],
        points=[TimelinePoint(day, int(a), int(o), int(c)) for day, _step, a, o, c in rows],
    )
