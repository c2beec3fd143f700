"""Routes of the dossier: documents."""

from django.urls import path

from dossier.views import documents

urlpatterns = [
    path("", documents.document_list, name="document_list"),
    path("ajouter/", documents.document_new, name="document_new"),
    path("<uuid:public_id>/", documents.document_detail, name="document_detail"),
    path("<uuid:public_id>/fichier/", documents.document_file, name="document_file"),
    path("<uuid:public_id>/telecharger/", documents.document_download, name="document_download"),
    path("<uuid:public_id>/masquer/", documents.document_hide_page, name="document_hide"),
    path("<uuid:public_id>/demasquer/", documents.document_unhide_page, name="document_unhide"),
    path("<uuid:public_id>/supprimer/", documents.document_delete_page, name="document_delete"),
]
