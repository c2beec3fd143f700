"""iCalendar export then import: the same events (UIDs, instants, time zones, rules, removed dates, reminders) and
tasks come back; the export reads in icalendar and in an independent client parser (vobject) with the right times
across daylight saving changes; importing again never duplicates, and a higher SEQUENCE updates."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject
from django.core.files.uploadedfile import SimpleUploadedFile
from icalendar import Calendar

from agenda import services
from agenda.models import Event, EventKind, Source, Task
from agenda.services.ical import calendar_export, calendar_import, event_export
from mes.acces.policy import citizen_access

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")

pytestmark = pytest.mark.django_db

EVENT_FIELDS = [
    "uid",
    "title",
    "kind",
    "starts_at",
    "ends_at",
    "all_day",
    "tzid",
    "rrule",
    "exdates",
    "location",
    "professional",
    "note",
    "reminder_minutes",
    "sequence",
]


def paris(year, month, day, hour=0, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def upload(body: bytes, name: str = "agenda.ics") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="text/calendar")


@pytest.fixture
def access(citizen):
    return citizen_access(citizen.user, citizen)


@pytest.fixture
def other_access(other_citizen):
    return citizen_access(other_citizen.user, other_citizen)


@pytest.fixture
def agenda(access):
    """Camille's agenda: one of each kind of event the mapping must carry, and three tasks."""
    weekly = services.event_create(
        access=access,
        title="Kinésithérapie",
        starts_at=paris(2027, 3, 1, 9),
        ends_at=paris(2027, 3, 1, 9, 45),
        rrule="FREQ=WEEKLY;UNTIL=20270531T070000Z;BYDAY=MO",
        location="Cabinet de kiné, 3 rue des Lilas, Lyon",
        professional="M. Petit",
    )
    weekly = services.event_occurrence_delete(access=access, event=weekly, occurrence_start=paris(2027, 3, 15, 9))
    events = {
        "single": services.event_create(
            access=access,
            title="Dentiste",
            starts_at=paris(2027, 3, 12, 9, 30),
            ends_at=paris(2027, 3, 12, 10, 15),
            location="12 rue de la Paix, Paris",
            professional="Dr Martin",
            note="Apporter la radio.\nÀ jeun : non.",
        ),
        "all_day": services.event_create(
            access=access,
            title="Hospitalisation de jour",
            kind=EventKind.HOSPITALISATION,
            starts_at=paris(2027, 4, 2),
            ends_at=paris(2027, 4, 4),
            all_day=True,
        ),
        "weekly": weekly,
        "new_york": services.event_create(
            access=access,
            title="Consultation à New York",
            kind=EventKind.EXAM,
            starts_at=datetime(2027, 6, 10, 14, 0, tzinfo=NEW_YORK),
            ends_at=datetime(2027, 6, 10, 15, 0, tzinfo=NEW_YORK),
            tzid="America/New_York",
        ),
        "over_dst": services.event_create(
            access=access,
            title="Examen du sommeil",
            kind=EventKind.EXAM,
            starts_at=paris(2027, 10, 30, 22),
            ends_at=paris(2027, 10, 31, 10),
        ),
        "reminder": services.event_create(
            access=access,
            title="Prise de sang",
            starts_at=paris(2027, 5, 5, 8),
            ends_at=paris(2027, 5, 5, 8, 15),
            reminder_minutes=24 * 60,
        ),
    }
    tasks = {
        "undated": services.task_create(access=access, title="Prendre rendez-vous chez l’ophtalmologue"),
        "dated": services.task_create(
            access=access, title="Renvoyer le test de dépistage", due_date=date(2027, 3, 20), note="Kit reçu."
        ),
        "done": services.task_create(access=access, title="Mettre à jour la carte Vitale", done=True),
    }
    return events, tasks


def test_round_trip_into_another_citizen_gives_the_same_items(access, other_access, agenda):
    events, tasks = agenda
    body = calendar_export(access)
    summary = calendar_import(access=other_access, upload=upload(body))
    assert (summary.created, summary.updated, summary.unchanged, summary.ignored) == (9, 0, 0, 0)
    assert summary.notices == ()

    for original in events.values():
        original.refresh_from_db()
        copy = Event.objects.get(citizen=other_access.citizen, uid=original.uid)
        for name in EVENT_FIELDS:
            assert getattr(copy, name) == getattr(original, name), (original.title, name)
        assert copy.source == Source.IMPORT
        assert copy.source_label == "Fichier importé : agenda.ics"
    weekly = Event.objects.get(citizen=other_access.citizen, uid=events["weekly"].uid)
    assert weekly.exdates == [paris(2027, 3, 15, 9).astimezone(UTC)]
    new_york = Event.objects.get(citizen=other_access.citizen, uid=events["new_york"].uid)
    assert new_york.tzid == "America/New_York"
    assert new_york.starts_at == datetime(2027, 6, 10, 18, 0, tzinfo=UTC)
    over_dst = Event.objects.get(citizen=other_access.citizen, uid=events["over_dst"].uid)
    # 22:00 CEST to 10:00 CET: 13 hours, the night the clocks go back.
    assert over_dst.ends_at - over_dst.starts_at == timedelta(hours=13)

    for original in tasks.values():
        copy = Task.objects.get(citizen=other_access.citizen, uid=original.uid)
        assert (copy.title, copy.due_date, copy.note) == (original.title, original.due_date, original.note)
        assert copy.is_done == original.is_done
    done = Task.objects.get(citizen=other_access.citizen, uid=tasks["done"].uid)
    assert done.done_at == tasks["done"].done_at.replace(microsecond=0)


def test_reimport_changes_nothing_and_a_higher_sequence_updates(access, other_access, agenda):
    events, _tasks = agenda
    body = calendar_export(access)
    calendar_import(access=other_access, upload=upload(body))
    summary = calendar_import(access=other_access, upload=upload(body))
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 9)
    assert Event.objects.filter(citizen=other_access.citizen).count() == 6
    assert Task.objects.filter(citizen=other_access.citizen).count() == 3
    # Importing into the agenda it came from changes nothing either.
    summary = calendar_import(access=access, upload=upload(body))
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 9)

    # Camille moves her dentist appointment: the export carries a higher SEQUENCE, and Bruno's copy follows it.
    single = events["single"]
    services.event_update(access=access, event=single, starts_at=paris(2027, 3, 12, 14), location="Autre cabinet")
    services.task_update(
        access=access, task=_tasks["dated"], title="Renvoyer le test", due_date=date(2027, 3, 25), note=""
    )
    summary = calendar_import(access=other_access, upload=upload(calendar_export(access)))
    assert (summary.created, summary.updated, summary.unchanged) == (0, 2, 7)
    copy = Event.objects.get(citizen=other_access.citizen, uid=single.uid)
    assert copy.starts_at == paris(2027, 3, 12, 14)
    assert copy.ends_at == paris(2027, 3, 12, 14, 45)
    assert copy.location == "Autre cabinet"
    assert copy.sequence == single.sequence == 1
    task = Task.objects.get(citizen=other_access.citizen, uid=_tasks["dated"].uid)
    assert (task.title, task.due_date) == ("Renvoyer le test", date(2027, 3, 25))


def test_export_is_valid_icalendar_with_the_expected_properties(access, agenda):
    events, tasks = agenda
    body = calendar_export(access)
    text = body.decode()
    assert "\r\n" in text
    calendar = Calendar.from_ical(body)
    assert str(calendar["PRODID"]) == "-//Mon espace santé//Agenda//FR"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["X-WR-CALNAME"]) == "Agenda santé de Camille — Mon espace santé"
    assert {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")} == {"Europe/Paris", "America/New_York"}
    assert all(not component.errors for component in calendar.walk())
    by_uid = {str(component["UID"]): component for component in calendar.walk("VEVENT")}
    single = by_uid[events["single"].uid]
    assert single["DTSTART"].params["TZID"] == "Europe/Paris"
    assert single["DTSTART"].to_ical() == b"20270312T093000"
    assert str(single["LOCATION"]) == "12 rue de la Paix, Paris"
    assert str(single["DESCRIPTION"]) == "Professionnel : Dr Martin\n\nApporter la radio.\nÀ jeun : non."
    assert [str(value) for value in single.categories] == ["Rendez-vous"]
    assert str(single["CLASS"]) == "PRIVATE"
    for name in ("DTSTAMP", "SEQUENCE", "CREATED", "LAST-MODIFIED"):
        assert name in single
    all_day = by_uid[events["all_day"].uid]
    assert "DTSTART;VALUE=DATE:20270402" in text
    assert all_day.start == date(2027, 4, 2) and all_day.end == date(2027, 4, 4)
    weekly = by_uid[events["weekly"].uid]
    assert weekly["RRULE"].to_ical() == b"FREQ=WEEKLY;UNTIL=20270531T070000Z;BYDAY=MO"
    assert "EXDATE;TZID=Europe/Paris:20270315T090000" in text
    alarm = by_uid[events["reminder"].uid].subcomponents[0]
    assert (str(alarm["ACTION"]), alarm["TRIGGER"].to_ical()) == ("DISPLAY", b"-P1D")
    todos = {str(component["UID"]): component for component in calendar.walk("VTODO")}
    assert todos[tasks["dated"].uid]["DUE"].to_ical() == b"20270320"
    assert "DUE;VALUE=DATE:20270320" in text
    assert str(todos[tasks["dated"].uid]["STATUS"]) == "NEEDS-ACTION"
    assert str(todos[tasks["done"].uid]["STATUS"]) == "COMPLETED"
    assert "COMPLETED" in todos[tasks["done"].uid]


def _vobject_events(body: bytes) -> dict:
    parsed = vobject.readOne(body.decode("utf-8"))
    return {vevent.uid.value: vevent for vevent in parsed.vevent_list}


def test_an_independent_client_parser_reads_the_export_with_the_right_times_across_dst(access, agenda):
    events, tasks = agenda
    parsed_events = _vobject_events(calendar_export(access))
    assert set(parsed_events) == {event.uid for event in events.values()}

    # The weekly 09:00 appointment stays at 09:00 in Paris before and after the March change: its UTC time moves.
    weekly = parsed_events[events["weekly"].uid]
    starts = list(weekly.getrruleset(addRDate=True))
    by_day = {start.date(): start for start in starts}
    assert by_day[date(2027, 3, 22)].astimezone(UTC) == datetime(2027, 3, 22, 8, 0, tzinfo=UTC)
    assert by_day[date(2027, 3, 29)].astimezone(UTC) == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
    assert all(start.astimezone(PARIS).hour == 9 for start in starts)
    assert date(2027, 3, 15) not in by_day  # the removed date
    assert max(by_day) == date(2027, 5, 31)

    over_dst = parsed_events[events["over_dst"].uid]
    assert over_dst.dtstart.value.astimezone(UTC) == datetime(2027, 10, 30, 20, 0, tzinfo=UTC)
    assert over_dst.dtend.value.astimezone(UTC) == datetime(2027, 10, 31, 9, 0, tzinfo=UTC)
    new_york = parsed_events[events["new_york"].uid]
    assert new_york.dtstart.value.astimezone(UTC) == datetime(2027, 6, 10, 18, 0, tzinfo=UTC)
    all_day = parsed_events[events["all_day"].uid]
    assert all_day.dtstart.value == date(2027, 4, 2)
    reminder = parsed_events[events["reminder"].uid]
    assert reminder.valarm.trigger.value == timedelta(days=-1)

    parsed = vobject.readOne(calendar_export(access).decode("utf-8"))
    assert {todo.uid.value for todo in parsed.vtodo_list} == {task.uid for task in tasks.values()}


def test_the_vtimezone_alone_gives_paris_offsets(access, agenda):
    """A client that ignores the TZID's name and reads only the VTIMEZONE still gets winter and summer right."""
    events, _tasks = agenda
    body = calendar_export(access).decode("utf-8")
    # Rename the zone everywhere so that no parser can recognise it by its name.
    renamed = body.replace("Europe/Paris", "Zone-Du-Fichier")
    weekly = _vobject_events(renamed.encode())[events["weekly"].uid]
    starts = {start.date(): start for start in weekly.getrruleset(addRDate=True)}
    assert starts[date(2027, 3, 22)].utcoffset() == timedelta(hours=1)
    assert starts[date(2027, 3, 29)].utcoffset() == timedelta(hours=2)


def test_one_event_exports_alone_with_its_time_zone(access, agenda):
    events, _tasks = agenda
    body = event_export(access, events["new_york"])
    calendar = Calendar.from_ical(body)
    assert [str(component["UID"]) for component in calendar.walk("VEVENT")] == [events["new_york"].uid]
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["America/New_York"]
    assert calendar.walk("VTODO") == []


def test_titles_only_export_has_no_place_professional_note_nor_description(access, agenda):
    body = calendar_export(access, titles_only=True)
    calendar = Calendar.from_ical(body)
    for component in calendar.walk("VEVENT") + calendar.walk("VTODO"):
        for name in ("LOCATION", "DESCRIPTION", "CONTACT", "CATEGORIES"):
            assert name not in component
    assert b"Dr Martin" not in body and b"rue de la Paix" not in body and b"Kit re" not in body
    assert b"Dentiste" in body
