"""FHIR endpoints (filled in by this module's own commit)."""

urlpatterns: list = []
