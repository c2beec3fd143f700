"""Reads of the profil médical and the vaccinations, always scoped by the access the policy decided.

Whatever is looked up by its public id goes through these querysets, so an object of another space answers 404,
exactly like one that does not exist.
"""

from dataclasses import dataclass

from django.db.models import F, QuerySet

from dossier.models import Immunization, Measure, MeasureKind, ProfileEntry, ProfileSection, SourceKind
from mes.acces.models import Scope
from mes.acces.policy import CitizenAccess

# The order of the sections on the page and in the PDF synthesis.
SECTION_ORDER = [
    ProfileSection.CONDITIONS,
    ProfileSection.TREATMENTS,
    ProfileSection.FAMILY_HISTORY,
    ProfileSection.ALLERGIES,
    ProfileSection.DISABILITY,
]
BODY_MEASURE_KINDS = (MeasureKind.WEIGHT, MeasureKind.HEIGHT, MeasureKind.BMI)


@dataclass(frozen=True)
class SectionEntries:
    section: ProfileSection
    entries: list[ProfileEntry]

    @property
    def value(self) -> str:
        return self.section.value

    @property
    def label(self) -> str:
        return str(self.section.label)


def profile_entries(access: CitizenAccess) -> QuerySet[ProfileEntry]:
    if not access.can_read(Scope.PROFILE):
        return ProfileEntry.objects.none()
    return ProfileEntry.objects.filter(citizen=access.citizen)


def profile_sections(access: CitizenAccess) -> list[SectionEntries]:
    """The five sections, each with its entries (latest start first, undated ones last), in ONE query."""
    grouped: dict[str, list[ProfileEntry]] = {section.value: [] for section in SECTION_ORDER}
    entries = profile_entries(access).order_by("section", F("start_date").desc(nulls_last=True), "label", "-id")
    for entry in entries:
        grouped.setdefault(entry.section, []).append(entry)
    return [SectionEntries(section=section, entries=grouped[section.value]) for section in SECTION_ORDER]


def immunizations(access: CitizenAccess) -> QuerySet[Immunization]:
    """The vaccinations of the space, most recent first."""
    if not access.can_read(Scope.IMMUNIZATIONS):
        return Immunization.objects.none()
    return Immunization.objects.filter(citizen=access.citizen).order_by("-occurrence_date", "-id")


def immunization_is_editable(access: CitizenAccess, immunization: Immunization) -> bool:
    """The citizen side changes what it recorded itself; what an app or a professional sent stays as sent."""
    return (
        access.may_write
        and access.is_citizen_side
        and immunization.citizen_id == access.citizen.pk
        and immunization.source_kind == SourceKind.CITIZEN
    )


def latest_body_measures(access: CitizenAccess) -> dict[str, Measure]:
    """The latest weight, height and BMI of the space, by kind, in one query (PostgreSQL's DISTINCT ON)."""
    if not access.can_read(Scope.MEASURES):
        return {}
    latest = (
        Measure.objects.filter(citizen=access.citizen, kind__in=BODY_MEASURE_KINDS)
        .order_by("kind", "-effective_at", "-id")
        .distinct("kind")
    )
    return {measure.kind: measure for measure in latest}
