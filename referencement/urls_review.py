"""``/commission/``: the queue, the dossier under review and its files, the commission's private part, the
administrators' instruction and decision, and the statistics."""

from django.urls import path

from referencement.views import commission

dossier = "dossiers/<uuid:dossier_id>/"

urlpatterns = [
    path("", commission.commission_home, name="commission_home"),
    path("statistiques/", commission.statistics, name="commission_statistics"),
    path(dossier, commission.commission_dossier, name="commission_dossier"),
    path(dossier + "extrait.pdf", commission.commission_extract_pdf, name="commission_extract_pdf"),
    # ``image`` is the beginning of the image's SHA-256 (catalogue.models.IMAGE_KEY_LENGTH hexadecimal digits).
    path(dossier + "images/<slug:image>.png", commission.commission_dossier_image, name="commission_dossier_image"),
    path(dossier + "preuves/<uuid:evidence_id>/", commission.commission_evidence, name="commission_evidence"),
    # The commission's private part.
    path(dossier + "commentaires/", commission.commission_comment, name="commission_comment"),
    path(dossier + "conflit/", commission.commission_conflict, name="commission_conflict"),
    path(dossier + "vote/", commission.commission_vote, name="commission_vote"),
    path(dossier + "avis/", commission.commission_opinion, name="commission_opinion"),
    # Instruction and decision, by the administrators.
    path(dossier + "recevabilite/", commission.commission_admissible, name="commission_admissible"),
    path(dossier + "complements/", commission.commission_completion, name="commission_completion"),
    path(dossier + "tests/", commission.commission_tests_start, name="commission_tests_start"),
    path(dossier + "transmission/", commission.commission_refer, name="commission_refer"),
    path(dossier + "decision/", commission.commission_decision, name="commission_decision"),
]
