"""FHIR endpoints of the mesures de santé: Observation (create, read, search) and the apps' Devices (read).

The transaction Bundles (``POST /api/fhir/``) reach ``dossier.api.observations.observation_transaction`` through
the registry of ``mes.api.transaction``, not through a route of their own.
"""

from django.urls import path

from dossier.api.observations import (
    DeviceInstanceView,
    DeviceVersionView,
    ObservationInstanceView,
    ObservationTypeView,
    ObservationVersionView,
)

urlpatterns = [
    path("Observation", ObservationTypeView.as_view(), name="fhir_observation_type"),
    path("Observation/<str:public_id>", ObservationInstanceView.as_view(), name="fhir_observation"),
    path(
        "Observation/<str:public_id>/_history/<str:version>",
        ObservationVersionView.as_view(),
        name="fhir_observation_version",
    ),
    path("Device/<str:public_id>", DeviceInstanceView.as_view(), name="fhir_device"),
    path("Device/<str:public_id>/_history/<str:version>", DeviceVersionView.as_view(), name="fhir_device_version"),
]
