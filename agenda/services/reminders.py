"""Reminders of appointments: created when due, then sent exactly once, by e-mail and in the app.

Two steps, both run every minute by the beat job ``agenda.tasks.reminders_send``:

``reminders_schedule`` creates one ``Reminder`` row per occurrence whose reminder is due and which has not begun yet
(the row is unique per event and occurrence start, inserted with ``ON CONFLICT DO NOTHING``: two runs, or a run
after a change of the event, never create it twice, and a sent reminder is never created again).

``reminders_send_due`` sends them. The guarantee rests on PostgreSQL's row lock and on the transaction:

* Each reminder is handled in its own transaction. It is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` (pending,
  due), then, in that transaction, the in-app notification is written, the row is marked sent, the e-mail goes to the
  SMTP server, and the transaction commits.
* A second run at the same time (another worker, a job started twice) skips the rows locked by the first; once the
  first commits, the row is no longer pending and the second never claims it. So no reminder is sent twice by two
  runs, and the lock, not a clock, decides: a slow SMTP server cannot make a second run believe a claim expired.
* A worker that dies (killed, out of memory, machine lost) before the commit loses its database session: PostgreSQL
  rolls the transaction back, the row is pending again, the notification it wrote is gone, and the next run sends
  the reminder. Nothing is marked sent that was not sent. (This design needs no ``sending`` state nor lease: the
  claim lives exactly as long as the session that holds it.)
* One narrow window is left, and no design without a two-phase commit with the SMTP server closes it: the worker
  dies after the SMTP server accepted the e-mail and before the commit. The next run then sends the e-mail again.
  Each e-mail has a deterministic ``Message-ID`` (``<reminder-<id>.<user>@host>``), so the duplicate is the same
  message for mail servers and clients, which deduplicate it; the in-app notification is never doubled (the first
  one was rolled back with the claim). The e-mail is the last step before the commit, to keep that window short.
  The same holds when a minor's two parents are written to and the connection fails after the first e-mail: the
  retry sends it to the first parent again, as the same message. The e-mail is not deferred to ``on_commit``: a
  worker dying between the commit and the callback would lose it for good (at most once, not exactly once).
* Transient mail errors (``smtplib.SMTPException``, ``OSError``: server down, connection lost, timeout) roll the
  reminder's transaction back (no notification, nothing sent), then count one attempt: the row stays pending and the
  next run tries again; after ``MAX_ATTEMPTS`` it is cancelled with a log line. A recipient the server refuses is
  logged and skipped (the person still has the in-app notification): retrying would resend the e-mail to the others.
  Any other error also counts an attempt (so one faulty reminder cannot block the queue for ever) and is raised
  again, so that the failed run shows in the worker's logs and monitoring.

What is sent: the e-mail goes to a personal mailbox, so it says only that there is an appointment, when, and where
to read it (a link to the agenda, which asks to sign in); never the title, the place, the professional or the kind
of event. The in-app notification, inside the space, gives the title, the place and the professional. A minor's
space is watched by their legal representatives: they get both (``space_watchers``).

No journal row: the journal records who read or changed a space, and a reminder does neither; the in-app
notification is the person's record of it.

No late reminder: an occurrence that has begun gets none, at scheduling time and again at sending time (a reminder
that waited through an outage is cancelled rather than sent after the appointment). A space that is no longer open
(closed, opposed) gets none.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import DateTimeField, Exists, ExpressionWrapper, F, OuterRef, QuerySet, Value
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from agenda.models import Event, Reminder, ReminderStatus
from agenda.recurrence import next_occurrence, occurrence_starts, zone
from mes.acces.policy import majority_cutoff
from mes.comptes.models import Citizen, CitizenStatus, User
from mes.comptes.services.notifications import notify_space, space_watchers

logger = logging.getLogger(__name__)

UTC = ZoneInfo("UTC")
MINUTES_PER_DAY = 24 * 60
# The longest reminder the events accept (agenda.services.events.MAX_REMINDER_MINUTES): no occurrence further away
# can be due.
HORIZON = timedelta(days=30)
# A reminder of whole days is due at the same wall-clock time, so across a daylight saving change it is due up to an
# hour off the exact count of minutes: the database preselects with this margin, Python decides.
DST_MARGIN = timedelta(hours=1)
# Transient failures (SMTP server down...) before a reminder is given up; one attempt per run, so about 5 minutes.
MAX_ATTEMPTS = 5
# A hung SMTP server must not keep a reminder's row locked until the task's time limit.
SMTP_TIMEOUT = 30
TRANSIENT_MAIL_ERRORS = (smtplib.SMTPException, OSError)
# Citizen.has_space: the spaces that exist (an opposed or closed space, or one not created yet, gets no reminder).
OPEN_SPACE_STATUSES = (CitizenStatus.ACTIVATED, CitizenStatus.CREATED_AUTOMATICALLY)


# --- When a reminder is due ----------------------------------------------------------------------------------------


def reminder_due_at(*, occurrence_start: datetime, minutes: int, tzid: str) -> datetime:
    """When the reminder of the occurrence starting at ``occurrence_start`` is due, in UTC.

    As an iCalendar alarm (RFC 5545 §3.3.6), whole days are nominal: « 1 jour avant » a 9:00 appointment is due at
    9:00 the day before in the event's time zone, even across a daylight saving change; hours and minutes are exact.
    """
    if minutes and minutes % MINUTES_PER_DAY == 0:
        local = occurrence_start.astimezone(zone(tzid))
        # Aware arithmetic within one zone is wall-clock arithmetic; the offset is then that of the new date.
        return (local - timedelta(days=minutes // MINUTES_PER_DAY)).astimezone(UTC)
    # In UTC: aware arithmetic in a local zone would count wall-clock minutes. A reminder « at the start » (0, as an
    # imported alarm may say) is due a minute before: the job runs every minute and never reminds of a begun event.
    return occurrence_start.astimezone(UTC) - timedelta(minutes=max(minutes, 1))


_INSERT_SQL = """
    INSERT INTO agenda_reminder (event_id, occurrence_start, due_at, status, attempts)
    SELECT event_id, occurrence_start, due_at, %s, 0
      FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) AS r(event_id, occurrence_start, due_at)
    ON CONFLICT (event_id, occurrence_start) DO NOTHING
    RETURNING 1
"""


def _insert(rows: list[tuple[int, datetime, datetime]]) -> int:
    """Insert pending reminders (event id, occurrence start, due at) in one statement; returns how many are new."""
    if not rows:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_SQL, [ReminderStatus.PENDING, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]]
        )
        return len(cursor.fetchall())


def single_events_candidates(now: datetime) -> QuerySet:
    """The single events whose reminder is due (within ``DST_MARGIN``) and not created yet, as (id, start, time zone,
    minutes): one range scan of the partial index ``agenda_event_remind_idx``, bounded by the longest reminder."""
    created = Reminder.objects.filter(event=OuterRef("pk"), occurrence_start=OuterRef("starts_at"))
    # start - reminder <= now + margin, written on the start so that the index range stays usable.
    due_bound = ExpressionWrapper(
        Value(now + DST_MARGIN, output_field=DateTimeField()) + F("reminder_minutes") * Value(timedelta(minutes=1)),
        output_field=DateTimeField(),
    )
    return (
        Event.objects.filter(
            reminder_minutes__isnull=False,
            rrule="",
            starts_at__gt=now,
            starts_at__lte=now + HORIZON + DST_MARGIN,
            citizen__status__in=OPEN_SPACE_STATUSES,
        )
        .filter(starts_at__lte=due_bound)
        .exclude(Exists(created))
        .values_list("pk", "starts_at", "tzid", "reminder_minutes")
    )


def _single_events_due(now: datetime) -> list[tuple[int, datetime, datetime]]:
    rows = []
    for pk, starts_at, tzid, minutes in single_events_candidates(now):
        due_at = reminder_due_at(occurrence_start=starts_at, minutes=minutes, tzid=tzid)
        if due_at <= now:
            rows.append((pk, starts_at, due_at))
    return rows


def _series_due(now: datetime) -> list[tuple[int, datetime, datetime]]:
    """The occurrences of recurring series whose reminder is due: the series in one query, expanded in Python.

    Every occurrence starting within the reminder's delay is due (a daily series with a two-day reminder has two), so
    each occurrence is reminded at its own time, not only the next one.
    """
    series = (
        Event.objects.filter(
            reminder_minutes__isnull=False,
            starts_at__lte=now + HORIZON + DST_MARGIN,
            citizen__status__in=OPEN_SPACE_STATUSES,
        )
        .exclude(rrule="")
        .values_list("pk", "starts_at", "ends_at", "tzid", "rrule", "exdates", "reminder_minutes")
    )
    rows = []
    for pk, starts_at, ends_at, tzid, rule, exdates, minutes in series.iterator(chunk_size=2000):
        starts = occurrence_starts(
            starts_at=starts_at,
            ends_at=ends_at,
            tzid=tzid,
            rrule_text=rule,
            exdates=exdates,
            window_start=now,
            window_end=now + timedelta(minutes=minutes) + DST_MARGIN + timedelta(microseconds=1),
        )
        for start in starts:
            start = start.astimezone(UTC)
            if start <= now:
                continue  # begun (an occurrence still going on overlaps the window): no late reminder
            due_at = reminder_due_at(occurrence_start=start, minutes=minutes, tzid=tzid)
            if due_at <= now:
                rows.append((pk, start, due_at))
    if not rows:
        return rows
    # Most of them were created by an earlier run: leave them out rather than spend an id on each conflict.
    existing = set(
        Reminder.objects.filter(event_id__in={row[0] for row in rows}, occurrence_start__gt=now).values_list(
            "event_id", "occurrence_start"
        )
    )
    return [row for row in rows if (row[0], row[1]) not in existing]


def reminders_schedule(*, now: datetime | None = None) -> int:
    """Create the reminders now due of the occurrences that have not begun; returns how many were created.

    Idempotent: a reminder exists once per event and occurrence, whatever its state, so a second run creates nothing
    and a reminder already sent is not created again.
    """
    now = (now or timezone.now()).astimezone(UTC)
    with transaction.atomic():
        created = _insert(_single_events_due(now))
        created += _insert(_series_due(now))
    if created:
        logger.info("Agenda reminders scheduled: %s", created)
    return created


# --- Sending -------------------------------------------------------------------------------------------------------


class _Transient(Exception):
    """A transient mail error, raised inside the reminder's transaction so that it rolls back."""


class _Mailer:
    """One SMTP connection for the whole run, opened at the first e-mail, dropped after an error."""

    def __init__(self) -> None:
        self.connection = None

    def send(self, message: EmailMessage) -> None:
        if self.connection is None:
            self.connection = get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or SMTP_TIMEOUT)
            self.connection.open()
        message.connection = self.connection
        message.send()

    def close(self) -> None:
        if self.connection is not None:
            connection, self.connection = self.connection, None
            # Already broken after an error: the next e-mail opens a new one.
            with contextlib.suppress(*TRANSIENT_MAIL_ERRORS):
                connection.close()


def _event_link(event: Event) -> str:
    """The path of the event's page (which asks to sign in, and shows the event only to those who may see it)."""
    return reverse("event_detail", kwargs={"event_id": event.public_id})


def _when(event: Event, occurrence_start: datetime) -> str:
    """« le mardi 12 mars 2027 à 09:30 » in Paris time; the day only for an all-day event."""
    if event.all_day:
        # Midnight in the event's zone: its date there is the day of the event.
        return _("le %(date)s") % {
            "date": formats.date_format(occurrence_start.astimezone(zone(event.tzid)).date(), "l j F Y")
        }
    local = timezone.localtime(occurrence_start)
    return _("le %(date)s à %(time)s") % {
        "date": formats.date_format(local, "l j F Y"),
        "time": formats.time_format(local, "H:i"),
    }


def _is_minor(citizen: Citizen) -> bool:
    return citizen.birth_date > majority_cutoff()


def _notification_text(event: Event, when: str) -> tuple[str, str]:
    """Title and body of the in-app notification: inside the space, it may say what and where."""
    title = _("Rappel : %(title)s") % {"title": event.title}
    if _is_minor(event.citizen):
        body = _("%(name)s a un rendez-vous %(when)s : %(title)s.") % {
            "name": event.citizen.display_first_name,
            "when": when,
            "title": event.title,
        }
    else:
        body = _("Vous avez un rendez-vous %(when)s : %(title)s.") % {"when": when, "title": event.title}
    if event.location:
        body += "\n" + _("Lieu : %(place)s") % {"place": event.location}
    if event.professional:
        body += "\n" + _("Avec : %(who)s") % {"who": event.professional}
    return title, body


def _email_message(*, reminder: Reminder, user: User, when: str, url: str, host: str) -> EmailMessage:
    """The e-mail to one watcher: no health content (no title, place, professional or kind), it is a mailbox."""
    citizen = reminder.event.citizen
    if citizen.user_id == user.pk:
        line = _("Rappel : vous avez un rendez-vous %(when)s.") % {"when": when}
        where = _("Retrouvez le détail dans votre agenda Mon espace santé : %(url)s") % {"url": url}
    else:
        line = _("Rappel : %(name)s a un rendez-vous %(when)s.") % {"name": citizen.display_first_name, "when": when}
        where = _("Retrouvez le détail dans son agenda Mon espace santé : %(url)s") % {"url": url}
    body = "\n\n".join(
        [
            _("Bonjour,"),
            line + "\n" + where,
            _("Ce message vous est envoyé par Mon espace santé ; n’y répondez pas."),
        ]
    )
    return EmailMessage(
        subject=_("Mon espace santé : rappel de rendez-vous"),
        body=body,
        to=[user.email],
        headers={
            # Deterministic: a resend after a crash between the SMTP send and the commit is the same message.
            "Message-ID": f"<reminder-{reminder.pk}.{user.pk}@{host}>",
            # RFC 3834: sent by a program, so that vacation responders do not answer it.
            "Auto-Submitted": "auto-generated",
        },
    )


def _still_planned(reminder: Reminder) -> bool:
    """Is the reminder's occurrence still one of its event, with a reminder?

    ``event_update`` and ``event_occurrence_delete`` delete pending reminders, but a schedule run that read the event
    before such a change may have inserted a row for the old time afterwards: it must not be sent.
    """
    event = reminder.event
    if event.reminder_minutes is None:
        return False
    found = next_occurrence(
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        tzid=event.tzid,
        rrule_text=event.rrule,
        exdates=event.exdates,
        after=reminder.occurrence_start,
    )
    return found is not None and found.astimezone(UTC) == reminder.occurrence_start


def _attempt_failed(*, reminder_id: int, now: datetime, reason: str) -> None:
    """Count a failed attempt: the reminder waits for the next run, or is given up after ``MAX_ATTEMPTS``."""
    with transaction.atomic():
        reminder = Reminder.objects.select_for_update().filter(pk=reminder_id, status=ReminderStatus.PENDING).first()
        if reminder is None:
            return
        reminder.attempts += 1
        reminder.claimed_at = now
        if reminder.attempts >= MAX_ATTEMPTS:
            reminder.status = ReminderStatus.CANCELLED
            logger.error("Agenda reminder %s given up after %s attempts: %s", reminder_id, reminder.attempts, reason)
        else:
            logger.warning(
                "Agenda reminder %s not sent (attempt %s), retried: %s", reminder_id, reminder.attempts, reason
            )
        reminder.save(update_fields=["attempts", "claimed_at", "status"])


def _handle(*, reminder: Reminder, now: datetime, mailer: _Mailer, host: str) -> str:
    """Send the claimed ``reminder`` (its row is locked by the caller's transaction); returns what happened."""
    event, citizen = reminder.event, reminder.event.citizen
    if not _still_planned(reminder):
        # A leftover of the event's former time or series: the right reminder has, or will have, its own row.
        reminder.delete()
        return "stale"
    outcome = ""
    if citizen.status not in OPEN_SPACE_STATUSES:
        outcome = "space closed"
    elif reminder.occurrence_start <= now:
        outcome = "occurrence begun"  # too late: a reminder after the appointment helps no one
    watchers = [] if outcome else space_watchers(citizen)
    if not outcome and not watchers:
        outcome = "no one to tell"
    reminder.claimed_at = now
    reminder.attempts += 1
    if outcome:
        reminder.status = ReminderStatus.CANCELLED
        reminder.save(update_fields=["status", "claimed_at", "attempts"])
        logger.info("Agenda reminder %s cancelled: %s", reminder.pk, outcome)
        return "cancelled"
    with translation.override(settings.LANGUAGE_CODE):
        when = _when(event, reminder.occurrence_start)
        path = _event_link(event)
        title, body = _notification_text(event, when)
        notify_space(citizen=citizen, title=title, body=body, link=path, email=False)
        url = settings.PUBLIC_BASE_URL + path
        messages = [
            (user, _email_message(reminder=reminder, user=user, when=when, url=url, host=host))
            for user in watchers
            if user.email
        ]
    reminder.status = ReminderStatus.SENT
    reminder.sent_at = now
    reminder.save(update_fields=["status", "sent_at", "claimed_at", "attempts"])
    # Last, so that only the commit is left between the SMTP server's answer and the end of the transaction.
    for user, message in messages:
        try:
            mailer.send(message)
        except smtplib.SMTPRecipientsRefused:
            # This address is refused for good: retrying would resend the e-mail to the other watchers.
            logger.warning("Agenda reminder %s: e-mail refused for user %s", reminder.pk, user.pk)
        except TRANSIENT_MAIL_ERRORS as error:
            mailer.close()
            raise _Transient(f"{type(error).__name__}: {error}") from error
    return "sent"


def _send_next(*, now: datetime, skip: set[int], mailer: _Mailer, host: str) -> tuple[int, str] | None:
    """Claim and handle the next due reminder in its own transaction; returns (its id, what happened), or ``None``
    when none is left to claim."""
    claimed = None
    try:
        with transaction.atomic():
            reminder = (
                # Lock the reminder only: locking its event would hold up the person editing it.
                Reminder.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("event", "event__citizen")
                .filter(status=ReminderStatus.PENDING, due_at__lte=now)
                .exclude(pk__in=skip)
                .order_by("due_at", "pk")
                .first()
            )
            if reminder is None:
                return None
            claimed = reminder.pk
            return claimed, _handle(reminder=reminder, now=now, mailer=mailer, host=host)
    except _Transient as error:
        # The transaction is rolled back (no notification, nothing marked sent); only the attempt is kept.
        _attempt_failed(reminder_id=claimed, now=now, reason=str(error))
        return claimed, "retry"
    except Exception as error:
        # Not a mail error: a fault of this reminder or of the code. Counted, so that one reminder that always fails
        # is given up instead of blocking the others at every run, and raised, so that the run shows as failed.
        if claimed is not None:
            _attempt_failed(reminder_id=claimed, now=now, reason=f"{type(error).__name__}: {error}")
        raise


def reminders_send_due(*, now: datetime | None = None, batch: int = 200) -> int:
    """Send up to ``batch`` due reminders, each exactly once (see the module's docstring); returns how many were sent.

    Safe to run twice at the same time and after a worker died. A reminder that fails transiently is left for the
    next run; any other error is counted on its reminder, then raised.
    """
    now = (now or timezone.now()).astimezone(UTC)
    host = urlsplit(settings.PUBLIC_BASE_URL).hostname or "monespacesante.fr"
    mailer = _Mailer()
    handled: set[int] = set()
    sent = 0
    try:
        while len(handled) < batch:
            result = _send_next(now=now, skip=handled, mailer=mailer, host=host)
            if result is None:
                break
            reminder_id, outcome = result
            handled.add(reminder_id)
            sent += outcome == "sent"
    finally:
        mailer.close()
    return sent
