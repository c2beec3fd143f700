"""The dossier's FHIR endpoints, under ``/api/fhir/``."""

from django.urls import include, path

urlpatterns = [
    path("", include("dossier.api.observations_urls")),
    path("", include("dossier.api.documents_urls")),
    path("", include("dossier.api.immunizations_urls")),
]
