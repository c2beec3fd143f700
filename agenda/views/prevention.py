"""``/agenda/prevention/``: the person's prevention key dates, and « C’est fait », « Ne plus afficher », « Remettre à
faire »."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from agenda import selectors
from agenda.models import PreventionDate, PreventionStatus
from agenda.prevention import Programme, current_table
from agenda.services.prevention import (
    prevention_date_dismiss,
    prevention_date_mark_done,
    prevention_date_reopen,
    prevention_occurrences_applicable,
)
from agenda.views.common import breadcrumbs
from mes.acces.decorators import citizen_space_view
from mes.acces.policy import CitizenAccess


def long_day(value: date) -> str:
    """« 3 mars 2027 », « 1er mars 2027 »."""
    text = formats.date_format(value, "j F Y")
    return f"1er{text[1:]}" if value.day == 1 else text


def window_text(row: PreventionDate) -> str:
    """« entre le 3 mars 2027 et le 2 mars 2029 », or « à partir du 3 mars 2027 » for an open-ended one."""
    if row.due_until is None:
        return _("à partir du %(start)s") % {"start": long_day(row.due_from)}
    return _("entre le %(start)s et le %(end)s") % {"start": long_day(row.due_from), "end": long_day(row.due_until)}


@dataclass(frozen=True)
class KeyDate:
    row: PreventionDate
    programme: Programme | None
    label: str
    step: str
    window: str
    is_open: bool  # the window has opened (else it opens within the coming months)
    status_text: str = ""
    may_reopen: bool = False


def _key_date(row: PreventionDate, today: date, applicable: set[tuple[str, str]] | None = None) -> KeyDate:
    programme = row.programme_info
    changed = timezone.localtime(row.status_changed_at).date() if isinstance(row.status_changed_at, datetime) else None
    if row.status == PreventionStatus.DONE:
        status_text = _("Fait, noté le %(day)s") % {"day": long_day(changed)} if changed else _("Fait")
    elif row.status == PreventionStatus.DISMISSED:
        status_text = _("Masqué le %(day)s") % {"day": long_day(changed)} if changed else _("Masqué")
    else:
        status_text = ""
    return KeyDate(
        row=row,
        programme=programme,
        # A programme that has left the table keeps its history rows: they are named by their code.
        label=programme.label
        if programme is not None
        else _("Programme « %(code)s » (retiré du référentiel)") % {"code": row.programme},
        step=programme.step_label(row.occurrence) if programme is not None else "",
        window=window_text(row),
        is_open=row.due_from <= today,
        status_text=status_text,
        may_reopen=applicable is not None and (row.programme, row.occurrence) in applicable,
    )


@require_GET
@citizen_space_view
def prevention_list(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    today = timezone.localdate()
    table = current_table()
    pending = [_key_date(row, today) for row in selectors.prevention_dates(access)]
    past_rows = list(
        selectors.prevention_dates(access, status=None)
        .exclude(status=PreventionStatus.PENDING)
        .order_by(F("status_changed_at").desc(nulls_last=True), "-due_from", "programme")
    )
    # Which history rows may go back to « à faire »: those that still follow from the table (one query, the same SQL
    # as the generation), so a press never sends a row to a refresh that would delete it.
    applicable = prevention_occurrences_applicable(citizen=access.citizen, today=today) if past_rows else set()
    history = [_key_date(row, today, applicable) for row in past_rows]
    context = {
        "access": access,
        "pending": pending,
        "history": history,
        "table": table,
        "published": long_day(table.published),
        "crumbs": breadcrumbs(),
    }
    return render(request, "agenda/prevention/list.html", context)


def _own_date(access: CitizenAccess, date_id: UUID) -> PreventionDate:
    # Looked up inside the space only: another person's key date answers 404, like one that does not exist.
    row = selectors.prevention_date_get(access, date_id)
    if row is None:
        raise Http404(_("Cette date clé n’existe pas."))
    return row


def _label(row: PreventionDate) -> str:
    programme = row.programme_info
    return programme.label if programme is not None else row.programme


def _act(request: HttpRequest, access: CitizenAccess, date_id: UUID, service, success: str) -> HttpResponse:
    row = _own_date(access, date_id)
    try:
        service(access=access, prevention_date=row)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, success % {"label": _label(row)})
    return redirect("prevention_list")


@require_POST
@citizen_space_view
def prevention_done(request: HttpRequest, access: CitizenAccess, date_id: UUID) -> HttpResponse:
    return _act(request, access, date_id, prevention_date_mark_done, _("« %(label)s » est noté comme fait."))


@require_POST
@citizen_space_view
def prevention_dismiss(request: HttpRequest, access: CitizenAccess, date_id: UUID) -> HttpResponse:
    return _act(
        request, access, date_id, prevention_date_dismiss, _("« %(label)s » n’est plus affiché dans les dates à faire.")
    )


@require_POST
@citizen_space_view
def prevention_reopen(request: HttpRequest, access: CitizenAccess, date_id: UUID) -> HttpResponse:
    return _act(request, access, date_id, prevention_date_reopen, _("« %(label)s » est de nouveau à faire."))
