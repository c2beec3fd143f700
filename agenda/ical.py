"""The agenda in iCalendar (RFC 5545), both ways, following the CI-SIS « Agenda partagé » model.

Export: one VCALENDAR (PRODID ``-//Mon espace santé//Agenda//FR``, VERSION 2.0, CALSCALE GREGORIAN, X-WR-CALNAME)
with a VTIMEZONE for every TZID it uses, so that a client that does not know the zone by name still gets its
daylight saving changes right. Events are VEVENTs (times in their own zone with TZID, or VALUE=DATE for all-day
events; RRULE and EXDATE; a VALARM DISPLAY when there is a reminder; CLASS:PRIVATE, it is a health agenda), tasks are
VTODOs, prevention key dates (when asked for) are all-day VEVENTs marked ``X-MES-SOURCE:prevention``. The place, the
professional and the note are left out of a ``titles_only`` export (the subscription feed's default).

Import reads what clients write and maps it onto the fields of ``agenda.services.event_create`` / ``task_create``.
Where the agenda has no exact equivalent, the choice made is written here, and the person is told through the notices
of the import (nothing is dropped without a word):

- Times: a TZID the platform knows (an IANA name, or a name clients use for one, e.g. Outlook's « Romance Standard
  Time ») is kept; UTC times (``Z``) keep the zone UTC; floating times (no zone) are taken as Europe/Paris. A zone
  defined only by the file's own VTIMEZONE is replaced by Europe/Paris when both agree on the offsets, else the times
  are converted exactly to UTC (a repeating event then keeps its UTC time) and a notice says so.
- DATE values make all-day events (DTEND exclusive, as RFC 5545 says); DURATION stands for DTEND; without either,
  an all-day event lasts one day and a timed one an hour (the agenda has no zero-length events).
- RRULE: UNTIL is normalised to UTC, as dateutil requires with a zone-aware start (a date-only UNTIL means the end of
  that day, a floating one the event's zone); only the first RRULE is kept if there are several (notice). Rules more
  frequent than daily are refused by the services, so the file is refused. EXDATEs become the removed occurrences.
- RDATE (extra dates of a series) and RECURRENCE-ID (one occurrence changed): each becomes an event of its own, with
  the UID of the series followed by ``/`` and the UTC start of that date, and the changed occurrence is removed from
  the series (an EXDATE); a cancelled occurrence (STATUS:CANCELLED) is only removed.
- STATUS:CANCELLED events and tasks are not imported (notice).
- VALARM: the first alarm whose trigger lies before the start (relative to the start or the end, or absolute) gives
  the reminder, in minutes; other alarms, and a trigger after the start or more than 30 days before it, are not kept
  (notice).
- CATEGORIES that name a kind of event (« Rendez-vous », « Hospitalisation », « Examen », « Autre » and a few
  synonyms) give the kind; the others are not kept (notice). Without a matching category, an event is an appointment.
- The professional comes from CONTACT, or from the « Professionnel : » line this export writes at the top of the
  DESCRIPTION; the rest of the DESCRIPTION is the note.
- A missing SUMMARY gives « Sans titre »; a missing UID a stable one computed from the component, so that importing
  the same file twice still finds it. Texts longer than the agenda keeps are shortened (notice).
- Participants, organiser, attachments, links and the like have no place in the agenda and are not kept (notice).
- A file's prevention key dates (``X-MES-SOURCE:prevention``) are not imported: Mon espace santé computes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from datetime import UTC as DT_UTC
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Alarm, Calendar, Todo, vRecur
from icalendar import Event as VEvent
from icalendar.timezone import tzids_from_tzinfo

from agenda.models import NOTE_MAX_LENGTH, TITLE_MAX_LENGTH, Event, EventKind, PreventionDate, Task

PRODID = "-//Mon espace santé//Agenda//FR"
DEFAULT_TZID = "Europe/Paris"
UTC = ZoneInfo("UTC")
# Marks the prevention key dates of an export: the import leaves them out (they are computed, not entered).
SOURCE_PROPERTY = "X-MES-SOURCE"
PREVENTION_SOURCE = "prevention"
# Written at the top of an exported DESCRIPTION, and read back by the import. It is part of the file format, so it is
# not translated: a file exported in one language must import in another.
PROFESSIONAL_PREFIX = "Professionnel : "
LOCATION_MAX_LENGTH = 300
PROFESSIONAL_MAX_LENGTH = 200
UID_MAX_LENGTH = 255
MAX_EXDATES = 1000
MAX_REMINDER_MINUTES = 30 * 24 * 60

# What a CATEGORIES value may say for each kind (compared without case or accents).
KIND_WORDS = {
    EventKind.APPOINTMENT: {"rendez-vous", "rendez vous", "rdv", "consultation", "appointment"},
    EventKind.HOSPITALISATION: {"hospitalisation", "hospitalization", "hopital", "hospital"},
    EventKind.EXAM: {"examen", "exam", "examination", "analyse", "analyses"},
    EventKind.OTHER: {"autre", "autre evenement", "other"},
}

# Properties that have no place in the agenda, as the notice names them.
IGNORED_PROPERTIES = {
    "ATTENDEE": "participants (ATTENDEE)",
    "ORGANIZER": "organisateur (ORGANIZER)",
    "ATTACH": "pièces jointes (ATTACH)",
    "URL": "liens (URL)",
    "RESOURCES": "ressources (RESOURCES)",
    "COMMENT": "commentaires (COMMENT)",
    "GEO": "coordonnées géographiques (GEO)",
}
# Properties whose value must be readable: a broken one refuses the component, whatever else it carries.
REQUIRED_READABLE = {"DTSTART", "DTEND", "DURATION", "DUE", "RRULE", "EXDATE", "RDATE", "RECURRENCE-ID", "COMPLETED"}


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


# --- Import: reading the file ---------------------------------------------------------------------------------------


class IcalFileError(ValueError):
    """The file cannot be read as iCalendar: the French reason, with the line when it is known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(message)


class ComponentError(ValueError):
    """One VEVENT or VTODO of a readable file cannot be imported."""

    def __init__(self, message: str, *, field_name: str = "") -> None:
        self.field_name = field_name
        super().__init__(message)


# content-line = name *(";" param) ":" value (RFC 5545 §3.1); parameter values may be quoted.
_PARAM_VALUE = r'(?:"[^"]*"|[^";:,]*)'
_CONTENT_LINE = re.compile(rf"^[A-Za-z0-9-]+(?:;[A-Za-z0-9-]+={_PARAM_VALUE}(?:,{_PARAM_VALUE})*)*:")


@dataclass
class ParsedFile:
    calendars: list[Calendar]
    # The line of each BEGIN:VEVENT and BEGIN:VTODO, in the order of the file, for the error messages.
    event_lines: list[int]
    todo_lines: list[int]


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        raise IcalFileError(_("Ce fichier n’est pas un calendrier iCalendar valide : c’est un fichier binaire."))
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise IcalFileError(
            _("Ce fichier n’est pas un calendrier iCalendar valide : son texte n’est pas en UTF-8 (ligne %(line)s).")
            % {"line": line},
            line,
        ) from error


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Unfolded content lines (a line starting with a space or a tab continues the previous one), each with the
    number of its first physical line."""
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] = (lines[-1][0], lines[-1][1] + raw[1:])
        elif raw.strip():
            lines.append((number, raw))
    return lines


def _invalid_at(line: int, detail: str) -> IcalFileError:
    return IcalFileError(
        _("Ce fichier n’est pas un calendrier iCalendar valide (ligne %(line)s : %(detail)s).")
        % {"line": line, "detail": detail},
        line,
    )


def _check_structure(text: str) -> tuple[list[int], list[int]]:
    """Check the content lines and the BEGIN/END nesting, so that an error can name its line (the parser does not)."""
    lines = _logical_lines(text)
    if not lines or lines[0][1].strip().upper() != "BEGIN:VCALENDAR":
        raise IcalFileError(
            _("Ce fichier n’est pas un calendrier iCalendar valide : il doit commencer par « BEGIN:VCALENDAR ».")
        )
    stack: list[tuple[str, int]] = []
    event_lines: list[int] = []
    todo_lines: list[int] = []
    for number, content in lines:
        if not _CONTENT_LINE.match(content):
            raise _invalid_at(number, _("« %(text)s » n’est pas une ligne iCalendar") % {"text": content[:60]})
        name, _sep, value = content.partition(":")
        name, value = name.split(";")[0].upper(), value.strip().upper()
        if name == "BEGIN":
            if not stack and value != "VCALENDAR":
                raise _invalid_at(number, _("%(name)s hors du calendrier") % {"name": value[:30]})
            stack.append((value, number))
            if value == "VEVENT":
                event_lines.append(number)
            elif value == "VTODO":
                todo_lines.append(number)
        elif name == "END":
            if stack and stack[-1][0] != value:
                raise _invalid_at(
                    number,
                    _("« END:%(name)s » alors que « BEGIN:%(open)s » (ligne %(line)s) n’est pas fermé")
                    % {"name": value[:30], "open": stack[-1][0][:30], "line": stack[-1][1]},
                )
            if not stack:
                raise _invalid_at(number, _("« END:%(name)s » inattendu") % {"name": value[:30]})
            stack.pop()
        elif not stack:
            raise _invalid_at(number, _("texte hors du calendrier"))
    if stack:
        name, number = stack[-1]
        raise _invalid_at(number, _("« BEGIN:%(name)s » n’est jamais fermé") % {"name": name[:30]})
    return event_lines, todo_lines


def calendar_parse(data: bytes) -> ParsedFile:
    """Read ``data`` as one or more VCALENDARs. ``IcalFileError`` (French, with the line where known) otherwise."""
    text = _decode(data)
    event_lines, todo_lines = _check_structure(text)
    try:
        with warnings.catch_warnings():
            # icalendar warns when it guesses a vendor-prefixed TZID; the guess is what we want.
            warnings.simplefilter("ignore")
            # Bytes, never a str: icalendar reads a one-line str as a path to a file of the server.
            calendars = Calendar.from_ical(text.encode("utf-8"), multiple=True)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
        raise IcalFileError(_("Ce fichier n’est pas un calendrier iCalendar valide.")) from error
    calendars = [calendar for calendar in calendars if calendar.name == "VCALENDAR"]
    if not calendars:
        raise IcalFileError(_("Ce fichier n’est pas un calendrier iCalendar valide."))
    return ParsedFile(calendars=calendars, event_lines=event_lines, todo_lines=todo_lines)


# --- Import: mapping the components ---------------------------------------------------------------------------------


@dataclass
class ImportedEvent:
    """What ``event_create`` / ``event_update`` take, plus what the import writes itself."""

    uid: str
    fields: dict
    exdates: list[datetime]
    sequence: int
    last_modified: datetime | None
    line: int | None
    # For a changed occurrence: the UID of its series and the start it replaces (an EXDATE of the series).
    series_uid: str = ""
    replaces: datetime | None = None
    cancelled: bool = False

    @property
    def title(self) -> str:
        return self.fields["title"]


@dataclass
class ImportedTask:
    uid: str
    fields: dict
    done: bool
    completed_at: datetime | None
    sequence: int
    last_modified: datetime | None
    line: int | None

    @property
    def title(self) -> str:
        return self.fields["title"]


@dataclass
class Notices:
    """What the import could not keep as it was, told to the person after the import."""

    items: list[str] = field(default_factory=list)
    ignored_properties: set[str] = field(default_factory=set)
    ignored_categories: set[str] = field(default_factory=set)

    def add(self, title: str, text: str) -> None:
        self.items.append(_("« %(title)s » : %(text)s") % {"title": title, "text": text})

    def all(self) -> list[str]:
        found = list(self.items)
        if self.ignored_categories:
            found.append(
                _("Catégories sans équivalent dans l’agenda, non reprises : %(names)s.")
                % {"names": ", ".join(sorted(self.ignored_categories)[:20])}
            )
        if self.ignored_properties:
            found.append(
                _("Informations sans équivalent dans l’agenda, non reprises : %(names)s.")
                % {"names": ", ".join(sorted(self.ignored_properties))}
            )
        return found


def _text(component, name: str) -> str:
    value = component.get(name)
    if value is None:
        return ""
    if isinstance(value, list):  # the property appears several times
        value = value[0]
    return str(value).strip()


def _fit(text: str, max_length: int, title: str, what: str, notices: Notices) -> str:
    if len(text) > max_length:
        notices.add(title, _("%(what)s raccourci à %(max)s caractères.") % {"what": what, "max": max_length})
        return text[:max_length].rstrip()
    return text


def _fold(value: str) -> str:
    """Lower case without accents, for comparing category names."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", value.lower()) if not unicodedata.combining(ch)).strip()


def _categories(component) -> list[str]:
    found = []
    values = component.get("CATEGORIES")
    for prop in values if isinstance(values, list) else ([values] if values is not None else []):
        for category in getattr(prop, "cats", None) or []:
            text = str(category).strip()
            if text:
                found.append(text)
    return found


def _kind(categories: list[str], notices: Notices) -> str:
    kind = ""
    for category in categories:
        folded = _fold(category)
        match = next((value for value, words in KIND_WORDS.items() if folded in words or folded == value), "")
        if match and not kind:
            kind = match
        elif not match:
            notices.ignored_categories.add(category[:40])
    return kind or EventKind.APPOINTMENT


def _offsets_agree(custom, known: ZoneInfo, around: datetime) -> bool:
    naive = around.replace(tzinfo=None)
    samples = [naive] + [datetime(naive.year + delta, month, 15, 12) for delta in (0, 1) for month in (1, 4, 7, 10)]
    try:
        return all(
            sample.replace(tzinfo=custom).utcoffset() == sample.replace(tzinfo=known).utcoffset() for sample in samples
        )
    except (ValueError, OverflowError):
        return False


def _zone_of(value: datetime, title: str, notices: Notices) -> tuple[datetime, str]:
    """The aware moment and the IANA zone to keep for a DATE-TIME value of the file (see the module's rules)."""
    tzinfo = value.tzinfo
    if tzinfo is None:
        return value.replace(tzinfo=ZoneInfo(DEFAULT_TZID)), DEFAULT_TZID
    key = getattr(tzinfo, "key", None)
    if isinstance(tzinfo, ZoneInfo) and key:
        return value, "UTC" if key in ("UTC", "Etc/UTC") else key
    if tzinfo is DT_UTC:
        return value.astimezone(UTC), "UTC"
    # A zone the file defines itself: an IANA zone that it matches, Europe/Paris first.
    candidates = [DEFAULT_TZID]
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        candidates += [name for name in tzids_from_tzinfo(tzinfo) if name not in candidates]
    for name in candidates:
        try:
            known = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        if _offsets_agree(tzinfo, known, value):
            return value.astimezone(known), name
    name = str(getattr(tzinfo, "_tzid", "") or value.tzname() or "?")[:40]
    notices.add(
        title,
        _("fuseau horaire « %(zone)s » inconnu de Mon espace santé : l’heure a été convertie en temps universel (UTC).")
        % {"zone": name},
    )
    return value.astimezone(UTC), "UTC"


def _moment(value: date | datetime, tz: ZoneInfo, *, at: time | None = None) -> datetime:
    """A value of the file as an aware moment: a date at ``at`` (midnight by default) in ``tz``, a floating time in
    ``tz``."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return datetime.combine(value, at or time.min, tzinfo=tz)


def _values(component, name: str) -> list:
    """Every value of a list property (EXDATE, RDATE) that may appear several times."""
    props = component.get(name)
    if props is None:
        return []
    found = []
    for prop in props if isinstance(props, list) else [props]:
        for item in getattr(prop, "dts", []):
            found.append(item.dt)
    return found


def _sequence(component) -> int:
    try:
        return max(0, int(str(component.get("SEQUENCE", 0))))
    except (TypeError, ValueError):
        return 0


def _last_modified(component) -> datetime | None:
    """LAST-MODIFIED, in UTC. Not DTSTAMP: that is when the file was written, not when the item last changed."""
    value = getattr(component.get("LAST-MODIFIED"), "dt", None)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def _uid(component, kind: str) -> str:
    uid = _text(component, "UID")
    if uid:
        return uid
    # No UID (RFC 5545 requires one): a stable one from the content, so that a second import finds the same item.
    digest = hashlib.sha256(component.to_ical()).hexdigest()[:32]
    return f"import-{kind}-{digest}"


def _check_readable(component, title: str) -> None:
    for name, _message in getattr(component, "errors", []) or []:
        if str(name).upper() in REQUIRED_READABLE:
            raise ComponentError(
                _("la valeur de %(name)s n’est pas lisible (« %(value)s »).")
                % {"name": str(name).upper(), "value": str(component.get(name, ""))[:40]},
                field_name=str(name).lower(),
            )


def _note_ignored(component, notices: Notices) -> None:
    for name, label in IGNORED_PROPERTIES.items():
        if name in component:
            notices.ignored_properties.add(label)


def _reminder(component, start: datetime, end: datetime, title: str, notices: Notices) -> int | None:
    alarms = [sub for sub in component.subcomponents if sub.name == "VALARM"]
    minutes = None
    for alarm in alarms:
        trigger = alarm.get("TRIGGER")
        value = getattr(trigger, "dt", None)
        if isinstance(value, timedelta):
            related_end = str(trigger.params.get("RELATED", "START")).upper() == "END"
            before = -(value + (end - start) if related_end else value)
        elif isinstance(value, datetime):
            before = start - (value if value.tzinfo else value.replace(tzinfo=UTC))
        else:
            continue
        if before < timedelta(0) or before > timedelta(minutes=MAX_REMINDER_MINUTES):
            notices.add(title, _("rappel non repris (après le début, ou plus de 30 jours avant)."))
            continue
        whole = int(before.total_seconds() // 60) + (1 if before.total_seconds() % 60 else 0)
        if minutes is None:
            minutes = whole
        elif whole != minutes:
            notices.add(title, _("plusieurs rappels : seul le premier est repris."))
    return minutes


def _until_utc(rule: vRecur, tz: ZoneInfo) -> vRecur:
    """UNTIL in UTC (dateutil refuses another form with a zone-aware start): a date means the end of that day."""
    if "UNTIL" not in rule:
        return rule
    until = rule["UNTIL"][0]
    if isinstance(until, datetime):
        moment = until if until.tzinfo else until.replace(tzinfo=tz)
    else:
        moment = datetime.combine(until, time(23, 59, 59), tzinfo=tz)
    rule["UNTIL"] = [moment.astimezone(UTC)]
    return rule


def _professional_and_note(component, title: str, notices: Notices) -> tuple[str, str]:
    professional = _text(component, "CONTACT")
    description = _text(component, "DESCRIPTION").replace("\r\n", "\n")
    first, _sep, rest = description.partition("\n")
    if first.startswith(PROFESSIONAL_PREFIX):
        named = first[len(PROFESSIONAL_PREFIX) :].strip()
        if not professional or named == professional:
            professional = named
            description = rest.lstrip("\n")
    professional = _fit(" ".join(professional.split()), PROFESSIONAL_MAX_LENGTH, title, _("Professionnel"), notices)
    note = _fit(description.strip(), NOTE_MAX_LENGTH, title, _("Note"), notices)
    return professional, note


def is_prevention(component) -> bool:
    return _text(component, SOURCE_PROPERTY).lower() == PREVENTION_SOURCE


def is_cancelled(component) -> bool:
    return _text(component, "STATUS").upper() == "CANCELLED"


def occurrence_uid(series_uid: str, start: datetime) -> str:
    """The UID of an occurrence imported as an event of its own (RDATE, RECURRENCE-ID)."""
    suffix = "/" + start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    if len(series_uid) + len(suffix) > UID_MAX_LENGTH:
        series_uid = hashlib.sha256(series_uid.encode()).hexdigest()
    return series_uid + suffix


def events_from_component(component, *, line: int | None, notices: Notices) -> list[ImportedEvent]:
    """The events a VEVENT gives: itself (or the changed occurrence it is), and one per RDATE."""
    title = " ".join(_text(component, "SUMMARY").split()) or _("Sans titre")
    _check_readable(component, title)
    title = _fit(title, TITLE_MAX_LENGTH, title[:60], _("Titre"), notices)
    start_prop = component.get("DTSTART")
    if start_prop is None:
        raise ComponentError(_("la date de début (DTSTART) manque."), field_name="starts_at")
    start_value = start_prop.dt
    all_day = not isinstance(start_value, datetime)
    if all_day:
        tzid = DEFAULT_TZID
        starts_at = _moment(start_value, ZoneInfo(tzid))
    else:
        starts_at, tzid = _zone_of(start_value, title, notices)
    tz = UTC if tzid == "UTC" else ZoneInfo(tzid)
    ends_at = None
    end_prop, duration_prop = component.get("DTEND"), component.get("DURATION")
    if end_prop is not None:
        end_value = end_prop.dt
        if all_day and isinstance(end_value, datetime):
            # A DATE start with a DATE-TIME end: whole days, up to the end's day.
            end_value = _moment(end_value, tz).astimezone(tz).date()
        ends_at = _moment(end_value, tz)
    elif duration_prop is not None and isinstance(duration_prop.dt, timedelta):
        ends_at = starts_at + duration_prop.dt
    uid = _uid(component, "event")
    effective_end = ends_at or starts_at + (timedelta(days=1) if all_day else timedelta(hours=1))
    reminder = _reminder(component, starts_at, effective_end, title, notices)
    location = _fit(" ".join(_text(component, "LOCATION").split()), LOCATION_MAX_LENGTH, title, _("Lieu"), notices)
    professional, note = _professional_and_note(component, title, notices)
    kind = _kind(_categories(component), notices)
    _note_ignored(component, notices)

    rrule_text = ""
    rules = component.get("RRULE")
    rules = rules if isinstance(rules, list) else ([rules] if rules is not None else [])
    if rules:
        if len(rules) > 1:
            notices.add(title, _("plusieurs règles de répétition : seule la première est reprise."))
        rrule_text = _until_utc(vRecur(rules[0]), tz).to_ical().decode()
    if "EXRULE" in component:
        notices.add(title, _("règle d’exclusion (EXRULE) non reprise."))
    exdates = []
    if rrule_text:
        at = starts_at.astimezone(tz).time().replace(tzinfo=None)
        exdates = sorted(
            {_moment(value, tz, at=None if all_day else at).astimezone(UTC) for value in _values(component, "EXDATE")}
        )
        if len(exdates) > MAX_EXDATES:
            raise ComponentError(
                _("plus de %(max)s dates supprimées (EXDATE).") % {"max": MAX_EXDATES}, field_name="exdates"
            )
    fields = {
        "title": title,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "all_day": all_day,
        "tzid": tzid,
        "kind": kind,
        "rrule": rrule_text,
        "location": location,
        "professional": professional,
        "note": note,
        "reminder_minutes": reminder,
    }
    sequence, last_modified = _sequence(component), _last_modified(component)
    found = []
    recurrence_id = component.get("RECURRENCE-ID")
    if recurrence_id is not None:
        replaced = _moment(recurrence_id.dt, tz).astimezone(UTC)
        own = dict(fields, rrule="")
        found.append(
            ImportedEvent(
                uid=occurrence_uid(uid, replaced),
                fields=own,
                exdates=[],
                sequence=sequence,
                last_modified=last_modified,
                line=line,
                series_uid=uid,
                replaces=replaced,
                cancelled=is_cancelled(component),
            )
        )
        if rrule_text:
            notices.add(title, _("une date modifiée porte sa propre règle de répétition : elle n’est pas reprise."))
        return found
    found.append(ImportedEvent(uid, fields, exdates, sequence, last_modified, line))
    extra = _values(component, "RDATE")
    if extra:
        duration = effective_end - starts_at
        at = starts_at.astimezone(tz).time().replace(tzinfo=None)
        for value in extra:
            if isinstance(value, tuple):  # a PERIOD (start, end or duration)
                value = value[0]
            moment = _moment(value, tz, at=None if all_day else at)
            found.append(
                ImportedEvent(
                    uid=occurrence_uid(uid, moment),
                    fields=dict(fields, starts_at=moment, ends_at=moment + duration, rrule=""),
                    exdates=[],
                    sequence=sequence,
                    last_modified=last_modified,
                    line=line,
                )
            )
    return found


def task_from_component(component, *, line: int | None, notices: Notices) -> ImportedTask:
    title = " ".join(_text(component, "SUMMARY").split()) or _("Sans titre")
    _check_readable(component, title)
    title = _fit(title, TITLE_MAX_LENGTH, title[:60], _("Titre"), notices)
    due_date = None
    due, start, duration = component.get("DUE"), component.get("DTSTART"), component.get("DURATION")
    value = getattr(due, "dt", None)
    if value is None and start is not None and isinstance(getattr(duration, "dt", None), timedelta):
        value = start.dt + duration.dt
    if isinstance(value, datetime):
        local = ZoneInfo(DEFAULT_TZID)
        due_date = (value if value.tzinfo else value.replace(tzinfo=local)).astimezone(local).date()
    elif isinstance(value, date):
        due_date = value
    completed = getattr(component.get("COMPLETED"), "dt", None)
    completed_at = None
    if isinstance(completed, datetime):
        completed_at = (completed if completed.tzinfo else completed.replace(tzinfo=ZoneInfo(DEFAULT_TZID))).astimezone(
            UTC
        )
    percent = _text(component, "PERCENT-COMPLETE")
    done = _text(component, "STATUS").upper() == "COMPLETED" or completed_at is not None or percent == "100"
    if "RRULE" in component:
        notices.add(title, _("une tâche ne se répète pas dans l’agenda : la répétition n’est pas reprise."))
    if any(sub.name == "VALARM" for sub in component.subcomponents):
        notices.add(title, _("une tâche n’a pas de rappel dans l’agenda : le rappel n’est pas repris."))
    _note_ignored(component, notices)
    note = _fit(
        _text(component, "DESCRIPTION").replace("\r\n", "\n").strip(), NOTE_MAX_LENGTH, title, _("Note"), notices
    )
    return ImportedTask(
        uid=_uid(component, "task"),
        fields={"title": title, "due_date": due_date, "note": note},
        done=done,
        completed_at=completed_at,
        sequence=_sequence(component),
        last_modified=_last_modified(component),
        line=line,
    )
