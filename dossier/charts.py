"""Server-rendered SVG chart of a measure over time: geometry only, the markup is in
``templates/dossier/measures/_chart.html``.

The chart never carries more points than the series it is given (``measure_series`` bounds them), so its size
stays the same for 50 or 50,000 values. Two sizes are drawn, one for wide screens and one for phones, so that the
labels keep a readable size without JavaScript. Colours come from the DSFR palette, and each series also has its
own dash pattern and marker shape, so that they stay apart without colour vision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dossier.measures_catalog import MeasureSpec, format_number
from dossier.models import MeasureKind
from dossier.selectors.measures import MeasureSeries


@dataclass(frozen=True)
class ChartSize:
    name: str
    width: int
    height: int
    margin_left: int
    margin_right: int
    margin_top: int
    margin_bottom: int
    font_size: int
    x_ticks: int
    y_ticks: int
    marker_limit: int  # up to this many points, each is marked


WIDE = ChartSize("large", 720, 320, 64, 24, 36, 44, 13, 6, 5, 60)
NARROW = ChartSize("etroit", 340, 280, 52, 14, 36, 40, 13, 3, 4, 30)

# (colour, dash pattern, marker shape) per series: blue France, then red Marianne.
STYLES = (("#000091", "", "circle"), ("#c9191e", "7 4", "square"))
# Scales that start at zero: a count of steps and a score are read from zero; a weight is not.
ZERO_BASED = {MeasureKind.STEPS, MeasureKind.PAIN}


@dataclass(frozen=True)
class Tick:
    position: str  # SVG coordinate as text with a decimal point (a template would localise a float)
    label: str
    anchor: str = "middle"


@dataclass(frozen=True)
class Marker:
    x: str
    y: str
    x0: str  # square markers: top-left corner
    y0: str


@dataclass(frozen=True)
class RangeBar:
    x: str
    y_low: str
    y_high: str


@dataclass
class ChartLine:
    label: str
    colour: str
    dash: str
    shape: str
    points: str = ""
    markers: list[Marker] = field(default_factory=list)
    ranges: list[RangeBar] = field(default_factory=list)


@dataclass(frozen=True)
class Chart:
    size: ChartSize
    ident: str
    title: str
    description: str
    axis_label: str
    lines: list[ChartLine]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    plot_left: str
    plot_right: str
    plot_top: str
    plot_bottom: str
    y_label_x: str
    x_label_y: str
    x_tick_end: str
    axis_label_y: str


def _nice_step(span: float, ticks: int) -> float:
    raw = span / max(ticks - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def y_scale(low: float, high: float, *, ticks: int, zero_based: bool, top: float | None = None) -> list[float]:
    """Round tick values that enclose [low, high]."""
    if zero_based:
        low = 0.0
    if top is not None:
        high = max(high, top)
    if high - low < 1e-9:
        pad = abs(high) * 0.05 or 1.0
        low, high = low - pad, high + pad
        if zero_based:
            low = 0.0
    step = _nice_step(high - low, ticks)
    start = math.floor(low / step) * step
    values = [start]
    while values[-1] < high - 1e-9:
        values.append(values[-1] + step)
    return values


# Abbreviated months as French typography writes them (Django's « M » is English, « N » is AP style).
SHORT_MONTHS = (
    gettext_lazy("janv."),
    gettext_lazy("févr."),
    gettext_lazy("mars"),
    gettext_lazy("avr."),
    gettext_lazy("mai"),
    gettext_lazy("juin"),
    gettext_lazy("juil."),
    gettext_lazy("août"),
    gettext_lazy("sept."),
    gettext_lazy("oct."),
    gettext_lazy("nov."),
    gettext_lazy("déc."),
)


def axis_date(moment: datetime, span: timedelta) -> str:
    """A date of the time axis, as precise as the span needs: « 3 mai 14 h 00 », « 3 mai », « mai 2024 »."""
    local = timezone.localtime(moment)
    month = SHORT_MONTHS[local.month - 1]
    if span <= timedelta(hours=36):
        return f"{local.day} {month} {local.hour}\u00a0h\u00a0{local.minute:02d}"
    if span <= timedelta(days=370):
        return f"{local.day} {month}"
    return f"{month} {local.year}"


def measure_chart(
    series: MeasureSeries,
    spec: MeasureSpec,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    size: ChartSize = WIDE,
) -> Chart | None:
    """The chart of ``series`` between ``start`` and ``end`` (default: its first and last values); ``None`` when
    there is nothing to draw."""
    points = series.points
    if not points:
        return None
    first, last = points[0].start, points[-1].end
    start = min(start or first, first)
    end = max(end or last, last)
    if end - start < timedelta(hours=1):
        # A lone value (or a burst within the hour) sits in the middle of three days.
        start, end = start - timedelta(days=1), end + timedelta(days=1)
    span_seconds = (end - start).total_seconds()

    plot_left, plot_right = size.margin_left, size.width - size.margin_right
    plot_top, plot_bottom = size.margin_top, size.height - size.margin_bottom
    plot_width, plot_height = plot_right - plot_left, plot_bottom - plot_top

    secondary = spec.is_panel
    lows = [float(point.low) for point in points] + ([float(p.low_secondary) for p in points] if secondary else [])
    highs = [float(point.high) for point in points] + ([float(p.high_secondary) for p in points] if secondary else [])
    scale = y_scale(
        min(lows),
        max(highs),
        ticks=size.y_ticks,
        zero_based=spec.kind in ZERO_BASED,
        top=10.0 if spec.kind == MeasureKind.PAIN else None,
    )
    bottom_value, top_value = scale[0], scale[-1]

    def x(moment: datetime) -> str:
        return f"{plot_left + plot_width * (moment - start).total_seconds() / span_seconds:.1f}"

    def y(value: Decimal | float) -> str:
        return f"{plot_bottom - plot_height * (float(value) - bottom_value) / (top_value - bottom_value):.1f}"

    labels = [c.label for c in spec.components] if secondary else [spec.label]
    lines = []
    for index, label in enumerate(labels):
        colour, dash, shape = STYLES[index]
        line = ChartLine(label=str(label), colour=colour, dash=dash, shape=shape)
        coordinates = []
        for point in points:
            mean = point.mean_secondary if index else point.mean
            low = point.low_secondary if index else point.low
            high = point.high_secondary if index else point.high
            px, py = x(point.at), y(mean)
            coordinates.append(f"{px},{py}")
            if point.count > 1 and high > low:
                line.ranges.append(RangeBar(px, y(low), y(high)))
            if len(points) <= size.marker_limit:
                line.markers.append(Marker(px, py, f"{float(px) - 3.5:.1f}", f"{float(py) - 3.5:.1f}"))
        line.points = " ".join(coordinates)
        lines.append(line)

    y_ticks = [Tick(y(value), format_number(round(Decimal(str(value)), 6))) for value in scale]
    x_ticks = _x_ticks(start, end, size, plot_width, x)

    unit = series.unit.label
    return Chart(
        size=size,
        ident=f"graphique-{size.name}",
        title=_("%(label)s : évolution du %(first)s au %(last)s")
        % {
            "label": spec.label,
            "first": format_date(timezone.localtime(first), "j F Y"),
            "last": format_date(timezone.localtime(last), "j F Y"),
        },
        description=chart_description(series, spec),
        axis_label=f"{spec.label} ({unit})",
        lines=lines,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        plot_left=str(plot_left),
        plot_right=str(plot_right),
        plot_top=str(plot_top),
        plot_bottom=str(plot_bottom),
        y_label_x=str(plot_left - 8),
        x_label_y=str(plot_bottom + 22),
        x_tick_end=str(plot_bottom + 5),
        axis_label_y=str(plot_top - 16),
    )


def _x_ticks(start: datetime, end: datetime, size: ChartSize, plot_width: int, x) -> list[Tick]:
    """Evenly spaced dates, as many as fit side by side without overlapping (at least the first and the last)."""
    count = max(size.x_ticks, 2)
    while True:
        moments = [start + (end - start) * index / (count - 1) for index in range(count)]
        labels = [axis_date(moment, end - start) for moment in moments]
        # Marianne's figures and lower-case letters average about 0.55 em; keep an em between labels.
        needed = sum(len(label) * size.font_size * 0.55 for label in labels) + (count - 1) * size.font_size
        if needed <= plot_width or count == 2:
            break
        count -= 1
    return [
        Tick(x(moment), label, "start" if index == 0 else "end" if index == count - 1 else "middle")
        for index, (moment, label) in enumerate(zip(moments, labels, strict=True))
    ]


def chart_description(series: MeasureSeries, spec: MeasureSpec) -> str:
    """What the chart shows, in words: the number of values, the extremes and the latest point."""
    unit = series.unit.label
    points = series.points
    parts = [
        _("%(count)s valeur(s) sur la période.") % {"count": format_number(series.total)},
    ]
    names = [c.label for c in spec.components] if spec.is_panel else [spec.label]
    for index, name in enumerate(names):
        lows = [p.low_secondary if index else p.low for p in points]
        highs = [p.high_secondary if index else p.high for p in points]
        parts.append(
            _("%(name)s : de %(low)s à %(high)s %(unit)s.")
            % {
                "name": name,
                "low": format_number(_rounded(min(lows), series)),
                "high": format_number(_rounded(max(highs), series)),
                "unit": unit,
            }
        )
    if series.aggregated:
        parts.append(
            _(
                "Les valeurs sont regroupées par période : chaque point est la moyenne de la période, "
                "le trait vertical va de sa plus petite à sa plus grande valeur."
            )
        )
    parts.append(_("Les mêmes données figurent dans le tableau qui suit le graphique."))
    return " ".join(parts)


def _rounded(value: Decimal, series: MeasureSeries) -> Decimal:
    return Decimal(value).quantize(Decimal(1).scaleb(-series.unit.decimals))
