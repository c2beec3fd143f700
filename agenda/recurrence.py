"""Recurring events (RFC 5545 RRULE): validation and expansion into occurrences.

A series is expanded in its own time zone, from a time-zone-aware start: dateutil builds each occurrence with the
wall-clock time of the first one, so a weekly appointment at 9:00 stays at 9:00 in Paris across daylight saving
changes (its UTC time moves by an hour). Only daily to yearly frequencies are accepted: a health agenda has no use
for a rule firing every second, and such a rule would make every page expand millions of occurrences.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ALLOWED_FREQUENCIES = {DAILY, WEEKLY, MONTHLY, YEARLY}
# No page ever needs more occurrences of one series than this (a daily series over a month view is 42).
MAX_OCCURRENCES_PER_QUERY = 1000


def zone(tzid: str) -> ZoneInfo:
    try:
        return ZoneInfo(tzid)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError({"tzid": _("Fuseau horaire inconnu : %(tz)s.") % {"tz": tzid[:64]}}) from error


def rule_parse(value: str, *, starts_at: datetime, tzid: str) -> rrule:
    """The rule of ``value`` (an RRULE value, without the "RRULE:" prefix) for a series starting at ``starts_at``.

    ``ValidationError`` keyed ``rrule`` with a French message when the rule is not valid RFC 5545 or not allowed.
    """
    text = (value or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text or "\n" in text or len(text) > 500:
        raise ValidationError({"rrule": _("La règle de répétition est vide ou trop longue.")})
    dtstart = starts_at.astimezone(zone(tzid))
    try:
        rule = rrulestr(text, dtstart=dtstart)
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise ValidationError({"rrule": _("La règle de répétition n’est pas valide (RFC 5545).")}) from error
    if not isinstance(rule, rrule):
        raise ValidationError({"rrule": _("La règle de répétition n’est pas valide (RFC 5545).")})
    if rule._freq not in ALLOWED_FREQUENCIES:  # dateutil keeps the frequency private
        raise ValidationError({"rrule": _("Un événement peut se répéter chaque jour, semaine, mois ou année.")})
    return rule


def occurrence_starts(
    *,
    starts_at: datetime,
    ends_at: datetime,
    tzid: str,
    rrule_text: str,
    exdates: list[datetime] | tuple[datetime, ...] = (),
    window_start: datetime,
    window_end: datetime,
    limit: int = MAX_OCCURRENCES_PER_QUERY,
) -> list[datetime]:
    """Starts (aware, in the event's time zone) of the occurrences that overlap [window_start, window_end).

    A single event (empty rule) has one occurrence, its own start. Removed occurrences (``exdates``) are skipped.
    """
    duration = ends_at - starts_at
    if not rrule_text:
        return [starts_at] if starts_at < window_end and ends_at > window_start else []
    tz = zone(tzid)
    rule = rule_parse(rrule_text, starts_at=starts_at, tzid=tzid)
    removed = {moment.astimezone(ZoneInfo("UTC")) for moment in exdates}
    found: list[datetime] = []
    # An occurrence overlaps the window if it starts before its end and ends after its start.
    after = (window_start - duration).astimezone(tz)
    for start in rule.xafter(after, inc=False):
        if start >= window_end:
            break
        if start + duration > window_start and start.astimezone(ZoneInfo("UTC")) not in removed:
            found.append(start)
            if len(found) >= limit:
                break
    return found


def next_occurrence(
    *, starts_at: datetime, ends_at: datetime, tzid: str, rrule_text: str, exdates=(), after: datetime
) -> datetime | None:
    """The first occurrence starting at or after ``after``, or ``None``."""
    if not rrule_text:
        return starts_at if starts_at >= after else None
    rule = rule_parse(rrule_text, starts_at=starts_at, tzid=tzid)
    removed = {moment.astimezone(ZoneInfo("UTC")) for moment in exdates}
    for start in rule.xafter(after.astimezone(zone(tzid)), inc=True):
        if start.astimezone(ZoneInfo("UTC")) not in removed:
            return start
    return None


def rule_describe(value: str) -> str:
    """The rule in plain French for the common cases the form writes; the raw rule otherwise."""
    parts = dict(part.split("=", 1) for part in value.upper().split(";") if "=" in part)
    if set(parts) - {"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST"}:
        # BYDAY, BYMONTHDAY...: rather the rule itself than a wording that hides part of it.
        return value
    interval = int(parts.get("INTERVAL", "1") or 1)
    words = {
        "DAILY": (_("Tous les jours"), _("Tous les %(n)s jours")),
        "WEEKLY": (_("Toutes les semaines"), _("Toutes les %(n)s semaines")),
        "MONTHLY": (_("Tous les mois"), _("Tous les %(n)s mois")),
        "YEARLY": (_("Tous les ans"), _("Tous les %(n)s ans")),
    }
    one, several = words.get(parts.get("FREQ", ""), ("", ""))
    if not one:
        return value
    text = one if interval == 1 else several % {"n": interval}
    if "COUNT" in parts:
        text += _(", %(n)s fois") % {"n": parts["COUNT"]}
    elif "UNTIL" in parts:
        until = parts["UNTIL"][:8]
        text += _(", jusqu’au %(d)s/%(m)s/%(y)s") % {"d": until[6:8], "m": until[4:6], "y": until[:4]}
    return text


def timedelta_minutes(minutes: int | None) -> timedelta | None:
    return None if minutes is None else timedelta(minutes=minutes)
