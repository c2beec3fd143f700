"""The editors' pages of référencement: the portal's home, the eligibility diagnosis (public), the dossiers, their
sections, images, submission, timeline and the editor's steps.

Signed-in editors only (``role_required``), except the eligibility diagnosis; a dossier is looked up through
``referencement.access.dossier_for_editor``, so that another organisation's dossier answers 404 exactly as a dossier
that does not exist. The views read forms and call ``referencement.services.dossiers``; nothing is written here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalogue.images import STORED_CONTENT_TYPE
from catalogue.models import MAX_SCREENSHOTS, DataExchange
from catalogue.views import IMAGE_CACHE, IMAGE_CSP
from convergence.exports import export_pdf
from convergence.models import Procedure
from mes.acces.policy import role_required
from mes.comptes.models import Role
from mes.comptes.selectors import organisations_of
from referencement.access import dossier_for_editor
from referencement.forms_dossier import (
    PROCEDURE_HELP,
    AbandonForm,
    AdjournmentAnswerForm,
    DossierNewForm,
    EligibilityForm,
    ExchangesForm,
    LogoForm,
    ProcedureForm,
    RedeclareForm,
    ScreenshotForm,
    SheetForm,
)
from referencement.models import Decision, Dossier, DossierScreenshot, State
from referencement.selectors import (
    dossier_open_audits,
    dossier_open_update,
    dossier_timeline,
    editor_dossiers,
    eligibility_assess,
    extract_summary,
    product_choices,
    state_badge,
)
from referencement.services.dossiers import (
    SECTION_EXCHANGES,
    SECTION_IMAGES,
    SECTION_PROCEDURE,
    SECTION_SHEET,
    SECTION_TITLES,
    DossierIncomplete,
    dossier_abandon,
    dossier_adjournment_answer,
    dossier_create,
    dossier_logo_set,
    dossier_problems,
    dossier_redeclare,
    dossier_screenshot_add,
    dossier_screenshot_move,
    dossier_screenshot_remove,
    dossier_section_errors,
    dossier_submit,
    dossier_update,
)
from referencement.workflow import TransitionRefused

HOME_DOSSIERS = 5
DIAGNOSIS_PARAM = "diagnostic"
EDIT_SECTIONS = (SECTION_PROCEDURE, SECTION_EXCHANGES, SECTION_SHEET)


def editor_view(view: Callable) -> Callable:
    return role_required(Role.EDITOR)(view)


def with_dossier(view: Callable) -> Callable:
    """Pass the dossier named in the URL if it belongs to one of the editor's organisations; 404 otherwise."""

    @wraps(view)
    def wrapper(request: HttpRequest, dossier_id, *args, **kwargs):
        try:
            dossier = dossier_for_editor(request.user, dossier_id)
        except Dossier.DoesNotExist:
            raise Http404(_("Ce dossier est introuvable.")) from None
        dossier.badge_class = state_badge(dossier.state)
        return view(request, dossier, *args, **kwargs)

    return wrapper


def _errors_to_form(form, error: ValidationError) -> None:
    """The service's errors on the form's fields (or on the form as a whole for what has no field)."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _sections(dossier: Dossier) -> list[dict]:
    """The sections of the dossier, for its side menu (the exchanges only with the procedure that has them)."""
    codes = [SECTION_PROCEDURE, *([SECTION_EXCHANGES] if dossier.with_data_exchange else []), SECTION_SHEET]
    items = [
        {
            "code": code,
            "title": SECTION_TITLES[code],
            "url": reverse("referencement_dossier_edit", args=[dossier.public_id, code]),
        }
        for code in codes
    ]
    items.append(
        {
            "code": SECTION_IMAGES,
            "title": SECTION_TITLES[SECTION_IMAGES],
            "url": reverse("referencement_dossier_images", args=[dossier.public_id]),
        }
    )
    return items


def _problems_by_section(dossier: Dossier) -> list[dict]:
    groups: dict[str, dict] = {}
    for problem in dossier_problems(dossier):
        if problem.section == SECTION_IMAGES:
            url = reverse("referencement_dossier_images", args=[dossier.public_id])
        else:
            url = reverse("referencement_dossier_edit", args=[dossier.public_id, problem.section])
        group = groups.setdefault(problem.section, {"title": problem.section_title, "url": url, "problems": []})
        group["problems"].append(
            {"message": problem.message, "anchor": f"{url}#id_{problem.field}" if problem.field else url}
        )
    return list(groups.values())


# --- Home and eligibility ---------------------------------------------------------------------------------------------


@require_GET
@editor_view
def editor_home(request: HttpRequest) -> HttpResponse:
    dossiers = editor_dossiers(request.user)
    context = {
        "organisations": organisations_of(request.user),
        "dossiers": dossiers[:HOME_DOSSIERS],
        "dossier_count": len(dossiers),
    }
    return render(request, "editeurs/home.html", context)


@require_GET
def eligibility(request: HttpRequest) -> HttpResponse:
    """The diagnosis, open to everyone: a plain GET form, answered on the same page (bookmarkable, no JavaScript)."""
    # The form carries a hidden « diagnostic » field: sent with no answer at all, it still asks for each one.
    answered = DIAGNOSIS_PARAM in request.GET or any(name in request.GET for name in EligibilityForm.base_fields)
    form = EligibilityForm(request.GET if answered else None)
    outcome = None
    if answered and form.is_valid():
        data = form.cleaned_data
        outcome = eligibility_assess(
            citizens=data["usagers"],
            sector=data["secteur"],
            exchange=data["echange"],
            purpose=data.get("finalite") or "",
            oid=data.get("oid") or "",
        )
    return render(
        request,
        "referencement/editeurs/eligibility.html",
        {"form": form, "outcome": outcome},
        status=400 if answered and outcome is None else 200,
    )


# --- Dossiers ---------------------------------------------------------------------------------------------------------


@require_GET
@editor_view
def dossier_list(request: HttpRequest) -> HttpResponse:
    organisations = list(organisations_of(request.user))
    return render(
        request,
        "referencement/editeurs/dossier_list.html",
        {"dossiers": editor_dossiers(request.user), "organisations": organisations, "several": len(organisations) > 1},
    )


@require_http_methods(["GET", "POST"])
@editor_view
def dossier_new(request: HttpRequest) -> HttpResponse:
    choices = product_choices(request.user)
    form = DossierNewForm(request.POST or None, choices=choices, initial={"procedure": Procedure.SANS_ECHANGE})
    product_help = {
        str(choice.product.public_id): _("%(reference)s — démarche Convergence : %(procedure)s")
        % {"reference": choice.product.reference, "procedure": choice.product.get_procedure_display().lower()}
        for choice in choices
    }
    context = {
        "form": form,
        "choices": choices,
        "unavailable": [choice for choice in choices if not choice.available],
        "procedure_help": PROCEDURE_HELP,
        "product_help": product_help,
    }
    if request.method != "POST":
        return render(request, "referencement/editeurs/dossier_new.html", context)
    if form.is_valid():
        try:
            dossier = dossier_create(
                actor=request.user, product=form.product_chosen(), procedure=form.cleaned_data["procedure"]
            )
        except PermissionDenied:
            raise Http404 from None
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(
                request,
                _("Le dossier %(reference)s est créé : complétez-le, puis déposez-le.")
                % {"reference": dossier.reference},
            )
            return redirect("referencement_dossier", dossier_id=dossier.public_id)
    return render(request, "referencement/editeurs/dossier_new.html", context, status=400)


@require_GET
@editor_view
@with_dossier
def dossier_detail(request: HttpRequest, dossier: Dossier) -> HttpResponse:
    decision = Decision.objects.filter(dossier=dossier).first()
    context = {
        "dossier": dossier,
        "events": dossier_timeline(dossier, for_editor=True),
        "extract": extract_summary(dossier),
        "exchanges": list(dossier.requested_exchanges.all()),
        "screenshots": list(dossier.screenshots.all()),
        "opinions": list(dossier.opinions.order_by("round")),
        "decision": decision,
        "decision_exchanges": [DataExchange(code).label for code in decision.granted_exchanges] if decision else [],
        "audits": list(dossier_open_audits(dossier)),
        "problem_groups": _problems_by_section(dossier) if dossier.is_editable else [],
        "sections": _sections(dossier) if dossier.is_editable else [],
        "open_update": dossier_open_update(dossier) if dossier.state == State.PUBLISHED else None,
        "State": State,
    }
    return render(request, "referencement/editeurs/dossier_detail.html", context)


@require_GET
@editor_view
@with_dossier
def extract_pdf(request: HttpRequest, dossier: Dossier) -> HttpResponse:
    """The Convergence extract frozen at submission, as a PDF (its checksum printed on every page)."""
    if not dossier.extract:
        raise Http404(_("Ce dossier n’a pas encore été déposé : son extrait Convergence n’est pas figé."))
    response = HttpResponse(export_pdf(dossier.extract), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="extrait-convergence-{dossier.reference}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _not_editable(request: HttpRequest, dossier: Dossier) -> HttpResponse:
    messages.error(
        request,
        _("Ce dossier ne peut plus être modifié : il est « %(state)s ».") % {"state": dossier.get_state_display()},
    )
    return redirect("referencement_dossier", dossier_id=dossier.public_id)


def _section_form(section: str, dossier: Dossier, data=None):
    if section == SECTION_PROCEDURE:
        initial = {
            "procedure": dossier.procedure,
            "purpose": dossier.purpose,
            "purpose_details": dossier.purpose_details,
        }
        form = ProcedureForm(data, initial=initial)
        if dossier.product.procedure != Procedure.AVEC_ECHANGE:
            form.fields["procedure"].help_text = _(
                "Le produit « %(name)s » est évalué dans Convergence sans échange de données : seule la procédure "
                "simple est possible."
            ) % {"name": dossier.product.name}
        return form
    if section == SECTION_EXCHANGES:
        return ExchangesForm(data, initial=ExchangesForm.initial_for(dossier))
    return SheetForm(data, instance=dossier)


@require_http_methods(["GET", "POST"])
@editor_view
@with_dossier
def dossier_edit(request: HttpRequest, dossier: Dossier, section: str) -> HttpResponse:
    if section not in EDIT_SECTIONS or (section == SECTION_EXCHANGES and not dossier.with_data_exchange):
        raise Http404(_("Cette partie du dossier n’existe pas."))
    if not dossier.is_editable:
        return _not_editable(request, dossier)
    form = _section_form(section, dossier, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                dossier_update(actor=request.user, dossier=dossier, section=section, values=form.values())
            except ValidationError as error:
                _errors_to_form(form, error)
            else:
                messages.success(request, _("« %(section)s » est enregistré.") % {"section": SECTION_TITLES[section]})
                return redirect(_next_after(dossier, section))
        else:
            # Every error at once: the section's rules on the fields the form itself found nothing wrong with.
            found = set(form.errors)
            errors = dossier_section_errors(dossier=dossier, section=section, values=form.values())
            for name, field_errors in errors.items():
                if name not in found:
                    form.add_error(name if name in form.fields else None, field_errors)
        status = 400
    context = {
        "dossier": dossier,
        "form": form,
        "section": section,
        "section_title": SECTION_TITLES[section],
        "sections": _sections(dossier),
        "procedure_help": PROCEDURE_HELP,
    }
    return render(request, "referencement/editeurs/dossier_section.html", context, status=status)


def _next_after(dossier: Dossier, section: str) -> str:
    """The next section to fill, in the side menu's order (the images come last)."""
    dossier.refresh_from_db(fields=["procedure"])
    items = _sections(dossier)
    codes = [item["code"] for item in items]
    index = codes.index(section) if section in codes else len(codes) - 1
    return items[min(index + 1, len(items) - 1)]["url"]


# --- Images -----------------------------------------------------------------------------------------------------------


def _images_page(request, dossier: Dossier, *, logo_form=None, screenshot_form=None, status: int = 200) -> HttpResponse:
    screenshots = list(dossier.screenshots.all())
    context = {
        "dossier": dossier,
        "logo_form": logo_form or LogoForm(),
        "screenshot_form": screenshot_form or ScreenshotForm(),
        "screenshots": screenshots,
        "can_add": len(screenshots) < MAX_SCREENSHOTS,
        "max_screenshots": MAX_SCREENSHOTS,
        "section": SECTION_IMAGES,
        "section_title": SECTION_TITLES[SECTION_IMAGES],
        "sections": _sections(dossier),
    }
    return render(request, "referencement/editeurs/dossier_images.html", context, status=status)


@require_GET
@editor_view
@with_dossier
def dossier_images(request: HttpRequest, dossier: Dossier) -> HttpResponse:
    if not dossier.is_editable:
        return _not_editable(request, dossier)
    return _images_page(request, dossier)


@require_POST
@editor_view
@with_dossier
def dossier_logo(request: HttpRequest, dossier: Dossier) -> HttpResponse:
    if not dossier.is_editable:
        return _not_editable(request, dossier)
    form = LogoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            dossier_logo_set(actor=request.user, dossier=dossier, upload=form.cleaned_data["logo"])
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, _("Le logo est enregistré."))
            return redirect("referencement_dossier_images", dossier_id=dossier.public_id)
    return _images_page(request, dossier, logo_form=form, status=400)


@require_POST
@editor_view
@with_dossier
def dossier_screenshot_new(request: HttpRequest, dossier: Dossier) -> HttpResponse:
    if not dossier.is_editable:
        return _not_editable(request, dossier)
    form = ScreenshotForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            dossier_screenshot_add(
                actor=request.user,
                dossier=dossier,
                upload=form.cleaned_data["image"],
                alt_text=form.cleaned_data["alt_text"],
            )
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, _("La capture d’écran est ajoutée."))
            return redirect("referencement_dossier_images", dossier_id=dossier.public_id)
    return _images_page(request, dossier, screenshot_form=form, status=400)


def _screenshot_or_404(dossier: Dossier, screenshot_id) -> DossierScreenshot:
    screenshot = dossier.screenshots.filter(public_id=screenshot_id).first()
    if screenshot is None:
        raise Http404(_("Cette capture d’écran est introuvable."))
    return screenshot


@require_POST
@editor_view
@with_dossier
def dossier_screenshot_delete(request: HttpRequest, dossier: Dossier, screenshot_id) -> HttpResponse:
    screenshot = _screenshot_or_404(dossier, screenshot_id)
    if not dossier.is_editable:
        return _not_editable(request, dossier)
    dossier_screenshot_remove(actor=request.user, dossier=dossier, screenshot=screenshot)
    messages.success(request, _("La capture d’écran est retirée."))
    return redirect("referencement_dossier_images", dossier_id=dossier.public_id)


@require_POST
@editor_view
@with_dossier
def dossier_screenshot_reorder(request: HttpRequest, dossier: Dossier, screenshot_id) -> HttpResponse:
    screenshot = _screenshot_or_404(dossier, screenshot_id)
    if not dossier.is_editable:
        return _not_editable(request, dossier)
    offsets = {"avant": -1, "apres": 1}
    if request.POST.get("sens") not in offsets:
        messages.error(request, _("Choisissez de déplacer la capture avant ou après."))
    else:
        dossier_screenshot_move(
            actor=request.user, dossier=dossier, screenshot=screenshot, offset=offsets[request.POST["sens"]]
        )
        messages.success(request, _("L’ordre des captures d’écran est enregistré."))
    return redirect("referencement_dossier_images", dossier_id=dossier.public_id)


@require_GET
@editor_view
@with_dossier
def dossier_image(request: HttpRequest, dossier: Dossier, image: str) -> FileResponse:
    """The dossier's logo or one of its screenshots, named by the beginning of its SHA-256 (the re-encoded PNG)."""
    if dossier.logo and dossier.logo_key == image:
        name = dossier.logo.name
    else:
        screenshot = next((item for item in dossier.screenshots.all() if item.sha256[:16] == image), None)
        name = screenshot.image.name if screenshot else ""
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


# --- Steps ------------------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@editor_view
@with_dossier
def dossier_submit_page(request: HttpRequest, dossier: Dossier) -> HttpResponse:
    """The submission: what is missing (linked to its section), or the confirmation of a complete dossier."""
    if not dossier.is_editable:
        return _not_editable(request, dossier)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        try:
            dossier_submit(actor=request.user, dossier=dossier)
        except DossierIncomplete:
            status = 400
        except (ValidationError, TransitionRefused) as error:
            errors = error.messages
            status = 400
        else:
            messages.success(
                request,
                _("Le dossier %(reference)s est déposé : sa recevabilité va être examinée.")
                % {"reference": dossier.reference},
            )
            return redirect("referencement_dossier", dossier_id=dossier.public_id)
    context = {
        "dossier": dossier,
        "problem_groups": _problems_by_section(dossier),
        "errors": errors,
        "sections": _sections(dossier),
        "section": "depot",
    }
    return render(request, "referencement/editeurs/dossier_submit.html", context, status=status)


@require_http_methods(["GET", "POST"])
@editor_view
@with_dossier
def dossier_abandon_page(request: HttpRequest, dossier: Dossier) -> HttpResponse:
    if dossier.state not in (State.DRAFT, State.COMPLETION, State.ADJOURNED):
        messages.error(request, _("Cette demande ne peut plus être abandonnée."))
        return redirect("referencement_dossier", dossier_id=dossier.public_id)
    form = AbandonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dossier_abandon(actor=request.user, dossier=dossier, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, _("La demande %(reference)s est abandonnée.") % {"reference": dossier.reference})
            return redirect("referencement_dossier", dossier_id=dossier.public_id)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "referencement/editeurs/dossier_abandon.html", {"dossier": dossier, "form": form}, status=status
    )


@require_http_methods(["GET", "POST"])
@editor_view
@with_dossier
def dossier_answer(request: HttpRequest, dossier: Dossier) -> HttpResponse:
    """The answer to the commission's adjournment: the dossier goes back to the commission."""
    if dossier.state != State.ADJOURNED:
        messages.error(request, _("La commission n’attend pas de réponse sur ce dossier."))
        return redirect("referencement_dossier", dossier_id=dossier.public_id)
    form = AdjournmentAnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dossier_adjournment_answer(actor=request.user, dossier=dossier, answer=form.cleaned_data["answer"])
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(request, _("Votre réponse est transmise à la commission."))
            return redirect("referencement_dossier", dossier_id=dossier.public_id)
    events = dossier_timeline(dossier, for_editor=True)
    request_event = next((event for event in reversed(events) if event.transition == "adjourn"), None)
    opinion = dossier.opinions.order_by("-round").first()
    context = {"dossier": dossier, "form": form, "request_event": request_event, "opinion": opinion}
    return render(
        request,
        "referencement/editeurs/dossier_answer.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
@editor_view
@with_dossier
def dossier_redeclare_page(request: HttpRequest, dossier: Dossier) -> HttpResponse:
    """A new request on a published service: a new major version, or the renewal of its référencement."""
    if dossier.state != State.PUBLISHED:
        messages.error(request, _("Seul un service publié peut faire l’objet d’une nouvelle demande."))
        return redirect("referencement_dossier", dossier_id=dossier.public_id)
    open_update = dossier_open_update(dossier)
    if open_update is not None:
        messages.info(
            request,
            _("Une demande est déjà en cours pour ce service : %(reference)s.") % {"reference": open_update.reference},
        )
        return redirect("referencement_dossier", dossier_id=open_update.public_id)
    choices = [
        choice
        for choice in product_choices(request.user, exclude=dossier.product)
        if choice.product.organisation_id == dossier.organisation_id
    ]
    form = RedeclareForm(request.POST or None, choices=choices, initial={"kind": request.GET.get("nature")})
    if request.method == "POST" and form.is_valid():
        try:
            new = dossier_redeclare(
                actor=request.user, dossier=dossier, kind=form.cleaned_data["kind"], product=form.product_chosen()
            )
        except ValidationError as error:
            _errors_to_form(form, error)
        else:
            messages.success(
                request,
                _("La demande %(reference)s est créée à partir de la fiche publiée : vérifiez-la, puis déposez-la.")
                % {"reference": new.reference},
            )
            return redirect("referencement_dossier", dossier_id=new.public_id)
    context = {"dossier": dossier, "form": form, "choices": choices}
    return render(
        request,
        "referencement/editeurs/dossier_redeclare.html",
        context,
        status=400 if request.method == "POST" else 200,
    )
