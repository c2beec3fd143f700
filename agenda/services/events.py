"""Events and tasks of the agenda: create, change, delete, mark done.

The citizen (or their legal representative) writes items of their own; the iCalendar import and the messagerie
write through the same functions with their own source. Items written by a paired app stay the app's: the person
may delete them, not change them. Validation errors are a ``ValidationError`` keyed by field, in French.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agenda.models import (
    NOTE_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    Event,
    EventKind,
    Reminder,
    ReminderStatus,
    Source,
    Task,
)
from agenda.recurrence import rule_parse, zone
from mes.acces.journal import register_action
from mes.acces.policy import CitizenAccess
from mes.acces.services import journal_append
from mes.text import single_line

EVENT_ADDED = "agenda.evenement.ajoute"
EVENT_CHANGED = "agenda.evenement.modifie"
EVENT_DELETED = "agenda.evenement.supprime"
TASK_ADDED = "agenda.tache.ajoutee"
TASK_CHANGED = "agenda.tache.modifiee"
TASK_DELETED = "agenda.tache.supprimee"
register_action(EVENT_ADDED, gettext_lazy("Ajout d’un événement à l’agenda"))
register_action(EVENT_CHANGED, gettext_lazy("Modification d’un événement de l’agenda"))
register_action(EVENT_DELETED, gettext_lazy("Suppression d’un événement de l’agenda"))
register_action(TASK_ADDED, gettext_lazy("Ajout d’une tâche à l’agenda"))
register_action(TASK_CHANGED, gettext_lazy("Modification d’une tâche de l’agenda"))
register_action(TASK_DELETED, gettext_lazy("Suppression d’une tâche de l’agenda"))

# The agenda part of an app's consented scopes (patient/Appointment.*), named as the access policy will name it.
APP_AGENDA_SCOPE = "agenda"
# Sources the person writes themselves (by hand, by importing a file, by accepting an appointment sent by message).
CITIZEN_SOURCES = (Source.CITIZEN, Source.IMPORT, Source.MESSAGE)
LOCATION_MAX_LENGTH = 300
PROFESSIONAL_MAX_LENGTH = 200
MAX_DURATION = timedelta(days=366)
MAX_REMINDER_MINUTES = 30 * 24 * 60
EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)


def uid_new() -> str:
    """A new RFC 5545 UID: globally unique, named after this platform's host."""
    host = urlsplit(settings.PUBLIC_BASE_URL).hostname or "monespacesante.fr"
    return f"{uuid.uuid4()}@{host}"


def _require_writer(access: CitizenAccess, source: str) -> None:
    if source in CITIZEN_SOURCES:
        if not access.is_citizen_side:
            raise PermissionDenied(_("Seule la personne ou son représentant légal gère son agenda."))
    elif source == Source.APP:
        if access.is_citizen_side or not access.can_write(APP_AGENDA_SCOPE):
            raise PermissionDenied(_("Ce service n’est pas autorisé à écrire dans l’agenda."))
    else:
        raise PermissionDenied(_("Cette source ne peut pas écrire dans l’agenda."))


def _require_own(access: CitizenAccess, item: Event | Task) -> None:
    if item.citizen_id != access.citizen.pk:
        raise PermissionDenied(_("Cet élément n’appartient pas à cet agenda."))


def _require_may_change(access: CitizenAccess, item: Event | Task) -> None:
    """The person may change what they wrote; an app may change only what it wrote itself."""
    _require_own(access, item)
    if item.source == Source.APP:
        if access.is_citizen_side:
            raise PermissionDenied(
                _("Cet élément vient d’un service connecté : vous pouvez le supprimer, pas le modifier.")
            )
        _require_writer(access, Source.APP)
    else:
        _require_writer(access, Source.CITIZEN)


def _clean_note(value: str) -> str:
    return "\n".join(
        "".join(ch for ch in line if ch.isprintable() or ch == "\t").rstrip() for line in (value or "").splitlines()
    ).strip()


def _check_text(errors: dict, field: str, value: str, max_length: int, *, required: bool = False) -> None:
    if required and not value:
        errors[field] = _("Ce champ est obligatoire.")
    elif len(value) > max_length:
        errors[field] = _("Ce champ ne doit pas dépasser %(max)s caractères.") % {"max": max_length}


def event_fields_clean(
    *,
    title: str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    all_day: bool,
    tzid: str,
    kind: str,
    rrule: str,
    location: str,
    professional: str,
    note: str,
    reminder_minutes: int | None,
) -> dict:
    """The cleaned fields of an event (times made whole days for an all-day event, a default end of one hour), or a
    ``ValidationError`` keyed by field. Shared by the services and the iCalendar import, which saves in bulk."""
    errors: dict[str, str] = {}
    fields = {
        "title": single_line(title),
        "location": single_line(location),
        "professional": single_line(professional),
        "note": _clean_note(note),
        "kind": kind,
        "all_day": bool(all_day),
        "tzid": tzid or "Europe/Paris",
        "rrule": (rrule or "").strip(),
        "reminder_minutes": reminder_minutes,
    }
    if fields["rrule"].upper().startswith("RRULE:"):
        fields["rrule"] = fields["rrule"][6:]
    _check_text(errors, "title", fields["title"], TITLE_MAX_LENGTH, required=True)
    _check_text(errors, "location", fields["location"], LOCATION_MAX_LENGTH)
    _check_text(errors, "professional", fields["professional"], PROFESSIONAL_MAX_LENGTH)
    _check_text(errors, "note", fields["note"], NOTE_MAX_LENGTH)
    if kind not in EventKind.values:
        errors["kind"] = _("Choisissez un type d’événement dans la liste.")
    try:
        tz = zone(fields["tzid"])
    except ValidationError as error:
        errors.update(error.message_dict)
        tz = zone("Europe/Paris")
    if starts_at is None or timezone.is_naive(starts_at):
        errors["starts_at"] = _("Indiquez la date et l’heure de début.")
    elif not EARLIEST <= starts_at.astimezone(tz).date() <= LATEST:
        errors["starts_at"] = _("La date de début doit être comprise entre 1900 et 2200.")
    if ends_at is not None and timezone.is_naive(ends_at):
        errors["ends_at"] = _("Indiquez la date et l’heure de fin.")
    if "starts_at" not in errors and "ends_at" not in errors:
        if fields["all_day"]:
            # Whole days, from midnight to midnight in the event's time zone.
            first = starts_at.astimezone(tz).date()
            last = ends_at.astimezone(tz).date() if ends_at is not None else first
            if ends_at is not None and ends_at.astimezone(tz).time() == datetime.min.time() and last > first:
                last -= timedelta(days=1)  # an exclusive end at midnight (iCalendar DTEND;VALUE=DATE)
            starts_at = datetime.combine(first, datetime.min.time(), tzinfo=tz)
            ends_at = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        elif ends_at is None:
            ends_at = starts_at + timedelta(hours=1)
        if ends_at <= starts_at:
            errors["ends_at"] = _("La fin doit être après le début.")
        elif ends_at - starts_at > MAX_DURATION:
            errors["ends_at"] = _("Un événement ne peut pas durer plus d’un an.")
    fields["starts_at"], fields["ends_at"] = starts_at, ends_at
    if reminder_minutes is not None and not 0 <= reminder_minutes <= MAX_REMINDER_MINUTES:
        errors["reminder_minutes"] = _("Le rappel doit avoir lieu au plus 30 jours avant l’événement.")
    if fields["rrule"] and "starts_at" not in errors:
        try:
            rule_parse(fields["rrule"], starts_at=starts_at, tzid=fields["tzid"])
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return fields


def _event_details(event: Event) -> dict:
    return {
        "titre": event.title,
        "debut": event.starts_at.isoformat(),
        "source": event.source,
        "recurrent": event.is_recurring,
    }


@transaction.atomic
def event_create(
    *,
    access: CitizenAccess,
    title: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    all_day: bool = False,
    tzid: str = "Europe/Paris",
    kind: str = EventKind.APPOINTMENT,
    rrule: str = "",
    location: str = "",
    professional: str = "",
    note: str = "",
    reminder_minutes: int | None = None,
    source: str = Source.CITIZEN,
    source_label: str = "",
    source_ref: str = "",
    uid: str = "",
    sequence: int = 0,
) -> Event:
    """Add an event to ``access.citizen``'s agenda. Without ``ends_at``, it lasts one hour (all day: one day)."""
    _require_writer(access, source)
    fields = event_fields_clean(
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        all_day=all_day,
        tzid=tzid,
        kind=kind,
        rrule=rrule,
        location=location,
        professional=professional,
        note=note,
        reminder_minutes=reminder_minutes,
    )
    uid = (uid or "").strip() or uid_new()
    if len(uid) > 255:
        raise ValidationError({"uid": _("L’identifiant iCalendar (UID) dépasse 255 caractères.")})
    if Event.objects.filter(citizen=access.citizen, uid=uid).exists():
        raise ValidationError({"uid": _("Un événement de cet agenda porte déjà cet identifiant (UID).")})
    event = Event.objects.create(
        citizen=access.citizen,
        uid=uid,
        source=source,
        source_label=single_line(source_label)[:200],
        source_ref=source_ref[:200],
        created_by=access.actor if access.actor.is_authenticated else None,
        sequence=sequence,
        **fields,
    )
    journal_append(
        actor=access.actor, action=EVENT_ADDED, citizen=access.citizen, obj=event, details=_event_details(event)
    )
    return event


@transaction.atomic
def event_update(*, access: CitizenAccess, event: Event, **changes) -> Event:
    """Change ``event`` (the fields of ``event_create`` but the source and the UID); its pending reminders go."""
    _require_may_change(access, event)
    allowed = {
        "title",
        "starts_at",
        "ends_at",
        "all_day",
        "tzid",
        "kind",
        "rrule",
        "location",
        "professional",
        "note",
        "reminder_minutes",
        "sequence",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"event_update: champs inconnus {sorted(unknown)}")
    sequence = changes.pop("sequence", None)
    current = {name: getattr(event, name) for name in allowed - {"sequence"}}
    if "starts_at" in changes and "ends_at" not in changes and changes["starts_at"] is not None:
        if changes.get("all_day", event.all_day):
            # Moving an all-day event keeps its number of days (counted in its own time zone).
            tz = zone(event.tzid)
            days = (event.ends_at.astimezone(tz).date() - event.starts_at.astimezone(tz).date()).days
            first = changes["starts_at"].astimezone(tz).date()
            current["ends_at"] = datetime.combine(first + timedelta(days=max(days, 1)), datetime.min.time(), tzinfo=tz)
        else:
            # Moving the start keeps the duration.
            current["ends_at"] = changes["starts_at"] + (event.ends_at - event.starts_at)
    current.update(changes)
    fields = event_fields_clean(**current)
    if fields["starts_at"] != event.starts_at or fields["rrule"] != event.rrule:
        # The removed occurrences belonged to the old series.
        event.exdates = []
    for name, value in fields.items():
        setattr(event, name, value)
    event.sequence = sequence if sequence is not None else event.sequence + 1
    event.save()
    Reminder.objects.filter(event=event, status=ReminderStatus.PENDING).delete()
    journal_append(
        actor=access.actor, action=EVENT_CHANGED, citizen=access.citizen, obj=event, details=_event_details(event)
    )
    return event


@transaction.atomic
def event_occurrence_delete(*, access: CitizenAccess, event: Event, occurrence_start: datetime) -> Event:
    """Remove one occurrence of a recurring series (an EXDATE); the rest of the series stays."""
    _require_may_change(access, event)
    if not event.is_recurring:
        raise ValidationError({"occurrence": _("Cet événement ne se répète pas.")})
    moment = occurrence_start.astimezone(UTC)
    if moment not in event.exdates:
        event.exdates = [*event.exdates, moment]
        event.sequence += 1
        event.save(update_fields=["exdates", "sequence", "updated_at"])
        Reminder.objects.filter(event=event, occurrence_start=moment, status=ReminderStatus.PENDING).delete()
        journal_append(
            actor=access.actor,
            action=EVENT_CHANGED,
            citizen=access.citizen,
            obj=event,
            details={**_event_details(event), "occurrence_supprimee": moment.isoformat()},
        )
    return event


@transaction.atomic
def event_delete(*, access: CitizenAccess, event: Event) -> None:
    """Delete ``event`` (a whole series). The person may delete any item of their agenda, an app's too."""
    _require_own(access, event)
    if not access.is_citizen_side:
        _require_may_change(access, event)
    details = _event_details(event)
    journal_append(actor=access.actor, action=EVENT_DELETED, citizen=access.citizen, obj=event, details=details)
    event.delete()


def task_fields_clean(*, title: str, due_date: date | None, note: str) -> dict:
    """The cleaned fields of a task, or a ``ValidationError`` keyed by field."""
    errors: dict[str, str] = {}
    fields = {"title": single_line(title), "note": _clean_note(note), "due_date": due_date}
    _check_text(errors, "title", fields["title"], TITLE_MAX_LENGTH, required=True)
    _check_text(errors, "note", fields["note"], NOTE_MAX_LENGTH)
    if due_date is not None and not EARLIEST <= due_date <= LATEST:
        errors["due_date"] = _("L’échéance doit être comprise entre 1900 et 2200.")
    if errors:
        raise ValidationError(errors)
    return fields


@transaction.atomic
def task_create(
    *,
    access: CitizenAccess,
    title: str,
    due_date: date | None = None,
    note: str = "",
    done: bool = False,
    source: str = Source.CITIZEN,
    source_label: str = "",
    source_ref: str = "",
    uid: str = "",
    sequence: int = 0,
) -> Task:
    """Add a task, undated or with a due date."""
    _require_writer(access, source)
    fields = task_fields_clean(title=title, due_date=due_date, note=note)
    uid = (uid or "").strip() or uid_new()
    if len(uid) > 255:
        raise ValidationError({"uid": _("L’identifiant iCalendar (UID) dépasse 255 caractères.")})
    if Task.objects.filter(citizen=access.citizen, uid=uid).exists():
        raise ValidationError({"uid": _("Une tâche de cet agenda porte déjà cet identifiant (UID).")})
    task = Task.objects.create(
        citizen=access.citizen,
        uid=uid,
        done_at=timezone.now() if done else None,
        source=source,
        source_label=single_line(source_label)[:200],
        source_ref=source_ref[:200],
        created_by=access.actor if access.actor.is_authenticated else None,
        sequence=sequence,
        **fields,
    )
    journal_append(
        actor=access.actor,
        action=TASK_ADDED,
        citizen=access.citizen,
        obj=task,
        details={"titre": task.title, "source": task.source},
    )
    return task


@transaction.atomic
def task_update(
    *, access: CitizenAccess, task: Task, title: str, due_date: date | None, note: str, sequence: int | None = None
) -> Task:
    _require_may_change(access, task)
    fields = task_fields_clean(title=title, due_date=due_date, note=note)
    for name, value in fields.items():
        setattr(task, name, value)
    task.sequence = sequence if sequence is not None else task.sequence + 1
    task.save()
    journal_append(
        actor=access.actor, action=TASK_CHANGED, citizen=access.citizen, obj=task, details={"titre": task.title}
    )
    return task


@transaction.atomic
def task_set_done(*, access: CitizenAccess, task: Task, done: bool) -> Task:
    """Mark ``task`` done or not done; the person may tick an app's task too (it is their to-do list)."""
    _require_own(access, task)
    if not access.is_citizen_side:
        _require_may_change(access, task)
    changed = Task.objects.filter(pk=task.pk, done_at__isnull=done).update(
        done_at=timezone.now() if done else None, updated_at=timezone.now()
    )
    task.refresh_from_db(fields=["done_at", "updated_at"])
    if changed:
        journal_append(
            actor=access.actor,
            action=TASK_CHANGED,
            citizen=access.citizen,
            obj=task,
            details={"titre": task.title, "faite": done},
        )
    return task


@transaction.atomic
def task_delete(*, access: CitizenAccess, task: Task) -> None:
    _require_own(access, task)
    if not access.is_citizen_side:
        _require_may_change(access, task)
    journal_append(
        actor=access.actor, action=TASK_DELETED, citizen=access.citizen, obj=task, details={"titre": task.title}
    )
    task.delete()
