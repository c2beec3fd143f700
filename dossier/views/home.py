"""``/dossier/``: the entry of the dossier médical."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dossier.selectors.overview import dossier_overview
from dossier.views.common import dossier_view
from mes.acces.policy import CitizenAccess


@require_GET
@dossier_view
def dossier_home(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    return render(request, "dossier/home.html", {"access": access, "overview": dossier_overview(access)})
