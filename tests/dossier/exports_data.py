"""Rows of a dossier built directly for the export tests: FHIR resources written here, files saved to the storage."""

import hashlib
import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from dossier.models import (
    AuthorKind,
    Document,
    DocumentCategory,
    Immunization,
    Measure,
    MeasureKind,
    ProfileEntry,
    ProfileSection,
    SourceKind,
)
from dossier.models.documents import DocumentFormat, document_upload_to
from mes.comptes.models import Citizen

# A small but real PDF, and a PNG signature with a few bytes: the export never looks inside a file.
PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3 + b"\x00\x01"


def observation(citizen: Citizen, *, value: float = 72.5, at: datetime | None = None) -> dict:
    """A minimal valid R4 body-weight Observation, as the measures' API would store it."""
    at = at or timezone.now()
    return {
        "resourceType": "Observation",
        "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/bodyweight"]},
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"}]},
        "subject": {"identifier": {"system": "urn:oid:1.2.250.1.213.1.4.8", "value": citizen.ins}},
        "effectiveDateTime": at.isoformat(),
        "valueQuantity": {"value": value, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
    }


def make_measure(citizen: Citizen, *, value: float = 72.5, at: datetime | None = None) -> Measure:
    at = at or timezone.now()
    return Measure.objects.create(
        citizen=citizen,
        kind=MeasureKind.WEIGHT,
        effective_at=at,
        value=value,
        unit="kg",
        source_kind=SourceKind.CITIZEN,
        source_label="Saisie par l’usager",
        resource=observation(citizen, value=value, at=at),
    )


def measures_bulk(citizen: Citizen, count: int) -> None:
    start = timezone.now() - timedelta(days=count)
    Measure.objects.bulk_create(
        [
            Measure(
                citizen=citizen,
                kind=MeasureKind.WEIGHT,
                effective_at=start + timedelta(days=n),
                value=60 + n % 30,
                unit="kg",
                source_kind=SourceKind.APP,
                source_label="Balance connectée",
                resource=observation(citizen, value=60 + n % 30, at=start + timedelta(days=n)),
            )
            for n in range(count)
        ],
        batch_size=1000,
    )


def immunization_resource(citizen: Citizen, *, day: date, label: str = "Vaccin DTP") -> dict:
    return {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": {"coding": [{"system": "urn:oid:1.2.250.1.213.2.3.1", "code": "DTP"}], "text": label},
        "patient": {"identifier": {"system": "urn:oid:1.2.250.1.213.1.4.8", "value": citizen.ins}},
        "occurrenceDateTime": day.isoformat(),
        "lotNumber": "A12B3",
        "protocolApplied": [{"doseNumberPositiveInt": 2}],
    }


def make_immunization(citizen: Citizen, *, day: date = date(2021, 3, 4), label: str = "Vaccin DTP") -> Immunization:
    return Immunization.objects.create(
        citizen=citizen,
        vaccine_code="DTP",
        vaccine_label=label,
        occurrence_date=day,
        dose_number=2,
        lot_number="A12B3",
        performer="Dr Marie Curie",
        source_kind=SourceKind.CITIZEN,
        source_label="Saisie par l’usager",
        resource=immunization_resource(citizen, day=day, label=label),
    )


def make_document(
    citizen: Citizen,
    content: bytes = PDF_BYTES,
    *,
    title: str = "Compte rendu de consultation",
    hidden: bool = False,
    file_format: str = DocumentFormat.PDF,
    content_type: str = "application/pdf",
    author_kind: str = AuthorKind.PROFESSIONAL,
    author_label: str = "Dr Marie Curie",
    author_user=None,
    type_code: str = "11488-4",
    category: str = DocumentCategory.REPORTS,
) -> Document:
    document = Document(
        citizen=citizen,
        title=title,
        category=category,
        type_code=type_code,
        act_date=date(2024, 2, 1),
        author_kind=author_kind,
        author_label=author_label,
        author_user=author_user,
        source_label="Hôpital de test",
        hidden_from_professionals=hidden,
        hidden_at=timezone.now() if hidden else None,
        original_name=f"{title[:40]}.{file_format}",
        format=file_format,
        content_type=content_type,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    document.file.name = default_storage.save(document_upload_to(document, "ignored"), ContentFile(content))
    document.save()
    return document


def make_profile_entries(citizen: Citizen) -> dict[str, ProfileEntry]:
    """One entry per section, with dates and notes where they make sense."""
    rows = {
        ProfileSection.CONDITIONS: {"label": "Asthme", "start_date": date(2010, 1, 1), "note": "Léger, à l’effort."},
        ProfileSection.TREATMENTS: {
            "label": "Ventoline 100 µg",
            "start_date": date(2010, 1, 1),
            "end_date": date(2020, 6, 30),
        },
        ProfileSection.FAMILY_HISTORY: {"label": "Diabète de type 2 (père)", "start_date": date(1995, 1, 1)},
        ProfileSection.ALLERGIES: {
            "label": "Pénicilline",
            "start_date": date(2001, 5, 1),
            "end_date": date(2015, 1, 1),
            "note": "Urticaire.",
        },
        ProfileSection.DISABILITY: {"label": "Surdité partielle", "start_date": date(2018, 9, 1)},
    }
    return {
        section: ProfileEntry.objects.create(citizen=citizen, section=section, **fields)
        for section, fields in rows.items()
    }


def read_bundle(export) -> dict:
    with default_storage.open(export.file.name, "rb") as handle:
        return json.load(handle)


def storage_names_under(citizen: Citizen, folder: str) -> list[str]:
    path = f"dossier/{citizen.public_id}/{folder}"
    if not default_storage.exists(path):
        return []
    return default_storage.listdir(path)[1]


def remove_citizen_files(citizens) -> None:
    for public_id in citizens:
        shutil.rmtree(Path(settings.MEDIA_ROOT) / "dossier" / str(public_id), ignore_errors=True)
