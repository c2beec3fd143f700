"""Reads of the agenda: occurrences over a period, the upcoming items, tasks and prevention dates.

Only the person's side reads the agenda through the page selectors (``access.is_citizen_side``); anyone else gets
nothing, which the views turn into a 403 or a 404. A paired app reads through the ``app_*`` selectors, which apply
its SMART permissions (the whole agenda with ``Appointment.r``, else only what it wrote). Queries are per period,
not per item: single events come from one indexed range query, recurring series from one query and are expanded
in Python over the period only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from agenda.models import Event, PreventionDate, PreventionStatus, Source, Task
from agenda.recurrence import occurrence_starts
from mes.acces.policy import CitizenAccess


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of an event: the event itself, or one date of a recurring series."""

    event: Event
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """Identifies the occurrence in URLs: the event and, for a series, the UTC start."""
        return self.start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    def local_start(self) -> datetime:
        return timezone.localtime(self.start)

    def local_end(self) -> datetime:
        return timezone.localtime(self.end)

    def days(self) -> list[date]:
        """The local days this occurrence covers (an all-day or overnight event spans several)."""
        first = self.local_start().date()
        last_moment = self.local_end() - timedelta(microseconds=1)
        last = max(first, last_moment.date())
        return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


def _citizen_events(access: CitizenAccess) -> QuerySet[Event]:
    if not access.is_citizen_side:
        return Event.objects.none()
    return Event.objects.filter(citizen=access.citizen)


def occurrences_between(access: CitizenAccess, start: datetime, end: datetime) -> list[Occurrence]:
    """Every occurrence overlapping [start, end), sorted by start then title (two queries)."""
    events = _citizen_events(access)
    found: list[Occurrence] = []
    for event in events.filter(rrule="", starts_at__lt=end, ends_at__gt=start):
        found.append(Occurrence(event, event.starts_at, event.ends_at))
    for event in events.exclude(rrule="").filter(starts_at__lt=end):
        duration = event.ends_at - event.starts_at
        for moment in occurrence_starts(
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            tzid=event.tzid,
            rrule_text=event.rrule,
            exdates=event.exdates,
            window_start=start,
            window_end=end,
        ):
            found.append(Occurrence(event, moment, moment + duration))
    found.sort(key=lambda occurrence: (occurrence.start, occurrence.event.title.lower(), occurrence.event.pk))
    return found


def upcoming(
    access: CitizenAccess, *, now: datetime | None = None, days: int = 90, limit: int = 50
) -> list[Occurrence]:
    """The occurrences still to come (or under way) in the next ``days`` days, at most ``limit``."""
    now = now or timezone.now()
    return occurrences_between(access, now, now + timedelta(days=days))[:limit]


def event_get(access: CitizenAccess, public_id) -> Event | None:
    return _citizen_events(access).filter(public_id=public_id).first()


def occurrence_get(access: CitizenAccess, event: Event, key: str) -> Occurrence | None:
    """The occurrence of ``event`` named by ``key`` (see ``Occurrence.key``), if the series has it."""
    try:
        moment = datetime.strptime(key, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return None
    for start in occurrence_starts(
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        tzid=event.tzid,
        rrule_text=event.rrule,
        exdates=event.exdates,
        window_start=moment,
        window_end=moment + timedelta(seconds=1),
    ):
        if start == moment:
            return Occurrence(event, start, start + (event.ends_at - event.starts_at))
    return None


def tasks(access: CitizenAccess, *, done: bool | None = False) -> QuerySet[Task]:
    """The person's tasks: to do (dated first, by due date), done (latest first), or all."""
    if not access.is_citizen_side:
        return Task.objects.none()
    rows = Task.objects.filter(citizen=access.citizen)
    if done is True:
        return rows.filter(done_at__isnull=False).order_by("-done_at", "-pk")
    if done is False:
        rows = rows.filter(done_at__isnull=True)
    # Undated tasks come last: NULLS LAST is PostgreSQL's default for an ascending order.
    return rows.order_by("due_date", "created_at", "pk")


def tasks_due_between(access: CitizenAccess, first: date, last: date) -> QuerySet[Task]:
    """Tasks with a due date in [first, last], for the month and day views."""
    return tasks(access, done=None).filter(due_date__gte=first, due_date__lte=last)


def task_get(access: CitizenAccess, public_id) -> Task | None:
    return tasks(access, done=None).filter(public_id=public_id).first()


def prevention_dates(access: CitizenAccess, *, status: str | None = PreventionStatus.PENDING) -> QuerySet:
    if not access.is_citizen_side:
        return PreventionDate.objects.none()
    rows = PreventionDate.objects.filter(citizen=access.citizen)
    if status is not None:
        rows = rows.filter(status=status)
    return rows.order_by("due_from", "programme")


def prevention_date_get(access: CitizenAccess, public_id) -> PreventionDate | None:
    return prevention_dates(access, status=None).filter(public_id=public_id).first()


# --- What a paired app sees (the FHIR Appointment API) ----------------------------------------------------------

APPOINTMENT = "Appointment"


def app_source_ref(access: CitizenAccess) -> str:
    """How the agenda names the paired app behind ``access`` on the events it writes (``Event.source_ref``)."""
    return str(access.pairing.habilitation.public_id)


def app_owns(access: CitizenAccess, event: Event) -> bool:
    """Whether ``event`` was written by the app behind ``access`` (another app's events are not its own)."""
    return (
        access.is_app
        and access.pairing is not None
        and event.citizen_id == access.citizen.pk
        and event.source == Source.APP
        and event.source_ref == app_source_ref(access)
    )


def app_events(access: CitizenAccess) -> QuerySet[Event]:
    """The events a paired app may read: the whole agenda with ``Appointment.r``; otherwise only the events it wrote
    itself, which an app holding any of ``c``, ``u`` or ``d`` may read back; nothing else (fails closed)."""
    if not access.is_app or access.pairing is None:
        return Event.objects.none()
    events = Event.objects.filter(citizen=access.citizen)
    if access.app_may(APPOINTMENT, "r"):
        return events
    if any(access.app_may(APPOINTMENT, letter) for letter in "cud"):
        return events.filter(source=Source.APP, source_ref=app_source_ref(access))
    return Event.objects.none()


def app_event_get(access: CitizenAccess, public_id, *, for_update: bool = False) -> Event | None:
    """One event the app may read, or ``None``; ``for_update`` locks its row until the end of the transaction."""
    events = app_events(access).filter(public_id=public_id)
    if for_update:
        events = events.select_for_update(of=("self",))
    return events.first()


def app_events_page(
    access: CitizenAccess,
    *,
    start_from: datetime | None = None,
    start_before: datetime | None = None,
    after: tuple[datetime, str] | None = None,
    descending: bool = False,
    limit: int,
) -> list[Event]:
    """One page of the events the app may read, ordered by (start, public id), in one query.

    Keyset pagination: ``after`` is the (start, public id) of the last event of the previous page, so a page costs
    the same whatever its depth and an event added meanwhile is neither skipped nor repeated. A recurring series is
    one event (its first occurrence's start). Fetch ``limit + 1`` to learn whether a next page exists.
    """
    events = app_events(access)
    if start_from is not None:
        events = events.filter(starts_at__gte=start_from)
    if start_before is not None:
        events = events.filter(starts_at__lt=start_before)
    if after is not None:
        moment, public_id = after
        if descending:
            events = events.filter(Q(starts_at__lt=moment) | Q(starts_at=moment, public_id__lt=public_id))
        else:
            events = events.filter(Q(starts_at__gt=moment) | Q(starts_at=moment, public_id__gt=public_id))
    order = ("-starts_at", "-public_id") if descending else ("starts_at", "public_id")
    return list(events.order_by(*order)[:limit])
