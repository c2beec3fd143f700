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

The package is split by concern: ``common`` (the format's constants), ``export``, ``reading`` (the file itself)
and ``mapping`` (its components); everything public is available from ``agenda.ical``.
"""

from agenda.ical.common import (
    DEFAULT_TZID,
    IGNORED_PROPERTIES,
    KIND_WORDS,
    LOCATION_MAX_LENGTH,
    MAX_EXDATES,
    MAX_REMINDER_MINUTES,
    PREVENTION_SOURCE,
    PRODID,
    PROFESSIONAL_MAX_LENGTH,
    PROFESSIONAL_PREFIX,
    REQUIRED_READABLE,
    SOURCE_PROPERTY,
    UID_MAX_LENGTH,
    UTC,
)
from agenda.ical.export import (
    calendar_bytes,
    calendar_new,
    event_component,
    event_description,
    prevention_component,
    prevention_uid,
    task_component,
)
from agenda.ical.mapping import (
    ImportedEvent,
    ImportedTask,
    Notices,
    events_from_component,
    is_cancelled,
    is_prevention,
    occurrence_uid,
    task_from_component,
)
from agenda.ical.reading import (
    ComponentError,
    IcalFileError,
    ParsedFile,
    calendar_parse,
)

__all__ = [
    "DEFAULT_TZID",
    "IGNORED_PROPERTIES",
    "KIND_WORDS",
    "LOCATION_MAX_LENGTH",
    "MAX_EXDATES",
    "MAX_REMINDER_MINUTES",
    "PREVENTION_SOURCE",
    "PRODID",
    "PROFESSIONAL_MAX_LENGTH",
    "PROFESSIONAL_PREFIX",
    "REQUIRED_READABLE",
    "SOURCE_PROPERTY",
    "UID_MAX_LENGTH",
    "UTC",
    "ComponentError",
    "IcalFileError",
    "ImportedEvent",
    "ImportedTask",
    "Notices",
    "ParsedFile",
    "calendar_bytes",
    "calendar_new",
    "calendar_parse",
    "event_component",
    "event_description",
    "events_from_component",
    "is_cancelled",
    "is_prevention",
    "occurrence_uid",
    "prevention_component",
    "prevention_uid",
    "task_component",
    "task_from_component",
]
