"""The agenda written as iCalendar (see ``agenda.ical``)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Alarm, Calendar, Todo, vRecur
from icalendar import Event as VEvent

from agenda.ical.common import DEFAULT_TZID, PREVENTION_SOURCE, PRODID, PROFESSIONAL_PREFIX, SOURCE_PROPERTY, UTC
from agenda.models import Event, EventKind, PreventionDate, Task

# --- Export ---------------------------------------------------------------------------------------------------------


def calendar_new(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", DEFAULT_TZID)
    return calendar


def calendar_bytes(calendar: Calendar, *, first_day: date, last_day: date) -> bytes:
    """The calendar as bytes, with a VTIMEZONE for every TZID it uses, valid from ``first_day`` to ``last_day``."""
    calendar.add_missing_timezones(first_date=first_day, last_date=last_day)
    return calendar.to_ical()


def _zone(tzid: str) -> ZoneInfo:
    try:
        return ZoneInfo(tzid)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZID)


def _local(moment: datetime, tzid: str) -> datetime:
    """The moment in the event's zone; UTC stays UTC, so that it is written with a ``Z`` and no TZID."""
    return moment.astimezone(UTC if tzid in ("UTC", "Etc/UTC") else _zone(tzid))


def _stamp(moment: datetime) -> datetime:
    """A UTC time without microseconds (iCalendar counts in seconds)."""
    return moment.astimezone(UTC).replace(microsecond=0)


def event_description(event: Event) -> str:
    parts = []
    if event.professional:
        parts.append(PROFESSIONAL_PREFIX + event.professional)
    if event.note:
        parts.append(event.note)
    return "\n\n".join(parts)


def _rule_for_export(event: Event) -> vRecur:
    rule = vRecur.from_ical(event.rrule)
    if event.all_day and "UNTIL" in rule:
        # With VALUE=DATE starts, RFC 5545 wants UNTIL as a date too: the local day of the stored UTC limit.
        until = rule["UNTIL"][0]
        if isinstance(until, datetime):
            rule["UNTIL"] = [_local(until if until.tzinfo else until.replace(tzinfo=UTC), event.tzid).date()]
    return rule


def event_component(event: Event, *, titles_only: bool = False, stamp: datetime | None = None) -> VEvent:
    """``event`` as a VEVENT; with ``titles_only``, only its title and its times."""
    component = VEvent()
    component.add("uid", event.uid)
    component.add("dtstamp", _stamp(stamp or timezone.now()))
    if event.all_day:
        component.add("dtstart", _local(event.starts_at, event.tzid).date())
        component.add("dtend", _local(event.ends_at, event.tzid).date())
    else:
        component.add("dtstart", _local(event.starts_at, event.tzid).replace(microsecond=0))
        component.add("dtend", _local(event.ends_at, event.tzid).replace(microsecond=0))
    if event.rrule:
        component.add("rrule", _rule_for_export(event))
        if event.exdates:
            if event.all_day:
                component.add("exdate", sorted({_local(moment, event.tzid).date() for moment in event.exdates}))
            else:
                component.add("exdate", sorted(_local(moment, event.tzid) for moment in event.exdates))
    component.add("summary", event.title)
    if not titles_only:
        if event.location:
            component.add("location", event.location)
        if event.professional:
            component.add("contact", event.professional)
        description = event_description(event)
        if description:
            component.add("description", description)
        component.add("categories", [str(EventKind(event.kind).label)])
    component.add("class", "PRIVATE")
    component.add("sequence", event.sequence)
    component.add("created", _stamp(event.created_at))
    component.add("last-modified", _stamp(event.updated_at))
    if event.reminder_minutes is not None:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", event.title)
        alarm.add("trigger", timedelta(minutes=-event.reminder_minutes))
        component.add_component(alarm)
    return component


def task_component(task: Task, *, titles_only: bool = False, stamp: datetime | None = None) -> Todo:
    component = Todo()
    component.add("uid", task.uid)
    component.add("dtstamp", _stamp(stamp or timezone.now()))
    component.add("summary", task.title)
    if task.due_date is not None:
        component.add("due", task.due_date)
    component.add("status", "COMPLETED" if task.done_at else "NEEDS-ACTION")
    if task.done_at:
        component.add("completed", _stamp(task.done_at))
    if task.note and not titles_only:
        component.add("description", task.note)
    component.add("class", "PRIVATE")
    component.add("sequence", task.sequence)
    component.add("created", _stamp(task.created_at))
    component.add("last-modified", _stamp(task.updated_at))
    return component


def prevention_uid(prevention_date: PreventionDate) -> str:
    host = re.sub(r"^https?://", "", settings.PUBLIC_BASE_URL).split("/")[0] or "monespacesante.fr"
    return f"prevention-{prevention_date.public_id}@{host}"


def prevention_component(
    prevention_date: PreventionDate, *, titles_only: bool = False, stamp: datetime | None = None
) -> VEvent | None:
    """A pending prevention key date as an all-day event on its first day, or ``None`` when its programme has left
    the table (nothing to call it by)."""
    info = prevention_date.programme_info
    if info is None:
        return None
    component = VEvent()
    component.add("uid", prevention_uid(prevention_date))
    component.add("dtstamp", _stamp(stamp or timezone.now()))
    component.add("dtstart", prevention_date.due_from)
    component.add("dtend", prevention_date.due_from + timedelta(days=1))
    component.add("summary", str(info.label))
    if not titles_only:
        lines = [str(text) for text in (info.explanation, info.link) if text]
        if prevention_date.due_until:
            lines.append(_("À faire avant le %(day)s.") % {"day": prevention_date.due_until.strftime("%d/%m/%Y")})
        if lines:
            component.add("description", "\n\n".join(lines))
        component.add("categories", [_("Prévention")])
    component.add("class", "PRIVATE")
    component.add("transp", "TRANSPARENT")  # a reminder of a programme, not a busy time
    component.add(SOURCE_PROPERTY, PREVENTION_SOURCE)
    return component
