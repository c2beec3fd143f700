"""``/dossier/documents/``: the list, the upload, a document's page, its file, hiding and deleting.

Every object is looked up through ``documents_visible(access)``: another person's document answers 404, exactly like
one that does not exist. Files are streamed from the storage with the stored content type (never guessed from a
name), ``nosniff``, a restrictive Content-Security-Policy, and a ``Content-Disposition`` naming the original file.
"""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from dossier.document_types import document_type_get, document_type_label
from dossier.forms.documents import DocumentFilterForm, DocumentUploadForm
from dossier.models.documents import AuthorKind, Document, DocumentFormat
from dossier.selectors.documents import document_page, documents_visible
from dossier.services.documents import (
    DocumentNotDeletable,
    DocumentRefused,
    document_add,
    document_deletable,
    document_delete,
    document_hide,
    document_not_deletable_reason,
    document_unhide,
)
from dossier.uploads import (
    CHUNK_SIZE,
    FORMATS,
    cda_summary,
    content_disposition,
    download_filename,
    refused_too_large,
    size_limit_mb,
)
from dossier.views.common import dossier_view
from mes.acces.policy import CitizenAccess
from mes.keyset import InvalidCursor
from mes.uploads import upload_limit_install

CURSOR_PARAM = "curseur"
# The file chooser's filter of the upload forms (the person's and the professional's).
ACCEPT = ".pdf,.jpg,.jpeg,.png,.xml,application/pdf,image/jpeg,image/png,text/xml,application/xml"

# The responses that carry a document's bytes. Nothing in them may run in the site's origin: no script, no form,
# no base. A PDF may be framed by the site's own pages only; Chromium shows it in that frame (the ``sandbox`` iframe
# attribute would make it refuse; older Chromium builds, whose viewer is an embedded object, need ``object-src``).
# Images get ``sandbox`` and the inline styles the browser's own image page uses; downloads are sandboxed and
# never framed.
CSP_INLINE_PDF = "default-src 'none'; object-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
CSP_INLINE_IMAGE = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'; "
    "base-uri 'none'; form-action 'none'; sandbox"
)
CSP_ATTACHMENT = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"


def _document(access: CitizenAccess, public_id) -> Document:
    return get_object_or_404(documents_visible(access), public_id=public_id)


def list_querystring(params: QueryDict, **changes) -> str:
    query = params.copy()
    for name, value in changes.items():
        if value:
            query[name] = value
        else:
            query.pop(name, None)
    return query.urlencode()


# --- List -----------------------------------------------------------------------------------------------------


def document_list_page(
    request: HttpRequest, access: CitizenAccess, form: DocumentFilterForm, *, detail_url: Callable[[Document], str]
) -> tuple[dict, int]:
    """The documents' list as both sides show it (``templates/dossier/_shared/documents_list.html``): the filtered
    page at the cursor of the query string, the links to the other pages, and the page's status (400 for a cursor
    that matches no page, shown with the most recent documents). ``detail_url`` gives each row's link: the person's
    document page, or the professional's."""
    form.is_valid()
    filters = form.filters()
    cursor = request.GET.get(CURSOR_PARAM) or None
    status, cursor_error = 200, False
    try:
        page = document_page(access, cursor=cursor, **filters)
    except InvalidCursor:
        page = document_page(access, **filters)
        status, cursor_error, cursor = 400, True, None
    older_url = "?" + list_querystring(request.GET, **{CURSOR_PARAM: page.older_cursor}) if page.older_cursor else None
    newer_url = "?" + list_querystring(request.GET, **{CURSOR_PARAM: page.newer_cursor}) if page.newer_cursor else None
    first_url = "?" + list_querystring(request.GET, **{CURSOR_PARAM: None})
    context = {
        "form": form,
        "page": page,
        "rows": [document_row(document, url=detail_url(document)) for document in page.documents],
        "older_url": older_url,
        "newer_url": newer_url,
        "first_url": first_url if cursor else None,
        "cursor_error": cursor_error,
    }
    return context, status


@require_GET
@dossier_view
def document_list(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    context, status = document_list_page(
        request,
        access,
        DocumentFilterForm(request.GET),
        detail_url=lambda document: reverse("document_detail", args=[document.public_id]),
    )
    return render(request, "dossier/documents/list.html", {"access": access, **context}, status=status)


def document_row(document: Document, *, url: str) -> dict:
    return {
        "document": document,
        "url": url,
        "type_label": document_type_label(document.type_code),
        "format_label": FORMATS[document.format].label if document.format in FORMATS else document.format,
    }


# --- Upload ---------------------------------------------------------------------------------------------------


@csrf_exempt  # the token is checked by _document_new, once the size limit watches the body
@require_http_methods(["GET", "POST"])
@dossier_view
def document_new(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    max_bytes = settings.DOSSIER_DOCUMENT_MAX_BYTES
    if request.method == "POST":
        limiter = upload_limit_install(request, max_bytes=max_bytes)
        if limiter is None:
            return _render_new(request, access, DocumentUploadForm(), size_error=True, status=413)
        request.document_upload_limit = limiter
    return _document_new(request, access)


def _render_new(request, access, form, *, size_error: bool = False, status: int = 200) -> HttpResponse:
    max_bytes = settings.DOSSIER_DOCUMENT_MAX_BYTES
    return render(
        request,
        "dossier/documents/new.html",
        {
            "access": access,
            "form": form,
            "size_error": refused_too_large(max_bytes).messages[0] if size_error else "",
            "max_mb": size_limit_mb(max_bytes),
            "accept": ACCEPT,
        },
        status=status,
    )


@csrf_protect
def _document_new(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    if request.method != "POST":
        return _render_new(request, access, DocumentUploadForm())
    form = DocumentUploadForm(request.POST, request.FILES)
    if request.document_upload_limit.exceeded:
        return _render_new(
            request, access, DocumentUploadForm(initial=request.POST.dict()), size_error=True, status=413
        )
    if not form.is_valid():
        return _render_new(request, access, form, status=400)
    data = form.cleaned_data
    try:
        document = document_add(
            access=access,
            upload=data["file"],
            title=data["title"],
            type_code=data["type_code"],
            act_date=data["act_date"],
            hidden=data["hidden"],
        )
    except DocumentRefused as refusal:
        form.add_error("file", refusal)
        return _render_new(request, access, form, status=413 if refusal.code == "too_large" else 400)
    except ValidationError as error:
        form.add_error(None, error)
        return _render_new(request, access, form, status=400)
    messages.success(request, _("Le document « %(title)s » a été ajouté à votre dossier.") % {"title": document.title})
    return redirect("document_detail", public_id=document.public_id)


# --- Detail ---------------------------------------------------------------------------------------------------


def document_preview(document: Document) -> dict:
    """What a document's page shows on both sides (``templates/dossier/_shared/document_info.html`` and
    ``document_preview.html``): its labels, how its file is previewed, the text of a CDA document."""
    document_type = document_type_get(document.type_code)
    summary, file_missing = None, False
    if document.format == DocumentFormat.CDA:
        try:
            with document.file.storage.open(document.file.name, "rb") as stream:
                summary = cda_summary(stream)
        except OSError:
            file_missing = True
    return {
        "document": document,
        "type_label": document_type_label(document.type_code),
        "type_display": document_type.display if document_type else "",
        "format_label": FORMATS[document.format].label,
        "inline": FORMATS[document.format].inline,
        "is_pdf": document.format == DocumentFormat.PDF,
        "summary": summary,
        "file_missing": file_missing,
    }


@require_GET
@dossier_view
def document_detail(request: HttpRequest, access: CitizenAccess, public_id) -> HttpResponse:
    document = _document(access, public_id)
    deletable = document_deletable(document)
    return render(
        request,
        "dossier/documents/detail.html",
        {
            "access": access,
            **document_preview(document),
            "deletable": deletable,
            "not_deletable_reason": "" if deletable else document_not_deletable_reason(document),
            "added_by_citizen": document.author_kind == AuthorKind.CITIZEN,
        },
    )


# --- Files ----------------------------------------------------------------------------------------------------


def file_response(document: Document, *, inline: bool) -> FileResponse:
    try:
        stream = document.file.storage.open(document.file.name, "rb")
    except OSError:
        raise Http404(_("Le fichier de ce document est introuvable.")) from None
    response = FileResponse(stream, content_type=document.content_type)
    response.block_size = CHUNK_SIZE
    name = download_filename(document.original_name, document.format)
    response["Content-Disposition"] = content_disposition("inline" if inline else "attachment", name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    if inline:
        response["Content-Security-Policy"] = (
            CSP_INLINE_PDF if document.format == DocumentFormat.PDF else CSP_INLINE_IMAGE
        )
        response["X-Frame-Options"] = "SAMEORIGIN"
    else:
        response["Content-Security-Policy"] = CSP_ATTACHMENT
        response["X-Frame-Options"] = "DENY"
    return response


@require_GET
@dossier_view
def document_file(request: HttpRequest, access: CitizenAccess, public_id) -> FileResponse:
    """The file shown in the page: PDF and images only (a CDA is summarised by the page, never rendered)."""
    document = _document(access, public_id)
    if not FORMATS[document.format].inline:
        raise Http404(_("Ce format ne s’affiche pas dans la page : téléchargez le document."))
    return file_response(document, inline=True)


@require_GET
@dossier_view
def document_download(request: HttpRequest, access: CitizenAccess, public_id) -> FileResponse:
    return file_response(_document(access, public_id), inline=False)


# --- Hide, unhide, delete -------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@dossier_view
def document_hide_page(request: HttpRequest, access: CitizenAccess, public_id) -> HttpResponse:
    document = _document(access, public_id)
    if request.method == "POST":
        document_hide(access=access, document=document)
        messages.success(request, _("Le document est masqué aux professionnels de santé."))
        return redirect("document_detail", public_id=document.public_id)
    return render(request, "dossier/documents/confirm.html", {"access": access, "document": document, "action": "hide"})


@require_http_methods(["GET", "POST"])
@dossier_view
def document_unhide_page(request: HttpRequest, access: CitizenAccess, public_id) -> HttpResponse:
    document = _document(access, public_id)
    if request.method == "POST":
        document_unhide(access=access, document=document)
        messages.success(request, _("Le document est de nouveau visible par les professionnels de santé."))
        return redirect("document_detail", public_id=document.public_id)
    return render(
        request, "dossier/documents/confirm.html", {"access": access, "document": document, "action": "unhide"}
    )


@require_http_methods(["GET", "POST"])
@dossier_view
def document_delete_page(request: HttpRequest, access: CitizenAccess, public_id) -> HttpResponse:
    document = _document(access, public_id)
    if not document_deletable(document):
        if request.method == "POST":
            try:
                document_delete(access=access, document=document)
            except DocumentNotDeletable as refusal:
                messages.error(request, str(refusal))
        return redirect("document_detail", public_id=document.public_id)
    if request.method == "POST":
        title = document.title
        document_delete(access=access, document=document)
        messages.success(request, _("Le document « %(title)s » a été supprimé.") % {"title": title})
        return redirect("document_list")
    return render(
        request, "dossier/documents/confirm.html", {"access": access, "document": document, "action": "delete"}
    )
