"""FHIR Observations of the measures: each one is built valid, and each broken rule is refused with its path."""

import copy
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from fhir.resources.R4B.observation import Observation

from dossier.fhir.measures import ObservationError, build_observation, validate_observation
from dossier.measures_catalog import (
    GLUCOSE_MOMENTS,
    IDPE_SYSTEM,
    INS_SYSTEM,
    MEASURES,
    MOMENT_EXTENSION,
    PROFILE_BASE,
    check_value,
)
from dossier.models import MeasureKind

pytestmark = pytest.mark.django_db

# A plausible value per measure (blood pressure: systolic, diastolic).
VALID = {
    MeasureKind.WEIGHT: (Decimal("72.5"), None),
    MeasureKind.HEIGHT: (Decimal("172"), None),
    MeasureKind.BMI: (Decimal("24.5"), None),
    MeasureKind.WAIST: (Decimal("88.5"), None),
    MeasureKind.TEMPERATURE: (Decimal("37.8"), None),
    MeasureKind.GLUCOSE: (Decimal("1.05"), None),
    MeasureKind.BLOOD_PRESSURE: (Decimal("125"), Decimal("80")),
    MeasureKind.HEART_RATE: (Decimal("68"), None),
    MeasureKind.PAIN: (Decimal("4"), None),
    MeasureKind.STEPS: (Decimal("8500"), None),
}
EXPECTED_CODES = {
    MeasureKind.WEIGHT: ("FrObservationBodyWeight", "29463-7", "kg"),
    MeasureKind.HEIGHT: ("FrObservationBodyHeight", "8302-2", "cm"),
    MeasureKind.BMI: ("FrObservationBmi", "39156-5", "kg/m2"),
    MeasureKind.WAIST: ("FrObservationWaistCircumference", "8280-0", "cm"),
    MeasureKind.TEMPERATURE: ("FrObservationBodyTemperature", "8310-5", "Cel"),
    MeasureKind.GLUCOSE: ("FrObservationGlucose", "2339-0", "g/L"),
    MeasureKind.BLOOD_PRESSURE: ("FrObservationBp", "85354-9", "mm[Hg]"),
    MeasureKind.HEART_RATE: ("FrObservationHeartrate", "8867-4", "/min"),
    MeasureKind.PAIN: ("FrObservationPainSeverity", "72514-3", "{score}"),
    MeasureKind.STEPS: ("FrObservationStepsByDay", "41950-7", "1/(24.h)"),
}


def observation(citizen, kind, **overrides):
    value, secondary = VALID[kind]
    resource = build_observation(
        spec=MEASURES[kind],
        citizen=citizen,
        effective_at=timezone.now() - timedelta(hours=1),
        value=value,
        value_secondary=secondary,
        moment=GLUCOSE_MOMENTS["a-jeun"] if kind == MeasureKind.GLUCOSE else None,
    )
    resource.update(overrides)
    return resource


def issues_of(resource, citizen, **kwargs):
    with pytest.raises(ObservationError) as caught:
        validate_observation(resource, citizen=citizen, **kwargs)
    return {issue.expression: issue.message for issue in caught.value.issues}


@pytest.mark.parametrize("kind", list(VALID))
def test_each_measure_is_built_valid_for_its_profile(citizen, kind):
    resource = observation(citizen, kind)
    parsed = validate_observation(resource, citizen=citizen, kind=kind, allow_computed=True)
    profile, loinc, unit = EXPECTED_CODES[kind]
    assert resource["meta"]["profile"] == [PROFILE_BASE + profile]
    assert resource["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": loinc,
        "display": MEASURES[kind].loinc_display,
    }
    assert resource["status"] == "final"
    assert resource["category"][0]["coding"][0]["code"] == "vital-signs"
    assert resource["subject"]["identifier"] == {"system": INS_SYSTEM, "value": citizen.ins}
    assert parsed.unit == unit
    assert parsed.value == VALID[kind][0]
    # The FHIR R4 structure itself holds (fhir.resources).
    Observation.model_validate(resource)
    if kind == MeasureKind.BLOOD_PRESSURE:
        assert "valueQuantity" not in resource
        codes = [c["code"]["coding"][0]["code"] for c in resource["component"]]
        assert codes == ["8480-6", "8462-4"]
        assert {c["valueQuantity"]["code"] for c in resource["component"]} == {"mm[Hg]"}
        assert parsed.value_secondary == Decimal("80")
    else:
        assert resource["valueQuantity"]["system"] == "http://unitsofmeasure.org"
        assert resource["valueQuantity"]["code"] == unit


def test_a_measure_is_detected_from_its_profile_without_a_kind(citizen):
    parsed = validate_observation(observation(citizen, MeasureKind.HEART_RATE), citizen=citizen)
    assert parsed.spec.kind == MeasureKind.HEART_RATE
    assert parsed.value == 68


def test_missing_profile_is_refused(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT, meta={})
    assert "Observation.meta.profile" in issues_of(resource, citizen, kind=MeasureKind.WEIGHT)
    assert "Observation.meta.profile" in issues_of(resource, citizen)


def test_profile_of_another_measure_is_refused(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT)
    issues = issues_of(resource, citizen, kind=MeasureKind.HEIGHT)
    assert "FrObservationBodyHeight" in issues["Observation.meta.profile"]


def test_wrong_loinc_code_is_refused(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT)
    resource["code"] = {"coding": [{"system": "http://loinc.org", "code": "8302-2"}]}
    issues = issues_of(resource, citizen)
    assert "29463-7" in issues["Observation.code.coding"]


def test_loinc_code_in_another_system_is_refused(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT)
    resource["code"] = {"coding": [{"system": "http://snomed.info/sct", "code": "29463-7"}]}
    assert "Observation.code.coding" in issues_of(resource, citizen)


def test_glucose_in_plasma_is_accepted(citizen):
    resource = observation(citizen, MeasureKind.GLUCOSE)
    resource["code"] = {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]}
    assert validate_observation(resource, citizen=citizen).spec.kind == MeasureKind.GLUCOSE


def test_wrong_unit_is_refused(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT)
    resource["valueQuantity"] = {"value": 160, "unit": "lb", "system": "http://unitsofmeasure.org", "code": "[lb_av]"}
    issues = issues_of(resource, citizen)
    assert "kg" in issues["Observation.valueQuantity.code"]


def test_unit_outside_ucum_is_refused(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT)
    resource["valueQuantity"]["system"] = "http://example.org/units"
    assert "UCUM" in issues_of(resource, citizen)["Observation.valueQuantity.system"]


def test_missing_value_is_refused(citizen):
    resource = observation(citizen, MeasureKind.TEMPERATURE)
    del resource["valueQuantity"]
    issues = issues_of(resource, citizen)
    assert "obligatoire" in issues["Observation.valueQuantity"]


def test_quantity_without_its_number_is_refused(citizen):
    resource = observation(citizen, MeasureKind.TEMPERATURE)
    del resource["valueQuantity"]["value"]
    assert "sans valeur" in issues_of(resource, citizen)["Observation.valueQuantity.value"]


def test_data_absent_reason_instead_of_a_value_is_refused(citizen):
    resource = observation(citizen, MeasureKind.TEMPERATURE)
    del resource["valueQuantity"]
    resource["dataAbsentReason"] = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown"}]
    }
    assert "Observation.dataAbsentReason" in issues_of(resource, citizen)


def test_value_of_another_type_is_refused(citizen):
    resource = observation(citizen, MeasureKind.PAIN)
    del resource["valueQuantity"]
    resource["valueInteger"] = 4
    issues = issues_of(resource, citizen)
    assert "Observation.valueInteger" in issues


def test_comparator_is_refused(citizen):
    resource = observation(citizen, MeasureKind.GLUCOSE)
    resource["valueQuantity"]["comparator"] = "<"
    assert "Observation.valueQuantity.comparator" in issues_of(resource, citizen)


def test_blood_pressure_without_a_component_is_refused(citizen):
    resource = observation(citizen, MeasureKind.BLOOD_PRESSURE)
    resource["component"] = resource["component"][:1]
    issues = issues_of(resource, citizen)
    assert "8462-4" in issues["Observation.component"]


def test_blood_pressure_with_a_value_of_its_own_is_refused(citizen):
    resource = observation(citizen, MeasureKind.BLOOD_PRESSURE)
    resource["valueQuantity"] = {"value": 125, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}
    assert "composantes" in issues_of(resource, citizen)["Observation.valueQuantity"]


def test_blood_pressure_with_diastolic_above_systolic_is_refused(citizen):
    resource = observation(citizen, MeasureKind.BLOOD_PRESSURE)
    resource["component"][0]["valueQuantity"]["value"] = 70
    resource["component"][1]["valueQuantity"]["value"] = 90
    assert "supérieure" in issues_of(resource, citizen)["Observation.component"]


def test_blood_pressure_component_with_wrong_unit_is_refused(citizen):
    resource = observation(citizen, MeasureKind.BLOOD_PRESSURE)
    resource["component"][1]["valueQuantity"]["code"] = "kPa"
    assert "Observation.component[1].valueQuantity.code" in issues_of(resource, citizen)


def test_effective_date_in_the_future_is_refused(citizen):
    later = (timezone.now() + timedelta(hours=2)).isoformat(timespec="seconds")
    resource = observation(citizen, MeasureKind.WEIGHT, effectiveDateTime=later)
    assert "futur" in issues_of(resource, citizen)["Observation.effectiveDateTime"]


def test_small_clock_skew_is_tolerated(citizen):
    soon = (timezone.now() + timedelta(minutes=2)).isoformat(timespec="seconds")
    resource = observation(citizen, MeasureKind.WEIGHT, effectiveDateTime=soon)
    assert validate_observation(resource, citizen=citizen).effective_at > timezone.now()


@pytest.mark.parametrize("when", ["2024-05-01", "2024-05-01T08:30:00", "2024-05"])
def test_effective_date_without_time_or_time_zone_is_refused(citizen, when):
    resource = observation(citizen, MeasureKind.WEIGHT, effectiveDateTime=when)
    assert "fuseau" in issues_of(resource, citizen)["Observation.effectiveDateTime"]


def test_missing_effective_date_is_refused(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT)
    del resource["effectiveDateTime"]
    assert "Observation.effectiveDateTime" in issues_of(resource, citizen)


def test_effective_date_before_birth_is_refused(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT, effectiveDateTime="1970-01-01T08:00:00+01:00")
    assert "naissance" in issues_of(resource, citizen)["Observation.effectiveDateTime"]


def test_malformed_date_is_a_structure_issue(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT, effectiveDateTime="2024-13-45T99:00:00Z")
    assert "Observation.effectiveDateTime" in issues_of(resource, citizen)


def test_unknown_element_is_a_structure_issue(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT, colour="blue")
    assert "Observation.colour" in issues_of(resource, citizen)


def test_another_resource_type_is_refused(citizen):
    assert "Observation" in issues_of({"resourceType": "Patient"}, citizen)
    assert "Observation" in issues_of(["not", "a", "dict"], citizen)


def test_missing_subject_is_refused(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT)
    del resource["subject"]
    assert "Observation.subject.identifier" in issues_of(resource, citizen)


def test_subject_by_reference_only_is_refused(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT, subject={"reference": "Patient/123"})
    assert "Observation.subject.identifier" in issues_of(resource, citizen)


def test_another_persons_ins_is_refused(citizen, other_citizen):
    resource = observation(other_citizen, MeasureKind.WEIGHT)
    assert "Observation.subject.identifier.value" in issues_of(resource, citizen)


def test_idpe_is_accepted_only_when_the_caller_vouches_for_it(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT)
    resource["subject"] = {"identifier": {"system": IDPE_SYSTEM, "value": "app-pseudonym-42"}}
    assert "Observation.subject.identifier.value" in issues_of(resource, citizen)
    parsed = validate_observation(
        resource, citizen=citizen, subject_identifiers=frozenset({(IDPE_SYSTEM, "app-pseudonym-42")})
    )
    # Stored under the INS: no app ever reads another app's pseudonym of the person.
    assert parsed.resource["subject"]["identifier"] == {"system": INS_SYSTEM, "value": citizen.ins}


def test_unknown_identifier_system_is_refused(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT)
    resource["subject"] = {"identifier": {"system": "urn:oid:1.2.3", "value": citizen.ins}}
    assert "Observation.subject.identifier.system" in issues_of(resource, citizen)


def test_status_other_than_final_is_refused(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT, status="preliminary")
    assert "Observation.status" in issues_of(resource, citizen)


def test_missing_vital_signs_category_is_refused(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT)
    del resource["category"]
    assert "Observation.category" in issues_of(resource, citizen)


def test_glucose_without_moment_is_refused(citizen):
    resource = observation(citizen, MeasureKind.GLUCOSE)
    del resource["extension"]
    assert "moment" in issues_of(resource, citizen)["Observation.extension"]


def test_glucose_with_unknown_moment_is_refused(citizen):
    resource = observation(citizen, MeasureKind.GLUCOSE)
    resource["extension"][0]["valueCodeableConcept"] = {"coding": [{"system": "http://loinc.org", "code": "1234-5"}]}
    assert "Observation.extension[0].valueCodeableConcept" in issues_of(resource, citizen)


@pytest.mark.parametrize(("key", "code"), [("a-jeun", "53049-3"), ("apres-repas", "16915-1"), ("malaise", "A05")])
def test_glucose_moment_codes_come_from_the_ans_value_set(citizen, key, code):
    resource = observation(citizen, MeasureKind.GLUCOSE)
    resource["extension"] = [
        {
            "url": MOMENT_EXTENSION,
            "valueCodeableConcept": {"coding": [{"system": GLUCOSE_MOMENTS[key].system, "code": code}]},
        }
    ]
    assert validate_observation(resource, citizen=citizen).glucose_moment == code


def test_glucose_in_mmol_is_accepted_and_the_unit_kept(citizen):
    resource = observation(citizen, MeasureKind.GLUCOSE)
    resource["valueQuantity"] = {
        "value": 5.8,
        "unit": "mmol/L",
        "system": "http://unitsofmeasure.org",
        "code": "mmol/L",
    }
    parsed = validate_observation(resource, citizen=citizen)
    assert (parsed.value, parsed.unit) == (Decimal("5.8"), "mmol/L")


def test_bmi_is_refused_from_anyone(citizen):
    resource = observation(citizen, MeasureKind.BMI)
    issues = issues_of(resource, citizen)
    assert "calculé par Mon espace santé" in issues["Observation.meta.profile"]
    assert "Observation.meta.profile" in issues_of(resource, citizen, kind=MeasureKind.BMI)


def test_pain_score_written_with_unity_is_accepted_and_normalised(citizen):
    resource = observation(citizen, MeasureKind.PAIN)
    resource["valueQuantity"] = {"value": 6, "unit": "Level", "system": "http://unitsofmeasure.org", "code": "1"}
    parsed = validate_observation(resource, citizen=citizen)
    assert parsed.unit == "{score}"
    assert parsed.resource["valueQuantity"]["code"] == "{score}"


def test_every_issue_is_reported_at_once(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT, status="draft")
    del resource["subject"]
    resource["valueQuantity"]["value"] = 4000
    issues = issues_of(resource, citizen)
    assert {"Observation.status", "Observation.subject.identifier", "Observation.valueQuantity.value"} <= set(issues)
    assert "650" in issues["Observation.valueQuantity.value"]


def test_validation_does_not_change_the_resource_it_is_given(citizen):
    resource = observation(citizen, MeasureKind.WEIGHT)
    before = copy.deepcopy(resource)
    validate_observation(resource, citizen=citizen)
    assert resource == before


# --- plausible bounds -------------------------------------------------------------------------------------------

BOUNDS = [
    (MeasureKind.WEIGHT, "kg", "0.2", "650", "0.1", "650.5"),
    (MeasureKind.HEIGHT, "cm", "20", "275", "19.9", "275.1"),
    (MeasureKind.WAIST, "cm", "20", "300", "19", "301"),
    (MeasureKind.TEMPERATURE, "Cel", "25", "46.5", "24.9", "46.6"),
    (MeasureKind.HEART_RATE, "/min", "20", "300", "19", "301"),
    (MeasureKind.PAIN, "{score}", "0", "10", "-1", "11"),
    (MeasureKind.STEPS, "1/(24.h)", "0", "250000", "-1", "250001"),
    (MeasureKind.GLUCOSE, "g/L", "0.10", "27", "0.09", "27.01"),
    (MeasureKind.GLUCOSE, "mg/dL", "10", "2700", "9", "2701"),
    (MeasureKind.GLUCOSE, "mmol/L", "0.6", "150", "0.5", "150.1"),
]


@pytest.mark.parametrize(("kind", "unit", "low", "high", "too_low", "too_high"), BOUNDS)
def test_bounds_of_each_measure(kind, unit, low, high, too_low, too_high):
    spec = MEASURES[kind]
    unit_spec = spec.unit_for(unit)
    assert check_value(spec, Decimal(low), unit_spec) == []
    assert check_value(spec, Decimal(high), unit_spec) == []
    assert check_value(spec, Decimal(too_low), unit_spec)
    assert check_value(spec, Decimal(too_high), unit_spec)


def test_bounds_message_is_french_and_names_the_limits():
    spec = MEASURES[MeasureKind.WEIGHT]
    assert check_value(spec, Decimal("4000"), spec.unit) == [
        "Poids : la valeur doit être comprise entre 0,2 et 650 kg."
    ]


def test_blood_pressure_component_bounds():
    spec = MEASURES[MeasureKind.BLOOD_PRESSURE]
    systolic, diastolic = spec.components
    assert check_value(spec, Decimal("49"), spec.unit, component=systolic)
    assert check_value(spec, Decimal("301"), spec.unit, component=systolic)
    assert check_value(spec, Decimal("19"), spec.unit, component=diastolic)
    assert check_value(spec, Decimal("201"), spec.unit, component=diastolic)
    assert check_value(spec, Decimal("120"), spec.unit, component=systolic) == []


def test_integer_measures_refuse_decimals_and_others_limit_them():
    pain = MEASURES[MeasureKind.PAIN]
    assert check_value(pain, Decimal("4.5"), pain.unit) == ["Saisissez un nombre entier, sans virgule."]
    weight = MEASURES[MeasureKind.WEIGHT]
    assert check_value(weight, Decimal("72.1234"), weight.unit)
    assert check_value(weight, Decimal("72.125"), weight.unit) == []


def test_glucose_in_the_wrong_unit_gets_a_hint():
    spec = MEASURES[MeasureKind.GLUCOSE]
    problems = check_value(spec, Decimal("105"), spec.unit_for("g/L"))
    assert "mg/dL" in problems[0]
