"""The agenda's iCalendar pages: import a ``.ics`` file, export the agenda or one event, the subscription feed.

The pages are the person's (``citizen_space_view``); an event is looked up through ``agenda.selectors`` with the
access of the space, so another person's event answers 404. The feed's own URL (``agenda_feed_ics``) is public: its
secret token is the only key, and an unknown, replaced or stopped token answers 404.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from agenda import selectors
from agenda.forms_ical import CalendarImportForm, FeedOptionsForm
from agenda.models import Feed
from agenda.services import feed as feed_services
from agenda.services import ical as ical_services
from agenda.views.common import breadcrumbs
from mes.acces.decorators import citizen_space_view
from mes.acces.policy import CitizenAccess
from mes.uploads import upload_limit_install

ICS_CONTENT_TYPE = "text/calendar; charset=utf-8"


def _ics_response(body: bytes, *, filename: str, disposition: str = "attachment") -> HttpResponse:
    response = HttpResponse(body, content_type=ICS_CONTENT_TYPE)
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    # A health agenda: never kept by a shared cache, nor by the browser once closed.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Import -----------------------------------------------------------------------------------------------------


@csrf_exempt  # the token is checked by _agenda_import, once the size limit watches the body
@require_http_methods(["GET", "POST"])
@citizen_space_view
def agenda_import(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    if request.method == "POST":
        limiter = upload_limit_install(request, max_bytes=ical_services.MAX_FILE_BYTES)
        if limiter is None:
            return _render_import(request, access, _form_with_error(ical_services.too_large_error()), status=413)
        request.agenda_upload_limit = limiter
    return _agenda_import(request, access)


def _form_with_error(error: ValidationError) -> CalendarImportForm:
    form = CalendarImportForm(data={})
    form.is_valid()
    form.errors["file"] = form.error_class(error.messages)
    return form


def _render_import(request, access, form, *, summary=None, status: int = 200) -> HttpResponse:
    return render(
        request,
        "agenda/ical/import.html",
        {
            "access": access,
            "form": form,
            "summary": summary,
            "crumbs": breadcrumbs(),
            "max_mb": ical_services.MAX_FILE_BYTES // 1024**2,
        },
        status=status,
    )


@csrf_protect
def _agenda_import(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    if request.method != "POST":
        return _render_import(request, access, CalendarImportForm())
    form = CalendarImportForm(request.POST, request.FILES)
    if request.agenda_upload_limit.exceeded:
        return _render_import(request, access, _form_with_error(ical_services.too_large_error()), status=413)
    if not form.is_valid():
        return _render_import(request, access, form, status=400)
    try:
        summary = ical_services.calendar_import(access=access, upload=form.cleaned_data["file"])
    except ValidationError as error:
        form.add_error("file", error)
        return _render_import(request, access, form, status=413 if error.code == "too_large" else 400)
    # The result is shown on this very page (importing the same file again changes nothing: the UIDs are known).
    return _render_import(request, access, CalendarImportForm(), summary=summary)


# --- Export -----------------------------------------------------------------------------------------------------


@require_GET
@citizen_space_view
def agenda_export(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    body = ical_services.calendar_export(access)
    return _ics_response(body, filename=ical_services.EXPORT_FILENAME)


@require_GET
@citizen_space_view
def event_export(request: HttpRequest, access: CitizenAccess, event_id: UUID) -> HttpResponse:
    event = selectors.event_get(access, event_id)
    if event is None:
        raise Http404(_("Cet événement n’existe pas dans votre agenda."))
    day = timezone.localtime(event.starts_at).date()
    return _ics_response(ical_services.event_export(access, event), filename=f"evenement-{day:%Y-%m-%d}.ics")


# --- Subscription feed ------------------------------------------------------------------------------------------


def _feed_form(feed: Feed | None, data=None) -> FeedOptionsForm:
    if feed is None:
        return FeedOptionsForm(data)
    initial = {
        "titles_only": feed.titles_only,
        "include_tasks": feed.include_tasks,
        "include_prevention": feed.include_prevention,
    }
    return FeedOptionsForm(data, initial=initial)


@never_cache  # the page may show the secret URL once: no copy of it anywhere
@require_http_methods(["GET", "POST"])
@citizen_space_view
def agenda_feed(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    feed = feed_services.feed_get(access)
    urls = None
    form = _feed_form(feed)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "delete":
            if feed_services.feed_delete(access=access):
                messages.success(request, _("L’abonnement est arrêté : son adresse ne fonctionne plus."))
            return redirect("agenda_feed")
        form = _feed_form(feed, request.POST)
        if action not in ("create", "update") or not form.is_valid():
            return redirect("agenda_feed")
        options = form.cleaned_data
        if action == "update" and feed is not None:
            feed_services.feed_settings_update(access=access, **options)
            messages.success(request, _("Les options de l’abonnement sont enregistrées. L’adresse reste la même."))
            return redirect("agenda_feed")
        token = feed_services.feed_create_or_regenerate(access=access, **options)
        # Shown on this response only: the token is not stored, only its keyed hash.
        urls = feed_services.feed_urls(token)
        regenerated = feed is not None
        feed = feed_services.feed_get(access)
        form = _feed_form(feed)
        return _render_feed(request, access, feed, form, urls=urls, regenerated=regenerated)
    return _render_feed(request, access, feed, form)


def _render_feed(request, access, feed, form, *, urls=None, regenerated: bool = False) -> HttpResponse:
    return render(
        request,
        "agenda/ical/feed.html",
        {
            "access": access,
            "feed": feed,
            "form": form,
            "urls": urls,
            "regenerated": regenerated,
            "crumbs": breadcrumbs(),
        },
    )


@require_safe
def agenda_feed_ics(request: HttpRequest, token: str) -> HttpResponse:
    """The feed itself, for calendar applications: no sign-in, the token answers for it."""
    body = feed_services.feed_render(token)
    if body is None:
        raise Http404(_("Cet abonnement n’existe pas ou n’est plus actif."))
    response = _ics_response(body, filename=ical_services.EXPORT_FILENAME, disposition="inline")
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response
