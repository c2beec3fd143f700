"""FHIR DocumentReference and Binary: create, search and read the citizen's documents."""

from django.urls import path

from dossier.api.documents import BinaryView, DocumentReferenceInstanceView, DocumentReferenceTypeView

urlpatterns = [
    path("DocumentReference", DocumentReferenceTypeView.as_view(), name="fhir_document_reference_type"),
    path(
        "DocumentReference/<str:resource_id>", DocumentReferenceInstanceView.as_view(), name="fhir_document_reference"
    ),
    path("Binary/<str:resource_id>", BinaryView.as_view(), name="fhir_binary"),
]
