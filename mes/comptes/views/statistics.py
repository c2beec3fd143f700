"""Statistics of the opt-out campaign, for administrators: tables, a chart over time, a CSV export."""

import csv
from dataclasses import dataclass
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mes.acces.policy import role_required
from mes.comptes.models import Role
from mes.comptes.selectors.stats import CampaignRow, Timeline, campaign_tables, campaign_timeline

# The chart's drawing box (SVG user units); the SVG scales to the width of its container.
CHART_WIDTH, CHART_HEIGHT = 720, 320
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 72, 16, 16, 40

# (key, label, colour, dash pattern): colours of the DSFR palette, and a dash pattern each so that the series
# stay apart without colour vision.
SERIES = (
    ("activated", gettext_lazy("Activations"), "#000091", ""),
    ("opposed", gettext_lazy("Oppositions"), "#ce0500", "8 4"),
    ("auto_created", gettext_lazy("Créations automatiques"), "#18753c", "2 4"),
)


def french_percent(rate: Decimal | None) -> str:
    """3.63 → « 3,63 % » (non-breaking space before the sign, as French typography wants)."""
    if rate is None:
        return "—"
    return f"{number_format(rate, 2, use_l10n=True, force_grouping=True)}\u00a0%"


def french_int(value: int) -> str:
    return number_format(value, 0, use_l10n=True, force_grouping=True)


@dataclass(frozen=True)
class ChartLine:
    key: str
    label: str
    colour: str
    dash: str
    points: str  # SVG polyline points
    last: str


@dataclass(frozen=True)
class Tick:
    position: str  # SVG coordinate, already text: the template would localise a float ("280,0")
    label: str
    anchor: str = "middle"


def _axis_top(value: int) -> int:
    """The top of the vertical axis: 4 ticks of a round step (1, 2 or 5 × 10^n) that reach ``value``."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if 4 * factor * magnitude >= value:
                return 4 * factor * magnitude
        magnitude *= 10


def chart_geometry(timeline: Timeline) -> dict:
    """Polylines and axis ticks of the cumulative chart, in the SVG's user units."""
    points = timeline.points
    if not points:
        return {}
    plot_width = CHART_WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_height = CHART_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    top = _axis_top(max(max(p.activated, p.opposed, p.auto_created) for p in points))
    span = max(len(points) - 1, 1)

    # Coordinates go out as text with a decimal point: the template would localise a float ("280,0").
    def x(index: int) -> str:
        return f"{MARGIN_LEFT + plot_width * index / span:.1f}"

    def y(value: int) -> str:
        return f"{MARGIN_TOP + plot_height * (1 - value / top):.1f}"

    lines = [
        ChartLine(
            key=key,
            label=str(label),
            colour=colour,
            dash=dash,
            points=" ".join(f"{x(i)},{y(getattr(p, key))}" for i, p in enumerate(points)),
            last=french_int(getattr(points[-1], key)),
        )
        for key, label, colour, dash in SERIES
    ]
    y_ticks = [Tick(y(top * step // 4), french_int(top * step // 4)) for step in range(5)]
    date_format = "M Y" if timeline.step == "month" else "j M"
    label_count = min(len(points), 6)
    indexes = sorted({round(i * span / max(label_count - 1, 1)) for i in range(label_count)})
    # The first and last date labels hang inside the drawing, so that neither is cut at the edge.
    x_ticks = [
        Tick(x(i), format_date(points[i].day, date_format), "start" if i == 0 else "end" if i == span else "middle")
        for i in indexes
    ]
    return {
        "width": str(CHART_WIDTH),
        "height": str(CHART_HEIGHT),
        "plot_left": str(MARGIN_LEFT),
        "plot_right": str(CHART_WIDTH - MARGIN_RIGHT),
        "plot_bottom": str(CHART_HEIGHT - MARGIN_BOTTOM),
        "y_label_x": str(MARGIN_LEFT - 8),
        "x_tick_end": str(CHART_HEIGHT - MARGIN_BOTTOM + 5),
        "x_label_y": str(CHART_HEIGHT - MARGIN_BOTTOM + 22),
        "lines": lines,
        "y_ticks": y_ticks,
        "x_ticks": x_ticks,
        "first_day": points[0].day,
        "last_day": points[-1].day,
    }


STEP_LABELS = {"day": gettext_lazy("jour"), "week": gettext_lazy("semaine"), "month": gettext_lazy("mois")}


def _row_cells(row: CampaignRow) -> dict:
    return {
        "row": row,
        "notified": french_int(row.notified),
        "activated": french_int(row.activated),
        "opposed": french_int(row.opposed),
        "auto_created": french_int(row.auto_created),
        "pending": french_int(row.pending),
        "closed": french_int(row.closed),
        "activation_rate": french_percent(row.activation_rate),
        "opposition_rate": french_percent(row.opposition_rate),
        "auto_creation_rate": french_percent(row.auto_creation_rate),
        "pending_rate": french_percent(row.pending_rate),
    }


@require_GET
@never_cache
@role_required(Role.ADMIN)
def statistics(request: HttpRequest) -> HttpResponse:
    tables = campaign_tables()
    timeline = campaign_timeline()
    context = {
        "waves": [_row_cells(row) for row in tables.waves],
        "departments": [_row_cells(row) for row in tables.departments],
        "total": _row_cells(tables.total),
        "chart": chart_geometry(timeline),
        "timeline": [
            {
                "day": point.day,
                "activated": french_int(point.activated),
                "opposed": french_int(point.opposed),
                "auto_created": french_int(point.auto_created),
            }
            for point in timeline.points
        ],
        "step_label": STEP_LABELS[timeline.step],
    }
    return render(request, "gestion/statistiques/index.html", context)


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """The cell as text, with a leading quote when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_TRIGGERS) else text


def _csv_rate(rate: Decimal | None) -> str:
    # A decimal comma, as a French spreadsheet expects with the « ; » separator.
    return "" if rate is None else f"{rate}".replace(".", ",")


CSV_HEADER = (
    gettext_lazy("Niveau"),
    gettext_lazy("Vague ou département"),
    gettext_lazy("Notifiés"),
    gettext_lazy("Activés"),
    gettext_lazy("Opposés"),
    gettext_lazy("Créés automatiquement"),
    gettext_lazy("En attente"),
    gettext_lazy("Fermés"),
    gettext_lazy("Taux d'activation (%)"),
    gettext_lazy("Taux d'opposition (%)"),
    gettext_lazy("Taux de création automatique (%)"),
    gettext_lazy("Taux en attente (%)"),
)


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
@never_cache
@role_required(Role.ADMIN)
def statistics_csv(request: HttpRequest) -> HttpResponse:
    """The tables as CSV for Excel: « ; » separator, UTF-8 with a byte order mark, formulas neutralised."""
    tables = campaign_tables()
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")
    lines = ["\ufeff", writer.writerow([str(label) for label in CSV_HEADER])]
    groups = [(_("Vague"), tables.waves), (_("Département"), tables.departments), (_("Total"), [tables.total])]
    for level, rows in groups:
        for row in rows:
            cells = [
                level,
                row.label,
                row.notified,
                row.activated,
                row.opposed,
                row.auto_created,
                row.pending,
                row.closed,
                _csv_rate(row.activation_rate),
                _csv_rate(row.opposition_rate),
                _csv_rate(row.auto_creation_rate),
                _csv_rate(row.pending_rate),
            ]
            lines.append(writer.writerow([csv_safe(cell) for cell in cells]))
    filename = f"statistiques-campagne-{timezone.localdate():%Y-%m-%d}.csv"
    response = HttpResponse("".join(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
