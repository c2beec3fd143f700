"""The services of the vaccinations: record (form and FHIR), update, delete; their journal; who may do what."""

from dataclasses import replace
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied

from dossier.fhir.immunization import INS_SYSTEM, ImmunizationInvalid
from dossier.models import Immunization, SourceKind
from dossier.selectors.profile import immunization_is_editable, immunizations
from dossier.services.profile import (
    immunization_delete,
    immunization_record,
    immunization_record_resource,
    immunization_update,
)
from mes.acces.journal import action_label
from mes.acces.models import JournalEntry
from mes.acces.policy import NO_SCOPE
from tests.dossier.profile_helpers import app_resource, make_app_immunization, make_immunization

pytestmark = pytest.mark.django_db


def test_record_from_the_form_stores_the_validated_resource_and_the_columns(access, citizen):
    immunization = make_immunization(access, vaccine_code="J07CA09", occurrence_date=date(1980, 7, 17), dose_number=1)

    immunization.refresh_from_db()
    assert immunization.citizen == citizen
    assert (immunization.vaccine_code, immunization.occurrence_date, immunization.dose_number) == (
        "J07CA09",
        date(1980, 7, 17),
        1,
    )
    assert immunization.vaccine_label.startswith("Hexavalent")
    assert (immunization.lot_number, immunization.performer) == ("AB1234", "Dr Martin")
    assert (immunization.source_kind, immunization.source_label) == (SourceKind.CITIZEN, "Saisie par l’usager")
    assert immunization.recorded_by == citizen.user
    resource = immunization.resource
    assert resource["id"] == str(immunization.public_id)
    assert resource["patient"] == {"identifier": {"system": INS_SYSTEM, "value": citizen.ins}}
    assert resource["vaccineCode"]["coding"][0]["code"] == "J07CA09"
    assert resource["occurrenceDateTime"] == "1980-07-17"
    row = JournalEntry.objects.get(action="dossier.vaccination.ajoutee")
    assert (row.actor, row.citizen, row.object_id) == (citizen.user, citizen, str(immunization.public_id))
    assert row.details == {"vaccine_code": "J07CA09", "source_kind": "citizen"}


def test_record_refuses_an_invalid_vaccination_and_writes_nothing(access):
    with pytest.raises(ImmunizationInvalid) as raised:
        immunization_record(access=access, vaccine_code="J07ZZ00", occurrence_date=date(2099, 1, 1), lot_number="§")

    paths = {issue.expression for issue in raised.value.issues}
    assert {
        "Immunization.vaccineCode.coding.code",
        "Immunization.occurrenceDateTime",
        "Immunization.lotNumber",
    } <= paths
    assert not Immunization.objects.exists()
    assert not JournalEntry.objects.filter(action__startswith="dossier.vaccination").exists()


def test_record_resource_from_an_app_keeps_its_source(access, citizen):
    immunization = make_app_immunization(access)

    assert (immunization.source_kind, immunization.source_label) == (
        "app",
        "Carnet de vaccination (service référencé)",
    )
    assert (immunization.vaccine_code, immunization.lot_number, immunization.performer) == (
        "J07BB02",
        "FLU-2023",
        "Pharmacie du Centre",
    )
    assert not immunization_is_editable(access, immunization)
    assert JournalEntry.objects.get(action="dossier.vaccination.ajoutee").details["source_kind"] == "app"


def test_record_resource_refuses_the_computed_source(access, citizen):
    with pytest.raises(ValueError, match="Source"):
        immunization_record_resource(
            access=access, resource=app_resource(citizen), source_kind=SourceKind.COMPUTED, source_label=""
        )
    assert not Immunization.objects.exists()


def test_record_resource_refuses_a_patient_of_another_dossier(access, other_citizen):
    with pytest.raises(ImmunizationInvalid):
        immunization_record_resource(
            access=access, resource=app_resource(other_citizen), source_kind=SourceKind.APP, source_label="Appli"
        )
    assert not Immunization.objects.exists()


def test_update_rebuilds_the_resource_and_keeps_its_id(access, citizen):
    immunization = make_immunization(access)

    immunization_update(
        access=access,
        immunization=immunization,
        vaccine_code="J07BC01",
        occurrence_date=date(2001, 2, 3),
        dose_number=3,
        lot_number="",
        performer="",
    )

    immunization.refresh_from_db()
    assert (immunization.vaccine_code, immunization.vaccine_label) == ("J07BC01", "Hépatite B")
    assert (immunization.occurrence_date, immunization.dose_number, immunization.lot_number) == (
        date(2001, 2, 3),
        3,
        "",
    )
    assert immunization.resource["id"] == str(immunization.public_id)
    assert "lotNumber" not in immunization.resource and "performer" not in immunization.resource
    assert immunization.resource["protocolApplied"] == [{"doseNumberPositiveInt": 3}]
    row = JournalEntry.objects.get(action="dossier.vaccination.modifiee")
    assert (row.object_id, row.details) == (str(immunization.public_id), {"vaccine_code": "J07BC01"})


def test_update_refuses_invalid_values_and_keeps_the_row(access):
    immunization = make_immunization(access)

    with pytest.raises(ImmunizationInvalid):
        immunization_update(
            access=access, immunization=immunization, vaccine_code="J07BD52", occurrence_date=date(2099, 1, 1)
        )

    immunization.refresh_from_db()
    assert immunization.occurrence_date == date(2020, 3, 2)
    assert not JournalEntry.objects.filter(action="dossier.vaccination.modifiee").exists()


def test_delete_removes_the_row_and_writes_the_journal(access, citizen):
    immunization = make_immunization(access)

    immunization_delete(access=access, immunization=immunization)

    assert not Immunization.objects.exists()
    row = JournalEntry.objects.get(action="dossier.vaccination.supprimee")
    assert (row.citizen, row.object_id, row.details) == (
        citizen,
        str(immunization.public_id),
        {"vaccine_code": "J07BD52"},
    )


def test_what_an_app_sent_can_be_neither_changed_nor_deleted(access):
    immunization = make_app_immunization(access)

    with pytest.raises(PermissionDenied):
        immunization_update(
            access=access, immunization=immunization, vaccine_code="J07BD52", occurrence_date=date(2020, 1, 1)
        )
    with pytest.raises(PermissionDenied):
        immunization_delete(access=access, immunization=immunization)

    immunization.refresh_from_db()
    assert immunization.vaccine_code == "J07BB02"


def test_another_citizen_access_can_touch_nothing(access, other_access):
    immunization = make_immunization(access)

    with pytest.raises(PermissionDenied):
        immunization_update(
            access=other_access, immunization=immunization, vaccine_code="J07BC01", occurrence_date=date(2020, 1, 1)
        )
    with pytest.raises(PermissionDenied):
        immunization_delete(access=other_access, immunization=immunization)
    assert not immunizations(other_access).exists()
    immunization.refresh_from_db()
    assert immunization.vaccine_code == "J07BD52"


def test_an_access_that_may_not_write_is_refused(access, citizen):
    read_only = replace(access, write_scopes=NO_SCOPE)
    immunization = make_immunization(access)

    with pytest.raises(PermissionDenied):
        make_immunization(read_only)
    with pytest.raises(PermissionDenied):
        immunization_delete(access=read_only, immunization=immunization)
    assert Immunization.objects.count() == 1


def test_a_parent_records_for_the_child_under_the_child_ins(child_access, child, citizen):
    immunization = make_immunization(
        child_access, occurrence_date=child.birth_date.replace(year=child.birth_date.year + 1)
    )

    assert immunization.citizen == child
    assert immunization.resource["patient"]["identifier"]["value"] == child.ins
    assert immunization.source_label == f"Saisie par {citizen.user.display_name}, représentant légal"
    assert immunizations(child_access).get() == immunization
    row = JournalEntry.objects.get(action="dossier.vaccination.ajoutee")
    assert (row.actor, row.citizen) == (citizen.user, child)


def test_a_date_before_the_child_birth_is_refused(child_access):
    with pytest.raises(ImmunizationInvalid, match="antérieure à la date de naissance"):
        make_immunization(child_access, occurrence_date=date(2000, 1, 1))


def test_journal_actions_have_french_labels():
    assert action_label("dossier.vaccination.ajoutee") == "Ajout d’une vaccination"
    assert action_label("dossier.vaccination.modifiee") == "Modification d’une vaccination"
    assert action_label("dossier.vaccination.supprimee") == "Suppression d’une vaccination"


def test_list_is_newest_first_and_scoped(access, other_access):
    older = make_immunization(access, occurrence_date=date(2010, 1, 1))
    newer = make_immunization(access, occurrence_date=date(2022, 1, 1))
    make_immunization(other_access)

    assert list(immunizations(access)) == [newer, older]
