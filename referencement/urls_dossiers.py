"""``/editeurs/``: the portal's home, the eligibility diagnosis, and the référencement dossiers of the editor."""

from django.urls import path

from referencement.views import editor

DOSSIER = "referencement/<uuid:dossier_id>/"

urlpatterns = [
    path("", editor.editor_home, name="editor_home"),
    path("eligibilite/", editor.eligibility, name="referencement_eligibility"),
    path("referencement/", editor.dossier_list, name="referencement_dossiers"),
    path("referencement/nouveau/", editor.dossier_new, name="referencement_dossier_new"),
    path(DOSSIER, editor.dossier_detail, name="referencement_dossier"),
    path(DOSSIER + "extrait.pdf", editor.extract_pdf, name="referencement_extract_pdf"),
    path(DOSSIER + "modifier/<slug:section>/", editor.dossier_edit, name="referencement_dossier_edit"),
    path(DOSSIER + "images/", editor.dossier_images, name="referencement_dossier_images"),
    path(DOSSIER + "images/logo/", editor.dossier_logo, name="referencement_dossier_logo"),
    path(DOSSIER + "images/captures/", editor.dossier_screenshot_new, name="referencement_dossier_screenshot_add"),
    path(
        DOSSIER + "images/captures/<uuid:screenshot_id>/retirer/",
        editor.dossier_screenshot_delete,
        name="referencement_dossier_screenshot_remove",
    ),
    path(
        DOSSIER + "images/captures/<uuid:screenshot_id>/deplacer/",
        editor.dossier_screenshot_reorder,
        name="referencement_dossier_screenshot_move",
    ),
    # ``image`` is the beginning of the image's SHA-256 (16 hexadecimal digits): a new image gets a new address.
    path(DOSSIER + "images/<slug:image>.png", editor.dossier_image, name="referencement_dossier_image"),
    path(DOSSIER + "deposer/", editor.dossier_submit_page, name="referencement_dossier_submit"),
    path(DOSSIER + "abandonner/", editor.dossier_abandon_page, name="referencement_dossier_abandon"),
    path(DOSSIER + "reponse-commission/", editor.dossier_answer, name="referencement_dossier_answer"),
    path(DOSSIER + "nouvelle-demande/", editor.dossier_redeclare_page, name="referencement_dossier_redeclare"),
]
