"""Choosing the profile a parent acts for: their own space or a minor child's. Works without JavaScript."""

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from mes.acces.policy import forbidden, role_required
from mes.comptes.models import Citizen, Role
from mes.comptes.selectors.profiles import ACTIVE_PROFILE_SESSION_KEY, active_citizen, switchable_profiles
from mes.comptes.services.profiles import profile_switch


@never_cache
@require_http_methods(["GET", "POST"])
@role_required(Role.CITIZEN)
def profile_choice(request: HttpRequest) -> HttpResponse:
    """GET: the list of spaces the account may open. POST ``citizen=<public id>``: open that space."""
    if request.method == "POST":
        return _switch(request)
    context = {"profiles": switchable_profiles(request.user), "active": active_citizen(request)}
    return render(request, "profil/choice.html", context)


def _switch(request: HttpRequest) -> HttpResponse:
    try:
        public_id = uuid.UUID(request.POST.get("citizen", ""))
    except ValueError:
        return forbidden(request)
    citizen = Citizen.objects.filter(public_id=public_id).first()
    # An unknown id is refused like a known one the account may not open: nothing tells them apart.
    if citizen is None or not profile_switch(actor=request.user, citizen=citizen):
        return forbidden(request)
    if citizen.user_id == request.user.pk:
        request.session.pop(ACTIVE_PROFILE_SESSION_KEY, None)
    else:
        request.session[ACTIVE_PROFILE_SESSION_KEY] = str(citizen.public_id)
    return redirect("citizen_home")
