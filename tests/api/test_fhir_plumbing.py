"""FHIR endpoints speak FHIR JSON, and every error they raise is an OperationOutcome."""

import json
import logging

import pytest
from django.db import connection, transaction
from fhir.resources.R4B.operationoutcome import OperationOutcome
from rest_framework.test import APIRequestFactory

from mes.api.exceptions import exception_handler
from mes.api.fhir import FHIR_JSON, FHIRJSONParser, FHIRJSONRenderer, operation_outcome
from tests.api.fhir_test_urls import LEAKY_SECRET, CrashView, PlainView

pytestmark = pytest.mark.urls("tests.api.fhir_test_urls")

ECHO = "/test-fhir/echo"
PATIENT = {"resourceType": "Patient", "active": True, "name": [{"family": "Durand", "given": ["Camille", "Hélène"]}]}


def media_type(response) -> str:
    return response["Content-Type"].split(";")[0].strip()


def outcome(response, status: int, issue_code: str) -> OperationOutcome:
    """The response is a valid R4B OperationOutcome, in FHIR JSON, with that status and issue code."""
    assert response.status_code == status, response.content[:500]
    assert media_type(response) == FHIR_JSON
    body = json.loads(response.content)
    resource = OperationOutcome.model_validate(body)
    assert resource.issue, "an OperationOutcome has at least one issue"
    assert {issue.code for issue in resource.issue} == {issue_code}
    assert {issue.severity for issue in resource.issue} == {"error" if status < 500 else "fatal"}
    return resource


def post_fhir(client, url, body, content_type=FHIR_JSON, **extra):
    return client.generic("POST", url, body, content_type=content_type, **extra)


# --- Parser and renderer ---


def test_fhir_json_round_trip(client):
    response = post_fhir(client, ECHO, json.dumps(PATIENT, ensure_ascii=False).encode())
    assert response.status_code == 201
    assert media_type(response) == FHIR_JSON
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    assert json.loads(response.content) == PATIENT
    # Rendered as UTF-8, not as \u escapes.
    assert "Hélène".encode() in response.content


def test_fhir_json_with_charset_parameter_is_accepted(client):
    response = post_fhir(client, ECHO, json.dumps(PATIENT).encode(), content_type=f"{FHIR_JSON}; charset=utf-8")
    assert response.status_code == 201


def test_get_renders_fhir_json_for_any_accept(client):
    for accept in ("*/*", FHIR_JSON, "application/fhir+json, application/json;q=0.5"):
        response = client.get(ECHO, HTTP_ACCEPT=accept)
        assert response.status_code == 200
        assert media_type(response) == FHIR_JSON


def test_parser_and_renderer_units():
    assert FHIRJSONParser.media_type == FHIRJSONRenderer.media_type == FHIR_JSON
    assert FHIRJSONRenderer().render(None) == b""
    assert (
        FHIRJSONRenderer().render({"resourceType": "Patient", "id": "é"})
        == '{"resourceType":"Patient","id":"é"}'.encode()
    )


# --- 400 ---


@pytest.mark.parametrize(
    "body",
    [b"{pas du json", b'{"resourceType": "Patient"', b"\xff\xfe\x00"],
    ids=["malformed", "truncated", "not-utf8"],
)
def test_malformed_json_is_a_400(client, body):
    resource = outcome(post_fhir(client, ECHO, body), 400, "invalid")
    assert "JSON FHIR valide" in resource.issue[0].diagnostics


@pytest.mark.parametrize("body", [[PATIENT], {"active": True}, "Patient", 42, None], ids=repr)
def test_body_that_is_not_a_resource_is_a_400(client, body):
    resource = outcome(post_fhir(client, ECHO, json.dumps(body).encode()), 400, "invalid")
    assert "resourceType" in resource.issue[0].diagnostics


@pytest.mark.parametrize("content_type", [FHIR_JSON, ""])
def test_empty_body_is_a_400(client, content_type):
    """DRF gives an empty body to no parser (``request.data == {}``): FHIR views refuse it themselves."""
    resource = outcome(post_fhir(client, ECHO, b"", content_type=content_type), 400, "invalid")
    assert "resourceType" in resource.issue[0].diagnostics


def test_empty_body_on_a_method_without_handler_is_still_a_405(client):
    outcome(client.put(ECHO, b"", content_type=FHIR_JSON), 405, "not-supported")


def test_validation_errors_become_one_issue_per_message_with_expressions(client):
    resource = outcome(post_fhir(client, "/test-fhir/invalid", json.dumps(PATIENT).encode()), 400, "invalid")
    issues = {issue.diagnostics: issue.expression for issue in resource.issue}
    assert issues == {"Référence de patient inconnue.": ["subject.reference"], "Valeur interdite.": ["status"]}


# --- 401 / 403 ---


def test_missing_bearer_token_is_a_401_with_challenge(client):
    response = client.get("/test-fhir/Patient")
    resource = outcome(response, 401, "login")
    assert response["WWW-Authenticate"].startswith("Bearer ")
    assert 'realm="api"' in response["WWW-Authenticate"]
    assert resource.issue[0].diagnostics


def test_invalid_bearer_token_is_a_401_with_challenge(client, db):
    response = client.get("/test-fhir/Patient", HTTP_AUTHORIZATION="Bearer jeton-inconnu")
    outcome(response, 401, "login")
    assert response["WWW-Authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_denied_permission_is_a_403(client, citizen):
    client.force_login(citizen.user)
    resource = outcome(client.get("/test-fhir/forbidden"), 403, "forbidden")
    assert resource.issue[0].diagnostics == "Ce service n'a pas accès à cette ressource."


def test_django_permission_denied_is_a_403_without_its_message(client, citizen):
    client.force_login(citizen.user)
    response = client.get("/test-fhir/django-forbidden")
    outcome(response, 403, "forbidden")
    assert LEAKY_SECRET not in response.content.decode()


# --- 404 / 405 / 406 / 415 ---


def test_http404_is_a_404_without_its_message(client):
    response = client.get("/test-fhir/missing")
    resource = outcome(response, 404, "not-found")
    assert LEAKY_SECRET not in response.content.decode()
    assert resource.issue[0].diagnostics


def test_unsupported_method_is_a_405_with_allow(client):
    response = client.put(ECHO, json.dumps(PATIENT), content_type=FHIR_JSON)
    resource = outcome(response, 405, "not-supported")
    assert "PUT" in resource.issue[0].diagnostics
    allowed = {method.strip() for method in response["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "PUT" not in allowed


def test_unacceptable_accept_header_is_a_406_still_in_fhir_json(client):
    response = client.get(ECHO, HTTP_ACCEPT="application/xml")
    outcome(response, 406, "not-supported")


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded", "text/plain"])
def test_wrong_content_type_is_a_415(client, content_type):
    response = post_fhir(client, ECHO, json.dumps(PATIENT).encode(), content_type=content_type)
    resource = outcome(response, 415, "not-supported")
    assert content_type in resource.issue[0].diagnostics


# --- 422 / 429 / 500 ---


def test_unprocessable_entity_is_a_422_with_expressions(client):
    response = post_fhir(client, "/test-fhir/unprocessable", json.dumps({"resourceType": "Observation"}).encode())
    resource = outcome(response, 422, "processing")
    assert len(resource.issue) == 1
    assert resource.issue[0].diagnostics == "La valeur de la mesure est hors des bornes physiologiques."
    assert resource.issue[0].expression == ["Observation.valueQuantity.value"]


def test_throttled_request_is_a_429_with_retry_after(client):
    assert client.get("/test-fhir/throttled").status_code == 200
    response = client.get("/test-fhir/throttled")
    resource = outcome(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60
    assert resource.issue[0].diagnostics


def test_unexpected_exception_is_a_generic_500(client, caplog):
    with caplog.at_level(logging.ERROR, logger="mes.api.exceptions"):
        response = client.get("/test-fhir/crash")
    resource = outcome(response, 500, "exception")
    assert [issue.diagnostics for issue in resource.issue] == ["Erreur interne du serveur."]
    text = response.content.decode()
    assert LEAKY_SECRET not in text
    assert "RuntimeError" not in text and "Traceback" not in text
    # Internals go to the log, not to the client.
    logged = [record for record in caplog.records if record.name == "mes.api.exceptions"]
    assert logged and logged[0].exc_info and LEAKY_SECRET in str(logged[0].exc_info[1])


def test_unexpected_exception_rolls_back_an_atomic_request(monkeypatch, db):
    """With ATOMIC_REQUESTS, a FHIR 500 must not commit the request's half-done writes (as DRF's handler does)."""
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    request = APIRequestFactory().get("/test-fhir/crash")
    view = CrashView()
    with transaction.atomic():
        response = exception_handler(RuntimeError("boom"), {"view": view, "request": request})
        assert response.status_code == 500
        assert connection.get_rollback()
        transaction.set_rollback(False)


# --- OperationOutcome construction ---


def test_operation_outcome_defaults():
    body = operation_outcome(418, [])
    assert OperationOutcome.model_validate(body).issue[0].code == "exception"
    assert body["issue"][0]["diagnostics"]


# --- Non-FHIR DRF views keep DRF's errors ---


def test_plain_drf_view_keeps_drf_errors(client, citizen):
    response = client.get("/test-plain/")
    assert response.status_code == 401
    assert media_type(response) == "application/json"
    assert set(json.loads(response.content)) == {"detail"}

    client.force_login(citizen.user)
    response = client.get("/test-plain/")
    assert response.status_code == 404
    assert media_type(response) == "application/json"
    assert set(json.loads(response.content)) == {"detail"}

    response = client.post("/test-plain/", "{pas du json", content_type="application/json")
    assert response.status_code == 400
    assert media_type(response) == "application/json"
    assert "resourceType" not in response.content.decode()


def test_plain_drf_view_unexpected_exception_is_not_swallowed(rf):
    """Outside FHIR views the handler returns None, so Django's own 500 handling applies."""
    assert exception_handler(RuntimeError("boom"), {"view": PlainView(), "request": rf.get("/")}) is None
