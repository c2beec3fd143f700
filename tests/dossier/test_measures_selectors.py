"""Selectors of the measures: scoped to the space, in a constant number of queries, with a bounded chart series."""

import base64
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from dossier.models import MeasureKind
from dossier.selectors.measures import (
    SERIES_MAX_POINTS,
    decode_cursor,
    encode_cursor,
    measure_latest_unit,
    measure_page,
    measure_series,
    measures_latest,
)
from tests.dossier.measures_support import at, bulk_values, bulk_values_sql, record

pytestmark = pytest.mark.django_db


def test_latest_gives_the_newest_value_of_each_measure_in_one_query(access, other_access, django_assert_num_queries):
    record(access, MeasureKind.WEIGHT, "70", at(2024, 1, 1, 8, 0))
    record(access, MeasureKind.WEIGHT, "71", at(2024, 3, 1, 8, 0))
    record(access, MeasureKind.WEIGHT, "69", at(2024, 2, 1, 8, 0))  # entered last, measured earlier
    record(access, MeasureKind.BLOOD_PRESSURE, 120, at(2024, 2, 1, 8, 0), value_secondary=80)
    record(other_access, MeasureKind.HEART_RATE, 60)
    with django_assert_num_queries(1):
        latest = measures_latest(access)
    assert set(latest) == {MeasureKind.WEIGHT, MeasureKind.BLOOD_PRESSURE}
    assert latest[MeasureKind.WEIGHT].value == Decimal("71")
    assert latest[MeasureKind.BLOOD_PRESSURE].value_secondary == 80


def test_latest_takes_one_query_whatever_the_volume(access, citizen, django_assert_num_queries):
    for kind in (MeasureKind.WEIGHT, MeasureKind.STEPS, MeasureKind.HEART_RATE):
        bulk_values(citizen, kind, 300, start=at(2023, 1, 1, 8, 0), step=timedelta(hours=6), light=True)
    with django_assert_num_queries(1):
        latest = measures_latest(access)
    assert latest[MeasureKind.STEPS].effective_at == at(2023, 1, 1, 8, 0) + timedelta(hours=6) * 299


def test_latest_unit(access):
    assert measure_latest_unit(access, MeasureKind.GLUCOSE) is None
    record(access, MeasureKind.GLUCOSE, "100", at(2024, 1, 1, 8, 0), unit="mg/dL", glucose_moment="a-jeun")
    record(access, MeasureKind.GLUCOSE, "5.5", at(2024, 1, 2, 8, 0), unit="mmol/L", glucose_moment="a-jeun")
    assert measure_latest_unit(access, MeasureKind.GLUCOSE) == "mmol/L"


def test_series_gives_each_value_when_there_are_few(access, other_access):
    record(access, MeasureKind.WEIGHT, "70", at(2024, 1, 1, 8, 0))
    record(access, MeasureKind.WEIGHT, "72", at(2024, 1, 5, 8, 0))
    record(other_access, MeasureKind.WEIGHT, "99", at(2024, 1, 3, 8, 0))
    series = measure_series(access, MeasureKind.WEIGHT)
    assert series.total == 2
    assert not series.aggregated
    assert [(p.at, p.mean, p.count) for p in series.points] == [
        (at(2024, 1, 1, 8, 0), Decimal("70"), 1),
        (at(2024, 1, 5, 8, 0), Decimal("72"), 1),
    ]


def test_series_since(access):
    record(access, MeasureKind.WEIGHT, "70", timezone.now() - timedelta(days=60))
    record(access, MeasureKind.WEIGHT, "72", timezone.now() - timedelta(days=10))
    series = measure_series(access, MeasureKind.WEIGHT, since=timezone.now() - timedelta(days=31))
    assert [p.mean for p in series.points] == [Decimal("72")]
    assert series.total == 1


def test_series_of_50000_values_is_downsampled_in_one_query(access, citizen, django_assert_num_queries):
    start = at(2020, 1, 1, 0, 0).astimezone(UTC)  # in UTC, where adding hours crosses no clock change
    bulk_values_sql(citizen, MeasureKind.STEPS, 50_000, start=start, step=timedelta(hours=1), value=8000)
    with django_assert_num_queries(1):
        series = measure_series(access, MeasureKind.STEPS)
    assert series.total == 50_000
    assert series.aggregated
    assert len(series.points) <= SERIES_MAX_POINTS
    assert sum(point.count for point in series.points) == 50_000
    assert min(point.low for point in series.points) == Decimal("8000")
    assert max(point.high for point in series.points) == Decimal("8009")
    assert series.points[0].start == start
    assert series.points[-1].end == start + timedelta(hours=49_999)
    assert all(a.end < b.start for a, b in zip(series.points, series.points[1:], strict=False))


def test_series_of_blood_pressure_carries_both_values(access):
    record(access, MeasureKind.BLOOD_PRESSURE, 130, at(2024, 1, 1, 8, 0), value_secondary=85)
    [point] = measure_series(access, MeasureKind.BLOOD_PRESSURE).points
    assert (point.mean, point.mean_secondary) == (Decimal("130"), Decimal("85"))


def test_series_converts_glucose_to_the_unit_asked(access):
    record(access, MeasureKind.GLUCOSE, "1.10", at(2024, 1, 1, 8, 0), unit="g/L", glucose_moment="a-jeun")
    record(access, MeasureKind.GLUCOSE, "90", at(2024, 1, 2, 8, 0), unit="mg/dL", glucose_moment="a-jeun")
    record(access, MeasureKind.GLUCOSE, "5.0", at(2024, 1, 3, 8, 0), unit="mmol/L", glucose_moment="a-jeun")
    in_mg = measure_series(access, MeasureKind.GLUCOSE, unit="mg/dL")
    assert in_mg.unit.code == "mg/dL"
    assert [round(p.mean, 2) for p in in_mg.points] == [Decimal("110.00"), Decimal("90.00"), Decimal("90.08")]
    in_g = measure_series(access, MeasureKind.GLUCOSE)
    assert in_g.unit.code == "g/L"
    assert [round(p.mean, 4) for p in in_g.points] == [Decimal("1.1000"), Decimal("0.9000"), Decimal("0.9008")]


def test_page_is_newest_first_with_a_keyset_cursor(access, other_access, citizen):
    bulk_values(citizen, MeasureKind.HEART_RATE, 45, start=at(2024, 1, 1, 8, 0), step=timedelta(hours=1))
    record(other_access, MeasureKind.HEART_RATE, 99)
    first = measure_page(access, MeasureKind.HEART_RATE, size=20)
    assert first.is_first
    assert len(first.items) == 20
    assert first.items[0].effective_at == at(2024, 1, 1, 8, 0) + timedelta(hours=44)
    second = measure_page(access, MeasureKind.HEART_RATE, cursor=first.next_cursor, size=20)
    third = measure_page(access, MeasureKind.HEART_RATE, cursor=second.next_cursor, size=20)
    assert not second.is_first
    assert len(third.items) == 5
    assert third.next_cursor is None
    seen = [m.pk for m in first.items + second.items + third.items]
    assert len(set(seen)) == 45
    times = [m.effective_at for m in first.items + second.items + third.items]
    assert times == sorted(times, reverse=True)


def test_page_handles_values_at_the_same_moment(access, citizen):
    bulk_values(citizen, MeasureKind.PAIN, 7, start=at(2024, 1, 1, 8, 0), step=timedelta(0), value=3)
    first = measure_page(access, MeasureKind.PAIN, size=3)
    second = measure_page(access, MeasureKind.PAIN, cursor=first.next_cursor, size=3)
    third = measure_page(access, MeasureKind.PAIN, cursor=second.next_cursor, size=3)
    assert len({m.pk for m in first.items + second.items + third.items}) == 7


def test_page_takes_one_query_whatever_the_position(access, citizen, django_assert_num_queries):
    bulk_values(citizen, MeasureKind.WEIGHT, 200, start=at(2023, 1, 1, 8, 0), step=timedelta(days=1), light=True)
    page = measure_page(access, MeasureKind.WEIGHT)
    for _ in range(5):
        with django_assert_num_queries(1):
            page = measure_page(access, MeasureKind.WEIGHT, cursor=page.next_cursor)


@pytest.mark.parametrize("cursor", ["", "garbage", "%%%", "YWJj", "x" * 500])
def test_a_damaged_cursor_starts_the_list_over(access, cursor):
    assert decode_cursor(cursor) is None
    assert measure_page(access, MeasureKind.WEIGHT, cursor=cursor).is_first


def test_cursor_round_trip_does_not_reveal_the_internal_id(access):
    measure = record(access, MeasureKind.WEIGHT, "70", at(2024, 1, 1, 8, 0))
    cursor = encode_cursor(measure)
    assert decode_cursor(cursor) == (measure.effective_at, measure.public_id)
    assert str(measure.pk) not in base64.urlsafe_b64decode(cursor + "==").decode().split("|")
