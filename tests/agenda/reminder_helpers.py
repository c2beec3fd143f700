"""Helpers of the reminder tests: events written through the agenda's services, runs of the job at a given time."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.core import mail

from agenda.models import Event
from agenda.services import event_create
from agenda.services.reminders import reminders_schedule, reminders_send_due
from mes.acces.policy import citizen_access
from mes.comptes.models import Citizen, Notification, User

PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")
DAY = 24 * 60


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def add_event(citizen: Citizen, *, actor: User | None = None, **fields) -> Event:
    """An event written as the person (or their representative ``actor``) writes it, through ``event_create``."""
    access = citizen_access(actor or citizen.user, citizen)
    assert access is not None
    fields.setdefault("title", "Consultation dermatologue")
    fields.setdefault("location", "Cabinet du Dr Martin, 12 rue des Lilas")
    fields.setdefault("professional", "Dr Martin")
    return event_create(access=access, **fields)


def run(now: datetime) -> int:
    """One run of the job at ``now`` (as the beat task does: schedule, then send); returns how many were sent."""
    reminders_schedule(now=now)
    return reminders_send_due(now=now)


def event_link(event: Event) -> str:
    """The link a reminder must carry: the event's page."""
    return f"/agenda/evenements/{event.public_id}/"


def sent_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]


def notifications_of(user: User) -> list[Notification]:
    return list(Notification.objects.filter(user=user).order_by("pk"))
