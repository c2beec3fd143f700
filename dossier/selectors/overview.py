"""The summary of the dossier's home page, in a constant number of queries."""

from dataclasses import dataclass

from django.db.models import Count, Q

from dossier.models import Document
from dossier.selectors.documents import documents_visible
from dossier.selectors.measures import measures_visible
from dossier.selectors.profile import immunizations, profile_entries
from mes.acces.policy import CitizenAccess


@dataclass(frozen=True)
class DossierOverview:
    documents: int
    hidden_documents: int
    measures: int
    profile_entries: int
    immunizations: int
    latest_documents: list[Document]


def dossier_overview(access: CitizenAccess) -> DossierOverview:
    """Counts of what the access may see only: a hidden document is not counted for whoever may not see it."""
    documents = documents_visible(access)
    counts = documents.aggregate(total=Count("id"), hidden=Count("id", filter=Q(hidden_from_professionals=True)))
    return DossierOverview(
        documents=counts["total"],
        hidden_documents=counts["hidden"],
        measures=measures_visible(access).count(),
        profile_entries=profile_entries(access).count(),
        immunizations=immunizations(access).count(),
        latest_documents=list(documents.order_by("-act_date", "-id")[:3]),
    )
