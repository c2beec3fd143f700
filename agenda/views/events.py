"""The citizen's agenda pages: upcoming items, month and day views, events (appointments...) and tasks.

Items are looked up only through ``agenda.selectors`` with the access of the space, so another person's event or
task answers 404, exactly like one that does not exist; every change goes through ``agenda.services``. GET never
changes anything; every change is a POST form with its CSRF token.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agenda import selectors, services
from agenda.forms import EventForm, TaskForm
from agenda.models import Event, Task
from agenda.recurrence import occurrence_starts
from agenda.selectors import Occurrence
from agenda.views.common import (
    FIRST_YEAR,
    LAST_YEAR,
    agenda_view,
    breadcrumbs,
    checked_day,
    day_start,
    format_clock,
    format_day,
    format_moment,
    format_short_day,
    occurrence_row,
    recurrence_text,
    reminder_text,
    safe_next,
    source_text,
    task_row,
    when_label,
)
from mes.acces.policy import CitizenAccess

UPCOMING_DAYS = 90
HOME_TASKS = 10
SERIES_DATES_SHOWN = 5


def _event_or_404(access: CitizenAccess, event_id: UUID) -> Event:
    event = selectors.event_get(access, event_id)
    if event is None:
        raise Http404(_("Cet événement n’existe pas dans votre agenda."))
    return event


def _task_or_404(access: CitizenAccess, task_id: UUID) -> Task:
    task = selectors.task_get(access, task_id)
    if task is None:
        raise Http404(_("Cette tâche n’existe pas dans votre agenda."))
    return task


def _occurrence_or_404(access: CitizenAccess, event: Event, key: str) -> Occurrence:
    occurrence = selectors.occurrence_get(access, event, key)
    if occurrence is None:
        raise Http404(_("Cette date ne fait pas partie de l’événement."))
    return occurrence


def _month_url(day: date) -> str:
    return reverse("agenda_month", kwargs={"year": day.year, "month": day.month})


def _day_url(day: date) -> str:
    return reverse("agenda_day", kwargs={"year": day.year, "month": day.month, "day": day.day})


def _month_name(year: int, month: int) -> str:
    """« mars 2027 » (templates capitalise it where it opens a sentence)."""
    return format_date(date(year, month, 1), "F Y")


# --- The upcoming items -------------------------------------------------------------------------------------------


@dataclass
class DayGroup:
    day: date
    label: str
    url: str
    rows: list = field(default_factory=list)


@dataclass(frozen=True)
class PreventionRow:
    label: str
    due_from: str
    due_until: str


@require_GET
@never_cache
@agenda_view
def agenda_home(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    now = timezone.now()
    today = timezone.localdate()
    groups: dict[date, DayGroup] = {}
    for occurrence in selectors.upcoming(access, now=now, days=UPCOMING_DAYS):
        # An occurrence already under way (a hospitalisation that started yesterday) is listed under today.
        day = max(occurrence.local_start().date(), today)
        if day not in groups:
            groups[day] = DayGroup(day, format_day(day), _day_url(day))
        groups[day].rows.append(occurrence_row(occurrence))
    todo = list(selectors.tasks(access, done=False)[: HOME_TASKS + 1])
    prevention = []
    for row in selectors.prevention_dates(access)[:3]:
        info = row.programme_info
        prevention.append(
            PreventionRow(
                label=str(info.label) if info is not None else row.programme,
                due_from=format_short_day(row.due_from),
                due_until=format_short_day(row.due_until) if row.due_until else "",
            )
        )
    context = {
        "access": access,
        "groups": list(groups.values()),
        "today": today,
        "today_url": _day_url(today),
        "month_url": _month_url(today),
        "tasks": [task_row(task) for task in todo[:HOME_TASKS]],
        "more_tasks": len(todo) > HOME_TASKS,
        "prevention": prevention,
        "crumbs": breadcrumbs()[:1],
        "upcoming_days": UPCOMING_DAYS,
        "next": request.get_full_path(),
    }
    return render(request, "agenda/home.html", context)


# --- Month and day ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellEntry:
    """One line of a day of the month grid: an occurrence or a task due that day."""

    time: str
    title: str
    url: str
    is_task: bool = False
    done: bool = False


@dataclass
class MonthCell:
    day: date
    in_month: bool
    is_today: bool
    label: str
    url: str
    entries: list[CellEntry] = field(default_factory=list)


def _cell_time(occurrence: Occurrence, day: date) -> str:
    if occurrence.event.all_day:
        return ""
    if occurrence.local_start().date() == day:
        return format_clock(occurrence.start)
    return _("suite")


@require_GET
@never_cache
@agenda_view
def agenda_month(request: HttpRequest, access: CitizenAccess, year: int, month: int) -> HttpResponse:
    if not 1 <= month <= 12 or not FIRST_YEAR <= year <= LAST_YEAR:
        raise Http404(_("L’agenda couvre les années 1900 à 2200."))
    today = timezone.localdate()
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    weeks = calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar(year, month)
    cells: dict[date, MonthCell] = {}
    rows = []
    for week in weeks:
        row = []
        for day in week:
            in_month = day.month == month
            cell = MonthCell(day, in_month, day == today, format_day(day), _day_url(day) if in_month else "")
            if in_month:
                cells[day] = cell
            row.append(cell)
        rows.append(row)
    # Two queries for the events (single ones, series), one for the tasks.
    for occurrence in selectors.occurrences_between(access, day_start(first), day_start(last + timedelta(days=1))):
        url = occurrence_row(occurrence).url
        for day in occurrence.days():
            if day in cells:
                cells[day].entries.append(CellEntry(_cell_time(occurrence, day), occurrence.event.title, url))
    for task in selectors.tasks_due_between(access, first, last):
        url = reverse("task_edit", kwargs={"task_id": task.public_id}) if task.citizen_may_edit else ""
        cells[task.due_date].entries.append(
            CellEntry("", task.title, url or reverse("task_list"), is_task=True, done=task.is_done)
        )
    previous_month = first - timedelta(days=1)
    next_month = last + timedelta(days=1)
    month_name = _month_name(year, month)
    context = {
        "access": access,
        "month_name": month_name,
        "weeks": rows,
        "weekdays": [capfirst(format_date(day, "l")) for day in weeks[0]],
        "empty": not any(cell.entries for cell in cells.values()),
        "previous_url": _month_url(previous_month) if previous_month.year >= FIRST_YEAR else "",
        "previous_name": _month_name(previous_month.year, previous_month.month),
        "next_url": _month_url(next_month) if next_month.year <= LAST_YEAR else "",
        "next_name": _month_name(next_month.year, next_month.month),
        "current_url": _month_url(today),
        "is_current": (year, month) == (today.year, today.month),
        "new_date": (today if (year, month) == (today.year, today.month) else first).isoformat(),
        "crumbs": breadcrumbs(),
    }
    return render(request, "agenda/month.html", context)


@require_GET
@never_cache
@agenda_view
def agenda_day(request: HttpRequest, access: CitizenAccess, year: int, month: int, day: int) -> HttpResponse:
    current = checked_day(year, month, day)
    occurrences = selectors.occurrences_between(access, day_start(current), day_start(current + timedelta(days=1)))
    previous_day, next_day = current - timedelta(days=1), current + timedelta(days=1)
    context = {
        "access": access,
        "day": current,
        "day_label": format_day(current),
        "rows": [occurrence_row(occurrence) for occurrence in occurrences],
        "tasks": [task_row(task) for task in selectors.tasks_due_between(access, current, current)],
        "previous_url": _day_url(previous_day) if previous_day.year >= FIRST_YEAR else "",
        "previous_label": format_day(previous_day),
        "next_url": _day_url(next_day) if next_day.year <= LAST_YEAR else "",
        "next_label": format_day(next_day),
        "month_url": _month_url(current),
        "month_name": _month_name(current.year, current.month),
        "is_today": current == timezone.localdate(),
        "crumbs": breadcrumbs((capfirst(_month_name(current.year, current.month)), _month_url(current))),
        "next": request.get_full_path(),
    }
    return render(request, "agenda/day.html", context)


# --- Events -------------------------------------------------------------------------------------------------------


def _date_param(value: str | None) -> date | None:
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None


def _read_only(request: HttpRequest, access: CitizenAccess, item: Event | Task) -> HttpResponse:
    """Items of a paired app are the app's: the person may delete them, not change them."""
    is_event = isinstance(item, Event)
    context = {
        "access": access,
        "item": item,
        "is_event": is_event,
        "source": source_text(item),
        "back_url": reverse("event_detail", kwargs={"event_id": item.public_id}) if is_event else reverse("task_list"),
        "crumbs": breadcrumbs(),
    }
    return render(request, "agenda/read_only.html", context, status=403)


@require_http_methods(["GET", "POST"])
@never_cache
@agenda_view
def event_new(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    form = EventForm(
        request.POST if request.method == "POST" else None, initial_date=_date_param(request.GET.get("date"))
    )
    if request.method == "POST" and form.is_valid():
        try:
            event = services.event_create(access=access, **form.service_values())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(
                request,
                _("« %(title)s » a été ajouté à votre agenda pour le %(when)s.")
                % {"title": event.title, "when": format_moment(event.starts_at)},
            )
            return redirect("event_detail", event_id=event.public_id)
    context = {"access": access, "form": form, "event": None, "crumbs": breadcrumbs()}
    return render(request, "agenda/events/form.html", context)


@require_http_methods(["GET", "POST"])
@never_cache
@agenda_view
def event_edit(request: HttpRequest, access: CitizenAccess, event_id: UUID) -> HttpResponse:
    event = _event_or_404(access, event_id)
    if not event.citizen_may_edit:
        return _read_only(request, access, event)
    form = EventForm(request.POST if request.method == "POST" else None, event=event)
    if request.method == "POST" and form.is_valid():
        try:
            services.event_update(access=access, event=event, **form.service_values())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("« %(title)s » a été modifié.") % {"title": event.title})
            return redirect("event_detail", event_id=event.public_id)
    detail_url = reverse("event_detail", kwargs={"event_id": event.public_id})
    context = {"access": access, "form": form, "event": event, "crumbs": breadcrumbs((event.title, detail_url))}
    return render(request, "agenda/events/form.html", context)


def _series_next(event: Event, count: int) -> list[Occurrence]:
    """The next dates of a series from now (the dates removed from it excluded)."""
    now = timezone.now()
    duration = event.ends_at - event.starts_at
    starts = occurrence_starts(
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        tzid=event.tzid,
        rrule_text=event.rrule,
        exdates=event.exdates,
        window_start=now,
        window_end=now + timedelta(days=366 * 5),
        limit=count,
    )
    return [Occurrence(event, start, start + duration) for start in starts]


@require_GET
@never_cache
@agenda_view
def event_detail(request: HttpRequest, access: CitizenAccess, event_id: UUID) -> HttpResponse:
    event = _event_or_404(access, event_id)
    key = request.GET.get("occurrence")
    occurrence = _occurrence_or_404(access, event, key) if key is not None else None
    shown = occurrence or Occurrence(event, event.starts_at, event.ends_at)
    series_next = [occurrence_row(item) for item in _series_next(event, SERIES_DATES_SHOWN)] if event.rrule else []
    context = {
        "access": access,
        "event": event,
        "occurrence": occurrence,
        "when": when_label(event, shown.start, shown.end),
        "day_url": _day_url(shown.local_start().date()),
        "source": source_text(event),
        "recurrence": recurrence_text(event),
        "reminder": reminder_text(event.reminder_minutes),
        "series_next": series_next,
        "crumbs": breadcrumbs(
            (
                capfirst(_month_name(shown.local_start().year, shown.local_start().month)),
                _month_url(shown.local_start().date()),
            )
        ),
    }
    return render(request, "agenda/events/detail.html", context)


@require_http_methods(["GET", "POST"])
@never_cache
@agenda_view
def event_delete(request: HttpRequest, access: CitizenAccess, event_id: UUID) -> HttpResponse:
    event = _event_or_404(access, event_id)
    if request.method == "POST":
        title = event.title
        services.event_delete(access=access, event=event)
        messages.success(request, _("« %(title)s » a été supprimé de votre agenda.") % {"title": title})
        return redirect("agenda_home")
    detail_url = reverse("event_detail", kwargs={"event_id": event.public_id})
    context = {
        "access": access,
        "event": event,
        "when": when_label(event, event.starts_at, event.ends_at),
        "recurrence": recurrence_text(event),
        "source": source_text(event),
        "detail_url": detail_url,
        "crumbs": breadcrumbs((event.title, detail_url)),
    }
    return render(request, "agenda/events/delete.html", context)


@require_http_methods(["GET", "POST"])
@never_cache
@agenda_view
def event_occurrence_delete(request: HttpRequest, access: CitizenAccess, event_id: UUID) -> HttpResponse:
    event = _event_or_404(access, event_id)
    if not event.is_recurring:
        raise Http404(_("Cet événement ne se répète pas."))
    key = request.POST.get("occurrence") if request.method == "POST" else request.GET.get("occurrence")
    occurrence = _occurrence_or_404(access, event, key or "")
    if not event.citizen_may_edit:
        return _read_only(request, access, event)
    detail_url = reverse("event_detail", kwargs={"event_id": event.public_id})
    when = when_label(event, occurrence.start, occurrence.end)
    if request.method == "POST":
        services.event_occurrence_delete(access=access, event=event, occurrence_start=occurrence.start)
        messages.success(
            request,
            _("La date du %(when)s a été retirée de « %(title)s ». Les autres dates restent dans votre agenda.")
            % {"when": when, "title": event.title},
        )
        return redirect(detail_url)
    context = {
        "access": access,
        "event": event,
        "occurrence": occurrence,
        "when": when,
        "recurrence": recurrence_text(event),
        "detail_url": detail_url,
        "crumbs": breadcrumbs((event.title, detail_url)),
    }
    return render(request, "agenda/events/occurrence_delete.html", context)


# --- Tasks --------------------------------------------------------------------------------------------------------


@require_GET
@never_cache
@agenda_view
def task_list(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    context = {
        "access": access,
        "todo": [task_row(task) for task in selectors.tasks(access, done=False)],
        "done": [task_row(task) for task in selectors.tasks(access, done=True)],
        "crumbs": breadcrumbs(),
        "next": request.get_full_path(),
    }
    return render(request, "agenda/tasks/list.html", context)


@require_http_methods(["GET", "POST"])
@never_cache
@agenda_view
def task_new(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    initial = {}
    due = _date_param(request.GET.get("date"))
    if due is not None:
        initial["due_date"] = due
    form = TaskForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            task = services.task_create(
                access=access, title=data["title"], due_date=data.get("due_date"), note=data.get("note", "")
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("La tâche « %(title)s » a été ajoutée.") % {"title": task.title})
            return redirect("task_list")
    context = {
        "access": access,
        "form": form,
        "task": None,
        "crumbs": breadcrumbs((_("Tâches"), reverse("task_list"))),
    }
    return render(request, "agenda/tasks/form.html", context)


@require_http_methods(["GET", "POST"])
@never_cache
@agenda_view
def task_edit(request: HttpRequest, access: CitizenAccess, task_id: UUID) -> HttpResponse:
    task = _task_or_404(access, task_id)
    if not task.citizen_may_edit:
        return _read_only(request, access, task)
    initial = {"title": task.title, "due_date": task.due_date, "note": task.note}
    form = TaskForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.task_update(
                access=access, task=task, title=data["title"], due_date=data.get("due_date"), note=data.get("note", "")
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("La tâche « %(title)s » a été modifiée.") % {"title": task.title})
            return redirect("task_list")
    context = {
        "access": access,
        "form": form,
        "task": task,
        "crumbs": breadcrumbs((_("Tâches"), reverse("task_list"))),
    }
    return render(request, "agenda/tasks/form.html", context)


@require_POST
@never_cache
@agenda_view
def task_toggle(request: HttpRequest, access: CitizenAccess, task_id: UUID) -> HttpResponse:
    task = _task_or_404(access, task_id)
    wanted = request.POST.get("done")
    if wanted not in ("0", "1"):
        return HttpResponseBadRequest(_("Indiquez si la tâche est faite."))
    task = services.task_set_done(access=access, task=task, done=wanted == "1")
    if task.is_done:
        text = _("La tâche « %(title)s » est marquée comme faite.")
    else:
        text = _("La tâche « %(title)s » est de nouveau à faire.")
    messages.success(request, text % {"title": task.title})
    return redirect(safe_next(request, reverse("task_list")))


@require_http_methods(["GET", "POST"])
@never_cache
@agenda_view
def task_delete(request: HttpRequest, access: CitizenAccess, task_id: UUID) -> HttpResponse:
    task = _task_or_404(access, task_id)
    if request.method == "POST":
        title = task.title
        services.task_delete(access=access, task=task)
        messages.success(request, _("La tâche « %(title)s » a été supprimée.") % {"title": title})
        return redirect("task_list")
    context = {
        "access": access,
        "task": task,
        "row": task_row(task),
        "crumbs": breadcrumbs((_("Tâches"), reverse("task_list"))),
    }
    return render(request, "agenda/tasks/delete.html", context)
