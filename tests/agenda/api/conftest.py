"""Fixtures of the Appointment API tests: a paired app (the API tests' helpers) and FHIR request helpers."""

import json

import pytest

from mes.api.fhir import FHIR_JSON
from tests.api.conftest import bearer, issue_token, make_application, pair

URL = "/api/fhir/Appointment"


class App:
    """A referenced app paired with a citizen: its token, its pairing, its idPe."""

    def __init__(self, citizen, *, name: str = "Carnet de tension", scopes: list[str] | None = None):
        self.application = make_application(name=name)
        self.pairing = pair(citizen, self.application)
        self.habilitation = self.pairing.habilitation
        self.idpe = self.pairing.idpe
        self.token = issue_token(self.pairing, scopes=scopes)

    def token_for(self, scopes: list[str]) -> str:
        """Another token of the same pairing, with fewer scopes."""
        return issue_token(self.pairing, scopes=scopes)


@pytest.fixture
def app(citizen) -> App:
    """« Carnet de tension », paired with Camille for everything (patient/Appointment.cruds included)."""
    return App(citizen)


@pytest.fixture
def other_app(citizen) -> App:
    """« Kiné Connect », another app paired with Camille."""
    return App(citizen, name="Kiné Connect")


class FHIRClient:
    """The Django test client speaking FHIR JSON with a bearer token."""

    def __init__(self, client):
        self.client = client

    def _headers(self, token: str | None, headers: dict | None) -> dict:
        values = bearer(token) if token else {}
        values.update({f"HTTP_{name.upper().replace('-', '_')}": value for name, value in (headers or {}).items()})
        return values

    def post(self, token, body, *, headers=None, url=URL):
        return self.client.post(url, data=json.dumps(body), content_type=FHIR_JSON, **self._headers(token, headers))

    def put(self, token, resource_id, body, *, headers=None):
        return self.client.put(
            f"{URL}/{resource_id}", data=json.dumps(body), content_type=FHIR_JSON, **self._headers(token, headers)
        )

    def get(self, token, resource_id=None, *, params=None, url=None, headers=None):
        target = url or (f"{URL}/{resource_id}" if resource_id else URL)
        return self.client.get(target, params or {}, **self._headers(token, headers))

    def delete(self, token, resource_id, *, headers=None):
        return self.client.delete(f"{URL}/{resource_id}", **self._headers(token, headers))


@pytest.fixture
def fhir(client) -> FHIRClient:
    return FHIRClient(client)
