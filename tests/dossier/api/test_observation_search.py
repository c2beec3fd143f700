"""Reading mesures de santé through the FHIR API: read by id, the Device, and the keyset-paginated search."""

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.device import Device as FHIRDevice
from fhir.resources.R4B.observation import Observation

from dossier.models import Device, Measure, MeasureKind
from dossier.selectors.measures import measures_page
from mes.acces.models import JournalEntry
from mes.acces.services.pairings import pairing_revoke
from mes.api.app_views import API_READ, IDPE_MISMATCH, IDPE_SYSTEM
from tests.api.conftest import issue_token
from tests.dossier.api.test_observation_api import (
    TRANSACTION,
    bundle,
    diagnostics,
    expressions,
    outcome,
    paired_app,
    post,
    weight,
)
from tests.dossier.measures_support import at, bulk_values, record

pytestmark = pytest.mark.django_db

OBSERVATIONS = "/api/fhir/Observation"


def get(client, url, token=None, **params):
    extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(url, params, **extra)


def searchset(response) -> dict:
    assert response.status_code == 200, response.content[:1000]
    body = json.loads(response.content)
    Bundle.model_validate(body)
    assert body["type"] == "searchset"
    assert "total" not in body
    return body


def ids(body: dict) -> list[str]:
    return [entry["resource"]["id"] for entry in body.get("entry", [])]


def next_url(body: dict) -> str | None:
    return next((link["url"] for link in body["link"] if link["relation"] == "next"), None)


def walk(client, token, **params) -> list[list[str]]:
    """Every page of a search, following the ``next`` links."""
    pages = []
    body = searchset(get(client, OBSERVATIONS, token, **params))
    pages.append(ids(body))
    while (url := next_url(body)) is not None:
        body = searchset(client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}"))
        pages.append(ids(body))
    return pages


@pytest.fixture
def app(citizen):
    return paired_app(citizen)


# --- read by id ---


def test_read_answers_the_stored_observation_with_the_idpe(client, app, access, citizen):
    measure = record(access, MeasureKind.WEIGHT, "72.5", at(2024, 5, 1, 8, 30))

    response = get(client, f"{OBSERVATIONS}/{measure.public_id}", app.token)

    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    Observation.model_validate(body)
    assert body["id"] == str(measure.public_id)
    assert body["valueQuantity"]["value"] == 72.5
    assert body["subject"] == {"type": "Patient", "identifier": {"system": IDPE_SYSTEM, "value": app.idpe}}
    assert citizen.ins not in response.content.decode()
    assert response["ETag"] == 'W/"1"'
    assert body["meta"]["versionId"] == "1"
    # The stored resource still names the INS: only the answer is rewritten.
    measure.refresh_from_db()
    assert measure.resource["subject"]["identifier"]["value"] == citizen.ins


def test_read_of_its_only_version(client, app, access):
    measure = record(access, MeasureKind.HEART_RATE, 68)

    assert get(client, f"{OBSERVATIONS}/{measure.public_id}/_history/1", app.token).status_code == 200
    outcome(get(client, f"{OBSERVATIONS}/{measure.public_id}/_history/2", app.token), 404, "not-found")


def test_the_computed_bmi_is_readable(client, app, access, citizen):
    record(access, MeasureKind.HEIGHT, 170, at(2024, 4, 1, 8))
    record(access, MeasureKind.WEIGHT, "72.3", at(2024, 5, 1, 8))
    bmi = Measure.objects.get(citizen=citizen, kind=MeasureKind.BMI)

    response = get(client, f"{OBSERVATIONS}/{bmi.public_id}", app.token)

    assert response.status_code == 200
    assert json.loads(response.content)["valueQuantity"]["value"] == 25


def test_read_of_another_citizens_measure_is_404(client, app, other_access):
    measure = record(other_access, MeasureKind.WEIGHT, 80)

    resource = outcome(get(client, f"{OBSERVATIONS}/{measure.public_id}", app.token), 404, "not-found")
    assert str(measure.public_id) in diagnostics(resource)
    outcome(get(client, f"{OBSERVATIONS}/00000000-0000-4000-8000-000000000000", app.token), 404, "not-found")
    outcome(get(client, f"{OBSERVATIONS}/pas-un-uuid", app.token), 404, "not-found")


def test_read_authorization(client, citizen, access):
    measure = record(access, MeasureKind.WEIGHT, 70)
    url = f"{OBSERVATIONS}/{measure.public_id}"

    outcome(get(client, url), 401, "login")
    writer = paired_app(citizen, name="Écrivain", token_scopes=["openid", "patient/Observation.cs"])
    outcome(get(client, url, writer.token), 403, "forbidden")
    reader = paired_app(citizen, name="Lecteur")
    assert get(client, url, reader.token).status_code == 200
    pairing_revoke(actor=citizen.user, pairing=reader.pairing)
    assert get(client, url, reader.token).status_code in (401, 403)


def test_each_read_writes_one_journal_row(client, app, access, citizen):
    measure = record(access, MeasureKind.WEIGHT, 70)

    get(client, f"{OBSERVATIONS}/{measure.public_id}", app.token)

    entry = JournalEntry.objects.get(action=API_READ, citizen=citizen)
    assert "Balance connectée" in entry.actor_label
    assert entry.object_id == str(measure.public_id)
    assert entry.details["ressource"] == "Observation"


def test_read_takes_four_queries(client, app, access, django_assert_num_queries):
    measure = record(access, MeasureKind.WEIGHT, 70)
    get(client, f"{OBSERVATIONS}/{measure.public_id}", app.token)  # the pairing's last access is noted once

    with django_assert_num_queries(3):  # the token with its pairing, the measure, the journal row
        assert get(client, f"{OBSERVATIONS}/{measure.public_id}", app.token).status_code == 200


# --- Device ---


def test_device_of_the_app_is_readable(client, app, citizen):
    post(client, TRANSACTION, bundle(app, weight(app)), app.token)
    device = Device.objects.get()

    response = get(client, f"/api/fhir/Device/{device.public_id}", app.token)

    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    FHIRDevice.model_validate(body)
    assert body["id"] == str(device.public_id)
    assert body["identifier"] == [{"system": f"urn:oid:{app.oid}", "value": "BAL-0001"}]
    assert get(client, f"/api/fhir/Device/{device.public_id}/_history/1", app.token).status_code == 200


def test_device_of_another_app_is_404(client, app, citizen):
    other = paired_app(citizen, name="Tensiomètre connecté")
    post(client, TRANSACTION, bundle(other, weight(other)), other.token)
    device = Device.objects.get()

    outcome(get(client, f"/api/fhir/Device/{device.public_id}", app.token), 404, "not-found")
    outcome(get(client, "/api/fhir/Device/pas-un-uuid", app.token), 404, "not-found")


def test_device_read_needs_an_observation_scope(client, app, citizen):
    post(client, TRANSACTION, bundle(app, weight(app)), app.token)
    device = Device.objects.get()
    url = f"/api/fhir/Device/{device.public_id}"
    contact_only = issue_for(app, ["openid", "patient/Patient.r"])
    writer_only = issue_for(app, ["openid", "patient/Observation.c"])

    outcome(get(client, url), 401, "login")
    outcome(get(client, url, contact_only), 403, "forbidden")
    assert get(client, url, writer_only).status_code == 200


def issue_for(app, scopes):
    return issue_token(app.pairing, scopes=scopes)


# --- search ---


def test_search_returns_the_citizens_measures_of_every_source_newest_first(client, app, access, citizen):
    older = record(access, MeasureKind.WEIGHT, 71, at(2024, 4, 1, 8))
    post(client, TRANSACTION, bundle(app, weight(app, when="2024-05-01T08:30:00+02:00")), app.token)
    newest = record(access, MeasureKind.HEART_RATE, 70, at(2024, 6, 1, 8))
    from_app = Measure.objects.get(source_kind="app")

    body = searchset(get(client, OBSERVATIONS, app.token))

    assert ids(body) == [str(newest.public_id), str(from_app.public_id), str(older.public_id)]
    assert {entry["search"]["mode"] for entry in body["entry"]} == {"match"}
    assert body["entry"][0]["fullUrl"] == f"http://testserver/api/fhir/Observation/{newest.public_id}"
    subjects = {json.dumps(entry["resource"]["subject"]) for entry in body["entry"]}
    assert subjects == {json.dumps({"type": "Patient", "identifier": {"system": IDPE_SYSTEM, "value": app.idpe}})}
    assert citizen.ins not in json.dumps(body)
    assert next_url(body) is None


def test_search_by_code(client, app, access):
    weight_ = record(access, MeasureKind.WEIGHT, 71, at(2024, 4, 1, 8))
    heart = record(access, MeasureKind.HEART_RATE, 70, at(2024, 4, 2, 8))
    glucose = record(access, MeasureKind.GLUCOSE, "1.05", at(2024, 4, 3, 8), glucose_moment="a-jeun")

    assert ids(searchset(get(client, OBSERVATIONS, app.token, code="http://loinc.org|29463-7"))) == [
        str(weight_.public_id)
    ]
    assert ids(searchset(get(client, OBSERVATIONS, app.token, code="8867-4"))) == [str(heart.public_id)]
    # The guide's LOINC codes of glucose in blood and in plasma both name the glycaemia.
    assert ids(searchset(get(client, OBSERVATIONS, app.token, code="2345-7"))) == [str(glucose.public_id)]
    both = ids(searchset(get(client, OBSERVATIONS, app.token, code="29463-7,8867-4")))
    assert both == [str(heart.public_id), str(weight_.public_id)]
    assert ids(searchset(get(client, OBSERVATIONS, app.token, code="http://snomed.info/sct|29463-7"))) == []
    assert ids(searchset(get(client, OBSERVATIONS, app.token, code="0000-0"))) == []


def test_search_by_date(client, app, access):
    measures = [record(access, MeasureKind.PAIN, day % 10, at(2024, 5, day, 12)) for day in range(1, 11)]
    day = {index + 1: str(measure.public_id) for index, measure in enumerate(measures)}

    def found(*dates, **params):
        return ids(searchset(get(client, OBSERVATIONS, app.token, date=list(dates), **params)))

    assert found("ge2024-05-08") == [day[10], day[9], day[8]]
    assert found("gt2024-05-08") == [day[10], day[9]]
    assert found("le2024-05-02") == [day[2], day[1]]
    assert found("lt2024-05-02") == [day[1]]
    assert found("ge2024-05-03", "le2024-05-05") == [day[5], day[4], day[3]]
    assert found("2024-05-04") == [day[4]]
    assert found("eq2024-05") == [day[index] for index in range(10, 0, -1)]
    assert found("2023") == []
    # With a time and a time zone: 12:00 in Paris is 10:00 UTC in May.
    assert found("ge2024-05-09T10:00:00Z") == [day[10], day[9]]
    assert found("gt2024-05-09T10:00:00Z") == [day[10]]
    assert found("lt2024-05-02T12:00:00+02:00") == [day[1]]
    assert found("le2024-05-02T12:00:00+02:00") == [day[2], day[1]]
    assert found("ge2024-05-03", _sort="date", _count="2") == [day[3], day[4]]
    # The « + » of an offset left unencoded in the URL (a space once decoded) still means « + ».
    unencoded = client.get(f"{OBSERVATIONS}?date=ge2024-05-09T12:00:00+02:00", HTTP_AUTHORIZATION=f"Bearer {app.token}")
    assert ids(searchset(unencoded)) == [day[10], day[9]]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"subject": "Patient/x"}, "subject"),
        ({"_include": "Observation:device"}, "_include"),
        ({"date": "ne2024-05-01"}, "date"),
        ({"date": "ge2024-05-01T08:00:00"}, "date"),
        ({"date": "ge2024-13-01"}, "date"),
        ({"date": "ge0001-01-01T00:00:00+14:00"}, "date"),
        ({"date": "le9999-12-31"}, "date"),
        ({"_sort": "value"}, "_sort"),
        ({"_count": "dix"}, "_count"),
        ({"_count": "0"}, "_count"),
        ({"_cursor": "abc"}, "_cursor"),
        ({"code": ["29463-7", "8867-4"]}, "code"),
    ],
)
def test_search_refuses_what_it_does_not_serve(client, app, params, parameter):
    resource = outcome(get(client, OBSERVATIONS, app.token, **params), 400, "invalid")

    assert expressions(resource) == {parameter}


def test_search_with_the_patient_parameter(client, app, access, citizen, other_citizen):
    measure = record(access, MeasureKind.WEIGHT, 70)
    for value in (app.idpe, f"Patient/{app.idpe}", f"{IDPE_SYSTEM}|{app.idpe}"):
        assert ids(searchset(get(client, OBSERVATIONS, app.token, patient=value))) == [str(measure.public_id)]
    bruno = paired_app(other_citizen, name="Podomètre")
    for value in (bruno.idpe, f"Patient/{bruno.idpe}", citizen.ins):
        resource = outcome(get(client, OBSERVATIONS, app.token, patient=value), 403, "forbidden")
        assert diagnostics(resource) == IDPE_MISMATCH


def test_search_never_shows_another_citizens_measures(client, app, other_access):
    record(other_access, MeasureKind.WEIGHT, 80)
    bulk_values(other_access.citizen, MeasureKind.STEPS, 30, start=at(2024, 1, 1), step=timedelta(days=1))

    assert ids(searchset(get(client, OBSERVATIONS, app.token))) == []


def test_search_authorization(client, citizen):
    outcome(get(client, OBSERVATIONS), 401, "login")
    reader_no_search = paired_app(citizen, name="Lecteur", token_scopes=["openid", "patient/Observation.r"])
    outcome(get(client, OBSERVATIONS, reader_no_search.token), 403, "forbidden")
    not_consented = paired_app(citizen, name="Sans lecture", scopes=["openid", "patient/Observation.c"])
    outcome(get(client, OBSERVATIONS, not_consented.token), 403, "forbidden")
    searcher = paired_app(citizen, name="Chercheur")
    assert get(client, OBSERVATIONS, searcher.token).status_code == 200
    pairing_revoke(actor=citizen.user, pairing=searcher.pairing)
    assert get(client, OBSERVATIONS, searcher.token).status_code in (401, 403)


def test_keyset_walk_has_no_duplicates_and_no_gaps_with_equal_timestamps(client, app, citizen):
    # 5 instants, 5 measures at each: pages of 4 cut through groups of equal timestamps.
    for hour in range(5):
        bulk_values(citizen, MeasureKind.HEART_RATE, 5, start=at(2024, 5, 1, 8 + hour), step=timedelta(0))
    expected = list(
        Measure.objects.filter(citizen=citizen).order_by("-effective_at", "-id").values_list("public_id", flat=True)
    )

    pages = walk(client, app.token, code="8867-4", _count="4")

    assert [len(page) for page in pages] == [4, 4, 4, 4, 4, 4, 1]
    assert [item for page in pages for item in page] == [str(public_id) for public_id in expected]
    ascending = walk(client, app.token, _sort="date", _count="7")
    assert [item for page in ascending for item in page] == [str(public_id) for public_id in reversed(expected)]


def test_next_link_keeps_the_filters_and_carries_an_opaque_cursor(client, app, citizen):
    bulk_values(citizen, MeasureKind.HEART_RATE, 6, start=at(2024, 5, 1), step=timedelta(hours=1))
    bulk_values(citizen, MeasureKind.STEPS, 6, start=at(2024, 5, 1), step=timedelta(hours=1))

    body = searchset(get(client, OBSERVATIONS, app.token, code="8867-4", date="ge2024-05-01", _count="4"))

    query = parse_qs(urlsplit(next_url(body)).query)
    assert query["code"] == ["8867-4"]
    assert query["date"] == ["ge2024-05-01"]
    assert query["_count"] == ["4"]
    assert "_offset" not in query and "page" not in query
    cursor = query["_cursor"][0]
    # Signed: a forged position is refused.
    position = signing.loads(cursor, salt="dossier.api.observations.cursor")
    forged = signing.dumps({**position, "i": 1}, salt="wrong-salt")
    resource = outcome(get(client, OBSERVATIONS, app.token, _cursor=forged), 400, "invalid")
    assert expressions(resource) == {"_cursor"}
    # And it serves the order it was made for only.
    outcome(get(client, OBSERVATIONS, app.token, _cursor=cursor, _sort="date"), 400, "invalid")


def test_cursor_of_another_pairing_is_refused(client, app, citizen):
    bulk_values(citizen, MeasureKind.HEART_RATE, 3, start=at(2024, 5, 1), step=timedelta(hours=1))
    other = paired_app(citizen, name="Tensiomètre connecté")
    body = searchset(get(client, OBSERVATIONS, app.token, _count="1"))
    cursor = parse_qs(urlsplit(next_url(body)).query)["_cursor"][0]

    outcome(get(client, OBSERVATIONS, other.token, _cursor=cursor, _count="1"), 400, "invalid")


def test_count_is_clamped_to_100(client, app, citizen):
    bulk_values(citizen, MeasureKind.STEPS, 120, start=at(2024, 1, 1), step=timedelta(days=1), light=True)

    body = searchset(get(client, OBSERVATIONS, app.token, _count="1000"))

    assert len(body["entry"]) == 100
    assert next_url(body) is not None
    assert len(searchset(get(client, OBSERVATIONS, app.token)).get("entry")) == 20


@pytest.mark.parametrize("count", ["1", "100"])
def test_search_query_count_does_not_depend_on_the_page_size(client, app, citizen, count, django_assert_num_queries):
    bulk_values(citizen, MeasureKind.WEIGHT, 250, start=at(2024, 1, 1), step=timedelta(hours=6), light=True)
    get(client, OBSERVATIONS, app.token)  # the pairing's last access is noted once a minute at most
    first = searchset(get(client, OBSERVATIONS, app.token, code="29463-7", _count=count))

    # the token with its pairing, the page, the journal row
    with django_assert_num_queries(3):
        body = searchset(client.get(next_url(first), HTTP_AUTHORIZATION=f"Bearer {app.token}"))
    assert len(body["entry"]) == int(count)
    with django_assert_num_queries(3):
        searchset(get(client, OBSERVATIONS, app.token, _count=count))


def test_each_search_writes_one_journal_row_with_the_count(client, app, citizen):
    bulk_values(citizen, MeasureKind.HEART_RATE, 7, start=at(2024, 5, 1), step=timedelta(hours=1))

    get(client, OBSERVATIONS, app.token, _count="5")

    entry = JournalEntry.objects.get(action=API_READ, citizen=citizen)
    assert entry.details["nombre"] == 5
    assert entry.details["ressource"] == "Observation"
    assert "Balance connectée" in entry.actor_label


def test_search_uses_the_measure_index(app, citizen):
    """One kind is read from measure_list_idx in order, from the cursor on (no sort of the person's history)."""
    bulk_values(citizen, MeasureKind.WEIGHT, 2000, start=at(2020, 1, 1), step=timedelta(hours=6), light=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE dossier_measure")
    first = measures_page(citizen, kinds=["poids"], limit=20)
    with CaptureQueriesContext(connection) as queries:
        measures_page(citizen, kinds=["poids"], after=first.next_position, limit=20)
    (query,) = queries.captured_queries

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "measure_list_idx" in plan
    assert "Sort" not in plan


# --- CapabilityStatement ---


def test_capability_statement_declares_observation_and_device(client):
    response = client.get("/api/fhir/metadata")

    assert response.status_code == 200
    resources = {entry["type"]: entry for entry in json.loads(response.content)["rest"][0]["resource"]}
    observation = resources["Observation"]
    assert {interaction["code"] for interaction in observation["interaction"]} == {
        "read",
        "vread",
        "create",
        "search-type",
    }
    assert (
        "https://interop.esante.gouv.fr/ig/fhir/mesures/StructureDefinition/FrObservationBodyWeight"
        in (observation["supportedProfile"])
    )
    assert len(observation["supportedProfile"]) == 10
    params = {param["name"]: param for param in observation["searchParam"]}
    assert set(params) == {"patient", "code", "date", "_count", "_sort"}
    assert params["date"]["type"] == "date"
    assert "400" in observation["documentation"]
    assert resources["Device"]["conditionalCreate"] is True
    assert {interaction["code"] for interaction in resources["Device"]["interaction"]} == {"read", "vread"}
