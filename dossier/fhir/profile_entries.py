"""The entries of the profil médical as FHIR R4 resources, one resource type per section.

- maladies et antécédents → Condition, category ``problem-list-item``: label → ``code.text``, dates →
  ``onsetDateTime`` / ``abatementDateTime``;
- traitements → MedicationStatement: label → ``medicationCodeableConcept.text``, dates → ``effectivePeriod``;
- antécédents familiaux → FamilyMemberHistory, the relative not being recorded (``FAMMEMB``, « membre de la
  famille »): label → ``condition.code.text``, dates → ``condition.onsetPeriod``;
- allergies → AllergyIntolerance: label → ``code.text``, dates → ``onsetDateTime`` / extension
  ``allergyintolerance-abatement``;
- handicap → Condition, categories ``problem-list-item`` and « Handicap »: as for maladies.

A handicap is a Condition rather than an Observation: the citizen records a lasting situation with a label, a
start and possibly an end, exactly what Condition describes (« a situation ... that has risen to a level of
concern », with onset and abatement); an Observation is a value measured or asserted at a point in time, needing a
code for what was observed and a value, neither of which the profile holds. A second category, coded in this
service's section code system, keeps it apart from the diseases.

The entries are the citizen's own statements: no verification status is claimed, the Patient is the asserter or
the information source, and the free note becomes ``note``. Every resource names its section, coded in this
service's code system — as a second ``category`` of the Conditions, in ``meta.tag`` elsewhere — so that a reader
can rebuild the profile as it was.
"""

from datetime import date

from dossier.fhir.bundle import CANONICAL_BASE, fhir_instant
from dossier.models import ProfileEntry, ProfileSection

SECTION_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/rubrique-profil-medical"
CONDITION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_CLINICAL_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-clinical"
ALLERGY_CLINICAL_SYSTEM = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_ABATEMENT_EXTENSION = "http://hl7.org/fhir/StructureDefinition/allergyintolerance-abatement"
MEDICATION_STATEMENT_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/medication-statement-category"
ROLE_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"


def profile_entry_resource(entry: ProfileEntry, *, patient_ref: str, today: date) -> dict:
    """The FHIR resource of ``entry``, its ``id`` being the entry's public identifier.

    ``today`` decides whether a treatment whose end date is set is still taken (an end date in the future).
    """
    builders = {
        ProfileSection.CONDITIONS: _condition,
        ProfileSection.DISABILITY: _condition,
        ProfileSection.TREATMENTS: _medication_statement,
        ProfileSection.FAMILY_HISTORY: _family_member_history,
        ProfileSection.ALLERGIES: _allergy_intolerance,
    }
    resource = builders[ProfileSection(entry.section)](entry, patient_ref=patient_ref, today=today)
    resource["id"] = str(entry.public_id)
    if entry.note:
        resource["note"] = [{"text": entry.note}]
    return resource


def _section_coding(entry: ProfileEntry) -> dict:
    return {"system": SECTION_SYSTEM, "code": entry.section, "display": str(ProfileSection(entry.section).label)}


def _recorded(entry: ProfileEntry) -> str:
    return fhir_instant(entry.created_at)


def _condition(entry: ProfileEntry, *, patient_ref: str, today: date) -> dict:
    categories = [
        {"coding": [{"system": CONDITION_CATEGORY_SYSTEM, "code": "problem-list-item", "display": "Problem List Item"}]}
    ]
    section = {"coding": [_section_coding(entry)]}
    if entry.section == ProfileSection.DISABILITY:
        section["text"] = "Handicap"
    categories.append(section)
    # An abated condition must be resolved, inactive or in remission (invariant con-4): an end date means resolved.
    clinical = "resolved" if entry.end_date else "active"
    resource: dict = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL_SYSTEM, "code": clinical}]},
        "category": categories,
        "code": {"text": entry.label},
        "subject": {"reference": patient_ref},
        "recordedDate": _recorded(entry),
        "asserter": {"reference": patient_ref},
    }
    if entry.start_date:
        resource["onsetDateTime"] = entry.start_date.isoformat()
    if entry.end_date:
        resource["abatementDateTime"] = entry.end_date.isoformat()
    return resource


def _medication_statement(entry: ProfileEntry, *, patient_ref: str, today: date) -> dict:
    status = "completed" if entry.end_date and entry.end_date < today else "active"
    resource: dict = {
        "resourceType": "MedicationStatement",
        "meta": {"tag": [_section_coding(entry)]},
        "status": status,
        "category": {
            "coding": [
                {
                    "system": MEDICATION_STATEMENT_CATEGORY_SYSTEM,
                    "code": "patientspecified",
                    "display": "Patient Specified",
                }
            ]
        },
        "medicationCodeableConcept": {"text": entry.label},
        "subject": {"reference": patient_ref},
        "dateAsserted": fhir_instant(entry.updated_at),
        "informationSource": {"reference": patient_ref},
    }
    period = _period(entry)
    if period:
        resource["effectivePeriod"] = period
    return resource


def _family_member_history(entry: ProfileEntry, *, patient_ref: str, today: date) -> dict:
    condition: dict = {"code": {"text": entry.label}}
    period = _period(entry)
    if period:
        condition["onsetPeriod"] = period
    return {
        "resourceType": "FamilyMemberHistory",
        "meta": {"tag": [_section_coding(entry)]},
        "status": "completed",
        "patient": {"reference": patient_ref},
        "date": fhir_instant(entry.updated_at),
        # Which relative is not recorded by the profile: the generic « family member » of the HL7 role codes.
        "relationship": {
            "coding": [{"system": ROLE_CODE_SYSTEM, "code": "FAMMEMB", "display": "family member"}],
            "text": "Membre de la famille",
        },
        "condition": [condition],
    }


def _allergy_intolerance(entry: ProfileEntry, *, patient_ref: str, today: date) -> dict:
    clinical = "resolved" if entry.end_date else "active"
    resource: dict = {
        "resourceType": "AllergyIntolerance",
        "meta": {"tag": [_section_coding(entry)]},
        "clinicalStatus": {"coding": [{"system": ALLERGY_CLINICAL_SYSTEM, "code": clinical}]},
        "code": {"text": entry.label},
        "patient": {"reference": patient_ref},
        "recordedDate": _recorded(entry),
        "asserter": {"reference": patient_ref},
    }
    if entry.start_date:
        resource["onsetDateTime"] = entry.start_date.isoformat()
    if entry.end_date:
        resource["extension"] = [{"url": ALLERGY_ABATEMENT_EXTENSION, "valueDateTime": entry.end_date.isoformat()}]
    return resource


def _period(entry: ProfileEntry) -> dict:
    period = {}
    if entry.start_date:
        period["start"] = entry.start_date.isoformat()
    if entry.end_date:
        period["end"] = entry.end_date.isoformat()
    return period
