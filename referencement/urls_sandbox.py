"""Technical tests of a dossier (tests d’accrochage): the sandbox credentials and the live checklist."""

from django.urls import path

from referencement.views import sandbox

urlpatterns = [
    path("referencement/<uuid:dossier_id>/tests/", sandbox.referencement_sandbox, name="referencement_sandbox"),
    path(
        "referencement/<uuid:dossier_id>/tests/etat.json",
        sandbox.referencement_sandbox_status,
        name="referencement_sandbox_status",
    ),
]
