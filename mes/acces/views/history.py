"""``/historique/``: the citizen's access history, on screen and as CSV; ``/notifications/``: the account's
notification centre.

The history shows the space the account acts for (its own, or a minor child's chosen in the header); the rows are
those of that space only. Notifications are the signed-in account's own: another account's notification answers
404, exactly like one that does not exist.
"""

import csv
from collections.abc import Iterator

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mes.acces.policy import CitizenAccess, citizen_access, forbidden, role_required
from mes.acces.selectors import (
    HistoryFilters,
    HistoryLine,
    history_actor_choices,
    history_export_lines,
    history_page,
)
from mes.comptes.models import Notification, Role
from mes.comptes.selectors.profiles import active_citizen
from mes.comptes.services.notifications import notifications_mark_read
from mes.comptes.views.statistics import csv_safe

BEFORE_PARAM = "avant"
AFTER_PARAM = "apres"
NOTIFICATIONS_PAGE_SIZE = 20
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]


def _date_field(label: str, example: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        input_formats=DATE_INPUT_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Saisissez une date valide, par exemple %(example)s.") % {"example": example}},
    )


class HistoryFilterForm(forms.Form):
    """The filters of the history, from the query string; an invalid filter is reported and ignored."""

    auteur = forms.ChoiceField(label=gettext_lazy("Auteur"), required=False)

    def __init__(self, *args, actor_choices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["auteur"].choices = [("", _("Tous les auteurs"))] + [
            (choice.value, choice.label) for choice in actor_choices
        ]
        self.fields["auteur"].error_messages["invalid_choice"] = _("Choisissez un auteur dans la liste.")
        self.fields["du"] = _date_field(_("Du"), "01/01/2025")
        self.fields["au"] = _date_field(_("Au"), "31/12/2025")

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("du"), cleaned.get("au")
        if start and end and start > end:
            self.add_error("au", _("La date de fin doit être postérieure ou égale à la date de début."))
        return cleaned

    def filters(self) -> HistoryFilters:
        """The valid filters only (``is_valid`` must have been called)."""
        data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        return HistoryFilters(actor=data.get("auteur") or "", date_from=data.get("du"), date_to=data.get("au"))

    @property
    def active(self) -> bool:
        return any(self.data.get(name) for name in ("auteur", "du", "au"))


def _history_access(request: HttpRequest) -> CitizenAccess | None:
    access = citizen_access(request.user, active_citizen(request))
    return access if access is not None and access.is_citizen_side else None


def _cursor(params: QueryDict, name: str) -> int | None:
    value = params.get(name, "")
    return int(value) if value.isdigit() and len(value) < 19 else None


def _querystring(params: QueryDict, **changes) -> str:
    query = params.copy()
    for name, value in changes.items():
        if value:
            query[name] = value
        else:
            query.pop(name, None)
    return query.urlencode()


def _history_form(request: HttpRequest, access: CitizenAccess) -> HistoryFilterForm:
    form = HistoryFilterForm(request.GET, actor_choices=history_actor_choices(access.citizen))
    form.is_valid()
    return form


def _render_history(request: HttpRequest, access: CitizenAccess, form: HistoryFilterForm, *, status: int = 200):
    before, after = _cursor(request.GET, BEFORE_PARAM), _cursor(request.GET, AFTER_PARAM)
    page = history_page(access.citizen, viewer=request.user, filters=form.filters(), before=before, after=after)
    filters_only = _querystring(request.GET, **{BEFORE_PARAM: None, AFTER_PARAM: None})
    older_url = newer_url = None
    if page.older_cursor:
        older_url = "?" + _querystring(request.GET, **{BEFORE_PARAM: page.older_cursor, AFTER_PARAM: None})
    if page.newer_cursor:
        newer_url = "?" + _querystring(request.GET, **{AFTER_PARAM: page.newer_cursor, BEFORE_PARAM: None})
    context = {
        "access": access,
        "form": form,
        "page": page,
        "older_url": older_url,
        "newer_url": newer_url,
        "first_url": ("?" + filters_only) if not page.is_first else None,
        "export_query": filters_only,
    }
    return render(request, "acces/history/list.html", context, status=status)


@never_cache
@require_GET
@role_required(Role.CITIZEN)
def access_history(request: HttpRequest) -> HttpResponse:
    access = _history_access(request)
    if access is None:
        return forbidden(request)
    return _render_history(request, access, _history_form(request, access))


class _Echo:
    """A file-like object for ``csv.writer`` that hands each formatted line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


CSV_HEADER = (gettext_lazy("Date"), gettext_lazy("Auteur"), gettext_lazy("Action"), gettext_lazy("Détail"))


def _csv_lines(lines: Iterator[HistoryLine]) -> Iterator[str]:
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")
    # The byte order mark tells Excel the file is UTF-8.
    yield "\ufeff" + writer.writerow([str(label) for label in CSV_HEADER])
    for line in lines:
        when = formats.date_format(timezone.localtime(line.when), "d/m/Y H:i")
        yield writer.writerow([csv_safe(cell) for cell in (when, line.who, line.what, line.detail_text)])


@never_cache
@require_GET
@role_required(Role.CITIZEN)
def access_history_export(request: HttpRequest) -> HttpResponse:
    """The history with the page's filters, as CSV for a spreadsheet: « ; », UTF-8 with a BOM, formulas
    neutralised, streamed by chunks so that a long journal never sits in memory."""
    access = _history_access(request)
    if access is None:
        return forbidden(request)
    form = _history_form(request, access)
    if form.errors:
        # Exporting without the filters the person asked for would give them the wrong rows: show the errors.
        return _render_history(request, access, form, status=400)
    lines = history_export_lines(access.citizen, viewer=request.user, filters=form.filters())
    response = StreamingHttpResponse(_csv_lines(lines), content_type="text/csv; charset=utf-8")
    filename = f"historique-des-acces-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Notifications ---------------------------------------------------------------------------------------------

ALL_ROLES = tuple(Role.values)


def _safe_link(request: HttpRequest, link: str) -> str:
    """Only links inside the site are offered (« Voir »)."""
    if link and link.startswith("/") and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        return link
    return ""


@never_cache
@require_GET
@role_required(*ALL_ROLES)
def notifications(request: HttpRequest) -> HttpResponse:
    """The account's notifications, newest first. Opening the page marks nothing as read."""
    before = _cursor(request.GET, BEFORE_PARAM)
    rows = Notification.objects.filter(user=request.user)
    if before is not None:
        rows = rows.filter(pk__lt=before)
    items = list(rows.order_by("-id")[: NOTIFICATIONS_PAGE_SIZE + 1])
    older = items[NOTIFICATIONS_PAGE_SIZE - 1].pk if len(items) > NOTIFICATIONS_PAGE_SIZE else None
    items = items[:NOTIFICATIONS_PAGE_SIZE]
    context = {
        "items": [{"notification": item, "link": _safe_link(request, item.link)} for item in items],
        "older_url": f"?{BEFORE_PARAM}={older}" if older else None,
        "first_url": "?" if before is not None else None,
        "has_unread": Notification.objects.filter(user=request.user, read_at__isnull=True).exists(),
    }
    return render(request, "notifications/list.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
@role_required(*ALL_ROLES)
def notifications_mark_read_all(request: HttpRequest) -> HttpResponse:
    """GET: ask for confirmation. POST: mark every notification of the account as read."""
    if request.method == "POST":
        count = notifications_mark_read(user=request.user)
        if count:
            message = ngettext(
                "%(count)d notification marquée comme lue.", "%(count)d notifications marquées comme lues.", count
            ) % {"count": count}
        else:
            message = _("Vous n’aviez aucune notification non lue.")
        messages.success(request, message)
        return redirect("notifications")
    unread = Notification.objects.filter(user=request.user, read_at__isnull=True).count()
    return render(request, "notifications/mark_all.html", {"unread": unread})


@require_POST
@role_required(*ALL_ROLES)
def notification_mark_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = get_object_or_404(Notification, pk=notification_id, user=request.user)
    if notifications_mark_read(user=request.user, ids=[notification.pk]):
        messages.success(request, _("Notification « %(title)s » marquée comme lue.") % {"title": notification.title})
    return redirect("notifications")
