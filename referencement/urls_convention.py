"""The editors' pages after the decision: the convention and its signature, the production credentials, the audits."""

from django.urls import path

from referencement.views import convention

urlpatterns = [
    path(
        "referencement/<uuid:dossier_id>/convention/",
        convention.convention_page,
        name="referencement_convention",
    ),
    path(
        "referencement/<uuid:dossier_id>/convention/convention.pdf",
        convention.convention_pdf,
        name="referencement_convention_pdf",
    ),
    path(
        "referencement/<uuid:dossier_id>/convention/secret/",
        convention.client_secret_renew,
        name="referencement_client_secret",
    ),
    path(
        "referencement/<uuid:dossier_id>/audits/<uuid:audit_id>/",
        convention.audit_page,
        name="referencement_audit",
    ),
    path(
        "referencement/<uuid:dossier_id>/audits/<uuid:audit_id>/pieces/<uuid:file_id>/",
        convention.audit_file,
        name="referencement_audit_file",
    ),
]
