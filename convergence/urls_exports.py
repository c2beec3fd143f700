"""The product's extract and the templates of the offline questionnaires, under ``/editeurs/convergence/``."""

from django.urls import path

from convergence import views_exports

urlpatterns = [
    path("<uuid:product_id>/export.json", views_exports.export_json_download, name="convergence_export_json"),
    path("<uuid:product_id>/export.pdf", views_exports.export_pdf_download, name="convergence_export_pdf"),
    path("<uuid:product_id>/export.csv", views_exports.export_csv_download, name="convergence_export_csv"),
    path(
        "<uuid:product_id>/<slug:questionnaire>/modele.xlsx",
        views_exports.template_download,
        name="convergence_template_download",
    ),
    path(
        "<uuid:product_id>/<slug:questionnaire>/modele/",
        views_exports.template_upload,
        name="convergence_template_upload",
    ),
]
