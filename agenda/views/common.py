"""What the agenda's pages share: how an item is told in French (its time, its source, its repetition, its reminder),
the breadcrumbs, and the day boundaries in the local time zone.

The pages show times in Europe/Paris (the ``TIME_ZONE`` setting), whatever zone an imported event was written in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from agenda.models import Event, Source, Task
from agenda.recurrence import rule_describe
from agenda.selectors import Occurrence
from mes.acces.decorators import citizen_space_view

# The agenda's pages are pages of the citizen's space (see ``citizen_space_view``).
agenda_view = citizen_space_view

# The calendar pages stop where the services stop accepting dates.
FIRST_YEAR = 1900
LAST_YEAR = 2200


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_start(day: date) -> datetime:
    """Local midnight starting ``day`` (midnight exists every day in Europe/Paris: changes happen at 2 or 3 am)."""
    return datetime.combine(day, time.min, tzinfo=local_zone())


def checked_day(year: int, month: int, day: int) -> date:
    """The date, or 404 for an impossible one or one outside the calendar's years."""
    try:
        value = date(year, month, day)
    except ValueError as error:
        raise Http404(_("Cette date n’existe pas.")) from error
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise Http404(_("L’agenda couvre les années 1900 à 2200."))
    return value


def format_day(day: date) -> str:
    """« Jeudi 12 mars 2027 »."""
    return capfirst(format_date(day, "l j F Y"))


def format_short_day(day: date) -> str:
    """« 12 mars 2027 »."""
    return format_date(day, "j F Y")


def format_clock(moment: datetime) -> str:
    """« 09:30 », in local time."""
    return format_date(timezone.localtime(moment), "H:i")


def format_moment(moment: datetime) -> str:
    """« 12 mars 2027 à 09:30 », in local time."""
    local = timezone.localtime(moment)
    return _("%(day)s à %(clock)s") % {"day": format_short_day(local.date()), "clock": format_date(local, "H:i")}


def time_label(event: Event, start: datetime, end: datetime) -> str:
    """When an occurrence takes place, in words: « 09:30 – 10:30 », « Toute la journée », « 22:00 – 4 mars à 02:00 »."""
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    if event.all_day:
        last = (local_end - timedelta(microseconds=1)).date()
        if last > local_start.date():
            return _("Toute la journée, jusqu’au %(day)s") % {"day": format_short_day(last)}
        return _("Toute la journée")
    if local_start.date() == local_end.date():
        return f"{format_clock(start)} – {format_clock(end)}"
    return f"{format_clock(start)} – {format_moment(end)}"


def when_label(event: Event, start: datetime, end: datetime) -> str:
    """The full date and time of an occurrence: « Jeudi 12 mars 2027, 09:30 – 10:30 »."""
    return f"{format_day(timezone.localtime(start).date())}, {time_label(event, start, end)}"


def source_text(item: Event | Task) -> str:
    """Where an item comes from, as every item shows it."""
    if item.source == Source.APP:
        if item.source_label:
            return _("Service connecté : %(name)s") % {"name": item.source_label}
        return str(Source.APP.label)
    return str(Source(item.source).label) if item.source in Source.values else item.source


# The parts of a rule that ``rule_describe`` puts into words; any other (BYDAY, BYMONTHDAY...) changes the dates.
_DESCRIBED_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST"}


def rule_text(rule: str) -> str:
    """The rule in plain French; when the words leave out a part of it (« every first Monday »), the rule itself
    follows, so that the person is never told a wrong repetition."""
    text = rule_describe(rule)
    names = {part.split("=", 1)[0] for part in rule.upper().split(";") if part}
    if text != rule and not names <= _DESCRIBED_PARTS:
        text = _("%(text)s (règle : %(rule)s)") % {"text": text, "rule": rule}
    return text


def recurrence_text(event: Event) -> str:
    """The repetition in plain French, with the dates removed from the series; empty for a single event."""
    if not event.rrule:
        return ""
    text = rule_text(event.rrule)
    if event.exdates:
        removed = len(event.exdates)
        text += " " + ngettext("(sauf %(n)s date supprimée)", "(sauf %(n)s dates supprimées)", removed) % {"n": removed}
    return text


def reminder_text(minutes: int | None) -> str:
    """« 1 heure avant », « 3 jours avant », « Aucun rappel »."""
    if minutes is None:
        return _("Aucun rappel")
    if minutes == 0:
        return _("Au début de l’événement")
    week, day, hour = 7 * 24 * 60, 24 * 60, 60
    if minutes % week == 0:
        count = minutes // week
        return ngettext("%(n)s semaine avant", "%(n)s semaines avant", count) % {"n": count}
    if minutes % day == 0:
        count = minutes // day
        return ngettext("%(n)s jour avant", "%(n)s jours avant", count) % {"n": count}
    if minutes % hour == 0:
        count = minutes // hour
        return ngettext("%(n)s heure avant", "%(n)s heures avant", count) % {"n": count}
    return ngettext("%(n)s minute avant", "%(n)s minutes avant", minutes) % {"n": minutes}


def occurrence_url(occurrence: Occurrence) -> str:
    """The detail page of an occurrence: the event's page, naming the date when the event repeats."""
    url = reverse("event_detail", kwargs={"event_id": occurrence.event.public_id})
    if occurrence.event.is_recurring:
        url += f"?occurrence={occurrence.key}"
    return url


@dataclass(frozen=True)
class OccurrenceRow:
    """One occurrence as the lists and the calendar show it."""

    occurrence: Occurrence
    time: str
    when: str
    source: str
    recurrence: str
    url: str

    @property
    def event(self) -> Event:
        return self.occurrence.event


def occurrence_row(occurrence: Occurrence) -> OccurrenceRow:
    event = occurrence.event
    return OccurrenceRow(
        occurrence=occurrence,
        time=time_label(event, occurrence.start, occurrence.end),
        when=when_label(event, occurrence.start, occurrence.end),
        source=source_text(event),
        recurrence=recurrence_text(event),
        url=occurrence_url(occurrence),
    )


@dataclass(frozen=True)
class TaskRow:
    task: Task
    due: str
    source: str


def task_row(task: Task) -> TaskRow:
    return TaskRow(task=task, due=format_short_day(task.due_date) if task.due_date else "", source=source_text(task))


def safe_next(request, fallback: str) -> str:
    """The local page to go back to (``next``), or ``fallback``: never another site (open redirect)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def breadcrumbs(*parents: tuple[str, str]) -> list[tuple[str, str]]:
    """« Mon espace › Agenda › … »: the links above the current page (label, URL)."""
    return [(_("Mon espace"), reverse("citizen_home")), (_("Agenda"), reverse("agenda_home")), *parents]
