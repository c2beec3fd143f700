"""Vaccinations through the FHIR API: ``POST /api/fhir/Immunization``."""

import json
from datetime import date
from types import SimpleNamespace

import pytest
from django.utils import timezone
from fhir.resources.R4B.immunization import Immunization as FhirImmunization
from fhir.resources.R4B.operationoutcome import OperationOutcome

from dossier.fhir.immunization import INS_SYSTEM
from dossier.models import Immunization, SourceKind
from dossier.services.profile import IMMUNIZATION_ADDED
from mes.acces.models import JournalEntry
from mes.acces.services.pairings import pairing_revoke
from mes.api.app_views import CONSENT_NOT_GIVEN, IDPE_MISMATCH, IDPE_SYSTEM
from tests.api.conftest import bearer, issue_token, make_application, pair

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
IMMUNIZATIONS = "/api/fhir/Immunization"
ATC = "http://www.whocc.no/atc"
APP_NAME = "Carnet de vaccination"


def paired_app(citizen, *, name=APP_NAME, token_scopes=None):
    application = make_application(name=name)
    pairing = pair(citizen, application)
    return SimpleNamespace(pairing=pairing, idpe=pairing.idpe, token=issue_token(pairing, scopes=token_scopes))


@pytest.fixture
def app(citizen):
    return paired_app(citizen)


def vaccination(idpe: str, **changes) -> dict:
    resource = {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": {"coding": [{"system": ATC, "code": "J07BB02"}], "text": "Grippe"},
        "patient": {"identifier": {"system": IDPE_SYSTEM, "value": idpe}},
        "occurrenceDateTime": "2024-10-20T10:30:00+02:00",
        "primarySource": True,
        "lotNumber": "FLU-2024",
        "performer": [{"actor": {"display": "Pharmacie du Centre"}}],
        "protocolApplied": [{"doseNumberPositiveInt": 1}],
    }
    resource.update(changes)
    return resource


def post(client, body, token=None):
    return client.post(IMMUNIZATIONS, data=json.dumps(body), content_type=FHIR_JSON, **(bearer(token) if token else {}))


def outcome(response, status: int) -> tuple[list[str], list[list[str]]]:
    assert response.status_code == status, response.content[:800]
    resource = OperationOutcome.model_validate(json.loads(response.content))
    return [issue.diagnostics for issue in resource.issue], [issue.expression or [] for issue in resource.issue]


def test_an_app_records_a_vaccination(client, app, citizen):
    response = post(client, vaccination(app.idpe), app.token)

    assert response.status_code == 201, response.content[:800]
    immunization = Immunization.objects.get()
    assert response["Location"] == f"http://testserver/api/fhir/Immunization/{immunization.public_id}/_history/1"
    body = json.loads(response.content)
    FhirImmunization.model_validate(body)
    assert body["id"] == str(immunization.public_id)
    assert body["patient"] == {
        "reference": f"Patient/{app.idpe}",
        "identifier": {"system": IDPE_SYSTEM, "value": app.idpe},
    }
    assert citizen.ins not in response.content.decode()

    assert immunization.citizen == citizen
    assert (immunization.source_kind, immunization.source_label) == (SourceKind.APP, APP_NAME)
    assert immunization.recorded_by is None
    assert (immunization.vaccine_code, immunization.occurrence_date) == ("J07BB02", date(2024, 10, 20))
    assert (immunization.dose_number, immunization.lot_number) == (1, "FLU-2024")
    # Stored under the INS, the dossier's identifier of the person.
    assert immunization.resource["patient"] == {"identifier": {"system": INS_SYSTEM, "value": citizen.ins}}
    row = JournalEntry.objects.get(action=IMMUNIZATION_ADDED)
    assert APP_NAME in row.actor_label
    assert row.citizen == citizen


def test_the_patient_may_be_named_by_the_reference_to_its_patient_resource(client, app):
    response = post(client, vaccination(app.idpe, patient={"reference": f"Patient/{app.idpe}"}), app.token)
    assert response.status_code == 201, response.content[:800]


@pytest.mark.parametrize(
    ("changes", "expression"),
    [
        ({"status": "not-done"}, "Immunization.status"),
        ({"vaccineCode": {"coding": [{"system": ATC, "code": "J99ZZ99"}]}}, "Immunization.vaccineCode.coding.code"),
        ({"vaccineCode": {"text": "Grippe"}}, "Immunization.vaccineCode.coding"),
        ({"occurrenceDateTime": "2999-01-01"}, "Immunization.occurrenceDateTime"),
        ({"occurrenceDateTime": "2024-10"}, "Immunization.occurrenceDateTime"),
        ({"protocolApplied": [{"doseNumberPositiveInt": 42}]}, "Immunization.protocolApplied[0].doseNumberPositiveInt"),
        ({"lotNumber": "<script>"}, "Immunization.lotNumber"),
        ({"inconnu": True}, "Immunization.inconnu"),
        ({"patient": {"display": "Camille"}}, "Immunization.patient.identifier"),
    ],
)
def test_an_invalid_vaccination_is_422_with_its_fhir_path_and_nothing_is_written(client, app, changes, expression):
    messages, expressions = outcome(post(client, vaccination(app.idpe, **changes), app.token), 422)

    assert [expression] in expressions, (messages, expressions)
    assert all(messages)
    assert not Immunization.objects.exists()
    assert not JournalEntry.objects.filter(action=IMMUNIZATION_ADDED).exists()


def test_every_problem_is_reported_at_once(client, app):
    body = vaccination(app.idpe, status="not-done", lotNumber="<x>", occurrenceDateTime="2999-01-01")
    _messages, expressions = outcome(post(client, body, app.token), 422)
    assert {"Immunization.status", "Immunization.lotNumber", "Immunization.occurrenceDateTime"} <= {
        path for paths in expressions for path in paths
    }


def test_another_idpe_or_the_ins_is_403(client, app, citizen, other_citizen):
    others = paired_app(other_citizen, name="Autre service")
    for patient in (
        {"identifier": {"system": IDPE_SYSTEM, "value": others.idpe}},
        {"identifier": {"system": INS_SYSTEM, "value": citizen.ins}},
        {"reference": f"Patient/{others.idpe}"},
    ):
        messages, _ = outcome(post(client, vaccination(app.idpe, patient=patient), app.token), 403)
        assert messages == [IDPE_MISMATCH]
    # The other app's token and idPe do not open Camille's carnet either: its own idPe names Bruno.
    assert post(client, vaccination(others.idpe), others.token).status_code == 201
    assert Immunization.objects.get().citizen == other_citizen


def test_without_a_token_401(client, app):
    outcome(post(client, vaccination(app.idpe)), 401)
    assert not Immunization.objects.exists()


def test_without_the_scope_403(client, citizen):
    app = paired_app(citizen, token_scopes=["patient/DocumentReference.crs", "patient/Patient.r"])
    messages, _ = outcome(post(client, vaccination(app.idpe), app.token), 403)
    assert messages[0].startswith(CONSENT_NOT_GIVEN)
    assert not Immunization.objects.exists()


def test_a_revoked_pairing_is_refused(client, app, citizen):
    pairing_revoke(actor=citizen.user, pairing=app.pairing)
    outcome(post(client, vaccination(app.idpe), app.token), 401)

    survivor = paired_app(citizen, name="Autre service")
    type(survivor.pairing).objects.filter(pk=survivor.pairing.pk).update(revoked_at=timezone.now())
    messages, _ = outcome(post(client, vaccination(survivor.idpe), survivor.token), 403)
    assert messages == [CONSENT_NOT_GIVEN]
    assert not Immunization.objects.exists()
