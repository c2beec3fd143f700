"""The scope matrix of the FHIR API: every resource type × create/read/update/delete/search, through the real routes.

- Each interaction a resource offers, called without its SMART letter, is a 403 « consent not given » in every
  cell — whether the letter is missing from the token, from the citizen's consent or from the app's habilitation —
  while the same call with every scope succeeds (so that the 403 is the scope's doing, not a broken call).
- An interaction a resource does not offer is never a success (403, 404 or 405).
- After the citizen revokes the pairing, no cell succeeds, with the old token or with a token that outlived it.
- Another citizen's resources do not exist for the app (404), and their idPe is refused (403).
"""

import base64
import copy
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from mes.acces import scopes as app_scopes
from mes.acces.models import AppHabilitation, Pairing
from mes.acces.services.pairings import pairing_revoke
from mes.api.app_views import CONSENT_NOT_GIVEN, IDPE_SYSTEM
from tests.api.conftest import ALL_APP_SCOPES, bearer, issue_token, make_application, pair
from tests.dossier.documents_samples import pdf_bytes

FHIR_JSON = "application/fhir+json"
API = "/api/fhir"
PROFILE = "https://interop.esante.gouv.fr/ig/fhir/mesures/StructureDefinition/"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
DEVICE_URL = "urn:uuid:6f1c1a52-3c8e-4d8a-9a59-0b6f2f0f4d21"
OBSERVATION_URL = "urn:uuid:0d3c5e2a-8f41-4b7e-b3f4-52d7f7f0b0aa"
BINARY_URL = "urn:uuid:9a1f3c52-4b1e-4c7d-8a0f-2b3c4d5e6f70"
DOCUMENT_URL = "urn:uuid:1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081"
UNKNOWN_ID = "3f0e8a7c-1d2b-4c5e-9f60-718293a4b5c6"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- Valid resources, as a paired app writes them -------------------------------------------------------------


def weight(world: "World") -> dict:
    return {
        "resourceType": "Observation",
        "meta": {"profile": [PROFILE + "FrObservationBodyWeight"], "source": f"urn:oid:{world.oid}"},
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": "29463-7", "display": "Body weight"}]},
        "subject": {"identifier": {"system": IDPE_SYSTEM, "value": world.idpe}},
        "effectiveDateTime": "2024-05-01T08:30:00+02:00",
        "valueQuantity": {"value": 72.5, "unit": "kg", "system": UCUM, "code": "kg"},
    }


def measure_bundle(world: "World") -> dict:
    observation = weight(world)
    observation["device"] = {"reference": DEVICE_URL}
    device = {
        "resourceType": "Device",
        "identifier": [{"system": f"urn:oid:{world.oid}", "value": "BAL-0001"}],
        "manufacturer": "Balances Durand",
        "deviceName": [{"name": "Balance BX-2", "type": "model-name"}],
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": DEVICE_URL,
                "resource": device,
                "request": {
                    "method": "POST",
                    "url": "Device",
                    "ifNoneExist": f"identifier=urn:oid:{world.oid}|BAL-0001",
                },
            },
            {"fullUrl": OBSERVATION_URL, "resource": observation, "request": {"method": "POST", "url": "Observation"}},
        ],
    }


def _document(world: "World", attachment: dict) -> dict:
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": "11488-4", "display": "CR ou fiche de consultation"}]},
        "subject": {"identifier": {"system": IDPE_SYSTEM, "value": world.idpe}},
        "description": "Consultation de cardiologie",
        "content": [{"attachment": {"contentType": "application/pdf", "title": "cr.pdf", **attachment}}],
        "context": {"period": {"start": "2025-01-15"}},
    }


def document(world: "World") -> dict:
    return _document(world, {"data": base64.b64encode(pdf_bytes()).decode("ascii")})


def document_bundle(world: "World") -> dict:
    """A ProvideDocumentBundle (PDSm / MHD): the DocumentReference and the Binary it points to."""
    binary = {
        "resourceType": "Binary",
        "contentType": "application/pdf",
        "data": base64.b64encode(pdf_bytes()).decode(),
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": DOCUMENT_URL,
                "resource": _document(world, {"url": BINARY_URL}),
                "request": {"method": "POST", "url": "DocumentReference"},
            },
            {"fullUrl": BINARY_URL, "resource": binary, "request": {"method": "POST", "url": "Binary"}},
        ],
    }


def appointment(world: "World", **changes) -> dict:
    body = {
        "resourceType": "Appointment",
        "status": "booked",
        "description": "Consultation de cardiologie",
        "start": "2027-03-12T09:30:00+01:00",
        "end": "2027-03-12T10:00:00+01:00",
        "participant": [
            {"actor": {"identifier": {"system": IDPE_SYSTEM, "value": world.idpe}}, "status": "accepted"},
            {"actor": {"type": "Practitioner", "display": "Dr Amélie Martin"}, "status": "accepted"},
        ],
    }
    return {**body, **changes}


def vaccination(world: "World") -> dict:
    return {
        "resourceType": "Immunization",
        "status": "completed",
        "vaccineCode": {"coding": [{"system": "http://www.whocc.no/atc", "code": "J07BB02"}], "text": "Grippe"},
        "patient": {"identifier": {"system": IDPE_SYSTEM, "value": world.idpe}},
        "occurrenceDateTime": "2024-10-20T10:30:00+02:00",
        "primarySource": True,
        "lotNumber": "FLU-2024",
    }


# --- The citizen's data, written through the API with every scope ---------------------------------------------


@dataclass
class World:
    """A citizen paired with an app for everything, and one resource of each kind written by that app."""

    client: object
    pairing: Pairing
    token: str
    idpe: str = ""
    oid: str = ""
    observation: str = ""
    document: str = ""
    appointment: str = ""
    immunization: str = ""

    def call(self, cell: "Cell", token: str):
        body = cell.body(self) if cell.body else None
        extra = {"data": json.dumps(body), "content_type": FHIR_JSON} if body is not None else {}
        return getattr(self.client, cell.method.lower())(cell.url(self), **extra, **bearer(token))

    def create(self, url: str, body: dict) -> str:
        response = self.client.post(f"{API}/{url}", data=json.dumps(body), content_type=FHIR_JSON, **bearer(self.token))
        assert response.status_code == 201, (url, response.content[:800])
        return json.loads(response.content)["id"]


def build_world(client, citizen, application) -> World:
    pairing = pair(citizen, application)
    world = World(client=client, pairing=pairing, token=issue_token(pairing))
    world.idpe, world.oid = pairing.idpe, pairing.habilitation.oid
    world.observation = world.create("Observation", weight(world))
    world.document = world.create("DocumentReference", document(world))
    world.appointment = world.create("Appointment", appointment(world))
    world.immunization = world.create("Immunization", vaccination(world))
    return world


@pytest.fixture
def world(client, citizen, oauth_application) -> World:
    return build_world(client, citizen, oauth_application)


# --- The matrix -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    resource: str  # the resource type of the SMART scope
    interaction: str  # c, r, u, d or s
    method: str
    url: Callable[[World], str]
    body: Callable[[World], dict] | None = None

    def __str__(self) -> str:
        return f"{self.resource}.{self.interaction} {self.method} {self.url.__doc__ or ''}".strip()


def _url(template: str) -> Callable[[World], str]:
    def build(world: World) -> str:
        return API + template.format(w=world)

    build.__doc__ = template
    return build


# Each interaction each resource type offers (mes.acces.scopes.RESOURCE_INTERACTIONS), on every route that serves
# it. Ordered so that, with every scope, the calls all succeed in turn (the delete last).
OFFERED = [
    Cell("Observation", "c", "POST", _url("/Observation"), weight),
    Cell("Observation", "c", "POST", _url("/"), measure_bundle),
    Cell("DocumentReference", "c", "POST", _url("/DocumentReference"), document),
    Cell("DocumentReference", "c", "POST", _url("/"), document_bundle),
    Cell("Appointment", "c", "POST", _url("/Appointment"), appointment),
    Cell("Immunization", "c", "POST", _url("/Immunization"), vaccination),
    Cell("Observation", "r", "GET", _url("/Observation/{w.observation}")),
    Cell("Observation", "r", "GET", _url("/Observation/{w.observation}/_history/1")),
    Cell("DocumentReference", "r", "GET", _url("/DocumentReference/{w.document}")),
    Cell("DocumentReference", "r", "GET", _url("/Binary/{w.document}")),
    Cell("Appointment", "r", "GET", _url("/Appointment/{w.appointment}")),
    Cell("Patient", "r", "GET", _url("/Patient/{w.idpe}")),
    Cell("Observation", "s", "GET", _url("/Observation?patient={w.idpe}")),
    Cell("Observation", "s", "GET", _url("/Observation?patient={w.idpe}&code=http://loinc.org|29463-7")),
    Cell("DocumentReference", "s", "GET", _url("/DocumentReference?patient={w.idpe}")),
    Cell("Appointment", "s", "GET", _url("/Appointment")),
    Cell("Appointment", "s", "GET", _url("/Appointment?patient={w.idpe}")),
    Cell(
        "Appointment",
        "u",
        "PUT",
        _url("/Appointment/{w.appointment}"),
        lambda world: appointment(world, id=world.appointment, description="Consultation avancée"),
    ),
    Cell("Appointment", "d", "DELETE", _url("/Appointment/{w.appointment}")),
]

# What the resource types do not offer: never a success, whatever the token.
NOT_OFFERED = [
    Cell("Observation", "u", "PUT", _url("/Observation/{w.observation}"), weight),
    Cell("Observation", "u", "PATCH", _url("/Observation/{w.observation}"), weight),
    Cell("Observation", "d", "DELETE", _url("/Observation/{w.observation}")),
    Cell("DocumentReference", "u", "PUT", _url("/DocumentReference/{w.document}"), document),
    Cell("DocumentReference", "d", "DELETE", _url("/DocumentReference/{w.document}")),
    Cell("DocumentReference", "u", "PUT", _url("/Binary/{w.document}"), document),
    Cell("DocumentReference", "d", "DELETE", _url("/Binary/{w.document}")),
    Cell("DocumentReference", "c", "POST", _url("/Binary"), document),
    Cell("Immunization", "r", "GET", _url("/Immunization/{w.immunization}")),
    Cell("Immunization", "u", "PUT", _url("/Immunization/{w.immunization}"), vaccination),
    Cell("Immunization", "d", "DELETE", _url("/Immunization/{w.immunization}")),
    Cell("Immunization", "s", "GET", _url("/Immunization")),
    Cell("Immunization", "s", "GET", _url("/Immunization?patient={w.idpe}")),
    Cell("Patient", "c", "POST", _url("/Patient"), lambda world: {"resourceType": "Patient"}),
    Cell("Patient", "u", "PUT", _url("/Patient/{w.idpe}"), lambda world: {"resourceType": "Patient", "id": world.idpe}),
    Cell("Patient", "d", "DELETE", _url("/Patient/{w.idpe}")),
    Cell("Patient", "s", "GET", _url("/Patient")),
    Cell("Patient", "s", "GET", _url("/Patient?identifier={w.idpe}")),
]


def test_the_matrix_covers_every_offered_interaction():
    """Each (resource, letter) the API serves has at least one cell, and nothing else is in ``OFFERED``."""
    offered = {
        (resource, letter) for resource, letters in app_scopes.RESOURCE_INTERACTIONS.items() for letter in letters
    }
    assert {(cell.resource, cell.interaction) for cell in OFFERED} == offered
    not_offered = {(resource, letter) for resource in app_scopes.RESOURCE_INTERACTIONS for letter in "cruds"} - offered
    assert {(cell.resource, cell.interaction) for cell in NOT_OFFERED} >= not_offered


def all_but(resource: str, letter: str) -> list[str]:
    """Every scope the API serves, less one letter of one resource type (and openid)."""
    scopes = []
    for scope in ALL_APP_SCOPES:
        parsed = app_scopes.parse(scope)
        letters = parsed.interactions.replace(letter, "") if parsed.resource == resource else parsed.interactions
        if letters:
            scopes.append(f"patient/{parsed.resource}.{letters}")
    return ["openid", *scopes]


def test_with_every_scope_every_offered_cell_succeeds(world):
    """The control of the matrix: each call is well formed and allowed when nothing is missing."""
    failures = []
    for cell in OFFERED:
        response = world.call(cell, world.token)
        if not 200 <= response.status_code < 300:
            failures.append(f"{cell} → {response.status_code} {response.content[:300]!r}")
    assert not failures, "\n".join(failures)


def _refused_for_consent(response) -> bool:
    if response.status_code != 403:
        return False
    diagnostics = json.loads(response.content)["issue"][0]["diagnostics"]
    return diagnostics.startswith(CONSENT_NOT_GIVEN)


@pytest.mark.parametrize("missing_from", ["token", "consent", "habilitation"])
def test_without_its_letter_every_cell_is_403(world, missing_from):
    """100 % of the cells: the letter taken out of the token, the citizen's consent or the app's habilitation."""
    failures, checked = [], 0
    for cell in OFFERED:
        scopes = all_but(cell.resource, cell.interaction)
        token = world.token
        if missing_from == "token":
            token = issue_token(world.pairing, scopes=scopes)
        elif missing_from == "consent":
            Pairing.objects.filter(pk=world.pairing.pk).update(scopes=scopes)
        else:
            AppHabilitation.objects.filter(pk=world.pairing.habilitation_id).update(approved_scopes=scopes[1:])
        response = world.call(cell, token)
        checked += 1
        if not _refused_for_consent(response):
            failures.append(
                f"{cell} without « {cell.interaction} » → {response.status_code} {response.content[:200]!r}"
            )
        Pairing.objects.filter(pk=world.pairing.pk).update(scopes=["openid", *ALL_APP_SCOPES])
        AppHabilitation.objects.filter(pk=world.pairing.habilitation_id).update(approved_scopes=ALL_APP_SCOPES)
    assert checked == len(OFFERED)
    assert not failures, f"{len(failures)}/{checked} cells not refused:\n" + "\n".join(failures)


def test_without_any_scope_of_the_resource_every_cell_is_403(world):
    failures = []
    for cell in OFFERED:
        scopes = ["openid", *(scope for scope in ALL_APP_SCOPES if app_scopes.parse(scope).resource != cell.resource)]
        response = world.call(cell, issue_token(world.pairing, scopes=scopes))
        if not _refused_for_consent(response):
            failures.append(f"{cell} → {response.status_code} {response.content[:200]!r}")
    assert not failures, "\n".join(failures)


def test_interactions_not_offered_never_succeed(world):
    failures = []
    for cell in NOT_OFFERED:
        response = world.call(cell, world.token)
        if response.status_code not in (403, 404, 405):
            failures.append(f"{cell} → {response.status_code} {response.content[:200]!r}")
    assert not failures, "\n".join(failures)


def test_after_revocation_no_call_succeeds(world, citizen):
    survivor_scopes = ["openid", *ALL_APP_SCOPES]
    pairing_revoke(actor=citizen.user, pairing=world.pairing)
    # A token the revocation could not have seen (issued in the same instant) is refused all the same.
    survivor = issue_token(world.pairing, scopes=survivor_scopes)
    answers = []
    for cell in [*OFFERED, *NOT_OFFERED]:
        old = world.call(cell, world.token)
        late = world.call(cell, survivor)
        answers.append((cell, old.status_code, late.status_code))
    successes = [answer for answer in answers if any(200 <= status < 300 for status in answer[1:])]
    assert len(answers) == len(OFFERED) + len(NOT_OFFERED)
    assert successes == []
    # On the routes that exist, the old token is unknown (401); the others are no route at all (404) or 405.
    assert {old for cell, old, _ in answers if cell in OFFERED} == {401}, "the old token is gone"
    assert {late for cell, _, late in answers if cell in OFFERED} == {403}, "the pairing is checked on each call"


# --- Another citizen's data ------------------------------------------------------------------------------------


def test_another_citizens_resources_do_not_exist_for_the_app(client, citizen, other_citizen, oauth_application):
    """Bruno paired with the same app: Camille's token reaches none of his resources (404), nor his idPe (403)."""
    camille = build_world(client, citizen, oauth_application)
    bruno = build_world(client, other_citizen, oauth_application)
    foreign = copy.copy(camille)
    foreign.observation, foreign.document = bruno.observation, bruno.document
    foreign.appointment, foreign.immunization = bruno.appointment, bruno.immunization
    failures = []
    for cell in OFFERED:
        if cell.interaction in "rud" and cell.resource != "Patient":
            response = foreign.call(cell, camille.token)
            if response.status_code != 404:
                failures.append(f"{cell} of Bruno → {response.status_code}")
    # Bruno's idPe in the place of Camille's: in a search, a read of the Patient, or a written resource.
    named_bruno = copy.copy(camille)
    named_bruno.idpe = bruno.idpe
    for cell in OFFERED:
        if cell.resource == "Patient" or cell.interaction == "c" or "patient=" in cell.url.__doc__:
            response = named_bruno.call(cell, camille.token)
            if response.status_code != 403:
                failures.append(f"{cell} naming Bruno → {response.status_code}")
    assert not failures, "\n".join(failures)
    # Bruno's own token still reads them: they were there to be found.
    for cell in OFFERED:
        if cell.interaction == "r":
            assert bruno.call(cell, bruno.token).status_code == 200, str(cell)


def test_an_app_reaches_nothing_through_another_apps_pairing(client, citizen, oauth_application):
    """App B paired with Camille: its resources are not app A's to change, and its idPe is refused to app A."""
    world_a = build_world(client, citizen, oauth_application)
    world_b = build_world(client, citizen, make_application(name="Autre service"))
    assert world_a.idpe != world_b.idpe
    named_b = copy.copy(world_a)
    named_b.idpe = world_b.idpe
    failures = []
    for cell in OFFERED:
        if cell.resource == "Patient" or cell.interaction == "c" or "patient=" in cell.url.__doc__:
            response = named_b.call(cell, world_a.token)
            if response.status_code != 403:
                failures.append(f"{cell} with app B's idPe → {response.status_code}")
    others = copy.copy(world_a)
    others.appointment = world_b.appointment
    for cell in OFFERED:
        if cell.resource == "Appointment" and cell.interaction in "ud":
            response = others.call(cell, world_a.token)
            if response.status_code not in (403, 404):
                failures.append(f"{cell} on app B's appointment → {response.status_code}")
    assert not failures, "\n".join(failures)
