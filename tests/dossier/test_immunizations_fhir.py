"""The FHIR R4 Immunization: the resource built from a form, and the validation of any incoming one."""

import copy
from datetime import date

import pytest
from fhir.resources.R4B.immunization import Immunization as FhirImmunization

from dossier.fhir.immunization import (
    INS_SYSTEM,
    ImmunizationInvalid,
    immunization_build,
    immunization_validate,
)
from dossier.vaccines import ATC_SYSTEM
from tests.dossier.profile_helpers import app_resource

pytestmark = pytest.mark.django_db

TODAY = date(2025, 6, 15)


def _issues(resource, citizen, **kwargs) -> list[tuple[str, str]]:
    with pytest.raises(ImmunizationInvalid) as raised:
        immunization_validate(resource, citizen=citizen, today=TODAY, **kwargs)
    return [(issue.expression, issue.message) for issue in raised.value.issues]


def test_the_built_resource_is_a_valid_r4_immunization_with_every_field(citizen):
    resource = immunization_build(
        citizen=citizen,
        vaccine_code="J07BD52",
        occurrence_date=date(2021, 9, 1),
        dose_number=2,
        lot_number="AB1234",
        performer="Dr Martin, Lyon",
        resource_id="0b6b5b0e-1111-4222-8333-944444444444",
    )

    FhirImmunization.model_validate(resource)  # raises if not R4-valid
    assert resource["status"] == "completed"
    assert resource["vaccineCode"]["coding"] == [
        {"system": ATC_SYSTEM, "code": "J07BD52", "display": "Rougeole, oreillons, rubéole (ROR)"}
    ]
    assert resource["patient"] == {"identifier": {"system": INS_SYSTEM, "value": citizen.ins}}
    assert resource["occurrenceDateTime"] == "2021-09-01"
    assert resource["lotNumber"] == "AB1234"
    assert resource["protocolApplied"] == [{"doseNumberPositiveInt": 2}]
    assert resource["performer"] == [{"actor": {"display": "Dr Martin, Lyon"}}]
    assert resource["primarySource"] is False
    assert resource["reportOrigin"]["coding"][0]["code"] == "recall"


def test_optional_elements_are_left_out_when_empty(citizen):
    resource = immunization_build(citizen=citizen, vaccine_code="J07BB02", occurrence_date=date(2023, 10, 20))

    assert "lotNumber" not in resource and "performer" not in resource and "protocolApplied" not in resource
    FhirImmunization.model_validate(resource)


def test_validation_extracts_the_columns_and_normalises_id_and_patient(citizen):
    resource = app_resource(citizen)
    resource["id"] = "chosen-by-the-sender"
    resource["patient"] = {"identifier": {"system": "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2560", "value": "idpe"}}

    validated = immunization_validate(resource, citizen=citizen, resource_id="our-id", today=TODAY)

    assert validated.vaccine.code == "J07BB02"
    assert validated.occurrence_date == date(2023, 10, 20)
    assert (validated.dose_number, validated.lot_number, validated.performer) == (1, "FLU-2023", "Pharmacie du Centre")
    assert validated.resource["id"] == "our-id"
    assert validated.resource["patient"] == {"identifier": {"system": INS_SYSTEM, "value": citizen.ins}}
    # The sender's dict is left untouched.
    assert resource["id"] == "chosen-by-the-sender"


def test_a_datetime_is_read_as_the_day_in_paris(citizen):
    resource = app_resource(citizen, occurrence="2023-10-20T23:30:00Z")  # 21 October, 01:30 in Paris

    assert immunization_validate(resource, citizen=citizen, today=TODAY).occurrence_date == date(2023, 10, 21)


@pytest.mark.parametrize(
    ("change", "expression", "message"),
    [
        ({"status": "not-done"}, "Immunization.status", "Seule une vaccination réalisée peut être enregistrée"),
        ({"status": "entered-in-error"}, "Immunization.status", "statut « completed »"),
        (
            {"vaccineCode": {"coding": [{"system": "http://snomed.info/sct", "code": "871831003"}]}},
            "Immunization.vaccineCode.coding",
            "classification ATC",
        ),
        (
            {"vaccineCode": {"coding": [{"system": ATC_SYSTEM, "code": "J07XX99"}]}},
            "Immunization.vaccineCode.coding.code",
            "Code ATC « J07XX99 » absent du référentiel",
        ),
        ({"occurrenceDateTime": "2026-01-01"}, "Immunization.occurrenceDateTime", "dans le futur"),
        ({"occurrenceDateTime": "1979-01-01"}, "Immunization.occurrenceDateTime", "antérieure à la date de naissance"),
        ({"occurrenceDateTime": "2023"}, "Immunization.occurrenceDateTime", "complète : jour, mois et année"),
        ({"occurrenceDateTime": "2023-02-30"}, "Immunization.occurrenceDateTime", "Date invalide"),
        (
            {"protocolApplied": [{"doseNumberPositiveInt": 11}]},
            "Immunization.protocolApplied[0].doseNumberPositiveInt",
            "de 1 à 10",
        ),
        (
            {"protocolApplied": [{"doseNumberPositiveInt": 0}]},
            "Immunization.protocolApplied[0].doseNumberPositiveInt",
            "bornes",
        ),
        (
            {"protocolApplied": [{"doseNumberPositiveInt": "2"}]},
            "Immunization.protocolApplied[0].doseNumberPositiveInt",
            "entier JSON",
        ),
        (
            {"protocolApplied": [{"doseNumberString": "rappel"}]},
            "Immunization.protocolApplied[0].doseNumber[x]",
            "doseNumberPositiveInt",
        ),
        (
            {"protocolApplied": [{"doseNumberPositiveInt": 1}, {"doseNumberPositiveInt": 2}]},
            "Immunization.protocolApplied",
            "Une seule dose",
        ),
        ({"lotNumber": "A" * 41}, "Immunization.lotNumber", "40 caractères"),
        ({"lotNumber": "<script>"}, "Immunization.lotNumber", "lettres sans accent"),
        ({"lotNumber": 1234}, "Immunization.lotNumber", "Type de valeur invalide"),
        (
            {"performer": [{"actor": {"display": "D" * 201}}]},
            "Immunization.performer[0].actor.display",
            "200 caractères",
        ),
        (
            {"patient": {"identifier": {"system": INS_SYSTEM, "value": "180057512345678"}}},
            "Immunization.patient",
            "ne correspond pas au titulaire",
        ),
        ({"unknownElement": True}, "Immunization.unknownElement", "Élément inconnu"),
    ],
)
def test_each_broken_rule_is_reported_in_french_with_its_fhir_path(citizen, change, expression, message):
    resource = app_resource(citizen) | change

    issues = _issues(resource, citizen)

    assert any(path == expression and message in text for path, text in issues), issues


def test_missing_elements_are_all_reported(citizen):
    issues = _issues({"resourceType": "Immunization"}, citizen)

    paths = {path for path, _ in issues}
    assert {"Immunization.patient", "Immunization.vaccineCode"} <= paths
    assert all(text == "Élément obligatoire absent." for path, text in issues if path in paths - {"Immunization"})


def test_a_missing_date_is_reported(citizen):
    resource = app_resource(citizen)
    del resource["occurrenceDateTime"]

    issues = _issues(resource, citizen)

    assert any("occurrenceDateTime" in text and "obligatoire" in text for _, text in issues), issues


def test_a_missing_status_is_reported(citizen):
    resource = app_resource(citizen)
    del resource["status"]

    assert ("Immunization.status", "Élément obligatoire absent.") in _issues(resource, citizen)


def test_several_problems_are_reported_together(citizen):
    resource = app_resource(citizen) | {"status": "not-done", "lotNumber": "§§", "occurrenceDateTime": "2030-01-01"}

    paths = {path for path, _ in _issues(resource, citizen)}

    assert {"Immunization.status", "Immunization.lotNumber", "Immunization.occurrenceDateTime"} <= paths


@pytest.mark.parametrize(
    "resource",
    [None, [], "Immunization", {"resourceType": "Patient"}, {"resourceType": "Immunization", "text": "x" * 40_000}],
)
def test_what_is_not_an_immunization_is_refused(citizen, resource):
    with pytest.raises(ImmunizationInvalid) as raised:
        immunization_validate(resource, citizen=citizen, today=TODAY)
    assert raised.value.issues and all(issue.expression.startswith("Immunization") for issue in raised.value.issues)


def test_the_app_resource_helper_is_itself_valid(citizen):
    resource = app_resource(citizen)
    untouched = copy.deepcopy(resource)

    immunization_validate(resource, citizen=citizen, today=TODAY)

    assert resource == untouched
