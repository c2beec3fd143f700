"""``/editeurs/convergence/``: the editors' Convergence pages (included by ``referencement/urls_editeurs.py``)."""

from django.urls import include, path

from convergence.views import answers, products

urlpatterns = [
    path("", products.product_list, name="convergence_products"),
    path("nouveau/", products.product_new, name="convergence_product_new"),
    path("<uuid:product_id>/", products.product_detail, name="convergence_product"),
    path("<uuid:product_id>/modifier/", products.product_edit, name="convergence_product_edit"),
    path("<uuid:product_id>/dupliquer/", products.product_duplicate, name="convergence_duplicate"),
    path("<uuid:product_id>/reponses/<str:criterion_id>/", answers.answer_json, name="convergence_answer"),
    path(
        "<uuid:product_id>/preuves/<uuid:evidence_id>/", answers.evidence_download, name="convergence_evidence_download"
    ),
    # The exports and the offline templates come before the section pages, whose pattern would otherwise take
    # « <questionnaire>/modele/ » for a section.
    path("", include("convergence.urls_exports")),
    path("<uuid:product_id>/<slug:questionnaire>/<slug:section>/", answers.section_page, name="convergence_section"),
    path(
        "<uuid:product_id>/<slug:questionnaire>/<slug:section>/preuves/",
        answers.evidence_upload,
        name="convergence_evidence_upload",
    ),
]
