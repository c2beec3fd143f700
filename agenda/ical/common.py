"""What the export and the import of the agenda in iCalendar share: the file format's constants."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from agenda.models import EventKind

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
