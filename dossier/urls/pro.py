"""A patient's dossier seen by a professional: ``/pro/patients/<citizen>/dossier/``.

The ``citizen_id`` of the mount point is consumed by ``professional_view``, which decides the access at each request.
"""

from django.urls import path

from dossier.views import pro

urlpatterns = [
    path("documents/", pro.pro_documents, name="pro_documents"),
    path("documents/ajouter/", pro.pro_document_add, name="pro_document_add"),
    path("documents/<uuid:document_id>/", pro.pro_document_detail, name="pro_document_detail"),
    path("documents/<uuid:document_id>/contenu/", pro.pro_document_content, name="pro_document_content"),
    path("mesures/", pro.pro_measures, name="pro_measures"),
    path("mesures/<str:kind>/", pro.pro_measure_detail, name="pro_measure_detail"),
    path("profil/", pro.pro_profile, name="pro_profile"),
    path("vaccinations/", pro.pro_immunizations, name="pro_immunizations"),
]
