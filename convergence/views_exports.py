"""Convergence: the product's extract (JSON, PDF, CSV), the templates of the offline questionnaires (download and
upload back) and the administrators' statistics page.

Every product is looked up through ``product_for_actor``: another organisation's product answers 404, exactly like
one that does not exist. Generated files go out as attachments, ``nosniff``, never cached, never framed.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from convergence.exports import (
    export_csv,
    export_data,
    export_filename,
    export_json,
    export_pdf,
    platform_label,
)
from convergence.models import Product, Questionnaire, QuestionnaireMode
from convergence.selectors import convergence_statistics, product_for_actor, referential_questionnaires
from convergence.templates_xlsx import (
    TEMPLATE_MAX_BYTES,
    XLSX_CONTENT_TYPE,
    TemplateRefused,
    template_filename,
    template_import,
    template_workbook,
)
from dossier.uploads import content_disposition
from mes.acces.policy import role_required
from mes.comptes.models import Role
from mes.uploads import upload_limit_install

CSP_ATTACHMENT = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"
PLATFORM_PARAM = "plateforme"


def _product(request: HttpRequest, product_id) -> Product:
    try:
        return product_for_actor(request.user, product_id)
    except Product.DoesNotExist:
        raise Http404(_("Ce produit est introuvable.")) from None


def _attachment(content: bytes | str, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition("attachment", filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = CSP_ATTACHMENT
    response["X-Frame-Options"] = "DENY"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Extract ------------------------------------------------------------------------------------------------------


@require_GET
@role_required(Role.EDITOR)
def export_json_download(request: HttpRequest, product_id) -> HttpResponse:
    product = _product(request, product_id)
    return _attachment(
        export_json(export_data(product)),
        content_type="application/json; charset=utf-8",
        filename=export_filename(product, "json"),
    )


@require_GET
@role_required(Role.EDITOR)
def export_pdf_download(request: HttpRequest, product_id) -> HttpResponse:
    product = _product(request, product_id)
    return _attachment(
        export_pdf(export_data(product)), content_type="application/pdf", filename=export_filename(product, "pdf")
    )


@require_GET
@role_required(Role.EDITOR)
def export_csv_download(request: HttpRequest, product_id) -> HttpResponse:
    product = _product(request, product_id)
    return _attachment(
        export_csv(export_data(product)).encode("utf-8"),
        content_type="text/csv; charset=utf-8",
        filename=export_filename(product, "csv"),
    )


# --- Templates of the offline questionnaires ----------------------------------------------------------------------


def _questionnaire(product: Product, code: str) -> Questionnaire:
    """The ``modele`` questionnaire ``code`` of the product's referential version, if its procedure requires it."""
    for questionnaire in referential_questionnaires(product.referential):
        if (
            questionnaire.code == code
            and questionnaire.mode == QuestionnaireMode.TEMPLATE
            and questionnaire.requires(product.procedure)
        ):
            return questionnaire
    raise Http404(_("Ce questionnaire n’existe pas sous forme de modèle pour ce produit."))


def _platform(request: HttpRequest, product: Product) -> str:
    platform = request.GET.get(PLATFORM_PARAM, "")
    if product.answers_per_platform:
        return platform if platform in product.platforms else product.platforms[0]
    return ""


@require_GET
@role_required(Role.EDITOR)
def template_download(request: HttpRequest, product_id, questionnaire: str) -> HttpResponse:
    product = _product(request, product_id)
    found = _questionnaire(product, questionnaire)
    platform = _platform(request, product)
    return _attachment(
        template_workbook(product, found, platform),
        content_type=XLSX_CONTENT_TYPE,
        filename=template_filename(product, found, platform),
    )


def _render_upload(
    request: HttpRequest,
    product: Product,
    questionnaire: Questionnaire,
    *,
    errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    download_url = reverse(
        "convergence_template_download", kwargs={"product_id": product.public_id, "questionnaire": questionnaire.code}
    )
    downloads = [
        {
            "label": platform_label(platform),
            "url": f"{download_url}?{PLATFORM_PARAM}={platform}" if platform else download_url,
        }
        for platform in product.answer_platforms
    ]
    return render(
        request,
        "convergence/exports/template_upload.html",
        {
            "product": product,
            "questionnaire": questionnaire,
            "downloads": downloads,
            "errors": errors or [],
            "max_mb": TEMPLATE_MAX_BYTES // (1024 * 1024),
        },
        status=status,
    )


@csrf_exempt  # the token is checked by _template_upload, once the size limit watches the body
@never_cache
@require_http_methods(["GET", "POST"])
@role_required(Role.EDITOR)
def template_upload(request: HttpRequest, product_id, questionnaire: str) -> HttpResponse:
    product = _product(request, product_id)
    found = _questionnaire(product, questionnaire)
    if request.method == "POST":
        limiter = upload_limit_install(request, max_bytes=TEMPLATE_MAX_BYTES)
        if limiter is None:
            return _render_upload(request, product, found, errors=[_too_large()], status=413)
        request.template_upload_limit = limiter
    return _template_upload(request, product, found)


def _too_large() -> str:
    return _("Le fichier dépasse la taille maximale autorisée de %(limit)s Mo.") % {
        "limit": TEMPLATE_MAX_BYTES // (1024 * 1024)
    }


@csrf_protect
def _template_upload(request: HttpRequest, product: Product, questionnaire: Questionnaire) -> HttpResponse:
    if request.method != "POST":
        return _render_upload(request, product, questionnaire)
    upload = request.FILES.get("fichier")  # reads the body, watched by the size limit
    if request.template_upload_limit.exceeded:
        return _render_upload(request, product, questionnaire, errors=[_too_large()], status=413)
    if upload is None:
        return _render_upload(
            request, product, questionnaire, errors=[_("Choisissez le classeur rempli à déposer.")], status=400
        )
    try:
        result = template_import(actor=request.user, product=product, questionnaire=questionnaire, upload=upload)
    except TemplateRefused as refusal:
        return _render_upload(request, product, questionnaire, errors=[refusal.message], status=400)
    if not result.ok:
        return _render_upload(request, product, questionnaire, errors=result.errors, status=400)
    messages.success(
        request,
        _("Le modèle « %(title)s » a été déposé : %(saved)s réponse(s) enregistrée(s), %(unchanged)s inchangée(s).")
        % {"title": questionnaire.title, "saved": result.saved, "unchanged": result.unchanged},
    )
    return redirect("convergence_template_upload", product_id=product.public_id, questionnaire=questionnaire.code)


# --- Statistics for administrators --------------------------------------------------------------------------------


@require_GET
@never_cache
@role_required(Role.ADMIN)
def statistics(request: HttpRequest) -> HttpResponse:
    figures = convergence_statistics()
    return render(
        request,
        "convergence/statistics.html",
        {"total": figures.total, "rows": list(figures.by_procedure.values())},
    )
