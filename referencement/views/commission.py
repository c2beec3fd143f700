"""The commission's pages of référencement (``/commission/``): the queue, the dossier under review with its files,
the administrators' instruction steps and decision, the members' conflicts, comments, votes and opinion, and the
statistics.

Members of the commission and administrators read every submitted dossier (``referencement.access``); only members
vote and adopt the opinion, only administrators instruct and decide. Another role gets a 403 on every page, and a
dossier the reviewer may not see (a draft, a wrong identifier) is a 404. The views are thin: the forms check the
input, the services the rules, and a refusal comes back next to the field at fault.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalogue.images import STORED_CONTENT_TYPE
from convergence.exports import export_pdf
from convergence.models import EvidenceFile
from dossier.uploads import content_disposition, download_filename
from mes.acces.policy import role_required
from mes.comptes.models import Role
from mes.comptes.selectors import commission_member_of
from referencement.access import dossier_for_reviewer
from referencement.forms_commission import (
    CommentForm,
    CompletionRequestForm,
    ConflictForm,
    DecisionForm,
    OpinionForm,
    QueueFilterForm,
    StepCommentForm,
    VoteForm,
)
from referencement.models import Dossier, OpinionResult, State
from referencement.selectors_commission import (
    commission_queue,
    commission_statistics,
    days_label,
    dossier_image_name,
    dossier_review,
    pipeline_sentence,
    queue_state_choices,
    reviewer_evidence,
)
from referencement.services.commission import (
    comment_add,
    conflict_declare,
    opinion_adopt,
    quorum,
    vote_cast,
)
from referencement.services.instruction import (
    decision_take,
    dossier_admissible,
    dossier_completion_request,
    dossier_refer_to_commission,
)
from referencement.services.sandbox import technical_tests_start

REVIEWERS = (Role.COMMISSION, Role.ADMIN)
CSP_ATTACHMENT = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"
# An image answer is nothing but a picture: no script, no style, no frame, even if opened on its own.
IMAGE_CSP = "default-src 'none'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
# Images are named by their SHA-256: a URL always gives the same bytes.
IMAGE_CACHE = "private, max-age=604800, immutable"


def _dossier(request: HttpRequest, dossier_id) -> Dossier:
    try:
        return dossier_for_reviewer(request.user, dossier_id)
    except Dossier.DoesNotExist:
        raise Http404(_("Ce dossier est introuvable.")) from None


def _dossier_url(dossier: Dossier, anchor: str = "") -> str:
    url = reverse("commission_dossier", args=[dossier.public_id])
    return f"{url}#{anchor}" if anchor else url


def _refusal(error: ValidationError) -> str:
    return " ".join(error.messages)


def _form_refused(form, error: ValidationError) -> None:
    """Put a service's refusal next to the form's fields (or above the form when no field is at fault)."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


# --- Queue and statistics -----------------------------------------------------------------------------------------


@require_GET
@never_cache
@role_required(*REVIEWERS)
def commission_home(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET)
    queue = commission_queue(request.user, form.filters(), page_number=request.GET.get("page"))
    form.fields["etat"].choices = queue_state_choices(queue.counts)
    return render(
        request,
        "commission/home.html",
        {
            "form": form,
            "queue": queue,
            "page": queue.page,
            "member": commission_member_of(request.user),
            "filtered": any(request.GET.get(name) for name in ("etat", "procedure", "categorie", "q")),
        },
    )


@require_GET
@never_cache
@role_required(*REVIEWERS)
def statistics(request: HttpRequest) -> HttpResponse:
    statistics = commission_statistics()
    return render(
        request,
        "referencement/commission/statistics.html",
        {
            "statistics": statistics,
            "headline": pipeline_sentence(statistics),
            "durations": [
                {"row": row, "average": days_label(row.average_days), "median": days_label(row.median_days)}
                for row in statistics.durations
            ],
        },
    )


# --- The dossier --------------------------------------------------------------------------------------------------


def _render_dossier(request: HttpRequest, dossier: Dossier, *, status: int = 200, **forms) -> HttpResponse:
    review = dossier_review(request.user, dossier, quorum=quorum())
    initial_vote = {"choice": review.my_vote.choice, "reason": review.my_vote.reason} if review.my_vote else None
    context = {
        "dossier": dossier,
        "review": review,
        "events": review.events,
        "checklist": review.checklist,
        "comment_form": forms.get("comment_form") or CommentForm(),
        "conflict_form": forms.get("conflict_form") or ConflictForm(),
        "vote_form": forms.get("vote_form") or VoteForm(initial=initial_vote),
        "step_form": StepCommentForm(),
        "is_admin": request.user.role == Role.ADMIN,
    }
    return render(request, "referencement/commission/dossier.html", context, status=status)


@require_GET
@never_cache
@role_required(*REVIEWERS)
def commission_dossier(request: HttpRequest, dossier_id) -> HttpResponse:
    return _render_dossier(request, _dossier(request, dossier_id))


@require_GET
@role_required(*REVIEWERS)
def commission_dossier_image(request: HttpRequest, dossier_id, image: str) -> FileResponse:
    """The dossier's logo or one of its screenshots (PNG re-encoded when the editor added it)."""
    name = dossier_image_name(_dossier(request, dossier_id), image)
    if not name:
        raise Http404(_("Cette image n’existe pas."))
    try:
        stream = default_storage.open(name, "rb")
    except OSError:
        raise Http404(_("Cette image est introuvable.")) from None
    response = FileResponse(stream, content_type=STORED_CONTENT_TYPE)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = IMAGE_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = IMAGE_CACHE
    return response


@require_GET
@role_required(*REVIEWERS)
def commission_evidence(request: HttpRequest, dossier_id, evidence_id) -> FileResponse:
    """An evidence file named by the dossier's frozen Convergence extract, always as a download."""
    dossier = _dossier(request, dossier_id)
    try:
        evidence = reviewer_evidence(dossier, evidence_id)
    except EvidenceFile.DoesNotExist:
        raise Http404(_("Ce fichier de preuve est introuvable.")) from None
    try:
        stream = evidence.file.open("rb")
    except OSError:
        raise Http404(_("Ce fichier de preuve est introuvable.")) from None
    response = FileResponse(stream, content_type=evidence.content_type)
    response["Content-Disposition"] = content_disposition(
        "attachment", download_filename(evidence.original_name, evidence.format)
    )
    response["Content-Length"] = str(evidence.size_bytes)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = CSP_ATTACHMENT
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@role_required(*REVIEWERS)
def commission_extract_pdf(request: HttpRequest, dossier_id) -> HttpResponse:
    """The PDF of the Convergence extract frozen at submission (not of the product's current answers)."""
    dossier = _dossier(request, dossier_id)
    if not isinstance(dossier.extract, dict):
        raise Http404(_("Ce dossier n’a pas d’extrait Convergence."))
    response = HttpResponse(export_pdf(dossier.extract), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition("attachment", f"extrait-convergence-{dossier.reference}.pdf")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = CSP_ATTACHMENT
    response["X-Frame-Options"] = "DENY"
    response["Cache-Control"] = "private, no-store"
    return response


# --- The commission's private part --------------------------------------------------------------------------------


@require_POST
@role_required(*REVIEWERS)
def commission_comment(request: HttpRequest, dossier_id) -> HttpResponse:
    dossier = _dossier(request, dossier_id)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment_add(actor=request.user, dossier=dossier, body=form.cleaned_data["body"])
        except ValidationError as error:
            _form_refused(form, error)
        else:
            messages.success(request, _("Votre commentaire est ajouté."))
            return redirect(_dossier_url(dossier, "commentaires"))
    return _render_dossier(request, dossier, status=400, comment_form=form)


@require_POST
@role_required(Role.COMMISSION)
def commission_conflict(request: HttpRequest, dossier_id) -> HttpResponse:
    dossier = _dossier(request, dossier_id)
    form = ConflictForm(request.POST)
    if form.is_valid():
        try:
            conflict_declare(actor=request.user, dossier=dossier, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            _form_refused(form, error)
        else:
            messages.success(
                request, _("Votre conflit d’intérêts est déclaré : vous ne prendrez pas part à l’avis sur ce dossier.")
            )
            return redirect(_dossier_url(dossier, "conflits"))
    return _render_dossier(request, dossier, status=400, conflict_form=form)


@require_POST
@role_required(Role.COMMISSION)
def commission_vote(request: HttpRequest, dossier_id) -> HttpResponse:
    dossier = _dossier(request, dossier_id)
    form = VoteForm(request.POST)
    if form.is_valid():
        try:
            vote = vote_cast(
                actor=request.user,
                dossier=dossier,
                choice=form.cleaned_data["choice"],
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            _form_refused(form, error)
        else:
            messages.success(
                request, _("Votre vote « %(choice)s » est enregistré.") % {"choice": vote.get_choice_display()}
            )
            return redirect(_dossier_url(dossier, "votes"))
    return _render_dossier(request, dossier, status=400, vote_form=form)


@never_cache
@require_http_methods(["GET", "POST"])
@role_required(Role.COMMISSION)
def commission_opinion(request: HttpRequest, dossier_id) -> HttpResponse:
    dossier = _dossier(request, dossier_id)
    review = dossier_review(request.user, dossier, quorum=quorum())
    if "adopt" not in review.actions:
        messages.error(request, _("Vous ne pouvez pas adopter l’avis de ce dossier."))
        return redirect(_dossier_url(dossier))
    if request.method == "POST":
        form = OpinionForm(request.POST)
        if form.is_valid():
            try:
                opinion = opinion_adopt(actor=request.user, dossier=dossier, **form.cleaned_data)
            except ValidationError as error:
                _form_refused(form, error)
            else:
                messages.success(
                    request,
                    _("L’avis « %(result)s » est adopté.") % {"result": opinion.get_result_display()},
                )
                return redirect(_dossier_url(dossier))
    else:
        form = OpinionForm(initial={"result": review.majority} if review.majority else None)
    return render(
        request,
        "referencement/commission/opinion.html",
        {"dossier": dossier, "review": review, "form": form, "adjourned": OpinionResult.ADJOURNED},
        status=400 if form.errors else 200,
    )


# --- Instruction and decision (administrators) --------------------------------------------------------------------


@require_POST
@role_required(Role.ADMIN)
def commission_admissible(request: HttpRequest, dossier_id) -> HttpResponse:
    return _step_with_comment(
        request, dossier_id, dossier_admissible, _("Le dossier est déclaré complet : son instruction est ouverte.")
    )


def _step_with_comment(request: HttpRequest, dossier_id, service, success: str) -> HttpResponse:
    """A step of the instruction posted with an optional message to the editor."""
    dossier = _dossier(request, dossier_id)
    form = StepCommentForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors["comment"])
        service(actor=request.user, dossier=dossier, comment=form.cleaned_data["comment"])
    except ValidationError as error:
        messages.error(request, _refusal(error))
    else:
        messages.success(request, success)
    return redirect(_dossier_url(dossier))


@never_cache
@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def commission_completion(request: HttpRequest, dossier_id) -> HttpResponse:
    dossier = _dossier(request, dossier_id)
    if dossier.state not in (State.SUBMITTED, State.INSTRUCTION):
        messages.error(
            request,
            _("Des compléments se demandent avant l’examen par la commission : le dossier est « %(state)s ».")
            % {"state": dossier.get_state_display()},
        )
        return redirect(_dossier_url(dossier))
    form = CompletionRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dossier_completion_request(actor=request.user, dossier=dossier, **form.cleaned_data)
        except ValidationError as error:
            _form_refused(form, error)
        else:
            messages.success(request, _("La demande de compléments est envoyée à l’éditeur."))
            return redirect(_dossier_url(dossier))
    return render(
        request,
        "referencement/commission/completion.html",
        {"dossier": dossier, "form": form, "today": timezone.localdate()},
        status=400 if form.errors else 200,
    )


@require_POST
@role_required(Role.ADMIN)
def commission_tests_start(request: HttpRequest, dossier_id) -> HttpResponse:
    dossier = _dossier(request, dossier_id)
    if not dossier.with_data_exchange:
        messages.error(request, _("Les tests d’accrochage ne concernent que les demandes avec échange de données."))
        return redirect(_dossier_url(dossier))
    try:
        technical_tests_start(actor=request.user, dossier=dossier)
    except ValidationError as error:
        messages.error(request, _refusal(error))
    else:
        messages.success(request, _("Les tests d’accrochage sont ouverts : l’éditeur reçoit ses accès au bac à sable."))
    return redirect(_dossier_url(dossier))


@require_POST
@role_required(Role.ADMIN)
def commission_refer(request: HttpRequest, dossier_id) -> HttpResponse:
    return _step_with_comment(
        request, dossier_id, dossier_refer_to_commission, _("Le dossier est transmis à la commission.")
    )


@never_cache
@require_http_methods(["GET", "POST"])
@role_required(Role.ADMIN)
def commission_decision(request: HttpRequest, dossier_id) -> HttpResponse:
    dossier = _dossier(request, dossier_id)
    if dossier.state != State.OPINION:
        messages.error(
            request,
            _("La décision se prend après l’avis de la commission (le dossier est « %(state)s »).")
            % {"state": dossier.get_state_display()},
        )
        return redirect(_dossier_url(dossier))
    requested = list(dossier.requested_exchanges.order_by("id"))
    codes = [item.exchange for item in requested] if dossier.with_data_exchange else []
    form = DecisionForm(request.POST or None, requested=codes)
    if request.method == "POST" and form.is_valid():
        try:
            decision = decision_take(
                actor=request.user,
                dossier=dossier,
                result=form.cleaned_data["result"],
                granted_exchanges=form.cleaned_data.get("granted_exchanges", []),
                reasons=form.cleaned_data["reasons"],
            )
        except ValidationError as error:
            _form_refused(form, error)
        else:
            messages.success(
                request, _("Décision enregistrée : %(result)s.") % {"result": decision.get_result_display()}
            )
            return redirect(_dossier_url(dossier))
    opinion = dossier.opinions.filter(round=dossier.commission_round).select_related("adopted_by").first()
    return render(
        request,
        "referencement/commission/decision.html",
        {
            "dossier": dossier,
            "form": form,
            "opinion": opinion,
            "requested": requested,
            "unfavourable": opinion is not None and opinion.result == OpinionResult.UNFAVOURABLE,
        },
        status=400 if form.errors else 200,
    )
