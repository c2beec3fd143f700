"""The agenda's core: services (events, tasks) and selectors — validation, recurrence across daylight saving changes,
removed dates, who may write what, the journal, and pending reminders."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from agenda import selectors, services
from agenda.models import Event, Reminder, ReminderStatus, Source, Task
from agenda.recurrence import rule_describe
from mes.acces.models import CareTeamMember, JournalEntry
from mes.acces.policy import CitizenAccess, citizen_access

PARIS = ZoneInfo("Europe/Paris")

pytestmark = pytest.mark.django_db


def paris(year, month, day, hour=0, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def access(citizen) -> CitizenAccess:
    return citizen_access(citizen.user, citizen)


@pytest.fixture
def other_access(other_citizen) -> CitizenAccess:
    return citizen_access(other_citizen.user, other_citizen)


@pytest.fixture
def app_access(citizen, professional) -> CitizenAccess:
    """A paired app allowed to write the agenda (the policy will build this from the appariement's scopes)."""
    return CitizenAccess(
        actor=professional.user,
        citizen=citizen,
        kind="app",
        read_scopes=frozenset({"agenda"}),
        write_scopes=frozenset({"agenda"}),
    )


@pytest.fixture
def pro_access(citizen, professional) -> CitizenAccess:
    CareTeamMember.objects.create(citizen=citizen, professional=professional.user, is_treating_doctor=True)
    access = citizen_access(professional.user, citizen)
    assert access is not None and access.is_professional
    return access


def make_event(access, **overrides) -> Event:
    values = {"title": "Dentiste", "starts_at": paris(2027, 3, 12, 9, 30), "ends_at": paris(2027, 3, 12, 10, 0)}
    values.update(overrides)
    return services.event_create(access=access, **values)


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# --- Validation ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": "   "}, "title", "Ce champ est obligatoire."),
        ({"title": "x" * 201}, "title", "Ce champ ne doit pas dépasser 200 caractères."),
        ({"location": "x" * 301}, "location", "Ce champ ne doit pas dépasser 300 caractères."),
        ({"professional": "x" * 201}, "professional", "Ce champ ne doit pas dépasser 200 caractères."),
        ({"note": "x" * 5001}, "note", "Ce champ ne doit pas dépasser 5000 caractères."),
        ({"kind": "anniversaire"}, "kind", "Choisissez un type d’événement dans la liste."),
        ({"starts_at": None}, "starts_at", "Indiquez la date et l’heure de début."),
        ({"starts_at": datetime(2027, 3, 12, 9, 30)}, "starts_at", "Indiquez la date et l’heure de début."),
        ({"starts_at": paris(1899, 12, 31, 9)}, "starts_at", "La date de début doit être comprise entre 1900 et 2200."),
        ({"ends_at": datetime(2027, 3, 12, 10, 0)}, "ends_at", "Indiquez la date et l’heure de fin."),
        ({"reminder_minutes": -5}, "reminder_minutes", "Le rappel doit avoir lieu au plus 30 jours avant l’événement."),
        (
            {"reminder_minutes": 30 * 24 * 60 + 1},
            "reminder_minutes",
            "Le rappel doit avoir lieu au plus 30 jours avant l’événement.",
        ),
        ({"tzid": "Europe/Atlantide"}, "tzid", "Fuseau horaire inconnu : Europe/Atlantide."),
    ],
)
def test_event_create_refuses_bad_fields_with_a_french_message_on_the_field(access, overrides, field, message):
    with pytest.raises(ValidationError) as excinfo:
        make_event(access, **overrides)
    assert errors_of(excinfo)[field] == [message]
    assert not Event.objects.exists()


def test_several_errors_are_reported_at_once(access):
    with pytest.raises(ValidationError) as excinfo:
        make_event(access, title="", kind="inconnu", location="x" * 400)
    assert set(errors_of(excinfo)) == {"title", "kind", "location"}


def test_end_before_or_at_start_is_refused(access):
    with pytest.raises(ValidationError) as excinfo:
        make_event(access, ends_at=paris(2027, 3, 12, 9, 0))
    assert errors_of(excinfo) == {"ends_at": ["La fin doit être après le début."]}
    with pytest.raises(ValidationError) as excinfo:
        make_event(access, ends_at=paris(2027, 3, 12, 9, 30))
    assert errors_of(excinfo) == {"ends_at": ["La fin doit être après le début."]}


def test_an_event_may_not_last_more_than_a_year(access):
    with pytest.raises(ValidationError) as excinfo:
        make_event(access, ends_at=paris(2028, 3, 14, 9, 0))
    assert errors_of(excinfo) == {"ends_at": ["Un événement ne peut pas durer plus d’un an."]}


def test_without_an_end_an_event_lasts_one_hour_and_text_is_cleaned(access):
    event = make_event(access, ends_at=None, title="  Kiné\x00  du   genou ", note="Apporter\x07 l’ordonnance  \n\n")
    assert event.ends_at - event.starts_at == timedelta(hours=1)
    assert event.title == "Kiné du genou"
    assert event.note == "Apporter l’ordonnance"
    assert "@" in event.uid and Event.objects.filter(uid=event.uid).count() == 1
    assert event.source == Source.CITIZEN and event.created_by == access.actor


def test_all_day_events_are_normalised_to_whole_local_days(access):
    # A time on the day is dropped: midnight to midnight in Paris.
    one_day = make_event(access, all_day=True, starts_at=paris(2027, 3, 12, 14, 30), ends_at=None)
    assert one_day.starts_at == paris(2027, 3, 12)
    assert one_day.ends_at == paris(2027, 3, 13)
    # An exclusive midnight end (iCalendar's DTEND;VALUE=DATE) covers the days before it.
    three_days = make_event(access, all_day=True, starts_at=paris(2027, 3, 12), ends_at=paris(2027, 3, 15))
    assert (three_days.starts_at, three_days.ends_at) == (paris(2027, 3, 12), paris(2027, 3, 15))
    # An end during a day includes that day.
    until_afternoon = make_event(access, all_day=True, starts_at=paris(2027, 3, 12, 8), ends_at=paris(2027, 3, 14, 15))
    assert until_afternoon.ends_at == paris(2027, 3, 15)
    # Across the change to summer time, the days stay whole (47 hours, two local days).
    weekend = make_event(access, all_day=True, starts_at=paris(2027, 3, 27), ends_at=paris(2027, 3, 29))
    weekend.refresh_from_db()
    assert weekend.ends_at - weekend.starts_at == timedelta(hours=47)
    occurrence = selectors.occurrences_between(access, paris(2027, 3, 27), paris(2027, 3, 28))
    assert [item.days() for item in occurrence if item.event == weekend] == [[date(2027, 3, 27), date(2027, 3, 28)]]


def test_duplicate_uid_is_refused(access):
    make_event(access, uid="abc@exemple.fr")
    with pytest.raises(ValidationError) as excinfo:
        make_event(access, uid="abc@exemple.fr")
    assert errors_of(excinfo) == {"uid": ["Un événement de cet agenda porte déjà cet identifiant (UID)."]}


def test_the_same_uid_may_exist_in_two_agendas(access, other_access):
    make_event(access, uid="abc@exemple.fr")
    assert make_event(other_access, uid="abc@exemple.fr").citizen == other_access.citizen


# --- Recurrence ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=SECONDLY", "Un événement peut se répéter chaque jour, semaine, mois ou année."),
        ("FREQ=MINUTELY;INTERVAL=5", "Un événement peut se répéter chaque jour, semaine, mois ou année."),
        ("FREQ=HOURLY", "Un événement peut se répéter chaque jour, semaine, mois ou année."),
        ("n’importe quoi", "La règle de répétition n’est pas valide (RFC 5545)."),
        ("FREQ=WEEKLY;BYDAY=XX", "La règle de répétition n’est pas valide (RFC 5545)."),
        ("FREQ=WEEKLY;COUNT=deux", "La règle de répétition n’est pas valide (RFC 5545)."),
        ("FREQ=WEEKLY\nFREQ=DAILY", "La règle de répétition est vide ou trop longue."),
        ("FREQ=DAILY;" + "BYHOUR=9;" * 60, "La règle de répétition est vide ou trop longue."),
    ],
)
def test_bad_or_too_frequent_rules_are_refused(access, rule, message):
    with pytest.raises(ValidationError) as excinfo:
        make_event(access, rrule=rule)
    assert errors_of(excinfo) == {"rrule": [message]}


def test_the_rrule_prefix_is_dropped(access):
    event = make_event(access, rrule="RRULE:FREQ=WEEKLY;COUNT=3")
    assert event.rrule == "FREQ=WEEKLY;COUNT=3"
    assert rule_describe(event.rrule) == "Toutes les semaines, 3 fois"


def test_a_weekly_series_stays_at_nine_in_paris_across_both_daylight_saving_changes(access):
    # Monday 22 March 2027, 09:00 in winter time (08:00 UTC); clocks go forward on Sunday 28 March and back on
    # Sunday 31 October 2027.
    event = make_event(
        access, title="Kiné", starts_at=paris(2027, 3, 22, 9), ends_at=paris(2027, 3, 22, 9, 45), rrule="FREQ=WEEKLY"
    )
    spring = selectors.occurrences_between(access, paris(2027, 3, 20), paris(2027, 4, 6))
    autumn = selectors.occurrences_between(access, paris(2027, 10, 20), paris(2027, 11, 9))
    for occurrence in spring + autumn:
        assert occurrence.event == event
        local = occurrence.local_start()
        assert (local.hour, local.minute, local.weekday()) == (9, 0, 0)
        assert occurrence.end - occurrence.start == timedelta(minutes=45)
    assert [item.start.astimezone(UTC).hour for item in spring] == [8, 7, 7]
    assert [(item.local_start().date(), item.start.astimezone(UTC).hour) for item in autumn] == [
        (date(2027, 10, 25), 7),
        (date(2027, 11, 1), 8),
        (date(2027, 11, 8), 8),
    ]


def test_count_and_until_end_a_series(access):
    make_event(access, title="Cinq fois", starts_at=paris(2027, 1, 4, 9), ends_at=None, rrule="FREQ=DAILY;COUNT=5")
    until = paris(2027, 1, 6, 23, 59).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    make_event(
        access, title="Jusqu’au 6", starts_at=paris(2027, 1, 4, 9), ends_at=None, rrule=f"FREQ=DAILY;UNTIL={until}"
    )
    found = selectors.occurrences_between(access, paris(2027, 1, 1), paris(2027, 2, 1))
    assert sum(1 for item in found if item.event.title == "Cinq fois") == 5
    assert [item.local_start().day for item in found if item.event.title == "Jusqu’au 6"] == [4, 5, 6]


def test_occurrences_overlapping_the_window_are_found_and_sorted(access):
    night = make_event(
        access, title="Nuit à l’hôpital", starts_at=paris(2027, 3, 11, 22), ends_at=paris(2027, 3, 12, 8)
    )
    morning = make_event(access, title="Analyse", starts_at=paris(2027, 3, 12, 7), ends_at=paris(2027, 3, 12, 7, 15))
    make_event(access, title="Hier", starts_at=paris(2027, 3, 11, 9), ends_at=paris(2027, 3, 11, 10))
    day = selectors.occurrences_between(access, paris(2027, 3, 12), paris(2027, 3, 13))
    assert [item.event for item in day] == [night, morning]
    assert day[0].days() == [date(2027, 3, 11), date(2027, 3, 12)]


def test_occurrence_get_finds_a_date_of_the_series_and_nothing_else(access):
    event = make_event(access, starts_at=paris(2027, 3, 1, 9), ends_at=paris(2027, 3, 1, 10), rrule="FREQ=WEEKLY")
    third = selectors.occurrences_between(access, paris(2027, 3, 15), paris(2027, 3, 16))[0]
    assert third.key == "20270315T080000Z"
    found = selectors.occurrence_get(access, event, third.key)
    assert found == third
    assert selectors.occurrence_get(access, event, "20270316T080000Z") is None  # a Tuesday
    assert selectors.occurrence_get(access, event, "20270222T080000Z") is None  # before the series
    assert selectors.occurrence_get(access, event, "pas-une-date") is None


def test_removing_one_occurrence_keeps_the_rest_of_the_series(access):
    event = make_event(access, starts_at=paris(2027, 3, 1, 9), ends_at=paris(2027, 3, 1, 10), rrule="FREQ=WEEKLY")
    second = paris(2027, 3, 8, 9)
    Reminder.objects.create(event=event, occurrence_start=second, due_at=second - timedelta(hours=1))
    Reminder.objects.create(event=event, occurrence_start=paris(2027, 3, 15, 9), due_at=paris(2027, 3, 15, 8))
    services.event_occurrence_delete(access=access, event=event, occurrence_start=second)
    event.refresh_from_db()
    assert event.exdates == [second.astimezone(UTC)]
    assert event.sequence == 1
    starts = [
        item.local_start().day for item in selectors.occurrences_between(access, paris(2027, 3, 1), paris(2027, 4, 1))
    ]
    assert starts == [1, 15, 22, 29]
    assert selectors.occurrence_get(access, event, "20270308T080000Z") is None
    # The removed date's pending reminder goes, the others stay.
    assert list(Reminder.objects.values_list("occurrence_start", flat=True)) == [paris(2027, 3, 15, 9)]
    # Removing it again changes nothing and writes nothing.
    rows = JournalEntry.objects.filter(action=services.EVENT_CHANGED).count()
    services.event_occurrence_delete(access=access, event=event, occurrence_start=second)
    event.refresh_from_db()
    assert event.sequence == 1
    assert JournalEntry.objects.filter(action=services.EVENT_CHANGED).count() == rows


def test_a_single_event_has_no_occurrence_to_remove(access):
    event = make_event(access)
    with pytest.raises(ValidationError) as excinfo:
        services.event_occurrence_delete(access=access, event=event, occurrence_start=event.starts_at)
    assert errors_of(excinfo) == {"occurrence": ["Cet événement ne se répète pas."]}


# --- Update -------------------------------------------------------------------------------------------------------


def test_moving_the_start_keeps_the_duration(access):
    event = make_event(access, starts_at=paris(2027, 3, 12, 10), ends_at=paris(2027, 3, 12, 11, 30))
    services.event_update(access=access, event=event, starts_at=paris(2027, 3, 19, 14))
    event.refresh_from_db()
    assert (event.starts_at, event.ends_at) == (paris(2027, 3, 19, 14), paris(2027, 3, 19, 15, 30))
    assert event.sequence == 1


def test_moving_a_series_forgets_its_removed_dates_but_a_new_title_keeps_them(access):
    event = make_event(access, starts_at=paris(2027, 3, 1, 9), ends_at=paris(2027, 3, 1, 10), rrule="FREQ=WEEKLY")
    services.event_occurrence_delete(access=access, event=event, occurrence_start=paris(2027, 3, 8, 9))
    services.event_update(access=access, event=event, title="Kiné du lundi")
    event.refresh_from_db()
    assert len(event.exdates) == 1 and event.title == "Kiné du lundi"
    services.event_update(access=access, event=event, starts_at=paris(2027, 3, 2, 9))
    event.refresh_from_db()
    assert event.exdates == []


def test_update_validates_like_create_and_changes_nothing_when_refused(access):
    event = make_event(access)
    with pytest.raises(ValidationError) as excinfo:
        services.event_update(access=access, event=event, title="", ends_at=paris(2027, 3, 12, 8))
    assert set(errors_of(excinfo)) == {"title", "ends_at"}
    event.refresh_from_db()
    assert event.title == "Dentiste" and event.sequence == 0
    with pytest.raises(TypeError):
        services.event_update(access=access, event=event, source=Source.APP)


def test_update_deletes_pending_reminders_only(access):
    event = make_event(access, reminder_minutes=60)
    pending = Reminder.objects.create(event=event, occurrence_start=event.starts_at, due_at=event.starts_at)
    other = make_event(access, title="Autre", reminder_minutes=60)
    sent = Reminder.objects.create(
        event=other, occurrence_start=other.starts_at, due_at=other.starts_at, status=ReminderStatus.SENT
    )
    services.event_update(access=access, event=event, reminder_minutes=24 * 60)
    services.event_update(access=access, event=other, title="Autre, déplacé")
    assert not Reminder.objects.filter(pk=pending.pk).exists()
    assert Reminder.objects.filter(pk=sent.pk, status=ReminderStatus.SENT).exists()
    event.refresh_from_db()
    assert event.reminder_minutes == 24 * 60


# --- Who writes ---------------------------------------------------------------------------------------------------


def test_items_of_a_paired_app_may_be_deleted_by_the_citizen_not_changed(access, app_access):
    event = services.event_create(
        access=app_access,
        title="Séance de rééducation",
        starts_at=paris(2027, 3, 1, 9),
        rrule="FREQ=WEEKLY",
        source=Source.APP,
        source_label="Kiné Connect",
        source_ref="client-42",
    )
    assert not event.citizen_may_edit and event.created_by == app_access.actor
    with pytest.raises(PermissionDenied, match="service connecté"):
        services.event_update(access=access, event=event, title="Changé")
    with pytest.raises(PermissionDenied):
        services.event_occurrence_delete(access=access, event=event, occurrence_start=paris(2027, 3, 8, 9))
    event.refresh_from_db()
    assert event.title == "Séance de rééducation" and event.exdates == []
    # The app itself may change what it wrote.
    services.event_update(access=app_access, event=event, title="Séance de rééducation (salle 2)")

    task = services.task_create(access=app_access, title="Remplir le questionnaire", source=Source.APP)
    with pytest.raises(PermissionDenied):
        services.task_update(access=access, task=task, title="Changé", due_date=None, note="")
    services.task_set_done(access=access, task=task, done=True)  # it is the person's to-do list
    assert Task.objects.get(pk=task.pk).is_done

    services.event_delete(access=access, event=event)
    services.task_delete(access=access, task=task)
    assert not Event.objects.exists() and not Task.objects.exists()


def test_sources_are_checked(access, app_access):
    with pytest.raises(PermissionDenied):
        make_event(access, source=Source.APP)
    with pytest.raises(PermissionDenied):
        make_event(access, source=Source.PREVENTION)
    with pytest.raises(PermissionDenied):
        make_event(app_access, source=Source.CITIZEN)
    without_scope = CitizenAccess(
        actor=app_access.actor, citizen=app_access.citizen, kind="app", write_scopes=frozenset({"mesures"})
    )
    with pytest.raises(PermissionDenied):
        make_event(without_scope, source=Source.APP)
    # The person's own other sources: an imported file, an appointment accepted from a message.
    assert make_event(access, source=Source.IMPORT, title="Importé").source == Source.IMPORT
    assert make_event(access, source=Source.MESSAGE, title="Reçu").source == Source.MESSAGE
    assert Event.objects.count() == 2


def test_another_citizens_access_is_refused_on_every_write(access, other_access):
    event = make_event(access, rrule="FREQ=WEEKLY")
    task = services.task_create(access=access, title="Ordonnance")
    calls = [
        lambda: services.event_update(access=other_access, event=event, title="Piraté"),
        lambda: services.event_occurrence_delete(access=other_access, event=event, occurrence_start=event.starts_at),
        lambda: services.event_delete(access=other_access, event=event),
        lambda: services.task_update(access=other_access, task=task, title="Piraté", due_date=None, note=""),
        lambda: services.task_set_done(access=other_access, task=task, done=True),
        lambda: services.task_delete(access=other_access, task=task),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    event.refresh_from_db()
    task.refresh_from_db()
    assert event.title == "Dentiste" and event.exdates == [] and not task.is_done and task.title == "Ordonnance"
    # And the other person's selectors see none of it.
    assert selectors.event_get(other_access, event.public_id) is None
    assert selectors.task_get(other_access, task.public_id) is None
    assert selectors.occurrences_between(other_access, paris(2027, 1, 1), paris(2028, 1, 1)) == []


def test_a_professional_reads_nothing_and_writes_nothing(access, pro_access):
    event = make_event(access)
    task = services.task_create(access=access, title="Ordonnance")
    with pytest.raises(PermissionDenied):
        make_event(pro_access)
    with pytest.raises(PermissionDenied):
        services.task_create(access=pro_access, title="Rendez-vous")
    with pytest.raises(PermissionDenied):
        services.event_update(access=pro_access, event=event, title="Changé")
    with pytest.raises(PermissionDenied):
        services.event_delete(access=pro_access, event=event)
    with pytest.raises(PermissionDenied):
        services.task_set_done(access=pro_access, task=task, done=True)
    with pytest.raises(PermissionDenied):
        services.task_delete(access=pro_access, task=task)
    assert Event.objects.count() == 1 and Task.objects.count() == 1
    assert selectors.event_get(pro_access, event.public_id) is None
    assert selectors.occurrences_between(pro_access, paris(2027, 1, 1), paris(2028, 1, 1)) == []
    assert not selectors.tasks(pro_access, done=None).exists()


# --- Journal ------------------------------------------------------------------------------------------------------


def test_every_change_writes_one_journal_row(access, citizen):
    event = make_event(access, rrule="FREQ=WEEKLY")
    services.event_update(access=access, event=event, title="Dentiste (contrôle)")
    services.event_occurrence_delete(access=access, event=event, occurrence_start=paris(2027, 3, 19, 9, 30))
    public_id = str(event.public_id)
    services.event_delete(access=access, event=event)
    task = services.task_create(access=access, title="Ordonnance")
    services.task_update(access=access, task=task, title="Renouveler l’ordonnance", due_date=date(2027, 4, 1), note="")
    services.task_set_done(access=access, task=task, done=True)
    services.task_set_done(access=access, task=task, done=True)  # already done: nothing to record
    services.task_delete(access=access, task=task)
    rows = list(JournalEntry.objects.filter(action__startswith="agenda.").order_by("seq"))
    assert [row.action for row in rows] == [
        services.EVENT_ADDED,
        services.EVENT_CHANGED,
        services.EVENT_CHANGED,
        services.EVENT_DELETED,
        services.TASK_ADDED,
        services.TASK_CHANGED,
        services.TASK_CHANGED,
        services.TASK_DELETED,
    ]
    assert all(row.citizen_id == citizen.pk and row.actor_id == citizen.user.pk for row in rows)
    assert {row.object_id for row in rows[:4]} == {public_id}
    assert rows[0].details["titre"] == "Dentiste" and rows[0].details["recurrent"] is True
    assert rows[2].details["occurrence_supprimee"] == paris(2027, 3, 19, 9, 30).astimezone(UTC).isoformat()
    assert rows[6].details == {"titre": "Renouveler l’ordonnance", "faite": True}


def test_a_refused_change_writes_no_journal_row(access, other_access):
    event = make_event(access)
    before = JournalEntry.objects.count()
    with pytest.raises(ValidationError):
        services.event_update(access=access, event=event, title="")
    with pytest.raises(PermissionDenied):
        services.event_delete(access=other_access, event=event)
    assert JournalEntry.objects.count() == before


# --- Tasks --------------------------------------------------------------------------------------------------------


def test_task_validation(access):
    with pytest.raises(ValidationError) as excinfo:
        services.task_create(access=access, title=" ", due_date=date(1850, 1, 1), note="x" * 5001)
    assert errors_of(excinfo) == {
        "title": ["Ce champ est obligatoire."],
        "due_date": ["L’échéance doit être comprise entre 1900 et 2200."],
        "note": ["Ce champ ne doit pas dépasser 5000 caractères."],
    }


def test_tasks_are_listed_to_do_by_due_date_undated_last_and_done_latest_first(access):
    undated = services.task_create(access=access, title="Sans date")
    later = services.task_create(access=access, title="Plus tard", due_date=date(2027, 5, 1))
    sooner = services.task_create(access=access, title="Bientôt", due_date=date(2027, 4, 1))
    first_done = services.task_create(access=access, title="Fait d’abord", done=True)
    services.task_set_done(access=access, task=later, done=True)
    assert list(selectors.tasks(access)) == [sooner, undated]
    assert list(selectors.tasks(access, done=True)) == [later, first_done]
    assert list(selectors.tasks_due_between(access, date(2027, 4, 1), date(2027, 4, 30))) == [sooner]
    assert set(selectors.tasks_due_between(access, date(2027, 4, 1), date(2027, 5, 1))) == {sooner, later}
    services.task_set_done(access=access, task=later, done=False)
    later.refresh_from_db()
    assert later.done_at is None


def test_upcoming_lists_what_is_under_way_and_to_come_within_the_period(access):
    now = timezone.now()
    under_way = make_event(
        access, title="En cours", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1)
    )
    soon = make_event(access, title="Bientôt", starts_at=now + timedelta(days=2), ends_at=None)
    make_event(access, title="Passé", starts_at=now - timedelta(days=2), ends_at=None)
    make_event(access, title="Trop loin", starts_at=now + timedelta(days=120), ends_at=None)
    assert [item.event for item in selectors.upcoming(access, now=now)] == [under_way, soon]
    daily = make_event(
        access,
        title="Chaque jour",
        starts_at=datetime.combine(timezone.localdate(), time(23, 0), tzinfo=PARIS),
        ends_at=None,
        rrule="FREQ=DAILY",
    )
    assert len([item for item in selectors.upcoming(access, now=now, limit=500) if item.event == daily]) >= 89
    assert len(selectors.upcoming(access, now=now, limit=10)) == 10


def test_moving_an_all_day_event_keeps_its_number_of_days(access):
    event = make_event(access, all_day=True, starts_at=paris(2027, 3, 3), ends_at=paris(2027, 3, 6))
    services.event_update(access=access, event=event, starts_at=paris(2027, 3, 10))
    event.refresh_from_db()
    assert (event.starts_at, event.ends_at) == (paris(2027, 3, 10), paris(2027, 3, 13))


def test_rule_describe_does_not_hide_what_it_cannot_say():
    # « Tous les mois » for « the first Monday of each month » would tell the person a wrong date.
    assert rule_describe("FREQ=MONTHLY;BYDAY=1MO") != "Tous les mois"
