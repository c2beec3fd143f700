"""iCalendar import: what clients write (time zones, floating and all-day times, DURATION, UNTIL forms, alarms,
categories, changed occurrences), bad files refused as a whole with a clear French message, the journal, and items
of a paired app that an import never overwrites."""

import warnings
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from agenda import services
from agenda.models import Event, EventKind, Source, Task
from agenda.recurrence import occurrence_starts
from agenda.services.ical import CALENDAR_IMPORTED, MAX_FILE_BYTES, calendar_import
from mes.acces.models import CareTeamMember, JournalEntry
from mes.acces.policy import CitizenAccess, citizen_access

PARIS = ZoneInfo("Europe/Paris")

pytestmark = pytest.mark.django_db


def ics(*components: str, extra: str = "") -> bytes:
    """A calendar around ``components`` (written with LF: the import accepts both, and clients write both)."""
    body = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Test//Client//FR\n" + extra
    body += "".join(component.strip() + "\n" for component in components)
    return (body + "END:VCALENDAR\n").encode()


def vevent(uid: str, *lines: str, summary: str = "Rendez-vous") -> str:
    return "\n".join(["BEGIN:VEVENT", f"UID:{uid}", f"SUMMARY:{summary}", *lines, "END:VEVENT"])


def upload(body: bytes, name: str = "import.ics") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="text/calendar")


@pytest.fixture
def access(citizen):
    return citizen_access(citizen.user, citizen)


def run(access, body: bytes, name: str = "import.ics"):
    return calendar_import(access=access, upload=upload(body, name))


def refused(access, body: bytes) -> str:
    with pytest.raises(ValidationError) as error:
        run(access, body)
    assert Event.objects.count() == 0 and Task.objects.count() == 0
    return " ".join(error.value.messages)


# --- What clients write ---------------------------------------------------------------------------------------------


def test_time_zones_floating_times_and_utc(access):
    body = ics(
        vevent("tz@x", "DTSTART;TZID=Europe/Paris:20270310T090000", "DTEND;TZID=Europe/Paris:20270310T100000"),
        vevent("outlook@x", 'DTSTART;TZID="Romance Standard Time":20270710T090000', "DURATION:PT30M"),
        vevent("floating@x", "DTSTART:20270310T090000", "DTEND:20270310T093000"),
        vevent("utc@x", "DTSTART:20270310T090000Z", "DTEND:20270310T100000Z"),
        vevent("tokyo@x", "DTSTART;TZID=Asia/Tokyo:20270310T090000"),
    )
    summary = run(access, body)
    assert summary.created == 5
    events = {event.uid: event for event in Event.objects.all()}
    assert events["tz@x"].tzid == "Europe/Paris"
    assert events["tz@x"].starts_at == datetime(2027, 3, 10, 8, 0, tzinfo=UTC)
    assert events["outlook@x"].tzid == "Europe/Paris"
    assert events["outlook@x"].starts_at == datetime(2027, 7, 10, 7, 0, tzinfo=UTC)
    assert events["outlook@x"].ends_at - events["outlook@x"].starts_at == timedelta(minutes=30)
    # Floating times are Paris times.
    assert events["floating@x"].tzid == "Europe/Paris"
    assert events["floating@x"].starts_at == datetime(2027, 3, 10, 8, 0, tzinfo=UTC)
    assert events["utc@x"].tzid == "UTC"
    assert events["utc@x"].starts_at == datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
    # Neither DTEND nor DURATION: an hour (the agenda has no zero-length events).
    assert events["tokyo@x"].tzid == "Asia/Tokyo"
    assert events["tokyo@x"].ends_at - events["tokyo@x"].starts_at == timedelta(hours=1)


def test_a_zone_defined_only_by_the_file(access):
    paris_like = """BEGIN:VTIMEZONE
TZID:Heure de Paris (fichier)
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
END:VTIMEZONE
"""
    odd = """BEGIN:VTIMEZONE
TZID:Fuseau bizarre
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0537
TZOFFSETTO:+0537
END:STANDARD
END:VTIMEZONE
"""
    body = ics(
        vevent("a@x", 'DTSTART;TZID="Heure de Paris (fichier)":20270710T090000', "RRULE:FREQ=WEEKLY;COUNT=3"),
        vevent("b@x", 'DTSTART;TZID="Fuseau bizarre":20270710T090000', summary="Bizarre"),
        extra=paris_like + odd,
    )
    summary = run(access, body)
    paris = Event.objects.get(uid="a@x")
    assert (paris.tzid, paris.starts_at) == ("Europe/Paris", datetime(2027, 7, 10, 7, 0, tzinfo=UTC))
    odd_event = Event.objects.get(uid="b@x")
    assert odd_event.tzid == "UTC"
    assert odd_event.starts_at == datetime(2027, 7, 10, 3, 23, tzinfo=UTC)
    assert any("« Bizarre »" in notice and "UTC" in notice for notice in summary.notices)


def test_all_day_events_and_duration(access):
    body = ics(
        vevent("one@x", "DTSTART;VALUE=DATE:20270402"),
        vevent("two@x", "DTSTART;VALUE=DATE:20270402", "DTEND;VALUE=DATE:20270404"),
        vevent("dur@x", "DTSTART;VALUE=DATE:20270402", "DURATION:P3D"),
    )
    run(access, body)
    events = {event.uid: event for event in Event.objects.all()}
    assert all(event.all_day for event in events.values())
    assert events["one@x"].starts_at == datetime(2027, 4, 2, tzinfo=PARIS)
    assert events["one@x"].ends_at == datetime(2027, 4, 3, tzinfo=PARIS)
    assert events["two@x"].ends_at == datetime(2027, 4, 4, tzinfo=PARIS)
    assert events["dur@x"].ends_at == datetime(2027, 4, 5, tzinfo=PARIS)


def test_until_forms_are_normalised_to_utc_and_exdates_kept(access):
    body = ics(
        vevent(
            "date-until@x",
            "DTSTART;TZID=Europe/Paris:20270301T090000",
            "RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20270329",
            "EXDATE;TZID=Europe/Paris:20270308T090000",
            "EXDATE;TZID=Europe/Paris:20270315T090000,20270322T090000",
        ),
        vevent(
            "floating-until@x", "DTSTART;TZID=Europe/Paris:20270301T090000", "RRULE:FREQ=DAILY;UNTIL=20270303T090000"
        ),
        vevent(
            "all-day@x",
            "DTSTART;VALUE=DATE:20270301",
            "RRULE:FREQ=MONTHLY;UNTIL=20270501",
            "EXDATE;VALUE=DATE:20270401",
        ),
    )
    run(access, body)
    weekly = Event.objects.get(uid="date-until@x")
    assert weekly.rrule == "FREQ=WEEKLY;UNTIL=20270329T215959Z;BYDAY=MO"
    assert weekly.exdates == [datetime(2027, 3, day, 8, tzinfo=UTC) for day in (8, 15, 22)]
    starts = occurrence_starts(
        starts_at=weekly.starts_at,
        ends_at=weekly.ends_at,
        tzid=weekly.tzid,
        rrule_text=weekly.rrule,
        exdates=weekly.exdates,
        window_start=datetime(2027, 1, 1, tzinfo=UTC),
        window_end=datetime(2028, 1, 1, tzinfo=UTC),
    )
    # 1 and 29 March: the 29th is after the change to summer time, still at 09:00 in Paris.
    assert [start.astimezone(PARIS).replace(tzinfo=None) for start in starts] == [
        datetime(2027, 3, 1, 9),
        datetime(2027, 3, 29, 9),
    ]
    assert Event.objects.get(uid="floating-until@x").rrule == "FREQ=DAILY;UNTIL=20270303T080000Z"
    monthly = Event.objects.get(uid="all-day@x")
    assert monthly.rrule == "FREQ=MONTHLY;UNTIL=20270501T215959Z"
    assert monthly.exdates == [datetime(2027, 4, 1, tzinfo=PARIS).astimezone(UTC)]


def test_alarms_give_the_reminder(access):
    body = ics(
        vevent("start@x", "DTSTART:20270310T090000Z", "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT15M", "END:VALARM"),
        vevent(
            "end@x",
            "DTSTART:20270310T090000Z",
            "DTEND:20270310T100000Z",
            "BEGIN:VALARM",
            "ACTION:AUDIO",
            "TRIGGER;RELATED=END:-PT2H",
            "END:VALARM",
        ),
        vevent(
            "absolute@x",
            "DTSTART:20270310T090000Z",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "TRIGGER;VALUE=DATE-TIME:20270309T090000Z",
            "END:VALARM",
        ),
        vevent(
            "after@x",
            "DTSTART:20270310T090000Z",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            "TRIGGER:PT10M",
            "END:VALARM",
            summary="Après",
        ),
    )
    summary = run(access, body)
    reminders = dict(Event.objects.values_list("uid", "reminder_minutes"))
    assert reminders == {"start@x": 15, "end@x": 60, "absolute@x": 1440, "after@x": None}
    assert any(notice.startswith("« Après »") and "rappel" in notice for notice in summary.notices)


def test_categories_contact_and_description(access):
    body = ics(
        vevent(
            "a@x",
            "DTSTART:20270310T090000Z",
            "CATEGORIES:Santé,HOSPITALISATION",
            "CONTACT:Dr Durand",
            "DESCRIPTION:Chambre 12\\, bâtiment B",
            "LOCATION:CHU de Lyon",
            "ATTENDEE:mailto:someone@example.org",
        ),
        vevent("b@x", "DTSTART:20270310T090000Z", "CATEGORIES:Examen"),
        vevent("c@x", "DTSTART:20270310T090000Z", "DESCRIPTION:Professionnel : Dr Roux\\n\\nÀ jeun."),
        vevent("d@x", "DTSTART:20270310T090000Z"),
    )
    summary = run(access, body)
    events = {event.uid: event for event in Event.objects.all()}
    assert events["a@x"].kind == EventKind.HOSPITALISATION
    assert (events["a@x"].professional, events["a@x"].note) == ("Dr Durand", "Chambre 12, bâtiment B")
    assert events["a@x"].location == "CHU de Lyon"
    assert events["b@x"].kind == EventKind.EXAM
    assert (events["c@x"].professional, events["c@x"].note) == ("Dr Roux", "À jeun.")
    assert events["d@x"].kind == EventKind.APPOINTMENT
    assert any("Santé" in notice for notice in summary.notices)
    assert any("participants (ATTENDEE)" in notice for notice in summary.notices)


def test_changed_and_cancelled_occurrences_and_rdates(access):
    series = vevent(
        "serie@x",
        "DTSTART;TZID=Europe/Paris:20270301T090000",
        "DTEND;TZID=Europe/Paris:20270301T100000",
        "RRULE:FREQ=WEEKLY;COUNT=5",
        "RDATE;TZID=Europe/Paris:20270320T090000",
        summary="Séance",
    )
    moved = vevent(
        "serie@x",
        "RECURRENCE-ID;TZID=Europe/Paris:20270308T090000",
        "DTSTART;TZID=Europe/Paris:20270309T140000",
        "DTEND;TZID=Europe/Paris:20270309T150000",
        summary="Séance (déplacée)",
    )
    cancelled = vevent(
        "serie@x",
        "RECURRENCE-ID;TZID=Europe/Paris:20270315T090000",
        "DTSTART;TZID=Europe/Paris:20270315T090000",
        "STATUS:CANCELLED",
    )
    # The changed occurrence first: it still finds its series.
    summary = run(access, ics(moved, series, cancelled))
    assert summary.created == 3
    master = Event.objects.get(uid="serie@x")
    assert master.exdates == [datetime(2027, 3, 8, 8, tzinfo=UTC), datetime(2027, 3, 15, 8, tzinfo=UTC)]
    own = Event.objects.get(uid="serie@x/20270308T080000Z")
    assert (own.title, own.starts_at, own.rrule) == ("Séance (déplacée)", datetime(2027, 3, 9, 13, tzinfo=UTC), "")
    extra = Event.objects.get(uid="serie@x/20270320T080000Z")
    assert extra.ends_at - extra.starts_at == timedelta(hours=1)
    # Again: nothing new, nothing duplicated.
    summary = run(access, ics(moved, series, cancelled))
    assert (summary.created, summary.updated, Event.objects.count()) == (0, 0, 3)
    assert Event.objects.get(uid="serie@x").exdates == master.exdates


def test_tasks(access):
    body = ics(
        "BEGIN:VTODO\nUID:t1@x\nSUMMARY:Appeler le cabinet\nDUE;VALUE=DATE:20270320\nEND:VTODO",
        "BEGIN:VTODO\nUID:t2@x\nSUMMARY:Fait\nSTATUS:COMPLETED\nCOMPLETED:20270301T100000Z\nDESCRIPTION:Ok\nEND:VTODO",
        "BEGIN:VTODO\nUID:t3@x\nSUMMARY:Échéance à l’heure\nDUE;TZID=America/New_York:20270320T220000\nEND:VTODO",
        "BEGIN:VTODO\nUID:t4@x\nSUMMARY:Annulée\nSTATUS:CANCELLED\nEND:VTODO",
        "BEGIN:VTODO\nUID:t5@x\nEND:VTODO",
    )
    summary = run(access, body)
    assert (summary.created, summary.ignored) == (4, 1)
    tasks = {task.uid: task for task in Task.objects.all()}
    assert tasks["t1@x"].due_date == date(2027, 3, 20) and not tasks["t1@x"].is_done
    assert tasks["t2@x"].done_at == datetime(2027, 3, 1, 10, tzinfo=UTC) and tasks["t2@x"].note == "Ok"
    # 22:00 in New York is already the 21st in Paris.
    assert tasks["t3@x"].due_date == date(2027, 3, 21)
    assert tasks["t5@x"].title == "Sans titre"
    assert all(task.source == Source.IMPORT for task in tasks.values())


def test_an_event_without_uid_is_not_duplicated_by_a_second_import(access):
    body = ics("BEGIN:VEVENT\nSUMMARY:Sans UID\nDTSTART:20270310T090000Z\nEND:VEVENT")
    run(access, body)
    summary = run(access, body)
    assert (summary.created, summary.unchanged, Event.objects.count()) == (0, 1, 1)


def test_last_modified_newer_updates_at_equal_sequence(access):
    run(access, ics(vevent("lm@x", "DTSTART:20270310T090000Z", "LAST-MODIFIED:20200101T000000Z")))
    older = run(access, ics(vevent("lm@x", "DTSTART:20270311T090000Z", "LAST-MODIFIED:20200102T000000Z")))
    assert older.unchanged == 1
    assert Event.objects.get().starts_at == datetime(2027, 3, 10, 9, tzinfo=UTC)
    newer = run(access, ics(vevent("lm@x", "DTSTART:20270311T090000Z", "LAST-MODIFIED:20990101T000000Z")))
    assert newer.updated == 1
    assert Event.objects.get().starts_at == datetime(2027, 3, 11, 9, tzinfo=UTC)


def test_items_of_a_paired_app_are_never_overwritten(access, citizen, professional):
    app = CitizenAccess(
        actor=professional.user,
        citizen=citizen,
        kind="app",
        read_scopes=frozenset({"agenda"}),
        write_scopes=frozenset({"agenda"}),
    )
    services.event_create(
        access=app,
        title="RDV pris en ligne",
        starts_at=datetime(2027, 3, 10, 9, tzinfo=UTC),
        uid="app@x",
        source=Source.APP,
        source_label="Doctolib",
    )
    summary = run(access, ics(vevent("app@x", "DTSTART:20270310T150000Z", "SEQUENCE:9", summary="Écrasé ?")))
    assert (summary.updated, summary.unchanged) == (0, 1)
    event = Event.objects.get(uid="app@x")
    assert (event.title, event.source) == ("RDV pris en ligne", Source.APP)
    assert any("service connecté" in notice for notice in summary.notices)


def test_the_import_writes_one_journal_row_with_its_counts(access, citizen):
    run(access, ics(vevent("j1@x", "DTSTART:20270310T090000Z"), vevent("j2@x", "DTSTART:20270311T090000Z")), "mon.ics")
    rows = JournalEntry.objects.filter(citizen=citizen, action=CALENDAR_IMPORTED)
    assert rows.count() == 1
    assert rows.get().details == {
        "fichier": "mon.ics",
        "ajoutes": 2,
        "mis_a_jour": 0,
        "inchanges": 0,
        "non_importes": 0,
    }
    assert Event.objects.get(uid="j1@x").source_label == "Fichier importé : mon.ics"


def test_only_the_person_side_imports(citizen, professional):
    CareTeamMember.objects.create(citizen=citizen, professional=professional.user, is_treating_doctor=True)
    pro = citizen_access(professional.user, citizen)
    with pytest.raises(PermissionDenied):
        run(pro, ics(vevent("p@x", "DTSTART:20270310T090000Z")))
    assert Event.objects.count() == 0


def test_prevention_dates_of_an_export_are_not_imported(access):
    summary = run(
        access,
        ics(
            vevent("prev@x", "DTSTART;VALUE=DATE:20270310", "X-MES-SOURCE:prevention"),
            vevent("e@x", "DTSTART:20270310T090000Z"),
        ),
    )
    assert (summary.created, summary.ignored) == (1, 1)
    assert list(Event.objects.values_list("uid", flat=True)) == ["e@x"]


# --- Bad files: refused as a whole, with a clear French message -----------------------------------------------------


def test_not_icalendar(access):
    message = refused(access, b"Bonjour,\nvoici mon agenda.\n")
    assert message == "Ce fichier n’est pas un calendrier iCalendar valide : il doit commencer par « BEGIN:VCALENDAR »."


def test_a_bad_line_is_named(access):
    body = b"BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:x\nceci n'est pas une ligne\nEND:VEVENT\nEND:VCALENDAR\n"
    message = refused(access, body)
    assert "ligne 5" in message and "n’est pas un calendrier iCalendar valide" in message


def test_unclosed_component(access):
    message = refused(access, b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nDTSTART:20270310T090000Z\nEND:VCALENDAR\n")
    assert message == (
        "Ce fichier n’est pas un calendrier iCalendar valide (ligne 5 : « END:VCALENDAR » alors que "
        "« BEGIN:VEVENT » (ligne 2) n’est pas fermé)."
    )


def test_empty_file(access):
    assert refused(access, b"") == "Le fichier est vide."
    assert refused(access, b"  \n") == "Le fichier est vide."


def test_binary_file(access):
    message = refused(access, b"%PDF-1.7\x00\x01\x02\xff" * 10)
    assert message == "Ce fichier n’est pas un calendrier iCalendar valide : c’est un fichier binaire."


def test_not_utf8(access):
    message = refused(
        access, ics(vevent("x", "DTSTART:20270310T090000Z", summary="Caf\xe9")).replace(b"\xc3\xa9", b"\xe9")
    )
    assert "UTF-8" in message and "ligne 6" in message


def test_too_large(access):
    body = ics(vevent("x", "DTSTART:20270310T090000Z", "DESCRIPTION:" + "a" * MAX_FILE_BYTES))
    assert refused(access, body) == "Le fichier dépasse la taille maximale autorisée de 2 Mo."


def test_no_event_nor_task(access):
    message = refused(access, ics())
    assert message == "Ce fichier ne contient aucun événement (VEVENT) ni aucune tâche (VTODO)."


def test_too_many_components(access):
    many = [vevent(f"n{number}", "DTSTART:20270310T090000Z") for number in range(5001)]
    message = refused(access, ics(*many))
    assert "5001 éléments" in message and "5000" in message


def test_an_event_without_dtstart_refuses_the_whole_file(access):
    body = ics(
        vevent("ok@x", "DTSTART:20270310T090000Z", summary="Bon"),
        vevent("ko@x", "DTEND:20270310T090000Z", summary="Sans début"),
    )
    message = refused(access, body)
    assert message == (
        "L’événement « Sans début » (ligne 9) ne peut pas être importé : la date de début (DTSTART) manque. "
        "Aucun élément du fichier n’a été importé."
    )


def test_a_secondly_rule_refuses_the_whole_file(access):
    body = ics(
        vevent("ok@x", "DTSTART:20270310T090000Z", summary="Bon"),
        vevent("sec@x", "DTSTART:20270310T090000Z", "RRULE:FREQ=SECONDLY", summary="Chaque seconde"),
        "BEGIN:VTODO\nUID:t@x\nSUMMARY:Tâche\nEND:VTODO",
    )
    message = refused(access, body)
    assert message.startswith(
        "L’événement « Chaque seconde » (ligne 9) ne peut pas être importé : répétition (RRULE) :"
    )
    assert "chaque jour, semaine, mois ou année" in message
    assert message.endswith("Aucun élément du fichier n’a été importé.")


def test_unreadable_values_and_impossible_events(access):
    message = refused(access, ics(vevent("a@x", "DTSTART:2027-03-10 garbage", summary="Illisible")))
    assert "« Illisible »" in message and "DTSTART" in message
    message = refused(
        access, ics(vevent("b@x", "DTSTART:20270310T090000Z", "DTEND:20270310T080000Z", summary="À l’envers"))
    )
    assert "« À l’envers »" in message and "La fin doit être après le début." in message
    message = refused(access, ics(vevent("c@x", "DTSTART:20270310T090000Z", "RRULE:FREQ=NEVER", summary="Règle")))
    assert "« Règle »" in message and "RRULE" in message


def test_refusal_leaves_nothing_behind_even_after_earlier_items_were_written(access, citizen):
    body = ics(
        vevent("first@x", "DTSTART:20270310T090000Z"),
        "BEGIN:VTODO\nUID:t@x\nSUMMARY:Tâche\nDUE;VALUE=DATE:30000101\nEND:VTODO",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        message = refused(access, body)
    assert "La tâche « Tâche » (ligne" in message and "échéance (DUE)" in message
    assert not JournalEntry.objects.filter(citizen=citizen, action=CALENDAR_IMPORTED).exists()


def test_a_file_path_is_not_read_from_the_server(access):
    """icalendar reads a one-line str as a path: the import passes bytes, so a file naming a path is just refused."""
    message = refused(access, b"/etc/hostname")
    assert "BEGIN:VCALENDAR" in message


def test_summary_message_in_french():
    from agenda.services.ical import ImportSummary

    assert ImportSummary(1, 0, 0, 0, ()).message() == "Import terminé : 1 élément ajouté."
    assert ImportSummary(0, 0, 3, 0, ()).message() == "Import terminé : aucun élément ajouté, 3 déjà à jour."
    assert ImportSummary(2, 1, 1, 2, ()).message() == (
        "Import terminé : 2 éléments ajoutés, 1 mis à jour, 1 déjà à jour, 2 non importés."
    )


def test_utc_and_floating_events_export_back_as_they_were_imported(access):
    from icalendar import Calendar

    from agenda.services.ical import calendar_export

    run(access, ics(vevent("utc@x", "DTSTART:20270310T090000Z", "DTEND:20270310T100000Z")))
    body = calendar_export(access)
    assert b"DTSTART:20270310T090000Z" in body and b"DTEND:20270310T100000Z" in body
    assert Calendar.from_ical(body).walk("VTIMEZONE") == []


def test_a_changed_occurrence_of_an_app_series_is_left_alone(access, citizen, professional):
    app = CitizenAccess(
        actor=professional.user,
        citizen=citizen,
        kind="app",
        read_scopes=frozenset({"agenda"}),
        write_scopes=frozenset({"agenda"}),
    )
    services.event_create(
        access=app,
        title="Séances",
        starts_at=datetime(2027, 3, 1, 9, tzinfo=UTC),
        rrule="FREQ=WEEKLY;COUNT=4",
        uid="app-serie@x",
        source=Source.APP,
    )
    moved = vevent("app-serie@x", "RECURRENCE-ID:20270308T090000Z", "DTSTART:20270309T090000Z", summary="Déplacée")
    summary = run(access, ics(moved))
    assert (summary.created, summary.unchanged) == (0, 1)
    assert Event.objects.get(uid="app-serie@x").exdates == []
    assert Event.objects.count() == 1
