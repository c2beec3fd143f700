"""The technical tests page of a dossier (tests d’accrochage), for the editors of its organisation.

While the tests are open it gives the sandbox credentials (the client secret and the test person's password are
generated here on demand and shown once, on the answer to that POST only), the live checklist and the button that
withdraws the test person's consent. Before the tests it explains what is coming; after them it shows the results,
read-only. Another organisation's dossier is a 404, as if it did not exist.
"""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from convergence.models import Procedure
from mes.acces.policy import role_required
from mes.comptes.models import Role
from referencement.access import dossiers_for_editor
from referencement.models import Dossier, State
from referencement.selectors_sandbox import sandbox_active_pairing, sandbox_checklist
from referencement.services.sandbox import (
    sandbox_consent_revoke,
    sandbox_password_regenerate,
    sandbox_secret_regenerate,
)

CHECKLIST_TEMPLATE = "referencement/_sandbox_checklist.html"
# The states a dossier goes through before its tests may open.
STATES_BEFORE_TESTS = (State.DRAFT, State.SUBMITTED, State.COMPLETION, State.INSTRUCTION)


def _dossier(request: HttpRequest, dossier_id: UUID) -> Dossier:
    try:
        return (
            dossiers_for_editor(request.user)
            .select_related("sandbox_habilitation__application", "sandbox_citizen__user")
            .get(public_id=dossier_id)
        )
    except Dossier.DoesNotExist:
        raise Http404(_("Ce dossier n’existe pas.")) from None


def _phase(dossier: Dossier) -> str:
    if dossier.procedure != Procedure.AVEC_ECHANGE:
        return "not_applicable"
    if dossier.sandbox_habilitation_id is None:
        return "before" if dossier.state in STATES_BEFORE_TESTS else "none"
    return "open" if dossier.state == State.TECHNICAL_TESTS else "after"


def _endpoints() -> list[tuple[str, str]]:
    base = settings.PUBLIC_BASE_URL
    return [
        (_("Découverte OpenID Connect"), base + reverse("oauth2_provider:oidc-connect-discovery-info")),
        (_("Autorisation (appariement)"), base + reverse("oauth2_provider:authorize")),
        (_("Jetons"), base + reverse("oauth2_provider:token")),
        (_("API FHIR (adresse de base)"), base + reverse("fhir_transaction")),
    ]


def _render(request: HttpRequest, dossier: Dossier, *, secret: str = "", password: str = "") -> HttpResponse:
    phase = _phase(dossier)
    habilitation = dossier.sandbox_habilitation
    context = {
        "dossier": dossier,
        "phase": phase,
        "checklist": sandbox_checklist(dossier),
        "habilitation": habilitation,
        "application": habilitation.application if habilitation is not None else None,
        "sandbox_citizen": dossier.sandbox_citizen,
        "endpoints": _endpoints(),
        "sign_in_url": settings.PUBLIC_BASE_URL + reverse("account_login"),
        "active_pairing": sandbox_active_pairing(dossier) if phase == "open" else None,
        "revealed_secret": secret,
        "revealed_password": password,
        "calls_after_revocation": settings.REFERENCEMENT_SANDBOX_CALLS_AFTER_REVOCATION,
        "poll_seconds": settings.REFERENCEMENT_SANDBOX_POLL_SECONDS,
    }
    return render(request, "referencement/sandbox/page.html", context)


@role_required(Role.EDITOR)
@never_cache  # the answer to a POST shows a secret once: no copy of it anywhere
@require_http_methods(["GET", "POST"])
def referencement_sandbox(request: HttpRequest, dossier_id: UUID) -> HttpResponse:
    dossier = _dossier(request, dossier_id)
    if request.method == "GET":
        return _render(request, dossier)
    action = request.POST.get("action", "")
    here = redirect("referencement_sandbox", dossier_id=dossier.public_id)
    try:
        if action == "secret":
            secret = sandbox_secret_regenerate(actor=request.user, dossier=dossier)
            return _render(request, dossier, secret=secret)
        if action == "mot_de_passe":
            password = sandbox_password_regenerate(actor=request.user, dossier=dossier)
            return _render(request, dossier, password=password)
        if action == "retrait":
            sandbox_consent_revoke(actor=request.user, dossier=dossier)
            messages.success(
                request,
                _(
                    "Le consentement de l’usager de test est retiré : les jetons de votre application pour lui ne "
                    "fonctionnent plus. Observez la réaction de votre application."
                ),
            )
            return here
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return here
    messages.error(request, _("Action inconnue : rechargez la page et recommencez."))
    return here


@role_required(Role.EDITOR)
@never_cache
@require_safe
def referencement_sandbox_status(request: HttpRequest, dossier_id: UUID) -> JsonResponse:
    """The checklist, as data and as the HTML the page shows (the page's script polls it)."""
    dossier = _dossier(request, dossier_id)
    checklist = sandbox_checklist(dossier)
    html = render_to_string(CHECKLIST_TEMPLATE, {"checklist": checklist}, request=request)
    return JsonResponse({**checklist.as_dict(), "html": html})
