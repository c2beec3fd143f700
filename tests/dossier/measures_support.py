"""Shared helpers of the measures' tests: record values through the services, or in bulk for volume tests."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import uuid4

from django.db import connection
from django.utils import timezone

from dossier.fhir.measures import build_observation
from dossier.measures_catalog import MEASURES
from dossier.models import Measure, SourceKind
from dossier.services.measures import measure_record, measure_source_label


def at(*args: int) -> datetime:
    """An aware datetime in Europe/Paris: at(2024, 5, 1, 8, 30)."""
    return timezone.make_aware(datetime(*args))


def record(access, kind: str, value, when: datetime | None = None, **kwargs) -> Measure:
    kwargs.setdefault("source_label", measure_source_label(access))
    if "value_secondary" in kwargs and kwargs["value_secondary"] is not None:
        kwargs["value_secondary"] = Decimal(str(kwargs["value_secondary"]))
    return measure_record(
        access=access,
        kind=kind,
        effective_at=when or timezone.now() - timedelta(minutes=1),
        value=Decimal(str(value)),
        **kwargs,
    )


def bulk_values(
    citizen, kind: str, count: int, *, start: datetime, step: timedelta, value=Decimal("70"), light=False, **extra
):
    """``count`` measures in one INSERT, for volume tests (the BMI is not maintained). Each has its valid
    Observation, unless ``light``: then they share one, which is enough for the chart and the lists."""
    spec = MEASURES[kind]
    rows = []
    shared = None
    for index in range(count):
        public_id = uuid4()
        moment = start + step * index
        number = Decimal(str(value)) + Decimal(index % 10) / (10 if spec.unit.decimals else 1)
        secondary = Decimal("80") if spec.is_panel else None
        if light and shared is None:
            shared = build_observation(
                spec=spec, citizen=citizen, effective_at=moment, value=number, value_secondary=secondary
            )
        rows.append(
            Measure(
                public_id=public_id,
                citizen=citizen,
                kind=kind,
                effective_at=moment,
                value=number,
                value_secondary=secondary,
                unit=extra.get("unit", spec.unit.code),
                source_kind=extra.get("source_kind", SourceKind.APP),
                source_label=extra.get("source_label", "Balance connectée"),
                resource=shared
                or build_observation(
                    spec=spec,
                    citizen=citizen,
                    effective_at=moment,
                    value=number,
                    value_secondary=secondary,
                    observation_id=public_id,
                ),
            )
        )
    return Measure.objects.bulk_create(rows, batch_size=5000)


def bulk_values_sql(citizen, kind: str, count: int, *, start: datetime, step: timedelta, value=Decimal("70")) -> None:
    """``count`` measures written by PostgreSQL itself (``generate_series``): tens of thousands in a blink. They
    share one valid Observation, which is enough for the chart and the lists."""
    spec = MEASURES[kind]
    resource = build_observation(
        spec=spec,
        citizen=citizen,
        effective_at=start,
        value=Decimal(str(value)),
        value_secondary=Decimal("80") if spec.is_panel else None,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO dossier_measure (public_id, citizen_id, kind, effective_at, value, value_secondary, unit,
                glucose_moment, source_kind, source_label, resource, created_at)
            SELECT gen_random_uuid(), %(citizen)s, %(kind)s, %(start)s + n * %(step)s,
                %(value)s + (n %% 10) / %(divisor)s, %(secondary)s, %(unit)s, '', 'app', 'Podomètre',
                %(resource)s::jsonb, now()
            FROM generate_series(0, %(last)s) AS n
            """,
            {
                "citizen": citizen.pk,
                "kind": kind,
                "start": start,
                "step": step,
                "value": Decimal(str(value)),
                "secondary": Decimal("80") if spec.is_panel else None,
                "unit": spec.unit.code,
                "resource": json.dumps(resource),
                "last": count - 1,
                "divisor": 10 if spec.unit.decimals else 1,
            },
        )
