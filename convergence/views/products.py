"""``/editeurs/convergence/``: the organisations' products, declaring and editing one, its page (scores,
readiness, blocking gaps, exports) and the duplication of answers between platforms."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from convergence.forms import (
    ANSWERING_COMMON,
    ANSWERING_PER_PLATFORM,
    PROCEDURE_HELP,
    DuplicationForm,
    ProductForm,
)
from convergence.models import Product
from convergence.scoring import product_readiness
from convergence.selectors import (
    products_for_actor,
    products_readiness,
    referential_current,
    referential_questionnaires,
)
from convergence.services import DuplicationConflict, answers_duplicate, product_declare, product_update
from convergence.views.common import (
    editor_view,
    platform_label,
    product_progress,
    section_url,
    with_product,
)
from mes.comptes.selectors import organisations_of

# The product's fields as the services name them, and the form's field that shows each one's error.
SERVICE_FIELDS = {"answers_per_platform": "answering"}


@require_GET
@editor_view
def product_list(request: HttpRequest) -> HttpResponse:
    products = list(products_for_actor(request.user))
    readiness = products_readiness(products)
    rows = [
        {
            "product": product,
            "readiness": readiness[product.pk],
            "progress": product_progress(readiness[product.pk]),
            "gap_count": len(readiness[product.pk].gaps),
            "platform_labels": [platform_label(platform) for platform in product.platforms],
        }
        for product in products
    ]
    organisations = list(organisations_of(request.user))
    return render(
        request,
        "convergence/product_list.html",
        {"rows": rows, "organisations": organisations, "several": len(organisations) > 1},
    )


def _errors_to_form(form: ProductForm, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            name = SERVICE_FIELDS.get(field, field)
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _form_page(request, template: str, form: ProductForm, *, status: int = 200, **context) -> HttpResponse:
    return render(request, template, {"form": form, "procedure_help": PROCEDURE_HELP, **context}, status=status)


@require_http_methods(["GET", "POST"])
@editor_view
def product_new(request: HttpRequest) -> HttpResponse:
    organisations = list(organisations_of(request.user))
    referential = referential_current()
    context = {"organisations": organisations, "referential": referential}
    if request.method != "POST":
        return _form_page(request, "convergence/product_form.html", ProductForm(organisations=organisations), **context)
    form = ProductForm(request.POST, organisations=organisations)
    if not organisations or referential is None:
        return _form_page(request, "convergence/product_form.html", form, status=400, **context)
    if not form.is_valid():
        return _form_page(request, "convergence/product_form.html", form, status=400, **context)
    data = form.cleaned_data
    try:
        product = product_declare(
            actor=request.user,
            organisation=form.organisation_chosen(),
            name=data["name"],
            version=data["version"],
            product_type=data["product_type"],
            platforms=data["platforms"],
            procedure=data["procedure"],
            answers_per_platform=form.answers_per_platform,
        )
    except PermissionDenied:
        raise Http404 from None
    except ValidationError as error:
        _errors_to_form(form, error)
        return _form_page(request, "convergence/product_form.html", form, status=400, **context)
    messages.success(
        request,
        _("Le produit « %(name)s » est déclaré sous la référence %(reference)s.")
        % {"name": product.name, "reference": product.reference},
    )
    return redirect("convergence_product", product_id=product.public_id)


@require_http_methods(["GET", "POST"])
@editor_view
@with_product
def product_edit(request: HttpRequest, product: Product) -> HttpResponse:
    context = {"product": product}
    if request.method != "POST":
        initial = {
            "name": product.name,
            "version": product.version,
            "product_type": product.product_type,
            "platforms": product.platforms,
            "procedure": product.procedure,
            "answering": ANSWERING_PER_PLATFORM if product.answers_per_platform else ANSWERING_COMMON,
        }
        form = ProductForm(initial=initial, editing=True, organisations=[product.organisation])
        return _form_page(request, "convergence/product_form.html", form, **context)
    form = ProductForm(request.POST, editing=True, organisations=[product.organisation])
    if not form.is_valid():
        return _form_page(request, "convergence/product_form.html", form, status=400, **context)
    data = form.cleaned_data
    try:
        product_update(
            actor=request.user,
            product=product,
            name=data["name"],
            version=data["version"],
            product_type=data["product_type"],
            platforms=data["platforms"],
            procedure=data["procedure"],
            answers_per_platform=form.answers_per_platform,
        )
    except ValidationError as error:
        _errors_to_form(form, error)
        return _form_page(request, "convergence/product_form.html", form, status=400, **context)
    messages.success(request, _("Le produit est modifié."))
    return redirect("convergence_product", product_id=product.public_id)


def _questionnaire_rows(product: Product, questionnaires, readiness) -> list[dict]:
    """One row per questionnaire the procedure requires (and per platform when answering per platform)."""
    by_key = {(score.questionnaire.pk, score.platform): score for score in readiness.scores}
    rows = []
    for questionnaire in questionnaires:
        if not questionnaire.requires(product.procedure):
            continue
        sections = list(questionnaire.sections.all())
        for platform in product.answer_platforms:
            score = by_key.get((questionnaire.pk, platform))
            rows.append(
                {
                    "questionnaire": questionnaire,
                    "platform": platform,
                    "platform_label": platform_label(platform),
                    "score": score,
                    "progress": int(score.progress) if score else 0,
                    "url": section_url(product, questionnaire.code, sections[0].code, platform) if sections else "",
                }
            )
    return rows


def _gap_rows(product: Product, questionnaires, readiness) -> list[dict]:
    sections = {
        section.pk: (questionnaire, section)
        for questionnaire in questionnaires
        for section in questionnaire.sections.all()
    }
    rows = []
    for gap in readiness.gaps:
        questionnaire, section = sections[gap.criterion.section_id]
        url = section_url(product, questionnaire.code, section.code, gap.platform)
        rows.append({"gap": gap, "questionnaire": questionnaire, "url": f"{url}#critere-{gap.criterion.criterion_id}"})
    return rows


def product_page_context(product: Product) -> dict:
    questionnaires = referential_questionnaires(product.referential)
    readiness = product_readiness(product)
    platforms = [(platform, platform_label(platform)) for platform in product.platforms]
    return {
        "product": product,
        "readiness": readiness,
        "progress": product_progress(readiness),
        "questionnaire_rows": _questionnaire_rows(product, questionnaires, readiness),
        "gap_rows": _gap_rows(product, questionnaires, readiness),
        "template_questionnaires": [
            questionnaire
            for questionnaire in questionnaires
            if questionnaire.requires(product.procedure) and questionnaire.mode == "modele"
        ],
        "platform_choices": platforms,
    }


@require_GET
@editor_view
@with_product
def product_detail(request: HttpRequest, product: Product) -> HttpResponse:
    context = product_page_context(product)
    if product.answers_per_platform:
        context["duplication_form"] = DuplicationForm(
            platforms=product.platforms, initial={"source": product.platforms[0], "target": product.platforms[1]}
        )
    return render(request, "convergence/product_detail.html", context)


@require_http_methods(["GET", "POST"])
@editor_view
@with_product
def product_duplicate(request: HttpRequest, product: Product) -> HttpResponse:
    if not product.answers_per_platform:
        raise Http404(_("Ce produit répond une seule fois pour toutes ses plateformes."))
    if request.method != "POST":
        form = DuplicationForm(platforms=product.platforms, initial=request.GET.dict() or None)
        return render(request, "convergence/duplicate.html", {"product": product, "form": form})
    form = DuplicationForm(request.POST, platforms=product.platforms)
    if not form.is_valid():
        return render(request, "convergence/duplicate.html", {"product": product, "form": form}, status=400)
    data = form.cleaned_data
    try:
        copied = answers_duplicate(
            actor=request.user,
            product=product,
            source_platform=data["source"],
            target_platform=data["target"],
            overwrite=data["overwrite"],
        )
    except DuplicationConflict as conflict:
        return render(
            request,
            "convergence/duplicate.html",
            {"product": product, "form": form, "conflict": conflict},
            status=409,
        )
    except ValidationError as error:
        form.add_error(None, error)
        return render(request, "convergence/duplicate.html", {"product": product, "form": form}, status=400)
    messages.success(
        request,
        _("%(count)s réponse(s) de %(source)s copiée(s) vers %(target)s.")
        % {"count": copied, "source": platform_label(data["source"]), "target": platform_label(data["target"])},
    )
    return redirect("convergence_product", product_id=product.public_id)
