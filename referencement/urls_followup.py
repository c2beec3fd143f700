"""``/commission/``: the administrators' follow-up of published référencements (audits, suspension, withdrawal)."""

from django.urls import path

from referencement.views import followup

urlpatterns = [
    path("suivi/", followup.followup_home, name="referencement_followup"),
    path("audits/", followup.audits_list, name="referencement_audits"),
    path("audits/<uuid:audit_id>/", followup.audit_review, name="referencement_audit_review"),
    path(
        "audits/<uuid:audit_id>/pieces/<uuid:file_id>/",
        followup.audit_review_file,
        name="referencement_audit_review_file",
    ),
    path("dossiers/<uuid:dossier_id>/suivi/suspendre/", followup.suspend, name="referencement_suspend"),
    path("dossiers/<uuid:dossier_id>/suivi/retablir/", followup.reinstate, name="referencement_reinstate"),
    path("dossiers/<uuid:dossier_id>/suivi/retirer/", followup.withdraw, name="referencement_withdraw"),
]
