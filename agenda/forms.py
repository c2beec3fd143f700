"""The citizen's forms of the agenda: an event (with its repetition and its reminder) and a task.

The event form speaks the person's language (a date, hours, « toutes les semaines jusqu’au 30 juin ») and writes
what the services take: time-zone-aware moments in Europe/Paris and an RFC 5545 RRULE. A rule the form cannot
express (an imported one, e.g. « every first Monday ») is kept as it is unless the person picks another repetition.
The services validate again; their errors are put back on the fields of the form (``add_service_errors``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agenda.models import NOTE_MAX_LENGTH, TITLE_MAX_LENGTH, Event, EventKind
from agenda.services.events import LOCATION_MAX_LENGTH, PROFESSIONAL_MAX_LENGTH
from agenda.views.common import FIRST_YEAR, LAST_YEAR, day_start, local_zone, reminder_text, rule_text

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
TIME_FORMATS = ["%H:%M", "%H:%M:%S", "%Hh%M", "%H h %M", "%Hh"]

# The reminder delays offered, in minutes before the event.
REMINDER_MINUTES = (15, 60, 24 * 60, 2 * 24 * 60, 7 * 24 * 60)

# The repetitions the form offers: (FREQ, INTERVAL) of the RRULE.
REPEAT_RULES: dict[str, tuple[str, int]] = {
    "daily": ("DAILY", 1),
    "weekly": ("WEEKLY", 1),
    "biweekly": ("WEEKLY", 2),
    "monthly": ("MONTHLY", 1),
    "yearly": ("YEARLY", 1),
}
REPEAT_CHOICES = [
    ("", gettext_lazy("Ne se répète pas")),
    ("daily", gettext_lazy("Tous les jours")),
    ("weekly", gettext_lazy("Toutes les semaines")),
    ("biweekly", gettext_lazy("Toutes les 2 semaines")),
    ("monthly", gettext_lazy("Tous les mois")),
    ("yearly", gettext_lazy("Tous les ans")),
]
CUSTOM = "custom"
END_NEVER, END_UNTIL, END_COUNT = "never", "until", "count"
END_CHOICES = [
    (END_NEVER, gettext_lazy("Jamais")),
    (END_UNTIL, gettext_lazy("À une date")),
    (END_COUNT, gettext_lazy("Après un nombre de fois")),
]
MAX_COUNT = 1000


def _date_field(label, *, required: bool, help_text: str = "", required_message: str = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=DATE_FORMATS,
        error_messages={
            "required": required_message or _("Indiquez la date."),
            "invalid": _("Saisissez une date valide, par exemple 14/03/2027."),
        },
    )


def _time_field(label, *, help_text: str = "") -> forms.TimeField:
    return forms.TimeField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        input_formats=TIME_FORMATS,
        error_messages={"invalid": _("Saisissez une heure valide, par exemple 09:30.")},
    )


def _in_years(value: date | None) -> bool:
    return value is None or FIRST_YEAR <= value.year <= LAST_YEAR


def _until_parse(value: str) -> date | None:
    """The local day of an RRULE UNTIL (UTC « …Z », floating date-time, or DATE), or ``None`` if unreadable."""
    try:
        if len(value) == 16 and value.endswith("Z"):
            moment = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            return moment.astimezone(local_zone()).date()
        if len(value) == 15:
            return datetime.strptime(value, "%Y%m%dT%H%M%S").date()
        if len(value) == 8:
            return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None
    return None


def rule_fit(rule: str) -> dict | None:
    """The form's fields for ``rule`` (repeat, repeat_end, repeat_until, repeat_count), or ``None`` when the form's
    choices cannot express it (another frequency or interval, BYDAY, ...)."""
    if not rule:
        return {"repeat": "", "repeat_end": END_NEVER, "repeat_until": None, "repeat_count": None}
    parts: dict[str, str] = {}
    for part in rule.upper().split(";"):
        name, sep, value = part.partition("=")
        if not sep or name in parts:
            return None
        parts[name] = value
    if not set(parts) <= {"FREQ", "INTERVAL", "UNTIL", "COUNT"} or ("UNTIL" in parts and "COUNT" in parts):
        return None
    try:
        interval = int(parts.get("INTERVAL") or 1)
        count = int(parts["COUNT"]) if "COUNT" in parts else None
    except ValueError:
        return None
    repeat = next((key for key, value in REPEAT_RULES.items() if value == (parts.get("FREQ"), interval)), None)
    if repeat is None or (count is not None and not 1 <= count <= MAX_COUNT):
        return None
    until = None
    if "UNTIL" in parts:
        until = _until_parse(parts["UNTIL"])
        if until is None:
            return None
    end = END_UNTIL if until else END_COUNT if count else END_NEVER
    return {"repeat": repeat, "repeat_end": end, "repeat_until": until, "repeat_count": count}


def rule_build(repeat: str, end: str, until: date | None, count: int | None) -> str:
    """The RRULE of the form's choices. UNTIL is the end of the chosen day in Paris, written in UTC (RFC 5545 wants
    UTC when the start has a time zone)."""
    freq, interval = REPEAT_RULES[repeat]
    rule = f"FREQ={freq}"
    if interval != 1:
        rule += f";INTERVAL={interval}"
    if end == END_UNTIL and until is not None:
        last_moment = day_start(until + timedelta(days=1)) - timedelta(seconds=1)
        rule += ";UNTIL=" + last_moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    elif end == END_COUNT and count is not None:
        rule += f";COUNT={count}"
    return rule


def aware(day: date, clock: time) -> datetime | None:
    """``day`` at ``clock`` in Paris, or ``None`` if that wall-clock time is skipped when clocks go forward.

    A time that happens twice when clocks go back (02:30 on the last Sunday of October) is the first one.
    """
    naive = datetime.combine(day, clock.replace(second=0, microsecond=0))
    moment = naive.replace(tzinfo=local_zone())
    if moment.astimezone(UTC).astimezone(local_zone()).replace(tzinfo=None) != naive:
        return None
    return moment


SKIPPED_TIME = gettext_lazy(
    "Cette heure n’existe pas ce jour-là : les horloges avancent d’une heure (passage à l’heure d’été). "
    "Choisissez une autre heure."
)


class EventForm(forms.Form):
    """An appointment, an exam, a hospitalisation...: when, where, with whom, its reminder and its repetition."""

    title = forms.CharField(
        label=gettext_lazy("Titre"),
        max_length=TITLE_MAX_LENGTH,
        help_text=gettext_lazy("Par exemple : Rendez-vous chez le dentiste."),
        error_messages={
            "required": gettext_lazy("Indiquez le titre de l’événement."),
            "max_length": gettext_lazy("Le titre ne doit pas dépasser %(limit_value)s caractères."),
        },
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Type"),
        choices=EventKind.choices,
        initial=EventKind.APPOINTMENT,
        error_messages={
            "required": gettext_lazy("Choisissez un type d’événement."),
            "invalid_choice": gettext_lazy("Choisissez un type d’événement dans la liste."),
        },
    )
    location = forms.CharField(
        label=gettext_lazy("Lieu (facultatif)"),
        required=False,
        max_length=LOCATION_MAX_LENGTH,
        help_text=gettext_lazy("Par exemple : Cabinet médical, 3 rue des Lilas, Lyon."),
        error_messages={"max_length": gettext_lazy("Le lieu ne doit pas dépasser %(limit_value)s caractères.")},
    )
    professional = forms.CharField(
        label=gettext_lazy("Professionnel de santé (facultatif)"),
        required=False,
        max_length=PROFESSIONAL_MAX_LENGTH,
        help_text=gettext_lazy("Par exemple : Dr Martin, dentiste."),
        error_messages={
            "max_length": gettext_lazy("Le nom du professionnel ne doit pas dépasser %(limit_value)s caractères.")
        },
    )
    note = forms.CharField(
        label=gettext_lazy("Note (facultatif)"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Ce qu’il faut apporter, les questions à poser…"),
        error_messages={"max_length": gettext_lazy("La note ne doit pas dépasser %(limit_value)s caractères.")},
    )
    all_day = forms.BooleanField(
        label=gettext_lazy("Toute la journée"),
        required=False,
        help_text=gettext_lazy("Les heures sont alors ignorées."),
    )

    def __init__(self, *args, event: Event | None = None, initial_date: date | None = None, **kwargs):
        self.event = event
        self.original_rule = event.rrule if event is not None else ""
        initial = kwargs.pop("initial", None) or {}
        fitted = rule_fit(self.original_rule)
        if event is not None:
            initial = {**self._initial_from(event, fitted), **initial}
        elif initial_date is not None:
            initial.setdefault("date", initial_date)
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["date"] = _date_field(
            _("Date"),
            required=True,
            help_text=_("Le premier jour, si l’événement dure plusieurs jours."),
            required_message=_("Indiquez la date de l’événement."),
        )
        self.fields["start_time"] = _time_field(_("Heure de début"), help_text=_("Par exemple 09:30."))
        self.fields["end_time"] = _time_field(
            _("Heure de fin (facultatif)"), help_text=_("Par défaut : une heure après le début.")
        )
        self.fields["end_date"] = _date_field(
            _("Date de fin (facultatif)"),
            required=False,
            help_text=_("Si l’événement se termine un autre jour, une hospitalisation par exemple."),
        )
        # Order: what, when, then the rest.
        self.order_fields(["title", "kind", "date", "all_day", "start_time", "end_time", "end_date"])
        reminders = [("", _("Aucun rappel"))] + [(str(minutes), reminder_text(minutes)) for minutes in REMINDER_MINUTES]
        if event is not None and event.reminder_minutes is not None and event.reminder_minutes not in REMINDER_MINUTES:
            # A delay written elsewhere (an imported file) stays on offer, so that saving does not change it.
            reminders.append((str(event.reminder_minutes), reminder_text(event.reminder_minutes)))
        self.fields["reminder"] = forms.TypedChoiceField(
            label=_("Rappel"),
            choices=reminders,
            coerce=int,
            empty_value=None,
            required=False,
            help_text=_("Un courriel et une notification vous le rappellent."),
            error_messages={"invalid_choice": _("Choisissez un rappel dans la liste.")},
        )
        repeats = list(REPEAT_CHOICES)
        if self.original_rule and fitted is None:
            repeats.append((CUSTOM, _("Répétition personnalisée : %(rule)s") % {"rule": rule_text(self.original_rule)}))
        self.fields["repeat"] = forms.ChoiceField(
            label=_("Fréquence"),
            choices=repeats,
            required=False,
            error_messages={"invalid_choice": _("Choisissez une répétition dans la liste.")},
        )
        self.fields["repeat_end"] = forms.ChoiceField(
            label=_("Fin de la répétition"),
            choices=END_CHOICES,
            initial=END_NEVER,
            required=False,
            widget=forms.RadioSelect,
            error_messages={"invalid_choice": _("Choisissez quand la répétition s’arrête.")},
        )
        self.fields["repeat_until"] = _date_field(
            _("Dernier jour de la répétition"), required=False, help_text=_("Si elle s’arrête à une date.")
        )
        self.fields["repeat_count"] = forms.IntegerField(
            label=_("Nombre de fois"),
            required=False,
            min_value=2,
            max_value=MAX_COUNT,
            help_text=_("Si elle s’arrête après un nombre de fois, la première comprise."),
            widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            error_messages={
                "invalid": _("Saisissez un nombre entier, par exemple 10."),
                "min_value": _("Indiquez au moins 2 fois."),
                "max_value": _("Indiquez au plus %(limit_value)s fois."),
            },
        )

    @staticmethod
    def _initial_from(event: Event, fitted: dict | None) -> dict:
        local_start = event.starts_at.astimezone(local_zone())
        local_end = event.ends_at.astimezone(local_zone())
        initial = {
            "title": event.title,
            "kind": event.kind,
            "location": event.location,
            "professional": event.professional,
            "note": event.note,
            "all_day": event.all_day,
            "date": local_start.date(),
            "reminder": "" if event.reminder_minutes is None else str(event.reminder_minutes),
        }
        if event.all_day:
            last = (local_end - timedelta(microseconds=1)).date()
            initial["end_date"] = last if last != local_start.date() else None
        else:
            initial["start_time"] = local_start.time().replace(second=0, microsecond=0)
            initial["end_time"] = local_end.time().replace(second=0, microsecond=0)
            initial["end_date"] = local_end.date() if local_end.date() != local_start.date() else None
        if fitted is None:
            initial["repeat"] = CUSTOM
        else:
            initial.update({key: value for key, value in fitted.items() if value is not None})
        return initial

    def _clean_year(self, name: str) -> date | None:
        value = self.cleaned_data.get(name)
        if not _in_years(value):
            raise ValidationError(_("Indiquez une date comprise entre 1900 et 2200."))
        return value

    def clean_date(self):
        return self._clean_year("date")

    def clean_end_date(self):
        return self._clean_year("end_date")

    def clean_repeat_until(self):
        return self._clean_year("repeat_until")

    def clean(self):
        cleaned = super().clean()
        day = cleaned.get("date")
        end_day = cleaned.get("end_date")
        if day is not None:
            if end_day is not None and end_day < day:
                self.add_error("end_date", _("La date de fin ne peut pas précéder la date de début."))
            elif cleaned.get("all_day"):
                cleaned["starts_at"] = day_start(day)
                cleaned["ends_at"] = day_start((end_day or day) + timedelta(days=1))
            else:
                self._clean_times(cleaned, day, end_day)
        cleaned["rrule"] = self._clean_rule(cleaned)
        cleaned["reminder_minutes"] = cleaned.get("reminder")
        return cleaned

    def _clean_times(self, cleaned: dict, day: date, end_day: date | None) -> None:
        start_time, end_time = cleaned.get("start_time"), cleaned.get("end_time")
        if start_time is None:
            if "start_time" not in self.errors:
                self.add_error("start_time", _("Indiquez l’heure de début, ou cochez « Toute la journée »."))
            return
        starts_at = aware(day, start_time)
        if starts_at is None:
            self.add_error("start_time", SKIPPED_TIME)
            return
        cleaned["starts_at"] = starts_at
        if end_time is None:
            if end_day is not None and end_day != day and "end_time" not in self.errors:
                self.add_error("end_time", _("Indiquez l’heure de fin de l’événement."))
            cleaned["ends_at"] = None  # one hour, the services' default
            return
        ends_at = aware(end_day or day, end_time)
        if ends_at is None:
            self.add_error("end_time", SKIPPED_TIME)
        elif ends_at <= starts_at:
            self.add_error(
                "end_time",
                _(
                    "L’heure de fin doit être après l’heure de début. "
                    "S’il se termine le lendemain, indiquez aussi la date de fin."
                ),
            )
        else:
            cleaned["ends_at"] = ends_at

    def _clean_rule(self, cleaned: dict) -> str:
        repeat = cleaned.get("repeat") or ""
        if repeat == CUSTOM:
            return self.original_rule
        if not repeat:
            return ""
        end = cleaned.get("repeat_end") or END_NEVER
        until, count = cleaned.get("repeat_until"), cleaned.get("repeat_count")
        if end == END_UNTIL:
            if until is None:
                if "repeat_until" not in self.errors:
                    self.add_error("repeat_until", _("Indiquez le dernier jour de la répétition."))
                return ""
            if cleaned.get("date") is not None and until < cleaned["date"]:
                self.add_error("repeat_until", _("Le dernier jour de la répétition ne peut pas précéder le premier."))
                return ""
        if end == END_COUNT and count is None:
            if "repeat_count" not in self.errors:
                self.add_error("repeat_count", _("Indiquez combien de fois l’événement a lieu."))
            return ""
        rule = rule_build(repeat, end, until, count)
        # The same repetition written another way (an imported rule) stays as it was, with its removed dates.
        if self.original_rule and rule_fit(self.original_rule) == rule_fit(rule):
            return self.original_rule
        return rule

    # Where each error of the services goes in this form.
    def add_service_errors(self, error: ValidationError) -> None:
        all_day = bool(self.cleaned_data.get("all_day"))
        targets = {
            "title": "title",
            "kind": "kind",
            "location": "location",
            "professional": "professional",
            "note": "note",
            "starts_at": "date",
            "ends_at": "end_date" if all_day or not self.cleaned_data.get("end_time") else "end_time",
            "rrule": "repeat",
            "reminder_minutes": "reminder",
        }
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, messages in error.message_dict.items():
            target = targets.get(name)
            for message in messages:
                self.add_error(target, message)

    def service_values(self) -> dict:
        """The arguments of ``event_create`` / ``event_update`` from the cleaned form."""
        data = self.cleaned_data
        return {
            "title": data["title"],
            "kind": data["kind"],
            "starts_at": data["starts_at"],
            "ends_at": data.get("ends_at"),
            "all_day": bool(data.get("all_day")),
            "rrule": data["rrule"],
            "location": data.get("location", ""),
            "professional": data.get("professional", ""),
            "note": data.get("note", ""),
            "reminder_minutes": data.get("reminder_minutes"),
        }


class TaskForm(forms.Form):
    """Something to do, with or without a due date."""

    title = forms.CharField(
        label=gettext_lazy("Titre"),
        max_length=TITLE_MAX_LENGTH,
        help_text=gettext_lazy("Par exemple : Prendre rendez-vous chez l’ophtalmologiste."),
        error_messages={
            "required": gettext_lazy("Indiquez ce qu’il faut faire."),
            "max_length": gettext_lazy("Le titre ne doit pas dépasser %(limit_value)s caractères."),
        },
    )
    note = forms.CharField(
        label=gettext_lazy("Note (facultatif)"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": gettext_lazy("La note ne doit pas dépasser %(limit_value)s caractères.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["due_date"] = _date_field(
            _("Échéance (facultatif)"), required=False, help_text=_("La date avant laquelle le faire.")
        )
        self.order_fields(["title", "due_date", "note"])

    def clean_due_date(self):
        value = self.cleaned_data.get("due_date")
        if not _in_years(value):
            raise ValidationError(_("Indiquez une date comprise entre 1900 et 2200."))
        return value

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, messages in error.message_dict.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
