"""``Idempotency-Key`` on the POSTs of paired apps: replay, conflicting reuse, in-flight retries, concurrency.

Driven through ``test-fhir/app/weight`` (tests/api/fhir_test_urls.py), an app endpoint that records a real weight.
"""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from dossier.models import Measure
from mes.acces.models import JournalEntry, Pairing
from mes.api.models import IdempotencyRecord
from tests.api.conftest import bearer, issue_token, make_application, pair

pytestmark = pytest.mark.urls("tests.api.fhir_test_urls")

URL = "/test-fhir/app/weight"
KEY = "cle-unique-7f3a9c"


def weight(value: float = 72.4, minutes_ago: int = 30) -> dict:
    effective = (timezone.now() - timedelta(minutes=minutes_ago)).replace(microsecond=0)
    return {
        "resourceType": "Observation",
        "valueQuantity": {"value": value},
        "effectiveDateTime": effective.isoformat(),
    }


def post(client, token: str, body: dict | str, *, key: str | None = KEY, url: str = URL):
    headers = bearer(token)
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data=data, content_type="application/fhir+json", **headers)


def measures(citizen) -> int:
    return Measure.objects.filter(citizen=citizen).count()


def test_replay_returns_the_first_answer_and_writes_once(client, citizen, paired):
    body = json.dumps(weight())
    first = post(client, paired.token, body)
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    journal_rows = JournalEntry.objects.filter(citizen=citizen).count()

    second = post(client, paired.token, body)
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert json.loads(second.content) == json.loads(first.content)
    assert second["Location"] == first["Location"]
    assert second["Content-Type"].startswith("application/fhir+json")
    assert measures(citizen) == 1
    # A replay writes nothing, not even in the journal.
    assert JournalEntry.objects.filter(citizen=citizen).count() == journal_rows
    assert IdempotencyRecord.objects.count() == 1


def test_without_a_key_each_post_writes(client, citizen, paired):
    body = json.dumps(weight())
    assert post(client, paired.token, body, key=None).status_code == 201
    assert post(client, paired.token, body, key=None).status_code == 201
    assert measures(citizen) == 2
    assert not IdempotencyRecord.objects.exists()


def test_other_keys_write_again(client, citizen, paired):
    body = json.dumps(weight())
    assert post(client, paired.token, body, key="cle-a").status_code == 201
    assert post(client, paired.token, body, key="cle-b").status_code == 201
    assert measures(citizen) == 2


def test_same_key_with_another_body_is_422(client, citizen, paired):
    assert post(client, paired.token, weight(72.4)).status_code == 201
    response = post(client, paired.token, weight(80.1))
    assert response.status_code == 422
    outcome = json.loads(response.content)
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["expression"] == ["Idempotency-Key"]
    assert "clé d’idempotence a déjà servi" in issue["diagnostics"]
    assert measures(citizen) == 1


def test_same_key_on_another_path_is_422(client, citizen, paired):
    body = json.dumps(weight())
    assert post(client, paired.token, body).status_code == 201
    response = post(client, paired.token, body, url="/test-fhir/app/weight/")
    # The same key for another endpoint is another request (or no route at all): never a replay.
    assert response.status_code in (404, 422)
    assert "Idempotent-Replayed" not in response
    assert measures(citizen) == 1


@pytest.mark.parametrize("key", ["k" * 256, "avec espace", "accentuée", ""])
def test_malformed_key_is_400(client, citizen, paired, key):
    response = post(client, paired.token, weight(), key=key)
    assert response.status_code == 400
    outcome = json.loads(response.content)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == ["Idempotency-Key"]
    assert measures(citizen) == 0


def test_longest_key_is_accepted(client, citizen, paired):
    assert post(client, paired.token, weight(), key="k" * 255).status_code == 201


def test_keys_are_per_app_and_per_citizen(client, citizen, other_citizen, paired):
    """The same key from another app, or for another person, is another request: no replay across them."""
    body = json.dumps(weight())
    assert post(client, paired.token, body).status_code == 201
    other_app = make_application(name="Autre service")
    other_app_token = issue_token(pair(citizen, other_app))
    other_citizen_token = issue_token(pair(other_citizen, paired.application))
    for token in (other_app_token, other_citizen_token):
        response = post(client, token, body)
        assert response.status_code == 201
        assert "Idempotent-Replayed" not in response
    assert measures(citizen) == 2
    assert measures(other_citizen) == 1


def test_a_client_error_is_replayed_too(client, citizen, paired):
    """An invalid resource answered 422 keeps its answer: the retry gets the same OperationOutcome."""
    body = json.dumps(weight(4000))
    first = post(client, paired.token, body)
    assert first.status_code == 422
    second = post(client, paired.token, body)
    assert second.status_code == 422
    assert second["Idempotent-Replayed"] == "true"
    assert json.loads(second.content) == json.loads(first.content)
    assert measures(citizen) == 0


def test_a_server_error_is_rolled_back_and_not_recorded(client, citizen, paired):
    """A 500 after the write leaves nothing behind: no measure, no record; the retry then succeeds."""
    body = json.dumps(weight())
    crashed = post(client, paired.token, body, url=URL + "?crash=1")
    assert crashed.status_code == 500
    assert measures(citizen) == 0
    assert not IdempotencyRecord.objects.exists()
    retried = post(client, paired.token, body)
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried
    assert measures(citizen) == 1


def test_a_revoked_pairing_gets_no_replay(client, citizen, paired):
    """The recorded answer is given back only to a caller that may still call."""
    from mes.acces.services.pairings import pairing_revoke

    body = json.dumps(weight())
    assert post(client, paired.token, body).status_code == 201
    token = issue_token(paired.pairing)
    pairing_revoke(actor=citizen.user, pairing=paired.pairing)
    response = post(client, token, body)
    assert response.status_code in (401, 403)
    assert "Idempotent-Replayed" not in response


def test_a_retry_while_the_first_is_in_flight_is_409(transactional_db, citizen, paired):
    """Two identical POSTs, the second sent while the first still holds its transaction open: one creates, the other
    is told to come back (409) — and comes back to the first answer."""
    body = json.dumps(weight())
    Pairing.objects.filter(pk=paired.pairing.pk).update(last_access_at=timezone.now())
    responses = {}

    def send(name: str) -> None:
        try:
            responses[name] = post(Client(), paired.token, body, url=URL + "?hold=2")
        finally:
            connection.close()

    first = threading.Thread(target=send, args=("first",))
    first.start()
    time.sleep(0.3)
    send("second")
    first.join(timeout=60)
    assert sorted(response.status_code for response in responses.values()) == [201, 409]
    conflict = next(response for response in responses.values() if response.status_code == 409)
    outcome = json.loads(conflict.content)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "conflict"
    assert "encore en cours" in outcome["issue"][0]["diagnostics"]
    assert measures(citizen) == 1
    retry = post(Client(), paired.token, body)
    assert retry.status_code == 201 and retry["Idempotent-Replayed"] == "true"


CONCURRENT_REQUESTS = 50


def test_concurrent_identical_posts_create_exactly_one_resource(transactional_db, citizen, paired):
    """50 identical POSTs with one key at the same instant, each on its own connection: one weight, one record;
    every answer is the creation, its replay, or 409 « in flight » — never a server error."""
    body = json.dumps(weight())
    # An app calling often: its last access was just noted, so the requests meet on the key's lock alone.
    Pairing.objects.filter(pk=paired.pairing.pk).update(last_access_at=timezone.now())
    start = threading.Barrier(CONCURRENT_REQUESTS)
    responses = [None] * CONCURRENT_REQUESTS

    def send(index: int) -> None:
        client = Client()
        try:
            start.wait(timeout=60)
            # The first keeps its transaction open a little, so that the others really arrive while it is in flight.
            responses[index] = post(client, paired.token, body, url=URL + "?hold=0.5")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(index,)) for index in range(CONCURRENT_REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(response is not None for response in responses)

    statuses = [response.status_code for response in responses]
    assert set(statuses) <= {201, 409}, statuses
    created = [
        response for response in responses if response.status_code == 201 and "Idempotent-Replayed" not in response
    ]
    assert len(created) == 1
    replays = [response for response in responses if response.status_code == 201 and "Idempotent-Replayed" in response]
    assert all(json.loads(replay.content) == json.loads(created[0].content) for replay in replays)
    assert measures(citizen) == 1
    assert IdempotencyRecord.objects.count() == 1
    # A retry once it is all over is a replay of the one creation.
    final = post(Client(), paired.token, body)
    assert final.status_code == 201 and final["Idempotent-Replayed"] == "true"
    assert json.loads(final.content) == json.loads(created[0].content)
