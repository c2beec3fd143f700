"""``/acces/services/``: « Mes services connectés », the referenced apps paired with the space, and their disconnection.

The page shows the space being managed (the person's own, or a minor child's chosen in the header). A pairing is
looked up inside that space only, so another person's answers 404, like one that does not exist. Disconnecting goes
through ``pairing_revoke``, which kills the app's tokens at once and writes the journal row.
"""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from mes.acces import selectors_apps as selectors
from mes.acces.decorators import citizen_space_view
from mes.acces.policy import CitizenAccess, forbidden
from mes.acces.services.pairings import pairing_revoke


@require_GET
@never_cache
@citizen_space_view
def connected_apps(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    apps = selectors.connected_apps(access.citizen)
    context = {"access": access, "active": apps.active, "disconnected": apps.disconnected}
    return render(request, "acces/citizen/apps.html", context)


@require_http_methods(["GET", "POST"])
@never_cache
@citizen_space_view
def app_disconnect(request: HttpRequest, access: CitizenAccess, pairing_id) -> HttpResponse:
    """GET: what disconnecting means, and the button; POST: disconnect."""
    if not access.is_citizen_side:
        return forbidden(request)
    pairing = selectors.space_pairing(access.citizen, pairing_id)
    if pairing is None:
        raise Http404(_("Ce service n’est pas connecté à cet espace."))
    name = pairing.habilitation.name
    if not pairing.is_active:
        messages.info(request, _("Le service « %(name)s » est déjà déconnecté de votre espace.") % {"name": name})
        return redirect("access_apps")
    if request.method == "POST":
        pairing_revoke(actor=request.user, pairing=pairing)
        messages.success(request, _("Le service « %(name)s » n’a plus accès à votre espace.") % {"name": name})
        return redirect("access_apps")
    app = selectors.ConnectedApp(pairing=pairing, abilities=selectors.pairing_abilities(pairing))
    return render(request, "acces/citizen/apps_disconnect.html", {"access": access, "app": app})
