"""The SVG chart of a measure: geometry, scales, both blood-pressure series, and a bounded size at any volume."""

from datetime import UTC, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from django.urls import reverse

from dossier.charts import NARROW, WIDE, axis_date, measure_chart, y_scale
from dossier.measures_catalog import MEASURES
from dossier.models import MeasureKind
from dossier.selectors.measures import SERIES_MAX_POINTS, MeasureSeries, SeriesPoint
from tests.dossier.measures_support import at, bulk_values_sql

pytestmark = pytest.mark.django_db


def point(moment, value, secondary=None, count=1, low=None, high=None):
    value = Decimal(str(value))
    return SeriesPoint(
        at=moment,
        start=moment,
        end=moment,
        count=count,
        low=Decimal(str(low)) if low is not None else value,
        high=Decimal(str(high)) if high is not None else value,
        mean=value,
        low_secondary=secondary,
        high_secondary=secondary,
        mean_secondary=secondary,
    )


def series(kind, points):
    spec = MEASURES[kind]
    return MeasureSeries(kind=kind, unit=spec.unit, points=points, total=sum(p.count for p in points))


def test_no_chart_without_values():
    assert measure_chart(series(MeasureKind.WEIGHT, []), MEASURES[MeasureKind.WEIGHT]) is None


def test_chart_places_points_inside_the_plot():
    data = series(
        MeasureKind.WEIGHT,
        [point(at(2024, 1, 1, 8, 0), 70), point(at(2024, 2, 1, 8, 0), 72.4), point(at(2024, 3, 1, 8, 0), 71)],
    )
    chart = measure_chart(data, MEASURES[MeasureKind.WEIGHT])
    [line] = chart.lines
    coordinates = [tuple(map(float, pair.split(","))) for pair in line.points.split()]
    assert len(coordinates) == 3
    xs = [x for x, _ in coordinates]
    assert xs == sorted(xs)
    assert xs[0] == float(chart.plot_left) and xs[-1] == float(chart.plot_right)
    for _, y in coordinates:
        assert float(chart.plot_top) <= y <= float(chart.plot_bottom)
    # The highest value is drawn highest (SVG y grows downwards).
    assert coordinates[1][1] < coordinates[2][1] < coordinates[0][1]
    assert len(line.markers) == 3
    assert line.ranges == []
    assert chart.axis_label == "Poids (kg)"
    assert float(chart.y_ticks[0].label.replace(",", ".")) <= 70
    assert chart.title == "Poids : évolution du 1 janvier 2024 au 1 mars 2024"


def test_y_ticks_are_round_values_enclosing_the_data():
    ticks = y_scale(68.3, 74.9, ticks=5, zero_based=False)
    assert ticks[0] <= 68.3 and ticks[-1] >= 74.9
    steps = {round(b - a, 6) for a, b in pairwise(ticks)}
    assert len(steps) == 1 and steps.pop() in {1, 2, 2.5, 5}
    assert y_scale(5000, 12000, ticks=5, zero_based=True)[0] == 0
    assert y_scale(3, 3, ticks=5, zero_based=False)[0] < 3 < y_scale(3, 3, ticks=5, zero_based=False)[-1]


def test_pain_scale_runs_from_0_to_10():
    chart = measure_chart(series(MeasureKind.PAIN, [point(at(2024, 1, 1, 8, 0), 3)]), MEASURES[MeasureKind.PAIN])
    assert chart.y_ticks[0].label == "0"
    assert chart.y_ticks[-1].label == "10"


def test_blood_pressure_draws_two_distinct_series():
    data = series(
        MeasureKind.BLOOD_PRESSURE,
        [point(at(2024, 1, 1, 8, 0), 130, Decimal(85)), point(at(2024, 1, 2, 8, 0), 125, Decimal(80))],
    )
    chart = measure_chart(data, MEASURES[MeasureKind.BLOOD_PRESSURE])
    systolic, diastolic = chart.lines
    assert (systolic.label, diastolic.label) == ("Pression systolique", "Pression diastolique")
    assert systolic.colour != diastolic.colour and systolic.dash != diastolic.dash
    assert systolic.shape != diastolic.shape
    for sys_point, dia_point in zip(systolic.points.split(), diastolic.points.split(), strict=True):
        assert float(sys_point.split(",")[1]) < float(dia_point.split(",")[1])
    assert "Pression systolique : de 125 à 130 mmHg." in chart.description


def test_downsampled_buckets_draw_their_range_and_say_so():
    data = series(MeasureKind.HEART_RATE, [point(at(2024, 1, d, 8, 0), 70, count=24, low=55, high=110) for d in (1, 2)])
    chart = measure_chart(data, MEASURES[MeasureKind.HEART_RATE])
    assert len(chart.lines[0].ranges) == 2
    assert "regroupées par période" in chart.description
    assert "48 valeur(s)" in chart.description


def test_a_single_value_gets_a_readable_span():
    chart = measure_chart(
        series(MeasureKind.TEMPERATURE, [point(at(2024, 1, 1, 8, 0), 38.2)]), MEASURES[MeasureKind.TEMPERATURE]
    )
    assert (
        chart.lines[0].points
        == f"{(WIDE.margin_left + WIDE.width - WIDE.margin_right) / 2:.1f},{chart.lines[0].markers[0].y}"
    )
    # The value sits in the middle of the day before and the day after.
    assert chart.x_ticks[0].label == "31 déc."


def test_the_narrow_chart_has_fewer_ticks():
    data = series(MeasureKind.WEIGHT, [point(at(2024, 1, 1, 8, 0), 70), point(at(2024, 6, 1, 8, 0), 72)])
    wide = measure_chart(data, MEASURES[MeasureKind.WEIGHT], size=WIDE)
    narrow = measure_chart(data, MEASURES[MeasureKind.WEIGHT], size=NARROW)
    assert len(narrow.x_ticks) < len(wide.x_ticks)
    assert narrow.ident != wide.ident


def test_axis_dates_follow_the_span():
    moment = at(2024, 5, 3, 14, 0)
    assert axis_date(moment, timedelta(hours=20)) == "3 mai 14\u00a0h\u00a000"
    assert axis_date(moment, timedelta(days=90)) == "3 mai"
    assert axis_date(moment, timedelta(days=900)) == "mai 2024"


def test_a_page_with_50000_values_stays_light(client, citizen):
    start = at(2019, 1, 1, 0, 0).astimezone(UTC)
    bulk_values_sql(citizen, MeasureKind.HEART_RATE, 50_000, start=start, step=timedelta(hours=1), value=60)
    client.force_login(citizen.user)
    response = client.get(reverse("measure_detail", args=[MeasureKind.HEART_RATE]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "50\u00a0000 valeur(s) sur la période" in html
    polylines = [chunk.split('"', 1)[0] for chunk in html.split('<polyline points="')[1:]]
    assert len(polylines) == 2
    assert all(len(points.split()) <= SERIES_MAX_POINTS for points in polylines)
    assert len(response.content) < 250_000
