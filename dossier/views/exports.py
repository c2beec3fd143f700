"""``/dossier/export/``: export of the whole dossier as one FHIR Bundle, its progress, its download."""

import logging

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dossier.selectors.exports import (
    export_filename,
    export_in_progress,
    export_is_expired,
    export_is_ready,
    export_progress,
    exports_recent,
    exports_visible,
)
from dossier.selectors.overview import dossier_overview
from dossier.services.exports import ExportError, export_delete, export_download_record, export_request
from dossier.views.common import dossier_view
from mes.acces.policy import CitizenAccess
from mes.api.fhir import FHIR_JSON

logger = logging.getLogger(__name__)


def _export(access: CitizenAccess, public_id):
    # Looked up inside the space only: another person's export answers 404, like one that does not exist.
    return get_object_or_404(exports_visible(access), public_id=public_id)


@require_http_methods(["GET", "POST"])
@dossier_view
def export_list(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    if request.method == "POST":
        try:
            export = export_request(access=access)
        except ExportError as error:
            messages.error(request, str(error))
            return redirect("export_list")
        return redirect("export_detail", public_id=export.public_id)
    exports = exports_recent(access)
    now = timezone.now()
    rows = [{"export": export, "ready": export_is_ready(export, now=now)} for export in exports]
    return render(
        request,
        "dossier/exports/list.html",
        {
            "access": access,
            "rows": rows,
            "in_progress": export_in_progress(exports),
            "overview": dossier_overview(access),
            "retention_days": settings.DOSSIER_EXPORT_RETENTION_DAYS,
        },
    )


@require_GET
@dossier_view
def export_detail(request: HttpRequest, access: CitizenAccess, public_id) -> HttpResponse:
    export = _export(access, public_id)
    return render(
        request,
        "dossier/exports/detail.html",
        {
            "access": access,
            "export": export,
            "progress": export_progress(export),
            "filename": export_filename(export),
            "retention_days": settings.DOSSIER_EXPORT_RETENTION_DAYS,
        },
    )


@require_GET
@dossier_view
def export_status(request: HttpRequest, access: CitizenAccess, public_id) -> JsonResponse:
    response = JsonResponse(export_progress(_export(access, public_id)).as_json())
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@dossier_view
def export_download(request: HttpRequest, access: CitizenAccess, public_id) -> HttpResponse:
    export = _export(access, public_id)
    if export_is_expired(export):
        return _gone(request, access, export)
    if not export_is_ready(export):
        return redirect("export_detail", public_id=export.public_id)
    try:
        handle = export.file.open("rb")
    except FileNotFoundError:
        # The file left the storage before its time (an operator's cleaning): for the citizen it is gone all the same.
        logger.error("Export %s: file %s missing from the storage", export.public_id, export.file.name)
        return _gone(request, access, export)
    export_download_record(access=access, export=export)
    response = FileResponse(handle, as_attachment=True, filename=export_filename(export), content_type=FHIR_JSON)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


def _gone(request: HttpRequest, access: CitizenAccess, export) -> HttpResponse:
    response = render(
        request,
        "dossier/exports/expired.html",
        {"access": access, "export": export, "retention_days": settings.DOSSIER_EXPORT_RETENTION_DAYS},
        status=410,
    )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@dossier_view
def export_remove(request: HttpRequest, access: CitizenAccess, public_id) -> HttpResponse:
    export = _export(access, public_id)
    try:
        export_delete(access=access, export=export)
    except ExportError as error:
        messages.error(request, str(error))
        return redirect("export_detail", public_id=export.public_id)
    messages.success(request, _("L’export a été supprimé."))
    return redirect("export_list")
