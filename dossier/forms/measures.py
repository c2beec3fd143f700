"""The citizen's entry of a measure: value(s), unit where several are accepted, date and time, glucose moment.

Numbers are typed the French way (« 72,5 », « 10 000 ») in text fields with a numeric keyboard, so that a comma is
never silently refused by the browser. Plausibility is the catalog's (``check_value``), the same rule as the API's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dossier.fhir.measures import CLOCK_SKEW
from dossier.measures_catalog import (
    GLUCOSE_MOMENTS,
    MeasureSpec,
    UnitSpec,
    check_blood_pressure,
    check_value,
)
from dossier.models import MeasureKind

_SPACES = re.compile(r"[\s\u00a0\u202f']")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


def parse_number(text: str) -> Decimal | None:
    """« 72,5 », « 72.5 », « 10 000 » → Decimal; anything else → None."""
    cleaned = _SPACES.sub("", text or "")
    if not _NUMBER.match(cleaned):
        return None
    try:
        return Decimal(cleaned.replace(",", "."))
    except InvalidOperation:
        return None


class NumberField(forms.CharField):
    def __init__(self, *, integer: bool, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"inputmode": "numeric" if integer else "decimal", "autocomplete": "off", "spellcheck": "false"}
        )

    def clean(self, value):
        text = super().clean(value)
        if text in self.empty_values:
            return None
        number = parse_number(text)
        if number is None:
            raise forms.ValidationError(_("Saisissez un nombre, par exemple 72,5."), code="invalid")
        return number


class MeasureForm(forms.Form):
    """The form of one measure; its fields depend on the measure (two values for blood pressure, a unit and a
    moment for glucose)."""

    def __init__(self, *args, spec: MeasureSpec, birth_date, default_unit: str | None = None, **kwargs):
        self.spec = spec
        self.birth_date = birth_date
        now = timezone.localtime()
        kwargs.setdefault("initial", {})
        kwargs["initial"] = {
            "date": now.date(),
            "time": now.time().replace(second=0, microsecond=0),
            "unit": default_unit or spec.unit.code,
            **kwargs["initial"],
        }
        super().__init__(*args, **kwargs)
        if spec.is_panel:
            for name, component in zip(("value", "value_secondary"), spec.components, strict=True):
                self.fields[name] = NumberField(
                    integer=True,
                    label=f"{component.label} ({spec.unit.label})",
                    error_messages={"required": _("Saisissez la %(what)s.") % {"what": str(component.label).lower()}},
                )
            self.fields["value"].help_text = _("Le premier chiffre, le plus grand, par exemple 125.")
            self.fields["value_secondary"].help_text = _("Le second chiffre, par exemple 80.")
        else:
            unit_label = f" ({spec.unit.label})" if len(spec.units) == 1 else ""
            if spec.kind == MeasureKind.PAIN:
                unit_label = " " + _("(de 0 à 10)")
            self.fields["value"] = NumberField(
                integer=spec.unit.decimals == 0 and len(spec.units) == 1,
                label=f"{spec.label}{unit_label}",
                help_text=spec.hint,
                error_messages={"required": _("Saisissez la valeur mesurée.")},
            )
        if len(spec.units) > 1:
            self.fields["unit"] = forms.ChoiceField(
                label=_("Unité"),
                choices=[(unit.code, unit.label) for unit in spec.units],
                error_messages={"required": _("Choisissez l’unité."), "invalid_choice": _("Choisissez l’unité.")},
            )
        if spec.needs_moment:
            self.fields["moment"] = forms.ChoiceField(
                label=_("Moment de la mesure"),
                choices=[(moment.key, moment.label) for moment in GLUCOSE_MOMENTS.values()],
                widget=forms.RadioSelect,
                error_messages={
                    "required": _("Indiquez le moment de la mesure."),
                    "invalid_choice": _("Indiquez le moment de la mesure."),
                },
            )
        self.fields["date"] = forms.DateField(
            label=_("Date de la mesure"),
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            input_formats=["%Y-%m-%d", "%d/%m/%Y"],
            error_messages={
                "required": _("Saisissez la date de la mesure."),
                "invalid": _("Saisissez une date valide, par exemple 14/03/2025."),
            },
        )
        self.fields["time"] = forms.TimeField(
            label=_("Heure de la mesure"),
            widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            input_formats=["%H:%M", "%H:%M:%S", "%Hh%M", "%H h %M"],
            error_messages={
                "required": _("Saisissez l’heure de la mesure."),
                "invalid": _("Saisissez une heure valide, par exemple 08:30."),
            },
        )

    def unit_spec(self) -> UnitSpec:
        return self.spec.unit_for(self.cleaned_data.get("unit")) or self.spec.unit

    def clean(self):
        cleaned = super().clean()
        value = cleaned.get("value")
        if value is not None and ("unit" not in self.fields or cleaned.get("unit")):
            unit = self.unit_spec()
            component = self.spec.components[0] if self.spec.is_panel else None
            for problem in check_value(self.spec, value, unit, component=component):
                self.add_error("value", problem)
        if self.spec.is_panel and cleaned.get("value_secondary") is not None:
            for problem in check_value(
                self.spec, cleaned["value_secondary"], self.spec.unit, component=self.spec.components[1]
            ):
                self.add_error("value_secondary", problem)
            if "value" not in self.errors and "value_secondary" not in self.errors and value is not None:
                for problem in check_blood_pressure(value, cleaned["value_secondary"]):
                    self.add_error("value_secondary", problem)
        moment = self._effective_at(cleaned.get("date"), cleaned.get("time"))
        if moment is not None:
            cleaned["effective_at"] = moment
        return cleaned

    def _effective_at(self, day, at: time | None) -> datetime | None:
        if day is None or at is None:
            return None
        zone = ZoneInfo(settings.TIME_ZONE)
        naive = datetime.combine(day, at.replace(second=0, microsecond=0))
        moment = naive.replace(tzinfo=zone)
        # An hour skipped when clocks go forward (e.g. 02:30 on the last Sunday of March) does not exist.
        if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
            self.add_error("time", _("Cette heure n’existe pas ce jour-là (passage à l’heure d’été)."))
            return None
        if day < self.birth_date:
            self.add_error("date", _("La date de la mesure ne peut pas précéder la date de naissance."))
            return None
        if moment > timezone.now() + CLOCK_SKEW:
            self.add_error(
                "date" if day > timezone.localdate() else "time",
                _("La date et l’heure de la mesure ne peuvent pas être dans le futur."),
            )
            return None
        return moment


# The chart's periods, counted back from now; « tout » shows every value.
PERIODS = {
    "1m": (gettext_lazy("1 mois"), relativedelta(months=1)),
    "3m": (gettext_lazy("3 mois"), relativedelta(months=3)),
    "1a": (gettext_lazy("1 an"), relativedelta(years=1)),
    "tout": (gettext_lazy("Tout"), None),
}
DEFAULT_PERIOD = "tout"
