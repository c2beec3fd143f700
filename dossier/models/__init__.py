"""The citizen's dossier médical: documents, mesures de santé, profil médical, vaccinations, exports."""

from dossier.models.documents import AuthorKind, Document, DocumentCategory
from dossier.models.exports import DossierExport
from dossier.models.measures import Device, Measure, MeasureKind, SourceKind
from dossier.models.profile import Immunization, ProfileEntry, ProfileSection

__all__ = [
    "AuthorKind",
    "Device",
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
