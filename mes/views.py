"""Pages of the platform core: the citizen's home, role dispatch, accessibility statement, health check."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from mes.acces.policy import forbidden, home_url_for, majority_cutoff
from mes.acces.selectors import journal_for_citizen
from mes.comptes.models import Role
from mes.comptes.selectors import citizen_of, represented_citizens
from mes.comptes.selectors.profiles import active_citizen, spaces_come_of_age
from mes.health import broker_status


def home(request: HttpRequest) -> HttpResponse:
    """``/``: the public presentation for visitors, the citizen's space for citizens."""
    if not request.user.is_authenticated:
        return render(request, "landing.html")
    if request.user.role != Role.CITIZEN:
        return forbidden(request)
    # The space shown is the one the account acts for: its own, or a minor child's chosen in the header.
    citizen = active_citizen(request)
    acting_for_child = citizen is not None and citizen.user_id != request.user.pk
    context = {
        "citizen": citizen,
        "acting_for_child": acting_for_child,
        "own_citizen": citizen_of(request.user) if acting_for_child else citizen,
        "children": [] if acting_for_child else represented_citizens(request.user),
        "majority_cutoff": majority_cutoff(),
        "come_of_age": [] if acting_for_child else spaces_come_of_age(request.user),
        "recent_events": journal_for_citizen(citizen, limit=5) if citizen else [],
    }
    return render(request, "citizen/home.html", context)


@never_cache
def home_for_role(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("account_login")
    return redirect(home_url_for(request.user))


def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "accessibility.html")


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database_status(), "broker": broker_status()}
    healthy = all(check["status"] in {"ok", "inline"} for check in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503)


def _database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 - any failure means "down"; the type is reported
        return {"status": "error", "error": type(error).__name__}
    return {"status": "ok"}
