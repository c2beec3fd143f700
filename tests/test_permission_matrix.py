"""Guard: every route is either public by decision, or restricted to roles, and the restriction holds.

A new route that is not classified here makes this test fail, so nobody adds a page that is open by mistake.
"""

import re

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse

ROLES = ["citizen", "professional", "editor", "commission", "admin"]

# Routes open to everyone, by decision (each answers for its own access where it has one).
PUBLIC_ROUTES = {
    "home_for_role",  # redirects to the role's home, or to the sign-in page
    "accessibility",
    "healthz",
    "api_schema",
    "api_docs",
    "api_redoc",
    "fhir_metadata",
    # The citizen's letter code answers for these (see tests/comptes/test_space_*.py).
    "space_activate",
    "space_activate_credentials",
    "space_oppose",
    "space_oppose_done",
    "space_closed",
    # The agenda's subscription feed: its secret token answers for it (see tests/agenda/test_feed*.py).
    "agenda_feed_ics",
    # The référencement eligibility diagnosis: public by design, no account needed (see tests/referencement/).
    "referencement_eligibility",
}
# Route families that enforce their own access: allauth (sign-in, MFA), the OAuth2 provider, the Django admin.
DELEGATED_PREFIXES = ("compte/", "o/", "admin/")


def iter_routes(patterns=None, prefix=""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            yield from iter_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _is_parameterless(route: str) -> bool:
    return "<" not in route and "(?P" not in route and not re.search(r"[\\\[\]\(\)\*\+\?]", route.lstrip("^"))


def _path(route: str) -> str:
    return "/" + route.lstrip("^").rstrip("$").replace("\\Z", "")


def _is_app_endpoint(pattern: URLPattern) -> bool:
    """An endpoint of the paired apps: its bearer token and the app's consent answer for it (FHIRAppView; every
    resource × interaction is tried without its scope in tests/api/test_scope_matrix.py)."""
    from mes.api.app_views import FHIRAppView

    view_class = getattr(pattern.callback, "view_class", None) or getattr(pattern.callback, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, FHIRAppView)


def test_every_route_is_classified():
    unclassified = []
    for route, pattern in iter_routes():
        if route.startswith(DELEGATED_PREFIXES) or pattern.name in PUBLIC_ROUTES or pattern.name == "citizen_home":
            continue
        if _is_app_endpoint(pattern):
            continue
        if not getattr(pattern.callback, "allowed_roles", None):
            unclassified.append(route)
    assert unclassified == []


ROLE_ROUTES = [
    (route, pattern.callback.allowed_roles)
    for route, pattern in iter_routes()
    if getattr(pattern.callback, "allowed_roles", None) and _is_parameterless(route)
]


@pytest.mark.parametrize(("route", "allowed"), ROLE_ROUTES, ids=[route for route, _ in ROLE_ROUTES])
def test_role_routes_answer_200_to_their_roles_403_to_others_and_ask_visitors_to_sign_in(
    client, persona_users, route, allowed
):
    # The professional persona works in an emergency department, so that the emergency access form opens too
    # (a professional without that role gets 403 there: tests/acces/test_pro_portal.py).
    persona_users["professional"].professional.emergency_role = True
    persona_users["professional"].professional.save(update_fields=["emergency_role"])
    path = _path(route)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    for role in ROLES:
        client.force_login(persona_users[role])
        expected = 200 if role in allowed else 403
        assert client.get(path).status_code == expected, (role, path)


def test_citizen_home_is_public_presentation_or_citizen_space(client, persona_users):
    assert client.get("/").status_code == 200
    for role in ROLES:
        client.force_login(persona_users[role])
        assert client.get("/").status_code == (200 if role == "citizen" else 403)


ADMIN_ROUTES = [route for route, _ in iter_routes() if route.startswith("admin/") and _is_parameterless(route)]


def test_admin_pages_are_for_administrators_only(client, persona_users):
    model_pages = [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin.site._registry]
    pages = ["/admin/", *model_pages]
    for role in ROLES:
        client.force_login(persona_users[role])
        for page in pages:
            expected = 200 if role == "admin" else 403
            assert client.get(page).status_code == expected, (role, page)
    client.logout()
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_admin_routes_exist():
    assert "admin/" in ADMIN_ROUTES


@pytest.mark.parametrize("role", ROLES)
def test_crawl_every_parameterless_page_as_each_role(client, persona_users, role):
    """No page answers 500 whoever opens it; each answers with one of the expected codes."""
    client.force_login(persona_users[role])
    for route, _pattern in iter_routes():
        if not _is_parameterless(route) or route.startswith(("compte/logout", "o/")):
            continue
        response = client.get(_path(route))
        # Second-factor pages answer 404 when the user has no authenticator of that kind to manage.
        allowed = {200, 301, 302, 400, 401, 403, 405} | ({404} if route.startswith("compte/2fa/") else set())
        assert response.status_code in allowed, (role, route, response.status_code)
