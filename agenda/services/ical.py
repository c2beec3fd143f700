"""iCalendar import and export of the person's agenda (the mapping itself is ``agenda.ical``).

The import is all or nothing: the whole file is read and checked first, then every item goes through
``event_create`` / ``task_create`` (or ``event_update`` / ``task_update``) in one transaction, so that one invalid
component refuses the whole file with a message naming it, and nothing of it stays. Items are matched by UID: one
already in the agenda is updated when the file's SEQUENCE is greater (or, at equal SEQUENCE, its LAST-MODIFIED is
newer than our last change), else left as it is; it is never duplicated. Items written by a paired app stay the app's:
an import never overwrites them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from agenda import ical
from agenda.models import Event, PreventionDate, PreventionStatus, Source, Task

# The checks of event_create / task_create themselves (package-private): an import validates exactly like them.
from agenda.services.events import event_fields_clean as event_clean
from agenda.services.events import event_update, task_set_done, task_update
from agenda.services.events import task_fields_clean as task_clean
from mes.acces.journal import register_action
from mes.acces.policy import CitizenAccess
from mes.acces.services import journal_append
from mes.comptes.models import Citizen

# A setting-free limit: a health agenda of several years fits in a few hundred kilobytes.
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_COMPONENTS = 5000
MAX_NOTICES = 30
EXPORT_FILENAME = "agenda-mon-espace-sante.ics"

CALENDAR_IMPORTED = "agenda.import"
register_action(CALENDAR_IMPORTED, gettext_lazy("Import d’un fichier iCalendar dans l’agenda"))

# The services' field names, as a message about a component names them.
FIELD_NAMES = {
    "title": gettext_lazy("titre (SUMMARY)"),
    "starts_at": gettext_lazy("début (DTSTART)"),
    "ends_at": gettext_lazy("fin (DTEND)"),
    "tzid": gettext_lazy("fuseau horaire (TZID)"),
    "rrule": gettext_lazy("répétition (RRULE)"),
    "exdates": gettext_lazy("dates supprimées (EXDATE)"),
    "location": gettext_lazy("lieu (LOCATION)"),
    "professional": gettext_lazy("professionnel"),
    "note": gettext_lazy("note (DESCRIPTION)"),
    "reminder_minutes": gettext_lazy("rappel (VALARM)"),
    "uid": gettext_lazy("identifiant (UID)"),
    "due_date": gettext_lazy("échéance (DUE)"),
    "kind": gettext_lazy("type (CATEGORIES)"),
}


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int
    unchanged: int
    ignored: int
    notices: tuple[str, ...]

    def message(self) -> str:
        """The summary in plain French: « Import terminé : 3 éléments ajoutés, 1 mis à jour, 2 déjà à jour. »."""
        if self.created:
            parts = [ngettext("%(n)s élément ajouté", "%(n)s éléments ajoutés", self.created) % {"n": self.created}]
        else:
            parts = [_("aucun élément ajouté")]
        if self.updated:
            parts.append(ngettext("%(n)s mis à jour", "%(n)s mis à jour", self.updated) % {"n": self.updated})
        if self.unchanged:
            parts.append(ngettext("%(n)s déjà à jour", "%(n)s déjà à jour", self.unchanged) % {"n": self.unchanged})
        if self.ignored:
            parts.append(ngettext("%(n)s non importé", "%(n)s non importés", self.ignored) % {"n": self.ignored})
        return _("Import terminé : %(parts)s.") % {"parts": ", ".join(parts)}


def too_large_error() -> ValidationError:
    return ValidationError(
        _("Le fichier dépasse la taille maximale autorisée de %(limit)s Mo.") % {"limit": MAX_FILE_BYTES // 1024**2},
        code="too_large",
    )


def _read(upload) -> bytes:
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_FILE_BYTES:
        raise too_large_error()
    data = upload.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise too_large_error()
    if not data.strip():
        raise ValidationError(_("Le fichier est vide."), code="empty")
    return data


def _component_error(kind: str, title: str, line: int | None, problem: str) -> ValidationError:
    what = _("L’événement « %(title)s »") if kind == "event" else _("La tâche « %(title)s »")
    where = (" " + _("(ligne %(line)s)") % {"line": line}) if line else ""
    return ValidationError(
        _("%(what)s%(where)s ne peut pas être importé : %(problem)s Aucun élément du fichier n’a été importé.")
        % {"what": what % {"title": title[:80]}, "where": where, "problem": problem.rstrip(".") + "."},
        code="component",
    )


def _problem(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(
            f"{FIELD_NAMES.get(name, name)} : {' '.join(str(message) for message in messages)}"
            for name, messages in error.message_dict.items()
        )
    return " ".join(str(message) for message in error.messages)


def _is_newer(item, current: Event | Task) -> bool:
    """RFC 5545's rule: a greater SEQUENCE wins; at equal SEQUENCE, a LAST-MODIFIED after our last change."""
    if item.sequence != current.sequence:
        return item.sequence > current.sequence
    return item.last_modified is not None and item.last_modified > current.updated_at


def _is_newer_than(item, given) -> bool:
    """Between two versions of one UID in the same file."""
    if item.sequence != given.sequence:
        return item.sequence > given.sequence
    return (item.last_modified or datetime.min.replace(tzinfo=UTC)) > (
        given.last_modified or datetime.min.replace(tzinfo=UTC)
    )


class _Import:
    """One import, in one transaction: the counts and notices, and the items of the agenda found by UID.

    New items are checked by the very functions ``event_create`` and ``task_create`` use, then written in one
    ``bulk_create`` per model with one journal row for the whole file: a file of thousands of items is imported in
    seconds, and the person's journal says « import of agenda.ics: 250 items added » rather than 250 lines. Items
    already in the agenda are updated through ``event_update`` / ``task_update`` (each with its journal row), which
    also drops the pending reminders of a moved event.
    """

    def __init__(self, access: CitizenAccess, label: str, source: str = Source.IMPORT) -> None:
        self.access = access
        self.label = label
        self.source = source
        self.counts = {"created": 0, "updated": 0, "unchanged": 0, "ignored": 0}
        self.notices = ical.Notices()
        self.events: dict[str, Event] = {}
        self.tasks: dict[str, Task] = {}
        # What the file gives for the items still to be created (for a UID given twice, the newer one wins).
        self.new_events: dict[str, tuple[Event, ical.ImportedEvent]] = {}
        self.new_tasks: dict[str, tuple[Task, ical.ImportedTask]] = {}

    def load_existing(self, event_uids: set[str], task_uids: set[str]) -> None:
        citizen = self.access.citizen
        # Locked, so that two imports of the same file at once cannot both update the same item.
        self.events = {
            event.uid: event for event in Event.objects.select_for_update().filter(citizen=citizen, uid__in=event_uids)
        }
        self.tasks = {
            task.uid: task for task in Task.objects.select_for_update().filter(citizen=citizen, uid__in=task_uids)
        }

    def _origin(self) -> dict:
        actor = self.access.actor
        return {
            "citizen": self.access.citizen,
            "source": self.source,
            "source_label": " ".join(self.label.split())[:200],
            "created_by": actor if actor.is_authenticated else None,
        }

    def event(self, item: ical.ImportedEvent) -> None:
        try:
            if item.uid in self.new_events:
                if _is_newer_than(item, self.new_events[item.uid][1]):
                    self._new_event(item)
                self.counts["unchanged"] += 1
                return
            current = self.events.get(item.uid)
            if current is None:
                self._new_event(item)
                self.counts["created"] += 1
            elif current.source == Source.APP:
                self.notices.add(item.title, _("il vient d’un service connecté : le fichier ne le remplace pas."))
                self.counts["unchanged"] += 1
            elif _is_newer(item, current):
                event = event_update(access=self.access, event=current, **item.fields, sequence=item.sequence)
                if event.rrule and sorted(event.exdates) != item.exdates:
                    event.exdates = item.exdates
                    event.save(update_fields=["exdates"])
                self.counts["updated"] += 1
            else:
                self.counts["unchanged"] += 1
        except ValidationError as error:
            raise _component_error("event", item.title, item.line, _problem(error)) from error

    def _new_event(self, item: ical.ImportedEvent) -> None:
        fields = event_clean(**item.fields)
        event = Event(
            **self._origin(),
            **fields,
            uid=item.uid,
            sequence=item.sequence,
            exdates=item.exdates if fields["rrule"] else [],
        )
        self.new_events[item.uid] = (event, item)

    def occurrence(self, item: ical.ImportedEvent) -> None:
        """A changed or cancelled occurrence: removed from its series, and (unless cancelled) an event of its own."""
        series = self.new_events[item.series_uid][0] if item.series_uid in self.new_events else None
        series = series or self.events.get(item.series_uid)
        if series is not None and series.source == Source.APP:
            self.notices.add(item.title, _("il vient d’un service connecté : le fichier ne le remplace pas."))
            self.counts["unchanged"] += 1
            return
        if series is not None and series.is_recurring and item.replaces not in series.exdates:
            series.exdates = sorted([*series.exdates, item.replaces])
            if series.pk:
                series.save(update_fields=["exdates"])
        if item.cancelled:
            if series is None:
                self.counts["ignored"] += 1
            return
        self.event(item)

    def task(self, item: ical.ImportedTask) -> None:
        try:
            if item.uid in self.new_tasks:
                if _is_newer_than(item, self.new_tasks[item.uid][1]):
                    self._new_task(item)
                self.counts["unchanged"] += 1
                return
            current = self.tasks.get(item.uid)
            if current is None:
                self._new_task(item)
                self.counts["created"] += 1
            elif current.source == Source.APP:
                self.notices.add(item.title, _("elle vient d’un service connecté : le fichier ne la remplace pas."))
                self.counts["unchanged"] += 1
            elif _is_newer(item, current):
                task = task_update(access=self.access, task=current, **item.fields, sequence=item.sequence)
                if task.is_done != item.done:
                    task = task_set_done(access=self.access, task=task, done=item.done)
                if item.done and item.completed_at is not None and task.done_at != item.completed_at:
                    # The services mark a task done now; the file says when it was done.
                    task.done_at = item.completed_at
                    task.save(update_fields=["done_at"])
                self.counts["updated"] += 1
            else:
                self.counts["unchanged"] += 1
        except ValidationError as error:
            raise _component_error("task", item.title, item.line, _problem(error)) from error

    def _new_task(self, item: ical.ImportedTask) -> None:
        done_at = (item.completed_at or timezone.now()) if item.done else None
        task = Task(
            **self._origin(), **task_clean(**item.fields), uid=item.uid, sequence=item.sequence, done_at=done_at
        )
        self.new_tasks[item.uid] = (task, item)

    def write(self) -> None:
        Event.objects.bulk_create([event for event, _item in self.new_events.values()], batch_size=500)
        Task.objects.bulk_create([task for task, _item in self.new_tasks.values()], batch_size=500)

    def summary(self) -> ImportSummary:
        notices = self.notices.all()
        if len(notices) > MAX_NOTICES:
            rest = len(notices) - MAX_NOTICES + 1
            more = ngettext("… et %(n)s autre remarque.", "… et %(n)s autres remarques.", rest) % {"n": rest}
            notices = [*notices[: MAX_NOTICES - 1], more]
        return ImportSummary(**self.counts, notices=tuple(notices))


@transaction.atomic
def calendar_import(
    *, access: CitizenAccess, upload, source: str = Source.IMPORT, source_label: str = ""
) -> ImportSummary:
    """Import the VEVENTs and VTODOs of ``upload`` (an uploaded ``.ics``) into ``access.citizen``'s agenda.

    The items say where they come from: a file the person imported (``source``, by default), or e.g. a message of
    their messagerie (``Source.MESSAGE``, with ``source_label`` naming it).

    ``ValidationError`` with a French message when the file is refused (too large, empty, not iCalendar, no item,
    too many, one component invalid); then nothing of it is stored.
    """
    if not access.is_citizen_side:
        raise PermissionDenied(_("Seule la personne ou son représentant légal gère son agenda."))
    filename = os.path.basename(getattr(upload, "name", "") or "").strip()[:200] or "calendrier.ics"
    data = _read(upload)
    try:
        parsed = ical.calendar_parse(data)
    except ical.IcalFileError as error:
        raise ValidationError(str(error), code="invalid") from error
    vevents = [component for calendar in parsed.calendars for component in calendar.walk("VEVENT")]
    vtodos = [component for calendar in parsed.calendars for component in calendar.walk("VTODO")]
    if not vevents and not vtodos:
        raise ValidationError(
            _("Ce fichier ne contient aucun événement (VEVENT) ni aucune tâche (VTODO)."), code="no_item"
        )
    if len(vevents) + len(vtodos) > MAX_COMPONENTS:
        raise ValidationError(
            _("Ce fichier contient %(n)s éléments : l’import en accepte %(max)s au plus.")
            % {"n": len(vevents) + len(vtodos), "max": MAX_COMPONENTS}
            + " "
            + _("Découpez-le en plusieurs fichiers."),
            code="too_many",
        )
    run = _Import(access, source_label or _("Fichier importé : %(name)s") % {"name": filename}, source)

    series, occurrences, tasks = [], [], []
    prevention_skipped = 0
    for component, line in zip(vevents, parsed.event_lines + [None] * len(vevents), strict=False):
        title = " ".join(str(component.get("SUMMARY", "")).split()) or _("Sans titre")
        if ical.is_prevention(component):
            prevention_skipped += 1
            continue
        try:
            items = ical.events_from_component(component, line=line, notices=run.notices)
        except ical.ComponentError as error:
            raise _component_error("event", title, line, str(error)) from error
        for item in items:
            if item.series_uid:
                occurrences.append(item)
            elif ical.is_cancelled(component):
                run.notices.add(item.title, _("annulé (STATUS:CANCELLED) : il n’est pas importé."))
                run.counts["ignored"] += 1
            else:
                series.append(item)
    for component, line in zip(vtodos, parsed.todo_lines + [None] * len(vtodos), strict=False):
        title = " ".join(str(component.get("SUMMARY", "")).split()) or _("Sans titre")
        try:
            item = ical.task_from_component(component, line=line, notices=run.notices)
        except ical.ComponentError as error:
            raise _component_error("task", title, line, str(error)) from error
        if ical.is_cancelled(component):
            run.notices.add(item.title, _("annulée (STATUS:CANCELLED) : elle n’est pas importée."))
            run.counts["ignored"] += 1
        else:
            tasks.append(item)
    if prevention_skipped:
        run.counts["ignored"] += prevention_skipped
        run.notices.items.append(
            ngettext(
                "%(n)s date de prévention n’a pas été importée : Mon espace santé calcule les vôtres.",
                "%(n)s dates de prévention n’ont pas été importées : Mon espace santé calcule les vôtres.",
                prevention_skipped,
            )
            % {"n": prevention_skipped}
        )

    run.load_existing(
        {item.uid for item in series + occurrences} | {item.series_uid for item in occurrences},
        {item.uid for item in tasks},
    )
    # Series first, so that a changed occurrence finds its series (in the file or already in the agenda).
    for item in series:
        run.event(item)
    for item in occurrences:
        run.occurrence(item)
    for item in tasks:
        run.task(item)
    run.write()
    summary = run.summary()
    journal_append(
        actor=access.actor,
        action=CALENDAR_IMPORTED,
        citizen=access.citizen,
        details={
            "fichier": filename,
            "ajoutes": summary.created,
            "mis_a_jour": summary.updated,
            "inchanges": summary.unchanged,
            "non_importes": summary.ignored,
        },
    )
    return summary


# --- Export ---------------------------------------------------------------------------------------------------------

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2200, 12, 31)


def calendar_name(citizen: Citizen) -> str:
    return _("Agenda santé de %(name)s — Mon espace santé") % {"name": citizen.display_first_name}


def _zone_range(events: list[Event]) -> tuple[date, date]:
    """The days the VTIMEZONEs must cover: every event, and ten years ahead for a series without end."""
    today = timezone.localdate()
    first, last = today, today + timedelta(days=366)
    for event in events:
        first = min(first, event.starts_at.date())
        last = max(last, event.ends_at.date())
        if event.rrule and "UNTIL=" not in event.rrule.upper() and "COUNT=" not in event.rrule.upper():
            last = max(last, today + timedelta(days=3660))
        elif event.rrule:
            last = max(last, event.ends_at.date() + timedelta(days=3660))
    return max(FIRST_DAY, first - timedelta(days=1)), min(LAST_DAY, last + timedelta(days=1))


def calendar_render(
    citizen: Citizen, *, titles_only: bool, include_tasks: bool, include_prevention: bool, refresh: bool = False
) -> bytes:
    """The whole agenda of ``citizen`` as an ``.ics``. The caller has decided that it may be read (the person's own
    access, or the feed's token): this function only renders."""
    stamp = timezone.now()
    calendar = ical.calendar_new(calendar_name(citizen))
    if refresh:
        # A subscribed client may refresh every hour (RFC 7986, and the name older clients know).
        calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT1H")
    events = list(Event.objects.filter(citizen=citizen).order_by("starts_at", "pk"))
    for event in events:
        calendar.add_component(ical.event_component(event, titles_only=titles_only, stamp=stamp))
    if include_tasks:
        for task in Task.objects.filter(citizen=citizen).order_by("due_date", "created_at", "pk"):
            calendar.add_component(ical.task_component(task, titles_only=titles_only, stamp=stamp))
    if include_prevention:
        pending = PreventionDate.objects.filter(citizen=citizen, status=PreventionStatus.PENDING)
        for prevention_date in pending.order_by("due_from", "programme"):
            component = ical.prevention_component(prevention_date, titles_only=titles_only, stamp=stamp)
            if component is not None:
                calendar.add_component(component)
    first_day, last_day = _zone_range(events)
    return ical.calendar_bytes(calendar, first_day=first_day, last_day=last_day)


def calendar_export(
    access: CitizenAccess, *, titles_only: bool = False, include_tasks: bool = True, include_prevention: bool = False
) -> bytes:
    """The person's agenda as an ``.ics`` file to download."""
    if not access.is_citizen_side:
        raise PermissionDenied(_("Seule la personne ou son représentant légal exporte son agenda."))
    return calendar_render(
        access.citizen, titles_only=titles_only, include_tasks=include_tasks, include_prevention=include_prevention
    )


def event_export(access: CitizenAccess, event: Event) -> bytes:
    """One event of the person's agenda as an ``.ics`` file (with its VTIMEZONE)."""
    if not access.is_citizen_side or event.citizen_id != access.citizen.pk:
        raise PermissionDenied(_("Cet élément n’appartient pas à cet agenda."))
    calendar = ical.calendar_new(calendar_name(access.citizen))
    calendar.add_component(ical.event_component(event))
    first_day, last_day = _zone_range([event])
    return ical.calendar_bytes(calendar, first_day=first_day, last_day=last_day)
