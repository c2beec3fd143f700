"""Reminders of appointments: due at the right time (series, exceptions, daylight saving), sent once, by e-mail
without health content and in the app with the details, to the person or to the parents of a minor."""

import logging
import smtplib
from datetime import date, timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from agenda.models import Event, Reminder, ReminderStatus
from agenda.services import event_delete, event_update
from agenda.services import reminders as service
from agenda.services.reminders import (
    MAX_ATTEMPTS,
    reminder_due_at,
    reminders_schedule,
    reminders_send_due,
    single_events_candidates,
)
from mes.acces.policy import citizen_access
from mes.comptes.models import Citizen, CitizenStatus, Notification
from tests.agenda.reminder_helpers import (
    DAY,
    PARIS,
    UTC,
    add_event,
    event_link,
    notifications_of,
    paris,
    run,
    sent_to,
    utc,
)
from tests.factories import CitizenFactory, UserFactory

pytestmark = pytest.mark.django_db

START = paris(2027, 3, 16, 9, 30)  # a Tuesday, before the change to summer time (28 March 2027)
DUE = START - timedelta(days=1)
MINUTE = timedelta(minutes=1)


class WorkerKilled(BaseException):
    """What a dying worker looks like from inside: nothing after it runs (not an ``Exception``, nothing catches it)."""


def _locmem_send_failing(error):
    return mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages", side_effect=error)


# --- A single appointment -----------------------------------------------------------------------------------------


def test_a_one_day_reminder_is_sent_once_at_its_time(citizen):
    event = add_event(citizen, starts_at=START, reminder_minutes=DAY)

    assert run(DUE - MINUTE) == 0
    assert mail.outbox == [] and notifications_of(citizen.user) == []
    assert not Reminder.objects.exists()

    assert run(DUE) == 1
    for later in (DUE + MINUTE, DUE + 10 * MINUTE, START - MINUTE):
        assert run(later) == 0

    assert len(mail.outbox) == 1
    reminder = Reminder.objects.get()
    assert (reminder.event, reminder.occurrence_start, reminder.due_at) == (event, START, DUE)
    assert (reminder.status, reminder.sent_at, reminder.attempts) == (ReminderStatus.SENT, DUE, 1)
    [notification] = notifications_of(citizen.user)
    assert notification.citizen == citizen
    assert notification.link == event_link(event)


def test_the_email_says_when_and_where_to_look_but_nothing_of_the_appointment(citizen):
    event = add_event(citizen, starts_at=START, reminder_minutes=DAY, note="Apporter l’ordonnance")
    run(DUE)

    [message] = mail.outbox
    assert message.to == [citizen.user.email]
    url = settings.PUBLIC_BASE_URL + event_link(event)
    assert "Rappel : vous avez un rendez-vous le mardi 16 mars 2027 à 09:30." in message.body
    assert f"Retrouvez le détail dans votre agenda Mon espace santé : {url}" in message.body
    text = message.subject + message.body
    for private in ("dermatologue", "Lilas", "Martin", "ordonnance", "Consultation"):
        assert private not in text
    reminder = Reminder.objects.get()
    host = settings.PUBLIC_BASE_URL.split("://")[1]
    assert message.extra_headers["Message-ID"] == f"<reminder-{reminder.pk}.{citizen.user.pk}@{host}>"
    assert message.message()["Message-ID"] == f"<reminder-{reminder.pk}.{citizen.user.pk}@{host}>"
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"


def test_the_email_leaves_inside_the_transaction_not_after_the_commit(citizen, django_capture_on_commit_callbacks):
    """Deferred to on_commit, an e-mail would be lost by a worker dying between the commit and the callback."""
    add_event(citizen, starts_at=START, reminder_minutes=DAY)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert run(DUE) == 1
    assert callbacks == []
    assert len(mail.outbox) == 1


def test_the_notification_inside_the_space_gives_the_title_place_and_professional(citizen):
    event = add_event(citizen, starts_at=START, reminder_minutes=DAY)
    run(DUE)

    [notification] = notifications_of(citizen.user)
    assert notification.title == "Rappel : Consultation dermatologue"
    assert "le mardi 16 mars 2027 à 09:30" in notification.body
    assert "Cabinet du Dr Martin, 12 rue des Lilas" in notification.body
    assert "Dr Martin" in notification.body
    assert notification.link == event_link(event)
    assert notification.read_at is None


def test_an_all_day_event_is_reminded_with_its_day_only(citizen):
    add_event(citizen, starts_at=paris(2027, 3, 16), all_day=True, reminder_minutes=DAY)
    assert run(paris(2027, 3, 15)) == 1
    assert "Rappel : vous avez un rendez-vous le mardi 16 mars 2027." in mail.outbox[0].body


def test_an_event_without_reminder_gets_none(citizen):
    add_event(citizen, starts_at=START)
    assert run(DUE) == 0
    assert run(START - MINUTE) == 0
    assert not Reminder.objects.exists()


def test_the_single_events_are_looked_up_on_the_partial_index():
    queryset = single_events_candidates(utc(2027, 3, 15, 8, 30))
    with connection.cursor() as cursor:
        # On a near-empty table PostgreSQL would rather scan it: ask whether the index can answer at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()
    assert "agenda_event_remind_idx" in plan


# --- Recurring series ---------------------------------------------------------------------------------------------


def test_each_occurrence_of_a_weekly_series_is_reminded_once_but_not_a_removed_one(citizen):
    first = paris(2027, 3, 2, 9, 0)
    event = add_event(citizen, starts_at=first, rrule="FREQ=WEEKLY;COUNT=4", reminder_minutes=60)
    # Tuesdays 2, 9, 16 and 23 March at 9:00; the 16th is removed from the series (an EXDATE, as
    # event_occurrence_delete writes it).
    Event.objects.filter(pk=event.pk).update(exdates=[paris(2027, 3, 16, 9, 0).astimezone(UTC)])

    moments = []
    for week in range(4):
        start = first + timedelta(weeks=week)
        moments += [start - 61 * MINUTE, start - 60 * MINUTE, start - 59 * MINUTE, start - MINUTE, start]
    sent = sum(run(moment) for moment in moments)

    assert sent == 3
    assert len(mail.outbox) == 3
    reminders = Reminder.objects.order_by("occurrence_start")
    assert [r.occurrence_start for r in reminders] == [paris(2027, 3, day, 9, 0) for day in (2, 9, 23)]
    assert all(r.due_at == r.occurrence_start - timedelta(hours=1) for r in reminders)
    assert all(r.status == ReminderStatus.SENT for r in reminders)
    bodies = [message.body for message in mail.outbox]
    assert all(f"mardi {day} mars 2027 à 09:00" in body for day, body in zip((2, 9, 23), bodies, strict=True))
    assert not any("16 mars" in body for body in bodies)


def test_after_the_change_to_summer_time_a_9_oclock_occurrence_is_reminded_at_the_right_instant(citizen):
    # Weekly at 9:00 Paris from 23 March (UTC+1); from 28 March Paris is UTC+2: the 30 March occurrence is at 7:00 UTC.
    add_event(citizen, starts_at=paris(2027, 3, 23, 9, 0), rrule="FREQ=WEEKLY", reminder_minutes=60)
    assert run(utc(2027, 3, 23, 7, 0)) == 1  # 8:00 Paris, UTC+1

    assert run(utc(2027, 3, 30, 5, 59)) == 0
    assert run(utc(2027, 3, 30, 6, 0)) == 1  # 8:00 Paris, UTC+2 — not 7:00 UTC, an hour late
    reminder = Reminder.objects.get(occurrence_start=utc(2027, 3, 30, 7, 0))
    assert reminder.due_at == utc(2027, 3, 30, 6, 0)
    assert "le mardi 30 mars 2027 à 09:00" in mail.outbox[-1].body


def test_a_reminder_in_whole_days_keeps_its_clock_time_across_the_change(citizen):
    # Sunday 28 March 2027 at 9:00 (UTC+2, the day of the change): « 1 jour avant » is Saturday at 9:00 (UTC+1).
    add_event(citizen, starts_at=paris(2027, 3, 28, 9, 0), reminder_minutes=DAY)
    assert run(utc(2027, 3, 27, 7, 59)) == 0
    assert run(utc(2027, 3, 27, 8, 0)) == 1
    assert Reminder.objects.get().due_at == paris(2027, 3, 27, 9, 0)


def test_reminder_due_at_counts_hours_exactly_and_days_by_the_clock():
    start = paris(2027, 3, 28, 9, 0)
    assert reminder_due_at(occurrence_start=start, minutes=60, tzid="Europe/Paris") == paris(2027, 3, 28, 8, 0)
    assert reminder_due_at(occurrence_start=start, minutes=2 * 60 * 24 + 30, tzid="Europe/Paris") == utc(
        2027, 3, 26, 6, 30
    )
    assert reminder_due_at(occurrence_start=start, minutes=7 * DAY, tzid="Europe/Paris") == paris(2027, 3, 21, 9, 0)
    # « At the start »: a minute before, so that the job (every minute) still finds the occurrence not begun.
    assert reminder_due_at(occurrence_start=start, minutes=0, tzid="Europe/Paris") == paris(2027, 3, 28, 8, 59)


def test_every_occurrence_within_the_delay_gets_its_own_reminder_at_its_own_time(citizen):
    # Daily at 9:00 with a reminder two days before: at each due time, one more occurrence is reminded.
    add_event(citizen, starts_at=paris(2027, 4, 5, 9, 0), rrule="FREQ=DAILY;COUNT=3", reminder_minutes=2 * DAY)
    assert run(paris(2027, 4, 3, 9, 0)) == 1
    assert run(paris(2027, 4, 4, 8, 59)) == 0
    assert run(paris(2027, 4, 4, 9, 0)) == 1
    assert run(paris(2027, 4, 5, 9, 0)) == 1
    assert run(paris(2027, 4, 6, 9, 0)) == 0
    assert Reminder.objects.filter(status=ReminderStatus.SENT).count() == 3


# --- Changes to the event, begun occurrences, closed spaces, minors -----------------------------------------------


def test_moving_the_event_drops_the_pending_reminder_and_reminds_at_the_new_time(citizen):
    event = add_event(citizen, starts_at=START, reminder_minutes=DAY)
    assert reminders_schedule(now=DUE) == 1  # created, not sent yet (the sending step has not run)

    new_start = START + timedelta(days=2)
    event_update(access=citizen_access(citizen.user, citizen), event=event, starts_at=new_start)
    assert not Reminder.objects.exists()

    assert run(DUE + MINUTE) == 0
    assert run(new_start - timedelta(days=1)) == 1
    reminder = Reminder.objects.get()
    assert reminder.occurrence_start == new_start
    assert "le jeudi 18 mars 2027 à 09:30" in mail.outbox[0].body


def test_a_reminder_created_for_the_former_time_of_a_moved_event_is_not_sent(citizen):
    """A schedule run that read the event before it was moved may insert its row after the move."""
    event = add_event(citizen, starts_at=START, reminder_minutes=DAY)
    event_update(access=citizen_access(citizen.user, citizen), event=event, starts_at=START + timedelta(days=2))
    Reminder.objects.create(event=event, occurrence_start=START, due_at=DUE)

    assert reminders_send_due(now=DUE) == 0
    assert mail.outbox == [] and notifications_of(citizen.user) == []
    assert not Reminder.objects.exists()


def test_a_deleted_event_is_not_reminded(citizen):
    event = add_event(citizen, starts_at=START, reminder_minutes=DAY)
    reminders_schedule(now=DUE)
    event_delete(access=citizen_access(citizen.user, citizen), event=event)

    assert run(DUE) == 0
    assert mail.outbox == [] and not Reminder.objects.exists()


def test_removing_the_reminder_of_an_event_cancels_it(citizen):
    event = add_event(citizen, starts_at=START, reminder_minutes=DAY)
    reminders_schedule(now=DUE)
    event_update(access=citizen_access(citizen.user, citizen), event=event, reminder_minutes=None)
    assert run(DUE) == 0 and mail.outbox == []


def test_an_occurrence_already_begun_gets_no_reminder(citizen):
    # Written after its reminder time, or while the job was stopped: once it has begun, no late reminder.
    add_event(citizen, starts_at=START, reminder_minutes=60)
    assert run(START) == 0
    assert run(START + MINUTE) == 0
    assert not Reminder.objects.exists()
    assert mail.outbox == []


def test_a_reminder_that_waited_past_the_start_is_cancelled_not_sent(citizen):
    add_event(citizen, starts_at=START, reminder_minutes=60)
    reminders_schedule(now=START - 30 * MINUTE)  # created; then the sending stopped until after the start

    assert reminders_send_due(now=START + 5 * MINUTE) == 0
    assert Reminder.objects.get().status == ReminderStatus.CANCELLED
    assert mail.outbox == [] and notifications_of(citizen.user) == []


def test_a_late_appointment_written_less_than_its_delay_ahead_is_reminded_at_once(citizen):
    now = START - 3 * 60 * MINUTE
    add_event(citizen, starts_at=START, reminder_minutes=DAY)  # due yesterday, but the appointment is to come
    assert run(now) == 1


def _set_status(citizen, status):
    # The state alone (the account stays active), so that only the state of the space can stop the reminder.
    Citizen.objects.filter(pk=citizen.pk).update(status=status, closed_at=timezone.now(), opposed_at=timezone.now())


@pytest.mark.parametrize("status", [CitizenStatus.CLOSED, CitizenStatus.OPPOSED])
def test_a_space_that_no_longer_exists_gets_no_reminder(citizen, status):
    add_event(citizen, starts_at=START, reminder_minutes=DAY)
    add_event(citizen, starts_at=paris(2027, 3, 2, 9), rrule="FREQ=WEEKLY", reminder_minutes=DAY)
    _set_status(citizen, status)

    assert run(DUE) == 0
    assert not Reminder.objects.exists() and mail.outbox == []


def test_a_space_closed_after_the_reminder_was_created_gets_nothing(citizen):
    add_event(citizen, starts_at=START, reminder_minutes=DAY)
    reminders_schedule(now=DUE)
    _set_status(citizen, CitizenStatus.CLOSED)

    assert reminders_send_due(now=DUE) == 0
    assert Reminder.objects.get().status == ReminderStatus.CANCELLED
    assert mail.outbox == [] and not Notification.objects.exists()


def test_the_parents_of_a_minor_get_the_reminder(citizen, other_citizen):
    born = date.today().replace(year=date.today().year - 8)
    child = CitizenFactory(user=None, first_names="Léa", birth_name="DURAND", birth_date=born)
    mother, father = citizen.user, UserFactory(first_name="Marc")
    child.legal_representatives.add(mother, father)
    event = add_event(child, actor=mother, starts_at=START, reminder_minutes=DAY, title="Vaccin ROR")

    assert run(DUE) == 1

    assert sorted(m.to[0] for m in mail.outbox) == sorted([mother.email, father.email])
    for parent in (mother, father):
        [message] = sent_to(parent.email)
        assert "Rappel : Léa a un rendez-vous le mardi 16 mars 2027 à 09:30." in message.body
        assert "Vaccin" not in message.subject + message.body
        [notification] = notifications_of(parent)
        assert notification.citizen == child
        assert notification.link == event_link(event)
        assert "Léa a un rendez-vous le mardi 16 mars 2027 à 09:30 : Vaccin ROR." in notification.body
    assert len({m.extra_headers["Message-ID"] for m in mail.outbox}) == 2
    # Nobody else: not the other citizen, not a holder account (the child has none).
    assert sent_to(other_citizen.user.email) == [] and notifications_of(other_citizen.user) == []


def test_reminders_of_other_citizens_go_to_them_only(citizen, other_citizen):
    add_event(citizen, starts_at=START, reminder_minutes=DAY)
    add_event(other_citizen, starts_at=START + timedelta(hours=2), reminder_minutes=DAY)
    assert run(DUE + timedelta(hours=2)) == 2
    assert len(sent_to(citizen.user.email)) == 1 and len(sent_to(other_citizen.user.email)) == 1
    assert len(notifications_of(citizen.user)) == 1 and len(notifications_of(other_citizen.user)) == 1


# --- Failures -----------------------------------------------------------------------------------------------------


def test_a_worker_dying_mid_send_leaves_nothing_marked_and_the_next_run_sends_once(citizen):
    add_event(citizen, starts_at=START, reminder_minutes=DAY)
    reminders_schedule(now=DUE)

    with _locmem_send_failing(WorkerKilled), pytest.raises(WorkerKilled):
        reminders_send_due(now=DUE)
    reminder = Reminder.objects.get()
    assert (reminder.status, reminder.attempts, reminder.sent_at) == (ReminderStatus.PENDING, 0, None)
    assert mail.outbox == [] and not Notification.objects.exists()

    assert reminders_send_due(now=DUE + MINUTE) == 1
    assert reminders_send_due(now=DUE + 2 * MINUTE) == 0
    assert len(mail.outbox) == 1 and len(notifications_of(citizen.user)) == 1


@pytest.mark.parametrize(
    "error",
    [smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), ConnectionRefusedError(111, "refused")],
    ids=["smtp", "os"],
)
def test_a_transient_mail_error_is_retried_by_the_next_run(citizen, error, caplog):
    add_event(citizen, starts_at=START, reminder_minutes=DAY)

    with _locmem_send_failing(error), caplog.at_level(logging.WARNING, logger="agenda.services.reminders"):
        assert run(DUE) == 0
    reminder = Reminder.objects.get()
    assert (reminder.status, reminder.attempts) == (ReminderStatus.PENDING, 1)
    assert mail.outbox == [] and not Notification.objects.exists()  # the notification was rolled back too
    assert f"Agenda reminder {reminder.pk} not sent (attempt 1)" in caplog.text

    assert run(DUE + MINUTE) == 1
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (ReminderStatus.SENT, 2)
    assert len(mail.outbox) == 1 and len(notifications_of(citizen.user)) == 1


def test_an_smtp_server_that_cannot_be_reached_is_a_transient_error(citizen):
    add_event(citizen, starts_at=START, reminder_minutes=DAY)
    with mock.patch("django.core.mail.backends.locmem.EmailBackend.open", side_effect=TimeoutError("timed out")):
        assert run(DUE) == 0
    assert Reminder.objects.get().attempts == 1
    assert run(DUE + MINUTE) == 1


def test_after_five_failures_the_reminder_is_cancelled(citizen, caplog):
    add_event(citizen, starts_at=START, reminder_minutes=DAY)
    with _locmem_send_failing(smtplib.SMTPDataError(451, "try later")), caplog.at_level(logging.WARNING):
        for attempt in range(MAX_ATTEMPTS):
            assert run(DUE + attempt * MINUTE) == 0
    reminder = Reminder.objects.get()
    assert (reminder.status, reminder.attempts) == (ReminderStatus.CANCELLED, MAX_ATTEMPTS)
    assert f"Agenda reminder {reminder.pk} given up after {MAX_ATTEMPTS} attempts" in caplog.text
    assert [r.levelname for r in caplog.records if "given up" in r.getMessage()] == ["ERROR"]

    assert run(DUE + 10 * MINUTE) == 0
    assert mail.outbox == [] and not Notification.objects.exists()
    assert not Reminder.objects.filter(Q(status=ReminderStatus.PENDING) | Q(status=ReminderStatus.SENT)).exists()


def test_a_failure_stops_only_its_reminder_the_others_of_the_run_are_sent(citizen, other_citizen):
    add_event(citizen, starts_at=START, reminder_minutes=DAY)
    add_event(other_citizen, starts_at=START, reminder_minutes=DAY)
    original = mail.get_connection().__class__.send_messages

    def refuse_camille(self, messages):
        if messages[0].to == [citizen.user.email]:
            raise smtplib.SMTPServerDisconnected("lost")
        return original(self, messages)

    with mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse_camille):
        assert run(DUE) == 1
    assert [m.to for m in mail.outbox] == [[other_citizen.user.email]]
    assert Reminder.objects.get(event__citizen=citizen).status == ReminderStatus.PENDING
    assert run(DUE + MINUTE) == 1
    assert len(sent_to(citizen.user.email)) == 1 and len(sent_to(other_citizen.user.email)) == 1


def test_a_resend_after_a_partial_failure_is_the_same_message(citizen):
    """Two parents: the second e-mail fails, the run is rolled back and the first parent's e-mail goes again on the
    next run, with the same Message-ID, which mail clients recognise as a duplicate (the module's narrow window)."""
    child = CitizenFactory(user=None, first_names="Léa", birth_date=date.today().replace(year=date.today().year - 5))
    father = UserFactory()
    child.legal_representatives.add(citizen.user, father)
    add_event(child, actor=citizen.user, starts_at=START, reminder_minutes=DAY)
    original = mail.get_connection().__class__.send_messages

    def fail_for_father(self, messages):
        if messages[0].to == [father.email]:
            raise smtplib.SMTPServerDisconnected("lost")
        return original(self, messages)

    with mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages", fail_for_father):
        assert run(DUE) == 0
    assert run(DUE + MINUTE) == 1
    first, second = sent_to(citizen.user.email)
    assert first.message()["Message-ID"] == second.message()["Message-ID"]
    assert len(sent_to(father.email)) == 1
    assert len(notifications_of(citizen.user)) == 1 and len(notifications_of(father)) == 1


def test_an_address_the_server_refuses_is_skipped_without_resending_to_the_others(citizen):
    child = CitizenFactory(user=None, first_names="Léa", birth_date=date.today().replace(year=date.today().year - 5))
    father = UserFactory()
    child.legal_representatives.add(citizen.user, father)
    add_event(child, actor=citizen.user, starts_at=START, reminder_minutes=DAY)
    original = mail.get_connection().__class__.send_messages

    def refuse_father(self, messages):
        if messages[0].to == [father.email]:
            raise smtplib.SMTPRecipientsRefused({father.email: (550, b"no such user")})
        return original(self, messages)

    with mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse_father):
        assert run(DUE) == 1
    assert run(DUE + MINUTE) == 0
    assert len(sent_to(citizen.user.email)) == 1 and sent_to(father.email) == []
    assert len(notifications_of(father)) == 1  # he still has it in the app
    assert Reminder.objects.get().status == ReminderStatus.SENT


def test_an_unexpected_error_is_raised_counted_and_does_not_block_the_queue_for_ever(citizen, other_citizen):
    add_event(citizen, starts_at=START - timedelta(hours=1), reminder_minutes=DAY)  # due first
    add_event(other_citizen, starts_at=START, reminder_minutes=DAY)
    original = service._notification_text

    def broken(event, when):
        if event.citizen_id == citizen.pk:
            raise RuntimeError("bug")
        return original(event, when)

    with mock.patch.object(service, "_notification_text", broken):
        for attempt in range(MAX_ATTEMPTS):
            with pytest.raises(RuntimeError):
                run(DUE + attempt * MINUTE)
        assert mail.outbox == [] and not Notification.objects.exists()
        assert Reminder.objects.get(event__citizen=citizen).status == ReminderStatus.CANCELLED
        # The faulty reminder given up, the others go.
        assert run(DUE + 10 * MINUTE) == 1
    assert [m.to for m in mail.outbox] == [[other_citizen.user.email]]


def test_a_run_sends_at_most_its_batch(citizen):
    for hour in range(5):
        add_event(citizen, starts_at=START + timedelta(hours=hour), reminder_minutes=DAY)
    now = DUE + timedelta(hours=5)
    reminders_schedule(now=now)
    assert reminders_send_due(now=now, batch=3) == 3
    assert reminders_send_due(now=now, batch=3) == 2
    assert len(mail.outbox) == 5


def test_scheduling_twice_creates_nothing_more(citizen):
    add_event(citizen, starts_at=START, reminder_minutes=DAY)
    add_event(citizen, starts_at=paris(2027, 3, 9, 9, 30), rrule="FREQ=WEEKLY", reminder_minutes=DAY)
    assert reminders_schedule(now=DUE) == 2
    assert reminders_schedule(now=DUE) == 0
    assert reminders_schedule(now=DUE + MINUTE) == 0
    assert Reminder.objects.count() == 2


def test_default_now_is_the_current_time(citizen):
    start = timezone.now().astimezone(PARIS) + timedelta(minutes=30)
    add_event(citizen, starts_at=start, reminder_minutes=60)
    assert reminders_schedule() == 1
    assert reminders_send_due() == 1


def test_the_link_of_the_reminder_opens_the_event_for_its_owner_only(client, citizen, other_citizen):
    event = add_event(citizen, starts_at=START, reminder_minutes=DAY)
    run(DUE)
    [notification] = notifications_of(citizen.user)

    client.force_login(citizen.user)
    response = client.get(notification.link)
    assert response.status_code == 200
    assert event.title in response.content.decode()

    client.force_login(other_citizen.user)
    assert client.get(notification.link).status_code == 404
