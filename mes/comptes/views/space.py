"""The citizen's own pages: activate the space or object to its creation with the letter's code, settings, closure.

Identification attempts are rate-limited per IP address (on top of the 5 tries per code counted in the service),
with allauth's limiter so that they share its cache and its reading of the client's address.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from mes.acces.policy import role_required
from mes.comptes.forms import ActivationCredentialsForm, IdentityCodeForm, SpaceCloseForm
from mes.comptes.models import Citizen, CitizenStatus, Role
from mes.comptes.selectors import citizen_of
from mes.comptes.services.space import (
    ActivationExpired,
    IdentificationFailed,
    OppositionNotPossible,
    citizen_identify_with_code,
    space_activate,
    space_close,
    space_oppose,
)
from mes.ratelimit import rate_limited

ACTIVATION_SESSION_KEY = "space_activation"
ACTIVATION_SESSION_SECONDS = 15 * 60
OPPOSITION_SESSION_KEY = "space_opposition"
CLOSED_SESSION_KEY = "space_closed"
# Rates in allauth's notation; a setting of the same name overrides each.
RATE_LIMITS = {
    "space_code": "20/10m/ip",  # identification with a letter code, activation and opposition together
    "space_close": "5/5m/user",  # password confirmations of a closure
}
CLOSABLE_STATUSES = (CitizenStatus.ACTIVATED, CitizenStatus.CREATED_AUTOMATICALLY)


def _rate_limited(request: HttpRequest, action: str) -> bool:
    return rate_limited(request, app="mes.comptes", action=action, default=RATE_LIMITS[action])


def _too_many_attempts(request: HttpRequest) -> HttpResponse:
    return render(request, "429.html", status=429)


def _identify(request: HttpRequest, form: IdentityCodeForm) -> Citizen | None:
    try:
        return citizen_identify_with_code(identity=form.identity(), code=form.cleaned_data["code"])
    except IdentificationFailed as failed:
        form.add_error(None, failed.message)
        return None


@never_cache
@sensitive_post_parameters("code", "ins")
def activate(request: HttpRequest) -> HttpResponse:
    """Step 1: who are you, and the code of your letter."""
    if request.user.is_authenticated:
        messages.info(request, _("Vous êtes déjà connecté : déconnectez-vous pour activer un autre espace."))
        return redirect("home_for_role")
    form = IdentityCodeForm(request.POST or None)
    if request.method == "POST":
        if _rate_limited(request, "space_code"):
            return _too_many_attempts(request)
        if form.is_valid() and (citizen := _identify(request, form)) is not None:
            request.session.cycle_key()
            request.session[ACTIVATION_SESSION_KEY] = {
                "citizen": str(citizen.public_id),
                "code_hash": citizen.code_hash,
                "expires": (timezone.now() + timedelta(seconds=ACTIVATION_SESSION_SECONDS)).isoformat(),
            }
            return redirect("space_activate_credentials")
    return render(request, "space/activate.html", {"form": form, "step": 1})


def _activation_state(request: HttpRequest) -> tuple[Citizen, str] | None:
    state = request.session.get(ACTIVATION_SESSION_KEY)
    if not isinstance(state, dict):
        return None
    expires = parse_datetime(state.get("expires", ""))
    citizen = Citizen.objects.filter(public_id=state.get("citizen")).first()
    if expires is None or expires <= timezone.now() or citizen is None:
        request.session.pop(ACTIVATION_SESSION_KEY, None)
        return None
    return citizen, state.get("code_hash", "")


@never_cache
@sensitive_post_parameters("password1", "password2")
def activate_credentials(request: HttpRequest) -> HttpResponse:
    """Step 2, only after step 1 succeeded in this session: choose the e-mail address and the password."""
    if request.user.is_authenticated:
        return redirect("home_for_role")
    state = _activation_state(request)
    if state is None:
        messages.error(request, ActivationExpired.message)
        return redirect("space_activate")
    citizen, expected_code_hash = state
    form = ActivationCredentialsForm(request.POST or None, citizen=citizen, initial={"email": citizen.contact_email})
    if request.method == "POST" and form.is_valid():
        try:
            user = space_activate(
                citizen=citizen,
                expected_code_hash=expected_code_hash,
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except ActivationExpired as expired:
            request.session.pop(ACTIVATION_SESSION_KEY, None)
            messages.error(request, expired.message)
            return redirect("space_activate")
        except IntegrityError:
            # Another account took the address between the check and the creation.
            form.add_error("email", _("Cette adresse électronique est déjà utilisée par un autre compte."))
        else:
            request.session.pop(ACTIVATION_SESSION_KEY, None)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Votre espace est activé. Bienvenue dans Mon espace santé !"))
            return redirect("citizen_home")
    return render(request, "space/activate_credentials.html", {"form": form, "citizen": citizen, "step": 2})


@never_cache
@sensitive_post_parameters("code", "ins")
def oppose(request: HttpRequest) -> HttpResponse:
    form = IdentityCodeForm(request.POST or None)
    if request.method == "POST":
        if _rate_limited(request, "space_code"):
            return _too_many_attempts(request)
        if form.is_valid() and (citizen := _identify(request, form)) is not None:
            try:
                result = space_oppose(citizen=citizen, actor=None)
            except OppositionNotPossible as impossible:
                form.add_error(None, impossible.message)
            else:
                request.session[OPPOSITION_SESSION_KEY] = {
                    "already": result.already,
                    "mailed": bool(result.citizen.contact_email) and not result.already,
                }
                return redirect("space_oppose_done")
    return render(request, "space/oppose.html", {"form": form})


@never_cache
def oppose_done(request: HttpRequest) -> HttpResponse:
    outcome = request.session.get(OPPOSITION_SESSION_KEY)
    if not isinstance(outcome, dict):
        return redirect("space_oppose")
    return render(request, "space/oppose_done.html", outcome)


@role_required(Role.CITIZEN)
def citizen_settings(request: HttpRequest) -> HttpResponse:
    citizen = citizen_of(request.user)
    can_close = citizen is not None and citizen.status in CLOSABLE_STATUSES
    return render(request, "space/settings.html", {"citizen": citizen, "can_close": can_close})


@role_required(Role.CITIZEN)
@never_cache
@sensitive_post_parameters("password")
def close(request: HttpRequest) -> HttpResponse:
    """Close one's own space: there is no identifier in the URL, the space is always the signed-in person's."""
    citizen = citizen_of(request.user)
    if citizen is None or citizen.status not in CLOSABLE_STATUSES:
        return render(request, "space/close.html", {"citizen": None})
    grace_days = settings.SPACE_CLOSURE_GRACE_DAYS
    form = SpaceCloseForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if _rate_limited(request, "space_close"):
            return _too_many_attempts(request)
        if form.is_valid():
            closed = space_close(citizen=citizen, actor=request.user)
            logout(request)
            request.session[CLOSED_SESSION_KEY] = {"deletion_date": closed.content_deletion_due_at.isoformat()}
            return redirect("space_closed")
    context = {
        "citizen": citizen,
        "form": form,
        "grace_days": grace_days,
        "deletion_date": timezone.now() + timedelta(days=grace_days),
    }
    return render(request, "space/close.html", context)


@never_cache
def closed(request: HttpRequest) -> HttpResponse:
    state = request.session.get(CLOSED_SESSION_KEY)
    deletion_date = parse_datetime(state.get("deletion_date", "")) if isinstance(state, dict) else None
    return render(request, "space/closed.html", {"deletion_date": deletion_date})
