"""Routes of the dossier: export of the whole dossier as one FHIR Bundle."""

from django.urls import path

from dossier.views import exports

urlpatterns = [
    path("", exports.export_list, name="export_list"),
    path("<uuid:public_id>/", exports.export_detail, name="export_detail"),
    path("<uuid:public_id>/etat/", exports.export_status, name="export_status"),
    path("<uuid:public_id>/telecharger/", exports.export_download, name="export_download"),
    path("<uuid:public_id>/supprimer/", exports.export_remove, name="export_delete"),
]
