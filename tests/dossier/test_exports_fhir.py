"""The FHIR mappings of the export: Patient, DocumentReference and Binary, profile entries, the streaming writer."""

import base64
import io
import json
import uuid
from datetime import UTC, date, datetime

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from dossier.fhir.bundle import BASE64_BLOCK, BundleWriter, fhir_instant, urn_uuid
from dossier.fhir.documents import (
    CATEGORY_SYSTEM,
    DMP_CONFIDENTIALITY_SYSTEM,
    binary_id,
    binary_resource,
    document_reference_resource,
)
from dossier.fhir.patient import INS_NIR_SYSTEM, patient_resource
from dossier.fhir.profile_entries import SECTION_SYSTEM, profile_entry_resource
from dossier.models import AuthorKind, ProfileEntry, ProfileSection
from mes.comptes.models import Citizen, Sex
from tests.dossier.exports_data import make_document, make_profile_entries, remove_citizen_files
from tests.factories import UserFactory

PATIENT = "urn:uuid:00000000-0000-4000-8000-000000000001"


@pytest.fixture(autouse=True)
def _clean_storage(db):
    yield
    remove_citizen_files(Citizen.objects.values_list("public_id", flat=True))


def _valid(resource: dict) -> dict:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


# --- Patient --------------------------------------------------------------------------------------------------------


def test_patient_carries_the_ins_identity_names_contacts_and_address(citizen):
    citizen.used_first_name = "Cam"
    citizen.contact_email = "camille@exemple.fr"
    citizen.contact_phone = "0612345678"
    citizen.address_line = "3 rue des Lilas"
    citizen.address_complement = "Bâtiment B"
    citizen.postal_code = "31000"
    citizen.city = "Toulouse"
    resource = _valid(patient_resource(citizen))

    assert resource["id"] == str(citizen.public_id)
    (ins,) = resource["identifier"]
    assert (ins["system"], ins["value"]) == (INS_NIR_SYSTEM, citizen.ins)
    assert ins["type"]["coding"][0]["code"] == "INS-NIR"
    assert resource["name"] == [
        {"use": "official", "family": "DURAND", "given": ["Camille"]},
        {"use": "usual", "family": "DURAND", "given": ["Cam"]},
    ]
    assert resource["birthDate"] == citizen.birth_date.isoformat()
    assert resource["gender"] == "female"
    assert resource["telecom"] == [
        {"system": "phone", "value": "0612345678"},
        {"system": "email", "value": "camille@exemple.fr"},
    ]
    assert resource["address"] == [
        {
            "use": "home",
            "type": "postal",
            "line": ["3 rue des Lilas", "Bâtiment B"],
            "postalCode": "31000",
            "city": "Toulouse",
            "country": "FRA",
        }
    ]
    birth_place = resource["extension"][0]["valueAddress"]["extension"][0]["valueCoding"]
    assert birth_place["code"] == citizen.birthplace_code


def test_patient_without_contact_born_abroad_of_indeterminate_sex(citizen):
    citizen.sex = Sex.OTHER
    citizen.birthplace_code = "99134"
    citizen.contact_email = ""
    resource = _valid(patient_resource(citizen))
    # FR Core's INS genders: M, F, I → male, female, unknown.
    assert resource["gender"] == "unknown"
    assert "telecom" not in resource
    assert "address" not in resource
    assert "extension" not in resource  # a country code is not a commune


# --- Documents ------------------------------------------------------------------------------------------------------


def _reference(document, **kwargs) -> dict:
    return _valid(
        document_reference_resource(
            document,
            patient_ref=PATIENT,
            patient_display="Camille DURAND",
            citizen_user_id=document.citizen.user_id,
            binary_url=urn_uuid(binary_id(document)),
            sha1_base64="2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
            **kwargs,
        )
    )


def test_document_reference_follows_the_pdsm_mapping(citizen):
    document = make_document(citizen, title="Compte rendu de consultation")
    resource = _reference(document)
    assert resource["id"] == str(document.public_id)
    assert resource["status"] == "current"
    assert resource["masterIdentifier"]["value"] == f"urn:uuid:{document.public_id}"
    assert resource["type"]["coding"] == [
        {"system": "http://loinc.org", "code": "11488-4", "display": "CR ou fiche de consultation ou de visite"}
    ]
    assert resource["category"][0]["coding"] == [
        {"system": CATEGORY_SYSTEM, "code": "comptes_rendus", "display": "Comptes rendus"}
    ]
    assert resource["description"] == "Compte rendu de consultation"
    assert resource["date"] == fhir_instant(document.created_at)
    assert resource["context"]["period"] == {"start": "2024-02-01"}
    assert resource["author"] == [{"type": "Practitioner", "display": "Dr Marie Curie"}]
    assert resource["securityLabel"] == [
        {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "N", "display": "normal"}
            ]
        }
    ]
    attachment = resource["content"][0]["attachment"]
    assert attachment["contentType"] == "application/pdf"
    assert attachment["size"] == document.size_bytes
    assert attachment["hash"] == "2jmj7l5rSw0yVb/vlWAYkK/YBwk="
    assert attachment["url"] == urn_uuid(binary_id(document))
    assert attachment["title"] == document.original_name
    assert resource["extension"][0]["valueString"] == "Hôpital de test"


def test_a_hidden_document_carries_the_dmp_masque_ps_label(citizen):
    resource = _reference(make_document(citizen, hidden=True))
    codes = [(c["system"], c["code"]) for label in resource["securityLabel"] for c in label["coding"]]
    assert (DMP_CONFIDENTIALITY_SYSTEM, "MASQUE_PS") in codes


def test_document_authors_the_citizen_a_representative_an_app(citizen, child):
    own = make_document(citizen, author_kind=AuthorKind.CITIZEN, author_label="Vous", author_user=citizen.user)
    assert _reference(own)["author"] == [{"reference": PATIENT, "display": "Camille DURAND"}]

    parent = UserFactory(first_name="Paul", last_name="MARTIN")
    by_parent = make_document(child, author_kind=AuthorKind.CITIZEN, author_label="Vous", author_user=parent)
    assert _reference(by_parent)["author"] == [{"type": "RelatedPerson", "display": "Paul MARTIN"}]

    by_app = make_document(citizen, author_kind=AuthorKind.APP, author_label="Appli Santé+")
    assert _reference(by_app)["author"] == [{"type": "Device", "display": "Appli Santé+"}]


def test_an_unknown_document_type_keeps_its_code_without_an_invented_display(citizen):
    document = make_document(citizen, type_code="99999-9")
    assert _reference(document)["type"]["coding"] == [{"system": "http://loinc.org", "code": "99999-9"}]
    assert _reference(document, type_display="Type local")["type"]["coding"][0]["display"] == "Type local"


def test_binary_points_to_its_document_reference_and_has_a_stable_id(citizen):
    document = make_document(citizen)
    binary = binary_resource(document, document_reference_url=urn_uuid(document.public_id))
    assert binary == {
        "resourceType": "Binary",
        "id": str(binary_id(document)),
        "contentType": "application/pdf",
        "securityContext": {"reference": f"urn:uuid:{document.public_id}"},
    }
    assert binary_id(document) == binary_id(document) != document.public_id


# --- Profile entries ------------------------------------------------------------------------------------------------


def test_each_profile_section_maps_to_its_resource(citizen):
    entries = make_profile_entries(citizen)
    today = date(2024, 6, 1)
    resources = {
        section: _valid(profile_entry_resource(entry, patient_ref=PATIENT, today=today))
        for section, entry in entries.items()
    }

    condition = resources[ProfileSection.CONDITIONS]
    assert condition["resourceType"] == "Condition"
    assert condition["code"] == {"text": "Asthme"}
    assert condition["category"][0]["coding"][0]["code"] == "problem-list-item"
    assert condition["clinicalStatus"]["coding"][0]["code"] == "active"
    assert condition["onsetDateTime"] == "2010-01-01"
    assert "abatementDateTime" not in condition
    assert condition["note"] == [{"text": "Léger, à l’effort."}]
    assert condition["subject"] == {"reference": PATIENT}

    treatment = resources[ProfileSection.TREATMENTS]
    assert treatment["resourceType"] == "MedicationStatement"
    assert treatment["medicationCodeableConcept"] == {"text": "Ventoline 100 µg"}
    assert treatment["effectivePeriod"] == {"start": "2010-01-01", "end": "2020-06-30"}
    assert treatment["status"] == "completed"

    family = resources[ProfileSection.FAMILY_HISTORY]
    assert family["resourceType"] == "FamilyMemberHistory"
    assert family["relationship"]["coding"][0]["code"] == "FAMMEMB"
    assert family["condition"] == [
        {"code": {"text": "Diabète de type 2 (père)"}, "onsetPeriod": {"start": "1995-01-01"}}
    ]
    assert family["patient"] == {"reference": PATIENT}

    allergy = resources[ProfileSection.ALLERGIES]
    assert allergy["resourceType"] == "AllergyIntolerance"
    assert allergy["code"] == {"text": "Pénicilline"}
    assert allergy["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert allergy["extension"][0]["valueDateTime"] == "2015-01-01"

    disability = resources[ProfileSection.DISABILITY]
    assert disability["resourceType"] == "Condition"
    assert disability["category"][1]["text"] == "Handicap"
    assert disability["category"][1]["coding"][0] == {
        "system": SECTION_SYSTEM,
        "code": "handicap",
        "display": "Handicap",
    }

    for section, resource in resources.items():
        assert resource["id"] == str(entries[section].public_id)
        # The section is a second category of the Conditions, a tag of the others.
        categories = resource["category"] if resource["resourceType"] == "Condition" else []
        codings = resource.get("meta", {}).get("tag", []) + [coding for cat in categories for coding in cat["coding"]]
        assert {"system": SECTION_SYSTEM, "code": section.value, "display": str(section.label)} in codings


def test_an_ended_condition_is_resolved_as_fhir_requires(citizen):
    entry = ProfileEntry.objects.create(
        citizen=citizen, section=ProfileSection.CONDITIONS, label="Fracture du poignet", end_date=date(2019, 3, 1)
    )
    resource = _valid(profile_entry_resource(entry, patient_ref=PATIENT, today=date(2024, 1, 1)))
    # Invariant con-4: an abated condition is resolved, inactive or in remission.
    assert resource["abatementDateTime"] == "2019-03-01"
    assert resource["clinicalStatus"]["coding"][0]["code"] == "resolved"
    assert "note" not in resource


def test_a_treatment_ending_in_the_future_is_still_active(citizen):
    entry = ProfileEntry.objects.create(
        citizen=citizen, section=ProfileSection.TREATMENTS, label="Antibiotique", end_date=date(2024, 1, 10)
    )
    assert profile_entry_resource(entry, patient_ref=PATIENT, today=date(2024, 1, 5))["status"] == "active"
    assert profile_entry_resource(entry, patient_ref=PATIENT, today=date(2024, 1, 11))["status"] == "completed"


# --- The streaming writer -------------------------------------------------------------------------------------------


def _bundle_bytes(write) -> dict:
    stream = io.BytesIO()
    with BundleWriter(stream, bundle_id=uuid.uuid4(), timestamp=datetime(2024, 5, 1, 8, 30, tzinfo=UTC)) as writer:
        write(writer)
    data = json.loads(stream.getvalue())
    Bundle.model_validate(data)
    assert writer.bytes_written == len(stream.getvalue())
    return data


@pytest.mark.parametrize("sizes", [[1], [2, 1], [5, 7, 11], [BASE64_BLOCK - 1, 2, BASE64_BLOCK + 1], [100_001, 3]])
def test_binary_data_is_the_exact_base64_of_chunks_of_any_size(sizes):
    chunks = [bytes((n * 7 + i) % 256 for i in range(size)) for n, size in enumerate(sizes)]
    content = b"".join(chunks)

    def write(writer):
        read = writer.add_binary(
            {"resourceType": "Binary", "id": "b", "contentType": "application/pdf"},
            full_url="urn:uuid:11111111-1111-4111-8111-111111111111",
            chunks=iter(chunks),
        )
        assert read == len(content)

    data = _bundle_bytes(write)
    binary = data["entry"][0]["resource"]
    assert base64.b64decode(binary["data"], validate=True) == content
    assert binary["data"] == base64.b64encode(content).decode()


def test_writer_envelope_and_empty_binary():
    def write(writer):
        writer.add({"resourceType": "Patient", "id": "p"}, full_url="urn:uuid:22222222-2222-4222-8222-222222222222")
        writer.add_binary(
            {"resourceType": "Binary", "id": "e", "contentType": "image/png"},
            full_url="urn:uuid:33333333-3333-4333-8333-333333333333",
            chunks=iter([]),
        )

    data = _bundle_bytes(write)
    assert data["resourceType"] == "Bundle"
    assert data["type"] == "collection"
    assert data["timestamp"] == "2024-05-01T08:30:00Z"
    assert data["entry"][1]["resource"] == {"resourceType": "Binary", "id": "e", "contentType": "image/png"}


def test_an_empty_bundle_has_no_empty_entry_array():
    assert "entry" not in _bundle_bytes(lambda writer: None)


def test_writing_after_close_is_refused():
    writer = BundleWriter(io.BytesIO(), bundle_id=uuid.uuid4(), timestamp=datetime.now(UTC))
    writer.open()
    writer.close()
    with pytest.raises(RuntimeError):
        writer.add({"resourceType": "Patient"}, full_url="urn:uuid:x")
