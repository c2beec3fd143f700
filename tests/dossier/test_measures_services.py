"""Services of the measures: recording, the API's recording of a whole Observation, deletion, journal, and BMI."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from dossier.fhir.measures import ObservationError, build_observation, validate_observation
from dossier.measures_catalog import GLUCOSE_MOMENTS, IDPE_SYSTEM, INS_SYSTEM, MEASURES
from dossier.models import Measure, MeasureKind, SourceKind
from dossier.services.measures import (
    MEASURE_ADDED,
    MEASURE_DELETED,
    bmi_value,
    measure_delete,
    measure_record_observation,
    measure_source_label,
)
from mes.acces.journal import action_label
from mes.acces.models import JournalEntry
from mes.acces.policy import NO_SCOPE
from tests.dossier.measures_support import at, record

pytestmark = pytest.mark.django_db


def bmis(citizen):
    return list(Measure.objects.filter(citizen=citizen, kind=MeasureKind.BMI).order_by("effective_at", "id"))


# --- recording --------------------------------------------------------------------------------------------------


def test_record_stores_the_resource_and_the_search_columns(access, citizen):
    measure = record(access, MeasureKind.WEIGHT, "72.5", at(2024, 5, 1, 8, 30))
    measure.refresh_from_db()
    assert measure.citizen == citizen
    assert (measure.kind, measure.value, measure.unit) == (MeasureKind.WEIGHT, Decimal("72.5"), "kg")
    assert measure.effective_at == at(2024, 5, 1, 8, 30)
    assert measure.source_kind == SourceKind.CITIZEN
    assert measure.source_label == "Saisie par l’usager"
    assert measure.recorded_by == citizen.user
    assert measure.resource["id"] == str(measure.public_id)
    assert measure.resource["effectiveDateTime"] == "2024-05-01T08:30:00+02:00"
    assert measure.resource["valueQuantity"]["value"] == 72.5
    # What is stored is itself a valid Observation of the profile.
    validate_observation(measure.resource, citizen=citizen, kind=MeasureKind.WEIGHT)


def test_record_writes_one_journal_row_without_the_value(access, citizen):
    measure = record(access, MeasureKind.TEMPERATURE, "38.2")
    entry = JournalEntry.objects.get(action=MEASURE_ADDED)
    assert entry.actor == citizen.user
    assert entry.citizen == citizen
    assert entry.object_id == str(measure.public_id)
    assert entry.details["kind"] == MeasureKind.TEMPERATURE
    # The value itself is nowhere in the row: only the kind, the source and the date.
    assert set(entry.details) == {"kind", "source_kind", "effective_at"}
    assert "38.2" not in {str(v) for v in entry.details.values()}
    assert action_label(MEASURE_ADDED) == "Ajout d’une mesure de santé"
    assert action_label(MEASURE_DELETED) == "Suppression d’une mesure de santé"


def test_record_blood_pressure_keeps_both_values(access):
    measure = record(access, MeasureKind.BLOOD_PRESSURE, 132, value_secondary=84)
    assert (measure.value, measure.value_secondary, measure.unit) == (132, 84, "mm[Hg]")
    assert [c["valueQuantity"]["value"] for c in measure.resource["component"]] == [132, 84]


def test_record_blood_pressure_needs_both_values(access):
    with pytest.raises(ObservationError) as caught:
        record(access, MeasureKind.BLOOD_PRESSURE, 132)
    assert caught.value.issues[0].expression == "Observation.component"
    assert not Measure.objects.exists()


def test_record_glucose_needs_a_moment(access):
    with pytest.raises(ObservationError) as caught:
        record(access, MeasureKind.GLUCOSE, "1.05", unit="g/L")
    assert "moment" in caught.value.issues[0].message
    assert not Measure.objects.exists()


def test_record_glucose_keeps_the_unit_and_the_moment(access):
    measure = record(access, MeasureKind.GLUCOSE, "105", unit="mg/dL", glucose_moment="coucher")
    assert (measure.value, measure.unit, measure.glucose_moment) == (Decimal("105"), "mg/dL", "LA46-8")
    concept = measure.resource["extension"][0]["valueCodeableConcept"]
    assert concept["text"] == "Au coucher"
    assert concept["coding"][0]["code"] == GLUCOSE_MOMENTS["coucher"].code


def test_record_refuses_an_impossible_value_with_a_french_message(access):
    with pytest.raises(ObservationError) as caught:
        record(access, MeasureKind.WEIGHT, "4000")
    assert caught.value.issues[0].expression == "Observation.valueQuantity.value"
    assert "650" in caught.value.issues[0].message
    assert not Measure.objects.exists()
    assert not JournalEntry.objects.filter(action=MEASURE_ADDED).exists()


def test_record_refuses_a_date_in_the_future(access):
    with pytest.raises(ObservationError):
        record(access, MeasureKind.WEIGHT, "70", timezone.now() + timedelta(days=1))


def test_record_refuses_a_bmi(access):
    with pytest.raises(ObservationError):
        record(access, MeasureKind.BMI, "22")
    assert not Measure.objects.exists()


def test_record_refuses_an_unknown_unit(access):
    with pytest.raises(ObservationError):
        record(access, MeasureKind.GLUCOSE, "1", unit="kg", glucose_moment="a-jeun")


def test_record_refuses_an_access_that_may_not_write(access):
    with pytest.raises(PermissionDenied):
        record(replace(access, write_scopes=NO_SCOPE), MeasureKind.WEIGHT, "70")
    assert not Measure.objects.exists()


def test_nobody_records_a_computed_value(access):
    with pytest.raises(PermissionDenied):
        record(access, MeasureKind.WEIGHT, "70", source_kind=SourceKind.COMPUTED)


def test_a_parent_records_for_the_child_with_the_source_saying_so(child_access, child, citizen):
    measure = record(child_access, MeasureKind.HEIGHT, "128")
    assert measure.citizen == child
    assert measure.recorded_by == citizen.user
    assert measure.source_label == "Saisie par Camille Test (représentant légal)"
    assert measure.resource["subject"]["identifier"]["value"] == child.ins
    assert JournalEntry.objects.get(action=MEASURE_ADDED).citizen == child


# --- a whole Observation (the API) ------------------------------------------------------------------------------


def app_observation(citizen, *, kind=MeasureKind.HEART_RATE, value=Decimal("64")):
    resource = build_observation(
        spec=MEASURES[kind], citizen=citizen, effective_at=timezone.now() - timedelta(hours=2), value=value
    )
    resource["subject"] = {"identifier": {"system": IDPE_SYSTEM, "value": "idpe-123"}}
    resource["meta"]["source"] = "urn:oid:1.2.250.1.999"
    return resource


def test_record_observation_from_an_app(access, citizen):
    measure = measure_record_observation(
        access=access,
        resource=app_observation(citizen),
        source_kind=SourceKind.APP,
        source_label="Cardio Suivi",
        subject_identifiers=frozenset({(IDPE_SYSTEM, "idpe-123")}),
    )
    assert (measure.kind, measure.value, measure.source_kind) == (MeasureKind.HEART_RATE, 64, SourceKind.APP)
    assert measure.resource["id"] == str(measure.public_id)
    assert measure.resource["subject"]["identifier"] == {"system": INS_SYSTEM, "value": citizen.ins}
    assert measure.resource["meta"]["source"] == "urn:oid:1.2.250.1.999"
    assert JournalEntry.objects.filter(action=MEASURE_ADDED, object_id=str(measure.public_id)).count() == 1


def test_record_observation_refuses_an_idpe_it_was_not_given(access, citizen):
    with pytest.raises(ObservationError) as caught:
        measure_record_observation(
            access=access, resource=app_observation(citizen), source_kind=SourceKind.APP, source_label="Cardio Suivi"
        )
    assert caught.value.issues[0].expression == "Observation.subject.identifier.value"
    assert not Measure.objects.exists()


def test_record_observation_refuses_a_bmi(access, citizen):
    resource = build_observation(
        spec=MEASURES[MeasureKind.BMI], citizen=citizen, effective_at=timezone.now(), value=Decimal("23")
    )
    with pytest.raises(ObservationError) as caught:
        measure_record_observation(access=access, resource=resource, source_kind=SourceKind.APP, source_label="Balance")
    assert "calculé" in caught.value.issues[0].message
    assert not Measure.objects.exists()


def test_record_observation_ignores_the_id_it_is_sent(access, citizen):
    resource = app_observation(citizen)
    resource["subject"] = {"identifier": {"system": INS_SYSTEM, "value": citizen.ins}}
    resource["id"] = "chosen-by-the-app"
    measure = measure_record_observation(
        access=access, resource=resource, source_kind=SourceKind.APP, source_label="Cardio Suivi"
    )
    assert measure.resource["id"] == str(measure.public_id)
    assert list(measure.resource)[:2] == ["resourceType", "id"]


def test_an_app_weight_gives_a_bmi_too(access, citizen):
    record(access, MeasureKind.HEIGHT, "180", at(2024, 1, 1, 8, 0))
    resource = app_observation(citizen, kind=MeasureKind.WEIGHT, value=Decimal("81"))
    resource["subject"] = {"identifier": {"system": INS_SYSTEM, "value": citizen.ins}}
    weight = measure_record_observation(
        access=access, resource=resource, source_kind=SourceKind.APP, source_label="Balance connectée"
    )
    [bmi] = bmis(citizen)
    assert bmi.value == Decimal("25.0")
    assert bmi.effective_at == weight.effective_at


# --- deletion ---------------------------------------------------------------------------------------------------


def test_delete_an_own_entry_writes_the_journal(access, citizen):
    measure = record(access, MeasureKind.PAIN, 7)
    measure_delete(access=access, measure=measure)
    assert not Measure.objects.exists()
    entry = JournalEntry.objects.get(action=MEASURE_DELETED)
    assert (entry.actor, entry.citizen, entry.object_id) == (citizen.user, citizen, str(measure.public_id))
    assert entry.details["kind"] == MeasureKind.PAIN


def test_delete_twice_journals_once(access):
    measure = record(access, MeasureKind.PAIN, 7)
    measure_delete(access=access, measure=measure)
    measure_delete(access=access, measure=measure)
    assert JournalEntry.objects.filter(action=MEASURE_DELETED).count() == 1


def test_values_from_apps_and_professionals_cannot_be_deleted(access, citizen):
    for source in (SourceKind.APP, SourceKind.PROFESSIONAL):
        resource = app_observation(citizen)
        resource["subject"] = {"identifier": {"system": INS_SYSTEM, "value": citizen.ins}}
        measure = measure_record_observation(access=access, resource=resource, source_kind=source, source_label="X")
        with pytest.raises(PermissionDenied):
            measure_delete(access=access, measure=measure)
        assert Measure.objects.filter(pk=measure.pk).exists()
    assert not JournalEntry.objects.filter(action=MEASURE_DELETED).exists()


def test_a_computed_bmi_cannot_be_deleted(access, citizen):
    record(access, MeasureKind.HEIGHT, "170", at(2024, 1, 1, 8, 0))
    record(access, MeasureKind.WEIGHT, "70", at(2024, 1, 2, 8, 0))
    [bmi] = bmis(citizen)
    with pytest.raises(PermissionDenied):
        measure_delete(access=access, measure=bmi)
    assert Measure.objects.filter(pk=bmi.pk).exists()


def test_another_citizens_value_cannot_be_deleted(access, other_access):
    theirs = record(other_access, MeasureKind.WEIGHT, "90")
    with pytest.raises(PermissionDenied):
        measure_delete(access=access, measure=theirs)
    assert Measure.objects.filter(pk=theirs.pk).exists()


def test_a_parent_deletes_an_entry_made_for_the_child(child_access):
    measure = record(child_access, MeasureKind.TEMPERATURE, "38.5")
    measure_delete(access=child_access, measure=measure)
    assert not Measure.objects.filter(pk=measure.pk).exists()


# --- body mass index --------------------------------------------------------------------------------------------


def test_bmi_value():
    assert bmi_value(Decimal("72.5"), Decimal("172")) == Decimal("24.5")
    assert bmi_value(Decimal("3.4"), Decimal("50")) == Decimal("13.6")


def test_weight_then_height_entered_together_give_a_bmi(access, citizen):
    weight = record(access, MeasureKind.WEIGHT, "72.5", at(2024, 5, 1, 8, 30))
    assert bmis(citizen) == []
    height = record(access, MeasureKind.HEIGHT, "172", at(2024, 5, 1, 8, 31))
    [bmi] = bmis(citizen)
    assert bmi.value == Decimal("24.5")
    assert bmi.effective_at == weight.effective_at
    assert (bmi.source_kind, bmi.source_label) == (SourceKind.COMPUTED, "Calculée par Mon espace santé")
    assert bmi.recorded_by is None
    assert bmi.resource["derivedFrom"] == [
        {"reference": f"Observation/{weight.public_id}"},
        {"reference": f"Observation/{height.public_id}"},
    ]
    assert bmi.resource["valueQuantity"]["code"] == "kg/m2"
    assert bmi.resource["meta"]["profile"] == [MEASURES[MeasureKind.BMI].profile]
    validate_observation(bmi.resource, citizen=citizen, kind=MeasureKind.BMI, allow_computed=True)


def test_each_weight_gets_its_bmi_from_the_latest_height(access, citizen):
    record(access, MeasureKind.HEIGHT, "170", at(2023, 1, 1, 8, 0))
    record(access, MeasureKind.WEIGHT, "70", at(2024, 1, 1, 8, 0))
    record(access, MeasureKind.WEIGHT, "68", at(2024, 2, 1, 8, 0))
    assert [b.value for b in bmis(citizen)] == [Decimal("24.2"), Decimal("23.5")]


def test_an_older_weight_entered_late_uses_the_height_of_its_time(access, citizen):
    record(access, MeasureKind.HEIGHT, "150", at(2020, 1, 1, 8, 0))
    record(access, MeasureKind.HEIGHT, "170", at(2024, 1, 1, 8, 0))
    record(access, MeasureKind.WEIGHT, "70", at(2024, 2, 1, 8, 0))
    record(access, MeasureKind.WEIGHT, "60", at(2021, 6, 1, 8, 0))
    by_date = {b.effective_at: b.value for b in bmis(citizen)}
    assert by_date == {
        at(2021, 6, 1, 8, 0): bmi_value(Decimal("60"), Decimal("150")),
        at(2024, 2, 1, 8, 0): Decimal("24.2"),
    }


def test_a_new_height_recomputes_the_weights_it_applies_to_only(access, citizen):
    record(access, MeasureKind.HEIGHT, "160", at(2020, 1, 1, 8, 0))
    record(access, MeasureKind.HEIGHT, "180", at(2024, 1, 1, 8, 0))
    record(access, MeasureKind.WEIGHT, "64", at(2021, 1, 1, 8, 0))
    record(access, MeasureKind.WEIGHT, "64", at(2022, 6, 1, 8, 0))
    record(access, MeasureKind.WEIGHT, "81", at(2024, 6, 1, 8, 0))
    before = {b.effective_at: b for b in bmis(citizen)}
    record(access, MeasureKind.HEIGHT, "170", at(2022, 1, 1, 8, 0))
    after = {b.effective_at: b for b in bmis(citizen)}
    assert after[at(2021, 1, 1, 8, 0)].value == Decimal("25.0")
    assert after[at(2022, 6, 1, 8, 0)].value == Decimal("22.1")  # 64 / 1.70², was 25.0 with 1.60 m
    assert after[at(2024, 6, 1, 8, 0)].value == Decimal("25.0")
    # The BMI after the next height was not touched.
    assert after[at(2024, 6, 1, 8, 0)].public_id == before[at(2024, 6, 1, 8, 0)].public_id


def test_an_adult_weight_before_any_height_uses_the_first_height_after_it(access, citizen):
    record(access, MeasureKind.WEIGHT, "70", at(2015, 1, 1, 8, 0))
    record(access, MeasureKind.HEIGHT, "170", at(2024, 1, 1, 8, 0))
    [bmi] = bmis(citizen)
    assert (bmi.effective_at, bmi.value) == (at(2015, 1, 1, 8, 0), Decimal("24.2"))


def test_a_childs_weight_uses_a_later_height_only_within_a_month(child_access, child):
    long_ago = timezone.now() - relativedelta(years=3)
    record(child_access, MeasureKind.WEIGHT, "14", long_ago)
    record(child_access, MeasureKind.WEIGHT, "25", timezone.now() - timedelta(days=20))
    record(child_access, MeasureKind.HEIGHT, "128", timezone.now() - timedelta(days=1))
    [bmi] = bmis(child)
    assert bmi.value == bmi_value(Decimal("25"), Decimal("128"))


def test_no_bmi_without_any_height(access, citizen):
    record(access, MeasureKind.WEIGHT, "70")
    assert bmis(citizen) == []


def test_an_implausible_pair_gives_no_bmi(access, citizen):
    record(access, MeasureKind.HEIGHT, "25", at(2024, 1, 1, 8, 0))  # a typing error: 25 cm for an adult
    record(access, MeasureKind.WEIGHT, "200", at(2024, 1, 2, 8, 0))
    assert bmis(citizen) == []


def test_deleting_a_weight_deletes_its_bmi(access, citizen):
    record(access, MeasureKind.HEIGHT, "170", at(2024, 1, 1, 8, 0))
    first = record(access, MeasureKind.WEIGHT, "70", at(2024, 1, 2, 8, 0))
    record(access, MeasureKind.WEIGHT, "71", at(2024, 1, 3, 8, 0))
    measure_delete(access=access, measure=first)
    assert [b.effective_at for b in bmis(citizen)] == [at(2024, 1, 3, 8, 0)]


def test_deleting_a_height_recomputes_the_bmis(access, citizen):
    record(access, MeasureKind.HEIGHT, "160", at(2023, 1, 1, 8, 0))
    wrong = record(access, MeasureKind.HEIGHT, "107", at(2024, 1, 1, 8, 0))  # 170 mistyped
    record(access, MeasureKind.WEIGHT, "64", at(2024, 2, 1, 8, 0))
    assert bmis(citizen)[0].value == bmi_value(Decimal("64"), Decimal("107"))
    measure_delete(access=access, measure=wrong)
    [bmi] = bmis(citizen)
    assert bmi.value == Decimal("25.0")


def test_deleting_the_only_height_removes_the_bmis(access, citizen):
    height = record(access, MeasureKind.HEIGHT, "170", at(2024, 1, 1, 8, 0))
    record(access, MeasureKind.WEIGHT, "70", at(2024, 1, 2, 8, 0))
    measure_delete(access=access, measure=height)
    assert bmis(citizen) == []


def test_bmi_work_does_not_touch_another_persons_values(access, other_access, other_citizen):
    record(other_access, MeasureKind.HEIGHT, "190", at(2024, 1, 1, 8, 0))
    record(other_access, MeasureKind.WEIGHT, "90", at(2024, 1, 2, 8, 0))
    record(access, MeasureKind.HEIGHT, "160", at(2023, 1, 1, 8, 0))
    record(access, MeasureKind.WEIGHT, "60", at(2024, 1, 2, 8, 0))
    [theirs] = bmis(other_citizen)
    assert theirs.value == Decimal("24.9")


def test_source_label_of_the_citizen(access):
    assert measure_source_label(access) == "Saisie par l’usager"
