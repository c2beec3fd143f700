"""The agenda's FHIR endpoints, under ``/api/fhir/``."""

from django.urls import path

from agenda.api.views import AppointmentInstanceView, AppointmentTypeView

urlpatterns = [
    path("Appointment", AppointmentTypeView.as_view(), name="fhir_appointment_type"),
    # Any text, not only a UUID: an unknown id is then a FHIR 404 (OperationOutcome), not the site's HTML page.
    path("Appointment/<str:resource_id>", AppointmentInstanceView.as_view(), name="fhir_appointment"),
]
