"""The citizen's dossier médical: documents, mesures de santé, profil médical, vaccinations, exports."""

from dossier.models.documents import AuthorKind, Document, DocumentCategory
from dossier.models.exports import DossierExport
from dossier.models.measures import Measure, MeasureKind, SourceKind
from dossier.models.profile import Immunization, ProfileEntry, ProfileSection

__all__ = [
    "AuthorKind",
    "Document",
    "DocumentCategory",
    "DossierExport",
    "Immunization",
    "Measure",
    "MeasureKind",
    "ProfileEntry",
    "ProfileSection",
    "SourceKind",
]
