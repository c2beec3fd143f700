"""Writing mesures de santé through the FHIR API: the transaction Bundle (Observation + Device) and POST Observation."""

import copy
import json
import uuid
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.operationoutcome import OperationOutcome

from dossier.models import Device, Measure, MeasureKind, SourceKind
from dossier.services.measures import DEVICE_ADDED, MEASURE_ADDED
from mes.acces.models import JournalEntry
from mes.acces.services.pairings import pairing_revoke
from mes.api.app_views import CONSENT_NOT_GIVEN, IDPE_MISMATCH, IDPE_SYSTEM
from mes.api.models import IdempotencyRecord
from tests.api.conftest import bearer, issue_token, make_application, pair

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"
TRANSACTION = "/api/fhir/"
OBSERVATIONS = "/api/fhir/Observation"
PROFILE = "https://interop.esante.gouv.fr/ig/fhir/mesures/StructureDefinition/"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
INS_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
DEVICE_URL = "urn:uuid:6f1c1a52-3c8e-4d8a-9a59-0b6f2f0f4d21"
OBSERVATION_URL = "urn:uuid:0d3c5e2a-8f41-4b7e-b3f4-52d7f7f0b0aa"
VITAL_SIGNS = [
    {
        "coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"},
        ]
    }
]


# --- helpers shared with the read and search tests ---


def paired_app(citizen, *, name="Balance connectée", scopes=None, token_scopes=None):
    """A referenced app paired with ``citizen``: its application, habilitation, pairing and a token."""
    application = make_application(name=name)
    pairing = pair(citizen, application, scopes=scopes)
    return SimpleNamespace(
        application=application,
        habilitation=pairing.habilitation,
        oid=pairing.habilitation.oid,
        pairing=pairing,
        idpe=pairing.idpe,
        token=issue_token(pairing, scopes=token_scopes),
    )


def weight(app, *, value=72.5, when="2024-05-01T08:30:00+02:00", device=DEVICE_URL, **changes) -> dict:
    """A body weight as an app sends it: profile, LOINC, UCUM, the idPe as subject, its OID as source."""
    resource = {
        "resourceType": "Observation",
        "meta": {"profile": [PROFILE + "FrObservationBodyWeight"], "source": f"urn:oid:{app.oid}"},
        "status": "final",
        "category": copy.deepcopy(VITAL_SIGNS),
        "code": {"coding": [{"system": LOINC, "code": "29463-7", "display": "Body weight"}]},
        "subject": {"identifier": {"system": IDPE_SYSTEM, "value": app.idpe}},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "kg", "system": UCUM, "code": "kg"},
    }
    if device is not None:
        resource["device"] = {"reference": device}
    resource.update(changes)
    return resource


def heart_rate(app, *, value=68, when="2024-05-01T08:30:00+02:00", device=DEVICE_URL) -> dict:
    resource = weight(app, when=when, device=device)
    resource["meta"]["profile"] = [PROFILE + "FrObservationHeartrate"]
    resource["code"] = {"coding": [{"system": LOINC, "code": "8867-4", "display": "Heart rate"}]}
    resource["valueQuantity"] = {"value": value, "unit": "battements/min", "system": UCUM, "code": "/min"}
    return resource


def blood_pressure(app, *, systolic=125, diastolic=80) -> dict:
    resource = weight(app)
    del resource["valueQuantity"]
    resource["meta"]["profile"] = [PROFILE + "FrObservationBp"]
    resource["code"] = {"coding": [{"system": LOINC, "code": "85354-9"}]}
    resource["component"] = [
        {
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": value, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
        }
        for code, value in (("8480-6", systolic), ("8462-4", diastolic))
    ]
    return resource


def glucose(app) -> dict:
    resource = weight(app)
    resource["meta"]["profile"] = [PROFILE + "FrObservationGlucose"]
    resource["code"] = {"coding": [{"system": LOINC, "code": "2339-0"}]}
    resource["valueQuantity"] = {"value": 1.05, "unit": "g/L", "system": UCUM, "code": "g/L"}
    resource["extension"] = [
        {
            "url": "https://interop.esante.gouv.fr/ig/fhir/mesures/StructureDefinition/mesures-moment-of-measurement",
            "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "53049-3", "display": "Glucose à jeun"}]},
        }
    ]
    return resource


def device(app, *, serial="BAL-0001", system=None) -> dict:
    return {
        "resourceType": "Device",
        "identifier": [{"system": system or f"urn:oid:{app.oid}", "value": serial}],
        "manufacturer": "Balances Durand",
        "deviceName": [{"name": "Balance BX-2", "type": "model-name"}],
    }


def bundle(app, observation, *, device_resource=None, serial="BAL-0001", if_none_exist=None) -> dict:
    """The transaction of DOMAIN.md §5: the Device (conditional create) and the Observation that references it."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": DEVICE_URL,
                "resource": device_resource or device(app, serial=serial),
                "request": {
                    "method": "POST",
                    "url": "Device",
                    "ifNoneExist": if_none_exist or f"identifier=urn:oid:{app.oid}|{serial}",
                },
            },
            {"fullUrl": OBSERVATION_URL, "resource": observation, "request": {"method": "POST", "url": "Observation"}},
        ],
    }


def post(client, url, body, token=None, **headers):
    extra = bearer(token) if token else {}
    return client.post(url, data=json.dumps(body), content_type=FHIR_JSON, **extra, **headers)


def outcome(response, status_code: int, code: str) -> OperationOutcome:
    """The response is an OperationOutcome of that status and issue code."""
    assert response.status_code == status_code, response.content[:1000]
    assert response["Content-Type"].startswith(FHIR_JSON)
    resource = OperationOutcome.model_validate(json.loads(response.content))
    assert {issue.code for issue in resource.issue} == {code}
    return resource


def expressions(resource: OperationOutcome) -> set[str]:
    return {expression for issue in resource.issue for expression in issue.expression or []}


def diagnostics(resource: OperationOutcome) -> str:
    return " ".join(issue.diagnostics for issue in resource.issue)


@pytest.fixture
def app(citizen):
    return paired_app(citizen)


# --- transaction Bundle: the happy paths ---


def test_transaction_stores_the_weight_and_its_device(client, app, citizen):
    response = post(client, TRANSACTION, bundle(app, weight(app)), app.token)

    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    Bundle.model_validate(body)
    assert body["type"] == "transaction-response"
    measure = Measure.objects.get(citizen=citizen)
    stored_device = Device.objects.get()
    # One response per request entry, in the request's order: the Device, then the Observation.
    assert [entry["response"] for entry in body["entry"]] == [
        {
            "status": "201 Created",
            "location": f"Device/{stored_device.public_id}/_history/1",
            "etag": 'W/"1"',
            "lastModified": body["entry"][0]["response"]["lastModified"],
        },
        {
            "status": "201 Created",
            "location": f"Observation/{measure.public_id}/_history/1",
            "etag": 'W/"1"',
            "lastModified": body["entry"][1]["response"]["lastModified"],
        },
    ]
    assert measure.kind == MeasureKind.WEIGHT
    assert str(measure.value) == "72.500"
    assert measure.source_kind == SourceKind.APP
    assert measure.source_label == "Balance connectée"
    assert measure.device == stored_device
    # The stored resource names the device by its id, the person by the INS, and keeps the app's OID.
    assert measure.resource["device"] == {"reference": f"Device/{stored_device.public_id}"}
    assert measure.resource["subject"]["identifier"] == {"system": INS_SYSTEM, "value": citizen.ins}
    assert measure.resource["meta"]["source"] == f"urn:oid:{app.oid}"
    assert stored_device.habilitation == app.habilitation
    assert (stored_device.identifier_system, stored_device.identifier_value) == (f"urn:oid:{app.oid}", "BAL-0001")
    assert stored_device.resource["id"] == str(stored_device.public_id)
    assert stored_device.resource["manufacturer"] == "Balances Durand"


def test_transaction_stores_a_blood_pressure_panel(client, app, citizen):
    response = post(client, TRANSACTION, bundle(app, blood_pressure(app, systolic=132, diastolic=84)), app.token)

    assert response.status_code == 200, response.content
    measure = Measure.objects.get(citizen=citizen)
    assert measure.kind == MeasureKind.BLOOD_PRESSURE
    assert (measure.value, measure.value_secondary) == (132, 84)
    assert measure.unit == "mm[Hg]"


def test_transaction_stores_a_glucose_with_its_moment(client, app, citizen):
    response = post(client, TRANSACTION, bundle(app, glucose(app)), app.token)

    assert response.status_code == 200, response.content
    measure = Measure.objects.get(citizen=citizen)
    assert measure.kind == MeasureKind.GLUCOSE
    assert measure.glucose_moment == "53049-3"
    assert measure.unit == "g/L"


def test_weight_from_an_app_gets_its_bmi_computed(client, app, citizen):
    height = weight(app, value=170)
    height["meta"]["profile"] = [PROFILE + "FrObservationBodyHeight"]
    height["code"] = {"coding": [{"system": LOINC, "code": "8302-2"}]}
    height["valueQuantity"] = {"value": 170, "unit": "cm", "system": UCUM, "code": "cm"}
    height["effectiveDateTime"] = "2024-04-01T08:00:00+02:00"
    assert post(client, TRANSACTION, bundle(app, height), app.token).status_code == 200
    assert post(client, TRANSACTION, bundle(app, weight(app, value=72.3)), app.token).status_code == 200

    bmi = Measure.objects.get(citizen=citizen, kind=MeasureKind.BMI)
    assert str(bmi.value) == "25.000"


def test_second_bundle_reuses_the_device(client, app, citizen, other_citizen):
    first = post(client, TRANSACTION, bundle(app, weight(app)), app.token)
    second = post(client, TRANSACTION, bundle(app, weight(app, value=72.8)), app.token)
    # Another person measured by the same device of the same app: still the same Device.
    bruno_pairing = pair(other_citizen, app.application)
    bruno = SimpleNamespace(oid=app.oid, idpe=bruno_pairing.idpe, token=issue_token(bruno_pairing))
    third = post(client, TRANSACTION, bundle(bruno, weight(bruno)), bruno.token)

    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 200)
    stored_device = Device.objects.get(habilitation=app.habilitation)
    statuses = [json.loads(response.content)["entry"][0]["response"] for response in (first, second, third)]
    assert [entry["status"] for entry in statuses] == ["201 Created", "200 OK", "200 OK"]
    assert {entry["location"] for entry in statuses} == {f"Device/{stored_device.public_id}/_history/1"}
    assert Measure.objects.filter(device=stored_device).count() == 3
    # The creation, and only it, is journaled.
    assert JournalEntry.objects.filter(action=DEVICE_ADDED).count() == 1


def test_two_apps_with_the_same_device_identifier_value_keep_their_own_devices(client, app, citizen):
    other = paired_app(citizen, name="Tensiomètre connecté")
    assert post(client, TRANSACTION, bundle(app, weight(app)), app.token).status_code == 200
    assert post(client, TRANSACTION, bundle(other, weight(other)), other.token).status_code == 200

    assert Device.objects.filter(identifier_value="BAL-0001").count() == 2


def test_device_get_or_create_survives_the_race_for_the_same_identifier(app):
    """The second of two simultaneous creations hits the unique identifier and reads the first's row."""
    from dossier.fhir.devices import validate_device
    from dossier.services.measures import device_get_or_create
    from mes.acces.policy import app_access

    access = app_access(app.pairing, app.pairing.scopes)
    parsed = validate_device(device(app), oid=app.oid, identifier=(f"urn:oid:{app.oid}", "BAL-0001"))
    winner = Device.objects.create(
        habilitation=app.habilitation,
        identifier_system=parsed.system,
        identifier_value=parsed.value,
        resource=parsed.resource,
    )
    real_filter = Device.objects.filter

    class LateQuerySet:
        """The first look-up misses the row, as a request that read before the other one committed would."""

        calls = 0

        def __call__(self, **lookup):
            LateQuerySet.calls += 1
            return Device.objects.none() if LateQuerySet.calls == 1 else real_filter(**lookup)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Device.objects, "filter", LateQuerySet())
        found, created = device_get_or_create(access=access, parsed=parsed)

    assert (found, created) == (winner, False)
    assert Device.objects.count() == 1


def test_meta_source_may_be_the_bare_oid(client, app, citizen):
    observation = weight(app)
    observation["meta"]["source"] = app.oid

    assert post(client, TRANSACTION, bundle(app, observation), app.token).status_code == 200
    assert Measure.objects.get(citizen=citizen).resource["meta"]["source"] == app.oid


def test_if_none_exist_may_be_url_encoded(client, app):
    body = bundle(app, weight(app), if_none_exist=f"identifier=urn%3Aoid%3A{app.oid}%7CBAL-0001")

    assert post(client, TRANSACTION, body, app.token).status_code == 200
    assert Device.objects.get().identifier_value == "BAL-0001"


# --- transaction Bundle: OID conflicts (409) ---


def test_device_identifier_of_another_editor_is_a_conflict(client, app):
    other_oid = "1.2.250.1.999.424242"
    body = bundle(
        app,
        weight(app),
        device_resource=device(app, system=f"urn:oid:{other_oid}"),
        if_none_exist=f"identifier=urn:oid:{other_oid}|BAL-0001",
    )

    resource = outcome(post(client, TRANSACTION, body, app.token), 409, "conflict")
    assert "OID en conflit" in diagnostics(resource)
    assert expressions(resource) == {"Bundle.entry[0].request.ifNoneExist"}
    assert not Device.objects.exists()
    assert not Measure.objects.exists()


def test_second_device_identifier_of_another_editor_is_a_conflict(client, app):
    resource_ = device(app)
    resource_["identifier"].append({"system": "urn:oid:1.2.250.1.999.424242", "value": "X"})

    resource = outcome(
        post(client, TRANSACTION, bundle(app, weight(app), device_resource=resource_), app.token), 409, "conflict"
    )
    assert expressions(resource) == {"Device.identifier[1].system"}


def test_meta_source_of_another_oid_is_a_conflict_and_writes_nothing(client, app):
    observation = weight(app)
    observation["meta"]["source"] = "urn:oid:1.2.250.1.999.424242"

    resource = outcome(post(client, TRANSACTION, bundle(app, observation), app.token), 409, "conflict")
    assert "OID en conflit" in diagnostics(resource)
    assert expressions(resource) == {"Observation.meta.source"}
    # All or nothing: the new Device was rolled back with the refused Observation.
    assert not Device.objects.exists()
    assert not Measure.objects.exists()


# --- transaction Bundle: the person (403) ---


def test_idpe_of_another_pairing_is_refused(client, app, citizen, other_citizen):
    other_app = paired_app(citizen, name="Tensiomètre connecté")  # the same person, known by another idPe
    bruno = paired_app(other_citizen, name="Podomètre")
    for idpe in (other_app.idpe, bruno.idpe, "inconnu"):
        observation = weight(app)
        observation["subject"]["identifier"]["value"] = idpe

        resource = outcome(post(client, TRANSACTION, bundle(app, observation), app.token), 403, "forbidden")
        assert diagnostics(resource) == IDPE_MISMATCH
    assert not Measure.objects.exists()
    assert not Device.objects.exists()


def test_the_ins_is_refused_from_an_app(client, app, citizen):
    observation = weight(app)
    observation["subject"]["identifier"] = {"system": INS_SYSTEM, "value": citizen.ins}

    resource = outcome(post(client, TRANSACTION, bundle(app, observation), app.token), 403, "forbidden")
    assert diagnostics(resource) == IDPE_MISMATCH
    assert not Measure.objects.exists()


# --- transaction Bundle: invalid resources (422) ---


@pytest.mark.parametrize(
    ("change", "expression", "words"),
    [
        pytest.param(
            lambda resource: resource["meta"].pop("profile"), "Observation.meta.profile", "profil", id="no-profile"
        ),
        pytest.param(
            lambda resource: resource["meta"].pop("source"), "Observation.meta.source", "OID", id="no-meta-source"
        ),
        pytest.param(
            lambda resource: resource.pop("valueQuantity"), "Observation.valueQuantity", "obligatoire", id="no-value"
        ),
        pytest.param(
            lambda resource: resource["valueQuantity"].update(value=4000),
            "Observation.valueQuantity.value",
            "entre 0,2 et 650 kg",
            id="4000-kg",
        ),
        pytest.param(
            lambda resource: resource.pop("effectiveDateTime"),
            "Observation.effectiveDateTime",
            "obligatoires",
            id="no-date",
        ),
    ],
)
def test_invalid_observation_is_refused_with_its_path(client, app, change, expression, words):
    observation = weight(app)
    change(observation)

    resource = outcome(post(client, TRANSACTION, bundle(app, observation), app.token), 422, "processing")
    assert expression in expressions(resource)
    assert words in diagnostics(resource)
    assert not Measure.objects.exists()
    assert not Device.objects.exists()


def test_bmi_is_refused(client, app):
    observation = weight(app, value=24.5)
    observation["meta"]["profile"] = [PROFILE + "FrObservationBmi"]
    observation["code"] = {"coding": [{"system": LOINC, "code": "39156-5"}]}
    observation["valueQuantity"] = {"value": 24.5, "unit": "kg/m2", "system": UCUM, "code": "kg/m2"}

    resource = outcome(post(client, TRANSACTION, bundle(app, observation), app.token), 422, "processing")
    assert expressions(resource) == {"Observation.meta.profile"}
    assert "calculé par Mon espace santé" in diagnostics(resource)
    assert not Measure.objects.exists()


@pytest.mark.parametrize(
    ("change", "expression"),
    [
        pytest.param(lambda body: body["entry"].pop(0), "Bundle.entry", id="no-device"),
        pytest.param(lambda body: body["entry"].pop(1), "Bundle.entry", id="no-observation"),
        pytest.param(
            lambda body: body["entry"].append(copy.deepcopy(body["entry"][1])), "Bundle.entry[2].resource", id="two-obs"
        ),
        pytest.param(
            lambda body: body["entry"][1]["request"].update(method="PUT"), "Bundle.entry[1].request", id="put"
        ),
        pytest.param(
            lambda body: body["entry"][0]["request"].pop("ifNoneExist"),
            "Bundle.entry[0].request.ifNoneExist",
            id="unconditional-device",
        ),
        pytest.param(
            lambda body: body["entry"][0]["request"].update(ifNoneExist="name=Balance"),
            "Bundle.entry[0].request.ifNoneExist",
            id="condition-not-on-identifier",
        ),
        pytest.param(
            lambda body: body["entry"][0]["request"].update(ifNoneExist="identifier=http://exemple.fr|BAL-0001"),
            "Bundle.entry[0].request.ifNoneExist",
            id="identifier-not-an-oid",
        ),
        pytest.param(
            lambda body: body["entry"][0]["request"].update(
                ifNoneExist=body["entry"][0]["request"]["ifNoneExist"] + "9"
            ),
            "Device.identifier",
            id="device-without-the-condition-identifier",
        ),
        pytest.param(
            lambda body: body["entry"][0].update(fullUrl="Device/1"), "Bundle.entry[0].fullUrl", id="full-url"
        ),
        pytest.param(
            lambda body: body["entry"][1]["resource"]["device"].update(reference="urn:uuid:" + str(uuid.uuid4())),
            "Observation.device.reference",
            id="observation-names-another-device",
        ),
        pytest.param(
            lambda body: body["entry"][0]["resource"].update(patient={"reference": "Patient/1"}),
            "Device.patient",
            id="device-names-a-patient",
        ),
        pytest.param(
            lambda body: body["entry"][0]["resource"].update(couleur="bleue"), "Device.couleur", id="not-fhir"
        ),
    ],
)
def test_malformed_transaction_is_refused_and_writes_nothing(client, app, change, expression):
    body = bundle(app, weight(app))
    change(body)

    resource = outcome(post(client, TRANSACTION, body, app.token), 422, "processing")
    assert expression in expressions(resource)
    assert not Device.objects.exists()
    assert not Measure.objects.exists()


# --- transaction Bundle: authorization ---


def test_transaction_without_a_token_is_401(client, app):
    response = post(client, TRANSACTION, bundle(app, weight(app)))

    outcome(response, 401, "login")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Measure.objects.exists()


def test_transaction_without_observation_create_is_403(client, citizen):
    reader = paired_app(citizen, token_scopes=["openid", "patient/Observation.rs"])

    resource = outcome(post(client, TRANSACTION, bundle(reader, weight(reader)), reader.token), 403, "forbidden")
    assert CONSENT_NOT_GIVEN in diagnostics(resource)
    assert not Measure.objects.exists()


def test_transaction_when_the_citizen_did_not_consent_to_writing_is_403(client, citizen):
    reader = paired_app(citizen, scopes=["openid", "patient/Observation.rs"])

    outcome(post(client, TRANSACTION, bundle(reader, weight(reader)), reader.token), 403, "forbidden")
    assert not Measure.objects.exists()


def test_transaction_after_revocation_is_403(client, app, citizen):
    pairing_revoke(actor=citizen.user, pairing=app.pairing)

    response = post(client, TRANSACTION, bundle(app, weight(app)), app.token)

    # Revoking kills the app's tokens at once: the token itself is refused.
    outcome(response, 401, "login")
    assert not Measure.objects.exists()


def test_revoked_pairing_with_a_live_token_is_refused_with_consent_not_given(client, app):
    """Even if a token outlived its pairing (revoked by another path), the consent check refuses it."""
    type(app.pairing).objects.filter(pk=app.pairing.pk).update(revoked_at="2024-01-01T00:00:00Z")

    resource = outcome(post(client, TRANSACTION, bundle(app, weight(app)), app.token), 403, "forbidden")
    assert diagnostics(resource) == CONSENT_NOT_GIVEN
    assert not Measure.objects.exists()


# --- journal, idempotency, query count ---


def test_the_citizen_history_names_the_app(client, app, citizen):
    post(client, TRANSACTION, bundle(app, weight(app)), app.token)

    entry = JournalEntry.objects.get(action=MEASURE_ADDED, citizen=citizen)
    measure = Measure.objects.get()
    assert "Balance connectée" in entry.actor_label
    assert entry.object_id == str(measure.public_id)
    assert entry.details["appareil"] == str(Device.objects.get().public_id)
    assert entry.details["kind"] == MeasureKind.WEIGHT


def test_idempotency_key_replays_the_first_bundle(client, app, citizen):
    body = bundle(app, weight(app))

    first = post(client, TRANSACTION, body, app.token, HTTP_IDEMPOTENCY_KEY="mesure-2024-05-01-0830")
    second = post(client, TRANSACTION, body, app.token, HTTP_IDEMPOTENCY_KEY="mesure-2024-05-01-0830")

    assert first.status_code == second.status_code == 200
    assert json.loads(second.content) == json.loads(first.content)
    assert second["Idempotent-Replayed"] == "true"
    assert Measure.objects.filter(citizen=citizen).count() == 1
    assert Device.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_idempotency_key_with_another_bundle_is_422(client, app, citizen):
    post(client, TRANSACTION, bundle(app, weight(app)), app.token, HTTP_IDEMPOTENCY_KEY="cle-1")

    response = post(client, TRANSACTION, bundle(app, weight(app, value=80)), app.token, HTTP_IDEMPOTENCY_KEY="cle-1")

    outcome(response, 422, "processing")
    assert Measure.objects.filter(citizen=citizen).count() == 1


# A transaction of a known device, for a measure that is neither a weight nor a height (no BMI upkeep): the token
# with its pairing (one query), device look-up, measure insert, journal row. Here the service's transaction is a
# savepoint (the test runs in a transaction): 6; served for real, 4 between BEGIN and COMMIT. A weight or a height
# adds the BMI upkeep of the service: lock of the person, delete and two reads.
TRANSACTION_QUERIES = 6


def test_transaction_write_takes_a_small_fixed_number_of_queries(client, app, django_assert_num_queries):
    post(client, TRANSACTION, bundle(app, heart_rate(app, when="2024-05-01T08:00:00+02:00")), app.token)
    post(client, TRANSACTION, bundle(app, heart_rate(app, when="2024-05-01T08:05:00+02:00")), app.token)  # touch

    with django_assert_num_queries(TRANSACTION_QUERIES):
        response = post(client, TRANSACTION, bundle(app, heart_rate(app, when="2024-05-01T08:10:00+02:00")), app.token)
    assert response.status_code == 200


def test_transaction_query_count_does_not_grow_with_the_history(client, app, citizen):
    """A weight's BMI upkeep reads the span it changes, not the whole history: counts stay equal."""
    counts = []
    for day in range(1, 4):
        with CaptureQueriesContext(connection) as queries:
            post(client, TRANSACTION, bundle(app, weight(app, when=f"2024-05-0{day}T08:00:00+02:00")), app.token)
        counts.append(len(queries))
    assert counts[1] == counts[2]


# --- POST /Observation ---


def test_post_observation_creates_the_measure(client, app, citizen):
    response = post(client, OBSERVATIONS, weight(app, device=None), app.token)

    assert response.status_code == 201, response.content
    measure = Measure.objects.get(citizen=citizen)
    assert response["Location"] == f"http://testserver/api/fhir/Observation/{measure.public_id}/_history/1"
    assert response["ETag"] == 'W/"1"'
    body = json.loads(response.content)
    Observation.model_validate(body)
    assert body["id"] == str(measure.public_id)
    assert body["meta"]["versionId"] == "1"
    # The app reads back its idPe, never the INS kept in the stored resource.
    assert body["subject"] == {"type": "Patient", "identifier": {"system": IDPE_SYSTEM, "value": app.idpe}}
    assert citizen.ins not in response.content.decode()
    assert measure.device is None


def test_post_observation_may_name_a_device_of_the_app(client, app, citizen):
    post(client, TRANSACTION, bundle(app, weight(app)), app.token)
    stored_device = Device.objects.get()

    observation = weight(app, value=73, device=f"Device/{stored_device.public_id}")
    observation["device"]["display"] = "Balance BX-2"

    response = post(client, OBSERVATIONS, observation, app.token)

    assert response.status_code == 201, response.content
    measure = Measure.objects.get(public_id=json.loads(response.content)["id"])
    assert measure.device == stored_device
    assert json.loads(response.content)["device"] == {
        "reference": f"Device/{stored_device.public_id}",
        "display": "Balance BX-2",
    }


def test_post_observation_may_not_name_another_apps_device(client, app, citizen):
    other = paired_app(citizen, name="Tensiomètre connecté")
    post(client, TRANSACTION, bundle(other, weight(other)), other.token)
    foreign = Device.objects.get()

    for reference in (f"Device/{foreign.public_id}", f"Device/{uuid.uuid4()}", DEVICE_URL, "Device/abc"):
        response = post(client, OBSERVATIONS, weight(app, device=reference), app.token)
        resource = outcome(response, 422, "processing")
        assert expressions(resource) == {"Observation.device.reference"}
    assert Measure.objects.filter(device__isnull=False).count() == 1


def test_post_observation_follows_the_same_rules(client, app, citizen):
    observation = weight(app, device=None)
    observation["meta"]["source"] = "urn:oid:1.2.250.1.999.424242"
    outcome(post(client, OBSERVATIONS, observation, app.token), 409, "conflict")

    observation = weight(app, device=None, value=4000)
    outcome(post(client, OBSERVATIONS, observation, app.token), 422, "processing")

    observation = weight(app, device=None)
    observation["subject"]["identifier"]["value"] = "autre-idpe"
    outcome(post(client, OBSERVATIONS, observation, app.token), 403, "forbidden")

    outcome(post(client, OBSERVATIONS, device(app), app.token), 422, "processing")
    assert not Measure.objects.exists()


def test_post_observation_authorization(client, app, citizen):
    outcome(post(client, OBSERVATIONS, weight(app, device=None)), 401, "login")

    reader = paired_app(citizen, name="Lecteur", token_scopes=["openid", "patient/Observation.rs"])
    outcome(post(client, OBSERVATIONS, weight(reader, device=None), reader.token), 403, "forbidden")

    pairing_revoke(actor=citizen.user, pairing=app.pairing)
    assert post(client, OBSERVATIONS, weight(app, device=None), app.token).status_code in (401, 403)
    assert not Measure.objects.exists()


def test_post_observation_idempotency_replays_location(client, app, citizen):
    first = post(client, OBSERVATIONS, weight(app, device=None), app.token, HTTP_IDEMPOTENCY_KEY="k-1")
    second = post(client, OBSERVATIONS, weight(app, device=None), app.token, HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == second.status_code == 201
    assert second["Location"] == first["Location"]
    assert Measure.objects.filter(citizen=citizen).count() == 1
