"""``GET /api/fhir/metadata``: the server's public CapabilityStatement."""

import json
from datetime import UTC, date, datetime

import pytest
from django.utils import timezone
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from mes.api import registry
from mes.api.fhir import FHIR_JSON
from mes.api.registry import FHIRResource, register_fhir_resource

METADATA = "/api/fhir/metadata"
TEST_PROFILE = "https://interop.esante.gouv.fr/ig/fhir/test/StructureDefinition/test-observation"


@pytest.fixture
def registered_observation():
    """Registers a resource for the test only, restoring the registry afterwards."""
    saved = dict(registry._RESOURCES)
    resource = FHIRResource(
        type="Observation",
        profiles=(TEST_PROFILE,),
        interactions=("read", "search-type", "create"),
        search_params=(("patient", "reference"), ("date", "date"), ("code", "token")),
    )
    register_fhir_resource(resource)
    yield resource
    registry._RESOURCES.clear()
    registry._RESOURCES.update(saved)


def get_statement(client) -> tuple[dict, CapabilityStatement]:
    response = client.get(METADATA)
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == FHIR_JSON
    body = json.loads(response.content)
    return body, CapabilityStatement.model_validate(body)


def test_metadata_is_public_and_valid(client):
    body, statement = get_statement(client)
    assert body["resourceType"] == "CapabilityStatement"
    assert statement.status == "active"
    assert statement.kind == "instance"
    assert statement.fhirVersion == "4.0.1"
    assert FHIR_JSON in statement.format
    assert [rest.mode for rest in statement.rest] == ["server"]
    assert statement.implementation.url == "http://testserver/api/fhir"
    assert "PKCE S256" in statement.rest[0].security.description
    assert [coding.code for coding in statement.rest[0].security.service[0].coding] == ["OAuth"]


def test_metadata_is_dated_in_french_time(client, monkeypatch):
    """At 00:30 in Paris on 1 July, it is still 30 June in UTC: the statement is dated 1 July."""
    monkeypatch.setattr(timezone, "now", lambda: datetime(2025, 6, 30, 22, 30, tzinfo=UTC))
    _, statement = get_statement(client)
    assert statement.date == date(2025, 7, 1)


def test_metadata_ignores_credentials_and_cookies(client, citizen):
    """Public means public: a bad bearer token is not even looked at, a session changes nothing."""
    response = client.get(METADATA, HTTP_AUTHORIZATION="Bearer jeton-inconnu")
    assert response.status_code == 200
    client.force_login(citizen.user)
    assert client.get(METADATA).status_code == 200


def test_metadata_lists_registered_resources(client, registered_observation):
    _, statement = get_statement(client)
    resources = {resource.type: resource for resource in statement.rest[0].resource}
    assert "Observation" in resources
    observation = resources["Observation"]
    assert observation.supportedProfile == [TEST_PROFILE]
    assert [interaction.code for interaction in observation.interaction] == ["read", "search-type", "create"]
    assert [(param.name, param.type) for param in observation.searchParam] == [
        ("patient", "reference"),
        ("date", "date"),
        ("code", "token"),
    ]


def test_metadata_forgets_unregistered_resources(client, registered_observation):
    registry._RESOURCES.pop("Observation")
    _, statement = get_statement(client)
    assert "Observation" not in {resource.type for resource in statement.rest[0].resource or []}


def test_resources_are_listed_in_name_order(client, registered_observation):
    register_fhir_resource(FHIRResource(type="Appointment"))
    register_fhir_resource(FHIRResource(type="DocumentReference", interactions=("read",)))
    _, statement = get_statement(client)
    types = [resource.type for resource in statement.rest[0].resource]
    assert types == sorted(types)
    assert {"Appointment", "DocumentReference", "Observation"} <= set(types)


def test_metadata_answers_other_methods_with_an_operation_outcome(client):
    response = client.post(METADATA, b"{}", content_type=FHIR_JSON)
    assert response.status_code == 405
    assert json.loads(response.content)["resourceType"] == "OperationOutcome"
