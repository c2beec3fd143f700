"""The professionals' portal ``/pro/``: their card and their patients, entering an access code, emergency access.

The patient's own pages (``/pro/patients/<id>/``) are served by the dossier, which counts and lists what the access
shows; these pages only lead there.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from mes.acces.forms_pro import AccessCodeForm, EmergencyAccessForm
from mes.acces.policy import forbidden, role_required
from mes.acces.selectors_pro import professional_patients
from mes.acces.services.delegations import CodeRefused, delegation_redeem
from mes.acces.services.emergency import EmergencyRefused, emergency_access_open, emergency_citizen_find
from mes.comptes.models import ProfessionalProfile, Role
from mes.ratelimit import rate_limited

UNKNOWN_PERSON = _("Aucun espace santé ne correspond à ce matricule INS et à cette date de naissance.")


def _profile(request: HttpRequest) -> ProfessionalProfile | None:
    return ProfessionalProfile.objects.filter(user=request.user).first()


@require_GET
@never_cache
@role_required(Role.PROFESSIONAL)
def pro_home(request: HttpRequest) -> HttpResponse:
    profile = _profile(request)
    return render(
        request,
        "pro/home.html",
        {
            "profile": profile,
            "patients": professional_patients(request.user) if profile else [],
            "code_form": AccessCodeForm(),
        },
    )


@require_http_methods(["GET", "POST"])
@never_cache
@sensitive_post_parameters("code")
@role_required(Role.PROFESSIONAL)
def pro_code(request: HttpRequest) -> HttpResponse:
    profile = _profile(request)
    if profile is None:
        return forbidden(request)
    form = AccessCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        # Code entries per account and per IP address (setting ACCESS_CODE_RATE_LIMIT), on top of the lock after
        # five wrong codes in a row that the service keeps per professional.
        if rate_limited(request, app="mes.acces", action="access_code"):
            return render(request, "429.html", status=429)
        if form.is_valid():
            try:
                delegation = delegation_redeem(professional=request.user, code=form.cleaned_data["code"])
            except CodeRefused as refusal:
                form.add_error("code", refusal.message)
            else:
                return redirect("pro_patient", citizen_id=delegation.citizen.public_id)
    return render(request, "pro/code.html", {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@never_cache
@sensitive_post_parameters("ins", "birth_date", "reason")
@role_required(Role.PROFESSIONAL)
def pro_emergency(request: HttpRequest) -> HttpResponse:
    profile = _profile(request)
    if profile is None or not profile.emergency_role:
        return forbidden(request)
    form = EmergencyAccessForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        citizen = emergency_citizen_find(ins=data["ins"], birth_date=data["birth_date"])
        if citizen is None:
            form.add_error(None, UNKNOWN_PERSON)
        else:
            try:
                emergency_access_open(professional=request.user, citizen=citizen, reason=data["reason"])
            except EmergencyRefused as refusal:
                form.add_error(None, refusal.message)
            except ValidationError as error:
                form.add_error(None, error)
            except PermissionDenied:
                return forbidden(request)
            else:
                return redirect("pro_patient", citizen_id=citizen.public_id)
    return render(
        request,
        "pro/emergency.html",
        {"form": form, "emergency_hours": settings.EMERGENCY_ACCESS_HOURS},
        status=400 if form.errors else 200,
    )
