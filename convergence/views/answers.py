"""Answering a questionnaire: one page per section, the answers' JSON endpoint used by the autosave script, the
evidence files (upload, removal, download).

Without JavaScript, each criterion is a form posted to the section page with the revision it was read at; the
server answers with the page and a message, or with the conflict when another member saved the answer in between
(« voici la réponse actuelle… »), showing both values. With JavaScript, ``static/convergence/autosave.js`` posts
the same fields to ``answer_json`` on every change and shows the result in a live region.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from convergence.forms import EvidenceForm
from convergence.models import Answer, Criterion, EvidenceFile, Product, QuestionnaireMode
from convergence.scoring import criterion_gap, product_readiness
from convergence.selectors import product_answers, referential_questionnaires
from convergence.services import AnswerConflict, answer_save, evidence_add, evidence_remove
from convergence.views.common import (
    PLATFORM_PARAM,
    editor_view,
    expected_label,
    platform_label,
    product_progress,
    questionnaire_progress,
    section_url,
    value_input,
    value_label,
    when_label,
    with_product,
)
from dossier.uploads import DocumentRefused, content_disposition, download_filename, refused_too_large
from dossier.views.documents import CSP_ATTACHMENT
from mes.uploads import upload_limit_install

ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"


def _platform(request: HttpRequest, product: Product, *, read_body: bool = True) -> str:
    """The platform answered on this page: "" for a product answering in common, one of its platforms otherwise
    (the first by default); an unknown platform is a 404. ``read_body=False`` keeps to the query string (an upload
    refused before its body is read)."""
    if not product.answers_per_platform:
        return ""
    platform = (
        request.GET.get(PLATFORM_PARAM)
        or (request.POST.get(PLATFORM_PARAM) if read_body else None)
        or product.platforms[0]
    )
    if platform not in product.platforms:
        raise Http404(_("Cette plateforme n’est pas celle du produit."))
    return platform


def _locate(product: Product, questionnaire_code: str, section_code: str):
    """The questionnaires of the product's version, the questionnaire and section asked for (404 when unknown or
    not required by the product's procedure)."""
    questionnaires = [
        questionnaire
        for questionnaire in referential_questionnaires(product.referential)
        if questionnaire.requires(product.procedure)
    ]
    for questionnaire in questionnaires:
        if questionnaire.code == questionnaire_code:
            for section in questionnaire.sections.all():
                if section.code == section_code:
                    return questionnaires, questionnaire, section
    raise Http404(_("Cette section de questionnaire est introuvable."))


def _conflict_message(current: Answer) -> str:
    author = current.updated_by.display_name if current.updated_by else _("un autre membre")
    return _(
        "Cette réponse a été modifiée par %(author)s %(when)s pendant que vous la modifiiez : voici la réponse "
        "actuelle. Vérifiez-la ; vous pouvez la conserver ou appliquer de nouveau la vôtre."
    ) % {"author": author, "when": when_label(current.updated_at)}


def _row(criterion: Criterion, answer: Answer | None, evidence: list) -> dict:
    value = answer.value if answer is not None else None
    return {
        "criterion": criterion,
        "anchor": f"critere-{criterion.criterion_id}",
        "answer": answer,
        "value": value_input(criterion, value),
        "value_label": value_label(criterion, value),
        "comment": answer.comment if answer is not None else "",
        "revision": answer.revision if answer is not None else 0,
        "expected_label": expected_label(criterion),
        "evidence": evidence,
        "gap": criterion_gap(criterion, answer, bool(evidence)),
        "choices": criterion.choices,
        "yes_no": [("oui", _("Oui")), ("non", _("Non"))]
        + ([("na", _("Non applicable"))] if criterion.not_applicable_allowed else []),
        "error": "",
        "evidence_form": EvidenceForm(prefix=criterion.criterion_id) if criterion.evidence != "aucune" else None,
        "conflict": None,
    }


def section_context(
    request: HttpRequest, product: Product, questionnaire_code: str, section_code: str, *, read_body: bool = True
) -> dict:
    platform = _platform(request, product, read_body=read_body)
    questionnaires, questionnaire, section = _locate(product, questionnaire_code, section_code)
    answers = product_answers(product, platform)
    readiness = product_readiness(product)
    rows = []
    for criterion in section.criteria.all():
        answer = answers.get(criterion.pk)
        evidence = [link.evidence for link in answer.evidence_links.all()] if answer is not None else []
        rows.append(_row(criterion, answer, evidence))
    sequence = [(q, s) for q in questionnaires for s in q.sections.all()]

    def link(pair):
        return pair and {"title": pair[1].title, "url": section_url(product, pair[0].code, pair[1].code, platform)}

    index = next(i for i, (q, s) in enumerate(sequence) if s.pk == section.pk)
    previous = sequence[index - 1] if index > 0 else None
    following = sequence[index + 1] if index + 1 < len(sequence) else None
    return {
        "product": product,
        "questionnaire": questionnaire,
        "section": section,
        "sections": [
            {
                "section": s,
                "url": section_url(product, questionnaire.code, s.code, platform),
                "current": s.pk == section.pk,
            }
            for s in questionnaire.sections.all()
        ],
        "platform": platform,
        "platform_label": platform_label(platform),
        "platforms": [
            {
                "value": value,
                "label": platform_label(value),
                "url": section_url(product, questionnaire.code, section.code, value),
                "current": value == platform,
            }
            for value in (product.platforms if product.answers_per_platform else [])
        ],
        "rows": rows,
        "previous": link(previous),
        "next": link(following),
        "questionnaire_progress": questionnaire_progress(readiness, questionnaire.pk, platform),
        "product_progress": product_progress(readiness),
        "is_template": questionnaire.mode == QuestionnaireMode.TEMPLATE,
        "accept": ACCEPT,
        "max_bytes": settings.DOSSIER_DOCUMENT_MAX_BYTES,
    }


def _render_section(request, context: dict, *, status: int = 200) -> HttpResponse:
    return render(request, "convergence/section.html", context, status=status)


def _row_of(context: dict, criterion_id: str) -> dict:
    for row in context["rows"]:
        if row["criterion"].criterion_id == criterion_id:
            return row
    raise Http404(_("Ce critère n’appartient pas à cette section."))


def _back(context: dict, anchor: str) -> HttpResponse:
    url = section_url(context["product"], context["questionnaire"].code, context["section"].code, context["platform"])
    return redirect(f"{url}#{anchor}")


def _revision(raw) -> int:
    try:
        revision = int(raw)
    except (TypeError, ValueError):
        raise ValidationError(_("La page est incomplète : rechargez-la puis enregistrez de nouveau.")) from None
    if revision < 0:
        raise ValidationError(_("La page est incomplète : rechargez-la puis enregistrez de nouveau."))
    return revision


@require_http_methods(["GET", "POST"])
@editor_view
@with_product
def section_page(request: HttpRequest, product: Product, questionnaire: str, section: str) -> HttpResponse:
    context = section_context(request, product, questionnaire, section)
    if request.method != "POST":
        return _render_section(request, context)
    row = _row_of(context, request.POST.get("criterion", ""))
    criterion = row["criterion"]
    if request.POST.get("action") == "retirer":
        return _evidence_remove(request, context, row)
    value = request.POST.get("value", "")
    comment = request.POST.get("comment", "")
    try:
        answer_save(
            actor=request.user,
            product=product,
            criterion=criterion,
            platform=context["platform"],
            value=value,
            comment=comment,
            expected_revision=_revision(request.POST.get("revision")),
        )
    except AnswerConflict as conflict:
        current = conflict.current
        row["conflict"] = {
            "message": _conflict_message(current),
            "mine": value_label(criterion, value.strip() or None),
            "mine_value": value,
            "mine_comment": comment,
            "current": value_label(criterion, current.value),
            "current_comment": current.comment,
            "revision": current.revision,
        }
        row.update(value=value_input(criterion, current.value), comment=current.comment, revision=current.revision)
        return _render_section(request, context, status=409)
    except ValidationError as error:
        row.update(error=" ".join(error.messages), value=value, comment=comment)
        return _render_section(request, context, status=400)
    messages.success(request, _("Réponse au critère %(id)s enregistrée.") % {"id": criterion.criterion_id})
    return _back(context, row["anchor"])


def _evidence_remove(request: HttpRequest, context: dict, row: dict) -> HttpResponse:
    answer = row["answer"]
    evidence = next((item for item in row["evidence"] if str(item.public_id) == request.POST.get("evidence")), None)
    if answer is None or evidence is None:
        raise Http404(_("Ce fichier de preuve est introuvable."))
    evidence_remove(actor=request.user, product=context["product"], answer=answer, evidence=evidence)
    messages.success(
        request,
        _("Le fichier « %(name)s » est retiré du critère %(id)s.")
        % {"name": evidence.original_name, "id": row["criterion"].criterion_id},
    )
    return _back(context, row["anchor"])


# --- The autosave endpoint ------------------------------------------------------------------------------------


@require_POST
@editor_view
@with_product
def answer_json(request: HttpRequest, product: Product, criterion_id: str) -> JsonResponse:
    """Save one answer from the autosave script: 200 with the new revision and progress, 409 with the current
    answer when another member saved it first (its value as the form field shows it, its comment and revision, so
    that the script can show it in place of the editor's input; its author and when), 400 with the reason in
    French."""
    platform = _platform(request, product)
    criterion = (
        Criterion.objects.select_related("questionnaire")
        .filter(referential_id=product.referential_id, criterion_id=criterion_id)
        .first()
    )
    if criterion is None or not criterion.questionnaire.requires(product.procedure):
        raise Http404(_("Ce critère est introuvable."))
    value = request.POST.get("value", "")
    try:
        answer = answer_save(
            actor=request.user,
            product=product,
            criterion=criterion,
            platform=platform,
            value=value,
            comment=request.POST.get("comment", ""),
            expected_revision=_revision(request.POST.get("revision")),
        )
    except AnswerConflict as conflict:
        current = conflict.current
        return JsonResponse(
            {
                "status": "conflict",
                "message": _conflict_message(current),
                "author": current.updated_by.display_name if current.updated_by else None,
                "when": when_label(current.updated_at),
                "current": {
                    "value": value_input(criterion, current.value),
                    "label": value_label(criterion, current.value),
                    "comment": current.comment,
                    "revision": current.revision,
                },
            },
            status=409,
        )
    except ValidationError as error:
        return JsonResponse({"status": "error", "message": " ".join(error.messages)}, status=400)
    readiness = product_readiness(product)
    saved_at = timezone.localtime(answer.updated_at).strftime("%H:%M")
    return JsonResponse(
        {
            "status": "saved",
            "revision": answer.revision,
            "value": value_input(criterion, answer.value),
            "label": value_label(criterion, answer.value),
            "saved_at": saved_at,
            "message": _("Enregistré à %(time)s") % {"time": saved_at},
            "questionnaire_progress": questionnaire_progress(readiness, criterion.questionnaire_id, platform).as_json(),
            "product_progress": product_progress(readiness).as_json(),
        }
    )


# --- Evidence files -------------------------------------------------------------------------------------------


@csrf_exempt  # the token is checked by _evidence_add, once the size limit watches the body
@require_POST
@editor_view
@with_product
def evidence_upload(request: HttpRequest, product: Product, questionnaire: str, section: str) -> HttpResponse:
    limiter = upload_limit_install(request, max_bytes=settings.DOSSIER_DOCUMENT_MAX_BYTES)
    if limiter is None:
        # Refused from the announced size, before a byte of the body is read (nor the criterion it names).
        context = section_context(request, product, questionnaire, section, read_body=False)
        messages.error(request, refused_too_large(settings.DOSSIER_DOCUMENT_MAX_BYTES).messages[0])
        return _render_section(request, context, status=413)
    request.convergence_upload_limit = limiter
    return _evidence_add(request, product, questionnaire, section)


@csrf_protect
def _evidence_add(request: HttpRequest, product: Product, questionnaire: str, section: str) -> HttpResponse:
    limiter = request.convergence_upload_limit
    too_large = refused_too_large(settings.DOSSIER_DOCUMENT_MAX_BYTES).messages[0]
    context = section_context(request, product, questionnaire, section)
    row = _row_of(context, request.POST.get("criterion", ""))
    if row["evidence_form"] is None:
        raise Http404(_("Ce critère ne demande pas de fichier de preuve."))
    form = EvidenceForm(request.POST, request.FILES, prefix=row["criterion"].criterion_id)
    row["evidence_form"] = form
    if limiter.exceeded:
        form.errors.clear()
        form.add_error("file", too_large)
        return _render_section(request, context, status=413)
    if not form.is_valid():
        return _render_section(request, context, status=400)
    try:
        link = evidence_add(
            actor=request.user,
            product=product,
            upload=form.cleaned_data["file"],
            answer=row["answer"],
            criterion=row["criterion"],
            platform=context["platform"],
        )
    except DocumentRefused as refusal:
        form.add_error("file", refusal)
        return _render_section(request, context, status=413 if refusal.code == "too_large" else 400)
    except ValidationError as error:
        form.add_error("file", error)
        return _render_section(request, context, status=400)
    messages.success(
        request,
        _("Le fichier « %(name)s » est ajouté au critère %(id)s.")
        % {"name": link.evidence.original_name, "id": row["criterion"].criterion_id},
    )
    return _back(context, row["anchor"])


@require_GET
@editor_view
@with_product
def evidence_download(request: HttpRequest, product: Product, evidence_id) -> FileResponse:
    """An evidence file, for the members of the product's organisation only, always as a download."""
    evidence = EvidenceFile.objects.filter(product=product, public_id=evidence_id).first()
    if evidence is None:
        raise Http404(_("Ce fichier de preuve est introuvable."))
    response = FileResponse(evidence.file.open("rb"), content_type=evidence.content_type)
    response["Content-Disposition"] = content_disposition(
        "attachment", download_filename(evidence.original_name, evidence.format)
    )
    response["Content-Length"] = str(evidence.size_bytes)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = CSP_ATTACHMENT
    response["Cache-Control"] = "private, no-store"
    return response
