"""``/dossier/mesures/``: the overview of the measures, a page per measure (chart, values), entry and deletion.

Measures are looked up only through the selectors of the space the access opens, so another person's value answers
404, exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from dossier.charts import NARROW, WIDE, measure_chart
from dossier.fhir.measures import ObservationError, observation_moment
from dossier.forms.measures import DEFAULT_PERIOD, PERIODS, MeasureForm
from dossier.measures_catalog import MEASURES, MeasureSpec, format_number
from dossier.models import Measure, MeasureKind, SourceKind
from dossier.selectors.measures import (
    MeasureSeries,
    SeriesPoint,
    measure_latest_unit,
    measure_page,
    measure_series,
    measures_latest,
    measures_visible,
)
from dossier.services.measures import (
    measure_delete as measure_delete_service,
)
from dossier.services.measures import (
    measure_is_deletable,
    measure_record,
    measure_source_label,
)
from dossier.views.common import dossier_view
from mes.acces.policy import CitizenAccess

NBSP = "\u00a0"


def _spec_or_404(kind: str) -> MeasureSpec:
    spec = MEASURES.get(kind)
    if spec is None:
        raise Http404(_("Mesure inconnue."))
    return spec


def format_measure(measure: Measure) -> str:
    """« 72,5 kg », « 125/80 mmHg », « 5/10 », « 8 500 pas/jour »."""
    spec = MEASURES[measure.kind]
    unit = spec.unit_for(measure.unit) or spec.unit
    return format_value(spec, unit.label, measure.value, measure.value_secondary)


def format_value(spec: MeasureSpec, unit_label: str, value: Decimal, secondary: Decimal | None = None) -> str:
    if spec.is_panel and secondary is not None:
        return f"{format_number(value)}/{format_number(secondary)}{NBSP}{unit_label}"
    if spec.kind == MeasureKind.PAIN:
        return f"{format_number(value)}{unit_label}"
    return f"{format_number(value)}{NBSP}{unit_label}"


def format_moment(moment: datetime) -> str:
    return format_date(timezone.localtime(moment), _("j F Y à G\u00a0\\h\u00a0i"))


def format_source(measure: Measure) -> str:
    if measure.source_kind == SourceKind.APP:
        return _("%(name)s (service référencé)") % {"name": measure.source_label}
    if measure.source_kind == SourceKind.PROFESSIONAL:
        return _("%(name)s (professionnel de santé)") % {"name": measure.source_label}
    return measure.source_label or str(measure.get_source_kind_display())


@dataclass(frozen=True)
class MeasureCard:
    spec: MeasureSpec
    value: str
    moment: str
    context: str
    url: str


def measure_cards(access: CitizenAccess, *, detail_url: Callable[[str], str]) -> list[MeasureCard]:
    """One card per measure with its latest value, as both sides show them
    (``templates/dossier/_shared/measure_cards.html``); ``detail_url`` gives a measure's page from its kind."""
    latest = measures_latest(access)
    cards = []
    for kind, spec in MEASURES.items():
        measure = latest.get(kind)
        if measure is None:
            cards.append(MeasureCard(spec, "", "", "", detail_url(kind)))
            continue
        moment = observation_moment(measure.resource) if spec.needs_moment else None
        cards.append(
            MeasureCard(
                spec,
                format_measure(measure),
                format_moment(measure.effective_at),
                str(moment.label) if moment else "",
                detail_url(kind),
            )
        )
    return cards


@require_GET
@never_cache
@dossier_view
def measure_overview(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    cards = measure_cards(access, detail_url=lambda kind: reverse("measure_detail", args=[kind]))
    return render(request, "dossier/measures/overview.html", {"access": access, "cards": cards})


@dataclass(frozen=True)
class ValueRow:
    measure: Measure
    moment: str
    value: str
    glucose_moment: str
    source: str
    deletable: bool


def chart_rows(series: MeasureSeries, spec: MeasureSpec) -> list[dict]:
    """The chart's points as table rows: a value and its date, or a period with its mean, minimum and maximum."""
    unit = series.unit

    def cell(point: SeriesPoint, secondary: bool) -> str:
        low = point.low_secondary if secondary else point.low
        high = point.high_secondary if secondary else point.high
        mean = point.mean_secondary if secondary else point.mean
        quantum = Decimal(1).scaleb(-unit.decimals)
        if point.count == 1:
            return format_value(spec, unit.label, Decimal(mean).quantize(quantum))
        return _("moyenne %(mean)s (de %(low)s à %(high)s)") % {
            "mean": format_value(spec, unit.label, Decimal(mean).quantize(quantum)),
            "low": format_number(Decimal(low).quantize(quantum)),
            "high": format_number(Decimal(high).quantize(quantum)),
        }

    rows = []
    for point in series.points:
        if point.count == 1:
            when = format_moment(point.at)
        else:
            when = _("du %(start)s au %(end)s (%(count)s valeurs)") % {
                "start": format_date(timezone.localtime(point.start), "j M Y"),
                "end": format_date(timezone.localtime(point.end), "j M Y"),
                "count": format_number(point.count),
            }
        cells = [cell(point, False)]
        if spec.is_panel:
            cells.append(cell(point, True))
        rows.append({"when": when, "cells": cells})
    return rows


def measure_detail_context(request: HttpRequest, access: CitizenAccess, spec: MeasureSpec) -> dict:
    """A measure's page as both sides show it (``templates/dossier/_shared/measure_chart.html`` and
    ``measure_values.html``): the chart of the period chosen in the query string, its data as a table, and the page
    of values at the cursor."""
    period = request.GET.get("periode", DEFAULT_PERIOD)
    if period not in PERIODS:
        period = DEFAULT_PERIOD
    now = timezone.now()
    delta = PERIODS[period][1]
    since = now - delta if delta is not None else None
    unit = measure_latest_unit(access, spec.kind) if len(spec.units) > 1 else None
    series = measure_series(access, spec.kind, since=since, unit=unit)
    charts = [
        measure_chart(series, spec, start=since, end=now if since else None, size=size) for size in (WIDE, NARROW)
    ]
    page = measure_page(access, spec.kind, cursor=request.GET.get("apres"))
    rows = []
    for measure in page.items:
        moment = observation_moment(measure.resource) if spec.needs_moment else None
        rows.append(
            ValueRow(
                measure=measure,
                moment=format_moment(measure.effective_at),
                value=format_measure(measure),
                glucose_moment=str(moment.label) if moment else "",
                source=format_source(measure),
                deletable=measure_is_deletable(measure),
            )
        )
    headers = [str(component.label) for component in spec.components] if spec.is_panel else [str(spec.label)]
    return {
        "spec": spec,
        "period": period,
        "periods": [{"key": key, "label": label} for key, (label, _delta) in PERIODS.items()],
        "series": series,
        "chart_wide": charts[0],
        "chart_narrow": charts[1],
        "chart_headers": headers,
        "chart_rows": chart_rows(series, spec) if series.points else [],
        "rows": rows,
        "page": page,
    }


@require_GET
@never_cache
@dossier_view
def measure_detail(request: HttpRequest, access: CitizenAccess, kind: str) -> HttpResponse:
    context = measure_detail_context(request, access, _spec_or_404(kind))
    # Deleting a value is the person's own action: only their page has the column.
    context["any_deletable"] = any(row.deletable for row in context["rows"])
    return render(request, "dossier/measures/detail.html", {"access": access, **context})


# Which field of the form an issue of the Observation belongs to.
_ISSUE_FIELDS = (
    ("Observation.component[1]", "value_secondary"),
    ("Observation.component[0]", "value"),
    ("Observation.component", "value_secondary"),
    ("Observation.valueQuantity.code", "unit"),
    ("Observation.valueQuantity", "value"),
    ("Observation.effectiveDateTime", "date"),
    ("Observation.extension", "moment"),
)


def _issue_field(form: MeasureForm, expression: str) -> str | None:
    for prefix, name in _ISSUE_FIELDS:
        if expression.startswith(prefix) and name in form.fields:
            return name
    return None


@require_http_methods(["GET", "POST"])
@never_cache
@dossier_view
def measure_add(request: HttpRequest, access: CitizenAccess, kind: str) -> HttpResponse:
    spec = _spec_or_404(kind)
    if spec.computed:
        # No form for the BMI: it is computed from the weight and the height.
        raise Http404(_("L’IMC est calculé automatiquement."))
    default_unit = measure_latest_unit(access, kind) if len(spec.units) > 1 else None
    form = MeasureForm(
        request.POST if request.method == "POST" else None,
        spec=spec,
        birth_date=access.citizen.birth_date,
        default_unit=default_unit,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            measure = measure_record(
                access=access,
                kind=kind,
                effective_at=data["effective_at"],
                value=data["value"],
                value_secondary=data.get("value_secondary"),
                unit=data.get("unit"),
                glucose_moment=data.get("moment", ""),
                source_label=measure_source_label(access),
            )
        except ObservationError as error:
            for issue in error.issues:
                form.add_error(_issue_field(form, issue.expression), issue.message)
        else:
            text = _("Valeur enregistrée : %(value)s le %(moment)s.") % {
                "value": format_measure(measure),
                "moment": format_moment(measure.effective_at),
            }
            if kind in (MeasureKind.WEIGHT, MeasureKind.HEIGHT):
                text += " " + _("L’IMC est recalculé à partir de votre poids et de votre taille.")
            messages.success(request, text)
            return redirect("measure_detail", kind=kind)
    return render(request, "dossier/measures/add.html", {"access": access, "spec": spec, "form": form})


@require_http_methods(["GET", "POST"])
@never_cache
@dossier_view
def measure_delete(request: HttpRequest, access: CitizenAccess, kind: str, public_id) -> HttpResponse:
    spec = _spec_or_404(kind)
    measure = get_object_or_404(measures_visible(access).filter(kind=kind), public_id=public_id)
    deletable = measure_is_deletable(measure)
    context = {
        "access": access,
        "spec": spec,
        "measure": measure,
        "value": format_measure(measure),
        "moment": format_moment(measure.effective_at),
        "source": format_source(measure),
        "deletable": deletable,
    }
    if request.method == "POST" and deletable:
        measure_delete_service(access=access, measure=measure)
        text = _("La valeur %(value)s du %(moment)s a été supprimée.") % {
            "value": context["value"],
            "moment": context["moment"],
        }
        if kind in (MeasureKind.WEIGHT, MeasureKind.HEIGHT):
            text += " " + _("L’IMC a été recalculé.")
        messages.success(request, text)
        return redirect("measure_detail", kind=kind)
    return render(request, "dossier/measures/delete.html", context, status=200 if deletable else 403)
