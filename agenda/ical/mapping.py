"""Mapping the components of an imported file onto the agenda's fields (see ``agenda.ical``)."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from datetime import UTC as DT_UTC
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _
from icalendar import vRecur
from icalendar.timezone import tzids_from_tzinfo

from agenda.ical.common import (
    DEFAULT_TZID,
    IGNORED_PROPERTIES,
    KIND_WORDS,
    LOCATION_MAX_LENGTH,
    MAX_EXDATES,
    MAX_REMINDER_MINUTES,
    PREVENTION_SOURCE,
    PROFESSIONAL_MAX_LENGTH,
    PROFESSIONAL_PREFIX,
    REQUIRED_READABLE,
    SOURCE_PROPERTY,
    UID_MAX_LENGTH,
    UTC,
)
from agenda.ical.reading import ComponentError
from agenda.models import NOTE_MAX_LENGTH, TITLE_MAX_LENGTH, EventKind
from mes.text import fold

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
        folded = fold(category).strip()
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
