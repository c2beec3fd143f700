"""The contact data through the FHIR API: ``GET /api/fhir/Patient/<idPe>``, telecom only."""

import json
from types import SimpleNamespace

import pytest
from django.utils import timezone
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient

from mes.acces.models import JournalEntry
from mes.acces.services.pairings import pairing_revoke
from mes.api.app_views import API_READ, CONSENT_NOT_GIVEN, IDPE_MISMATCH, IDPE_SYSTEM
from tests.api.conftest import bearer, issue_token, make_application, pair

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
APP_NAME = "Rappels de rendez-vous"


def paired_app(citizen, *, name=APP_NAME, token_scopes=None):
    application = make_application(name=name)
    pairing = pair(citizen, application)
    return SimpleNamespace(pairing=pairing, idpe=pairing.idpe, token=issue_token(pairing, scopes=token_scopes))


@pytest.fixture
def app(citizen):
    citizen.contact_phone = "06 12 34 56 78"
    citizen.contact_email = "camille.durand@exemple.fr"
    citizen.save(update_fields=["contact_phone", "contact_email"])
    return paired_app(citizen)


def read(client, idpe, token=None):
    return client.get(f"/api/fhir/Patient/{idpe}", **(bearer(token) if token else {}))


def outcome(response, status: int) -> list[str]:
    assert response.status_code == status, response.content[:800]
    return [issue.diagnostics for issue in OperationOutcome.model_validate(json.loads(response.content)).issue]


def test_the_patient_carries_the_idpe_and_the_telecom_only(client, app, citizen):
    response = read(client, app.idpe, app.token)

    assert response.status_code == 200
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = json.loads(response.content)
    Patient.model_validate(body)
    assert body == {
        "resourceType": "Patient",
        "id": app.idpe,
        "identifier": [{"system": IDPE_SYSTEM, "value": app.idpe}],
        "telecom": [
            {"system": "phone", "value": "06 12 34 56 78"},
            {"system": "email", "value": "camille.durand@exemple.fr"},
        ],
    }
    text = response.content.decode()
    for secret in (citizen.ins, "DURAND", "Camille", citizen.birth_date.isoformat(), str(citizen.public_id)):
        assert secret not in text
    row = JournalEntry.objects.get(action=API_READ)
    assert APP_NAME in row.actor_label
    assert (row.citizen, row.details["ressource"]) == (citizen, "Patient")


def test_without_contact_data_there_is_no_telecom(client, citizen):
    citizen.contact_phone = citizen.contact_email = ""
    citizen.save(update_fields=["contact_phone", "contact_email"])
    app = paired_app(citizen)
    body = json.loads(read(client, app.idpe, app.token).content)
    assert "telecom" not in body
    Patient.model_validate(body)


def test_each_app_sees_the_person_under_its_own_idpe_only(client, app, citizen, other_citizen):
    second = paired_app(citizen, name="Autre service")
    assert second.idpe != app.idpe
    assert outcome(read(client, app.idpe, second.token), 403) == [IDPE_MISMATCH]
    assert json.loads(read(client, second.idpe, second.token).content)["id"] == second.idpe

    bruno = paired_app(other_citizen, name="Service de Bruno")
    assert outcome(read(client, bruno.idpe, app.token), 403) == [IDPE_MISMATCH]
    assert outcome(read(client, "inconnu", app.token), 403) == [IDPE_MISMATCH]


def test_without_a_token_401(client, app):
    response = read(client, app.idpe)
    outcome(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_without_the_scope_403(client, citizen):
    app = paired_app(citizen, token_scopes=["patient/DocumentReference.crs", "patient/Immunization.c"])
    assert outcome(read(client, app.idpe, app.token), 403)[0].startswith(CONSENT_NOT_GIVEN)
    assert not JournalEntry.objects.filter(action=API_READ).exists()


def test_a_revoked_pairing_is_refused(client, app, citizen):
    pairing_revoke(actor=citizen.user, pairing=app.pairing)
    outcome(read(client, app.idpe, app.token), 401)

    survivor = paired_app(citizen, name="Autre service")
    type(survivor.pairing).objects.filter(pk=survivor.pairing.pk).update(revoked_at=timezone.now())
    assert outcome(read(client, survivor.idpe, survivor.token), 403) == [CONSENT_NOT_GIVEN]
    assert not JournalEntry.objects.filter(action=API_READ).exists()
