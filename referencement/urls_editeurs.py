"""``/editeurs/``: the editors' portal (Convergence, eligibility, référencement dossiers, tests, convention, audits)."""

from django.urls import include, path

urlpatterns = [
    path("convergence/", include("convergence.urls")),
    # Home, eligibility diagnosis, dossiers and their timeline.
    path("", include("referencement.urls_dossiers")),
    # Technical tests (sandbox credentials and the live checklist).
    path("", include("referencement.urls_sandbox")),
    # Convention signature and audits answered by the editor.
    path("", include("referencement.urls_convention")),
]
