"""``/commission/``: the commission's and the administrators' pages (review, instruction, decision, follow-up)."""

from django.urls import include, path

urlpatterns = [
    # Queue, dossier view, comments, conflicts, votes, opinion; instruction and decision; statistics.
    path("", include("referencement.urls_review")),
    # After publication: audits, suspension, reinstatement, withdrawal.
    path("", include("referencement.urls_followup")),
]
