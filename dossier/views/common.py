"""What every page of the dossier shares: the space it shows, decided by the access policy."""

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse

from mes.acces.policy import CitizenAccess, citizen_access, forbidden, role_required
from mes.comptes.models import Role
from mes.comptes.selectors.profiles import active_citizen


def dossier_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Open a page of the dossier to citizens, called as ``view(request, access, ...)``.

    The space is the one the account acts for (its own, or a minor child's chosen in the header); the access policy
    decides what the account may do there. Objects are then looked up inside that space only, so another person's
    document answers 404, exactly like one that does not exist.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        access: CitizenAccess | None = citizen_access(request.user, active_citizen(request))
        if access is None:
            return forbidden(request)
        return view(request, access, *args, **kwargs)

    return role_required(Role.CITIZEN)(wrapper)
