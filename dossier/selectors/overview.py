"""The summary of the dossier's home page, in a constant number of queries."""

from dataclasses import dataclass

from django.db.models import Count, Q

from dossier.models import Document, Immunization, Measure, ProfileEntry
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
    citizen = access.citizen
    documents = Document.objects.filter(citizen=citizen)
    if not access.sees_hidden_documents:
        documents = documents.filter(hidden_from_professionals=False)
    counts = documents.aggregate(total=Count("id"), hidden=Count("id", filter=Q(hidden_from_professionals=True)))
    return DossierOverview(
        documents=counts["total"],
        hidden_documents=counts["hidden"],
        measures=Measure.objects.filter(citizen=citizen).count(),
        profile_entries=ProfileEntry.objects.filter(citizen=citizen).count(),
        immunizations=Immunization.objects.filter(citizen=citizen).count(),
        latest_documents=list(documents.order_by("-act_date", "-id")[:3]),
    )
