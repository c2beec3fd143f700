"""The entry points of the pages of a citizen's space: for the person's side, and for a professional."""

from collections.abc import Callable
from functools import wraps
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mes.acces.policy import CitizenAccess, citizen_access, forbidden, role_required
from mes.acces.services.tracing import access_refusal_trace
from mes.comptes.models import Citizen, Role
from mes.comptes.selectors.profiles import active_citizen


def citizen_space_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Open a page of a citizen's space to the person's side, called as ``view(request, access, ...)``.

    The space is the one the account acts for (its own, or a minor child's chosen in the header); the access policy
    decides what the account may do there. Objects are then looked up inside that space only, so another person's
    item answers 404, exactly like one that does not exist.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        access: CitizenAccess | None = citizen_access(request.user, active_citizen(request))
        if access is None:
            return forbidden(request)
        return view(request, access, *args, **kwargs)

    return role_required(Role.CITIZEN)(wrapper)


def no_access(request: HttpRequest) -> HttpResponse:
    """The same answer for a space that does not exist and one the professional may not open (or no longer)."""
    return render(request, "pro/no_access.html", status=404)


def professional_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Open a page of a patient's space to a professional, called as ``view(request, access, ...)``.

    The URL names the space by ``citizen_id`` (its public id). The access policy decides at every request, so an
    ended code, a block or an expired emergency access takes effect on the very next one. A refusal writes a journal
    row (the citizen sees who tried) and answers 404, like a space that does not exist. The view records what it
    shows with ``mes.acces.services.tracing.access_trace`` (one row per read, addition or download).
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, citizen_id: UUID, **kwargs) -> HttpResponse:
        citizen = Citizen.objects.filter(public_id=citizen_id).first()
        if citizen is None:
            return no_access(request)
        access: CitizenAccess | None = citizen_access(request.user, citizen)
        if access is None or not access.is_professional:
            access_refusal_trace(actor=request.user, citizen=citizen, path=request.path)
            return no_access(request)
        return view(request, access, *args, **kwargs)

    return role_required(Role.PROFESSIONAL)(wrapper)
