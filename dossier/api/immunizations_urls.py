"""FHIR Immunization: a paired app records a vaccination."""

from django.urls import path

from dossier.api.immunizations import ImmunizationTypeView

urlpatterns = [
    path("Immunization", ImmunizationTypeView.as_view(), name="fhir_immunization_type"),
]
