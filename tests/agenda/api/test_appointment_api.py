"""``/api/fhir/Appointment``: the agenda as FHIR Appointments for the paired apps (create, read, update, delete)."""

import json
import uuid
from datetime import datetime, timedelta
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from fhir.resources.R4B.appointment import Appointment

from agenda.api.fhir import RRULE_EXTENSION
from agenda.models import Event, Source
from agenda.services import EVENT_ADDED, EVENT_CHANGED, EVENT_DELETED, event_create
from mes.acces.models import JournalEntry
from mes.acces.policy import citizen_access
from mes.acces.services.pairings import habilitation_suspend, pairing_revoke
from mes.api.app_views import API_READ, CONSENT_NOT_GIVEN, IDPE_MISMATCH, IDPE_SYSTEM
from mes.api.fhir import FHIR_JSON
from tests.agenda.api.conftest import App

PARIS = ZoneInfo("Europe/Paris")


def appointment_body(idpe: str, **overrides) -> dict:
    """A valid Appointment as an app writes it: the patient by idPe, a practitioner and a place."""
    body = {
        "resourceType": "Appointment",
        "status": "booked",
        "description": "Consultation de cardiologie",
        "comment": "Apporter les derniers relevés de tension.",
        "start": "2027-03-12T09:30:00+01:00",
        "end": "2027-03-12T10:00:00+01:00",
        "participant": [
            {"actor": {"identifier": {"system": IDPE_SYSTEM, "value": idpe}}, "status": "accepted"},
            {"actor": {"type": "Practitioner", "display": "Dr Amélie Martin"}, "status": "accepted"},
            {"actor": {"type": "Location", "display": "Hôpital Saint-Louis, Paris"}, "status": "accepted"},
        ],
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def outcome(response) -> tuple[list[str], list[list[str]]]:
    """(diagnostics, expressions) of an OperationOutcome answer."""
    assert response["Content-Type"].split(";")[0] == FHIR_JSON
    body = json.loads(response.content)
    assert body["resourceType"] == "OperationOutcome"
    return [issue["diagnostics"] for issue in body["issue"]], [issue.get("expression", []) for issue in body["issue"]]


def created(fhir, app: App, **overrides) -> dict:
    response = fhir.post(app.token, appointment_body(app.idpe, **overrides))
    assert response.status_code == 201, response.content
    return json.loads(response.content)


def citizen_event(citizen, **overrides) -> Event:
    values = {
        "title": "Dentiste",
        "starts_at": datetime(2027, 3, 15, 14, 0, tzinfo=PARIS),
        "ends_at": datetime(2027, 3, 15, 14, 30, tzinfo=PARIS),
    }
    values.update(overrides)
    return event_create(access=citizen_access(citizen.user, citizen), **values)


# --- Create, read, update, delete -------------------------------------------------------------------------------


def test_create_read_update_delete(fhir, app, citizen):
    response = fhir.post(app.token, appointment_body(app.idpe))
    assert response.status_code == 201, response.content
    body = json.loads(response.content)
    Appointment.model_validate(body)
    event = Event.objects.get()
    assert response["Location"] == f"http://testserver/api/fhir/Appointment/{event.public_id}"
    assert response["ETag"] == 'W/"0"'
    assert (event.citizen, event.source, event.source_label) == (citizen, Source.APP, "Carnet de tension")
    assert event.source_ref == str(app.habilitation.public_id)
    assert event.created_by is None
    assert (event.title, event.note) == ("Consultation de cardiologie", "Apporter les derniers relevés de tension.")
    assert (event.professional, event.location) == ("Dr Amélie Martin", "Hôpital Saint-Louis, Paris")
    assert event.starts_at == datetime(2027, 3, 12, 8, 30, tzinfo=ZoneInfo("UTC"))
    assert event.ends_at - event.starts_at == timedelta(minutes=30)
    assert body["id"] == str(event.public_id)
    assert body["meta"]["versionId"] == "0"
    assert body["meta"]["source"] == f"urn:oid:{app.habilitation.oid}"
    assert (body["status"], body["start"], body["end"]) == (
        "booked",
        "2027-03-12T09:30:00+01:00",
        "2027-03-12T10:00:00+01:00",
    )
    assert body["participant"] == [
        {"actor": {"type": "Patient", "identifier": {"system": IDPE_SYSTEM, "value": app.idpe}}, "status": "accepted"},
        {"actor": {"type": "Practitioner", "display": "Dr Amélie Martin"}, "status": "accepted"},
        {"actor": {"type": "Location", "display": "Hôpital Saint-Louis, Paris"}, "status": "accepted"},
    ]
    # The INS never leaves: the patient is named by the app's idPe only.
    assert citizen.ins not in response.content.decode()

    read = fhir.get(app.token, event.public_id)
    assert read.status_code == 200
    assert json.loads(read.content) == body
    assert read["ETag"] == 'W/"0"'

    changed = appointment_body(
        app.idpe,
        id=str(event.public_id),
        description="Consultation de cardiologie (déplacée)",
        start="2027-03-19T15:00:00+01:00",
        end="2027-03-19T16:00:00+01:00",
        comment=None,
        participant=[{"actor": {"identifier": {"system": IDPE_SYSTEM, "value": app.idpe}}, "status": "accepted"}],
    )
    updated = fhir.put(app.token, event.public_id, changed)
    assert updated.status_code == 200, updated.content
    assert updated["ETag"] == 'W/"1"'
    new_body = json.loads(updated.content)
    Appointment.model_validate(new_body)
    assert new_body["meta"]["versionId"] == "1"
    assert new_body["start"] == "2027-03-19T15:00:00+01:00"
    # Full replacement: what the new version leaves out is gone.
    assert "comment" not in new_body and len(new_body["participant"]) == 1
    event.refresh_from_db()
    assert (event.title, event.note, event.professional, event.location, event.sequence) == (
        "Consultation de cardiologie (déplacée)",
        "",
        "",
        "",
        1,
    )

    deleted = fhir.delete(app.token, event.public_id)
    assert deleted.status_code == 204 and deleted.content == b""
    assert not Event.objects.exists()
    assert fhir.get(app.token, event.public_id).status_code == 404


def test_writes_are_journaled_with_the_app_name(fhir, app, citizen):
    body = created(fhir, app)
    changed = appointment_body(app.idpe, id=body["id"], description="Bilan annuel")
    assert fhir.put(app.token, body["id"], changed).status_code == 200
    assert fhir.delete(app.token, body["id"]).status_code == 204
    rows = list(JournalEntry.objects.filter(citizen=citizen, object_id=body["id"]).order_by("pk"))
    assert [row.action for row in rows] == [EVENT_ADDED, EVENT_CHANGED, EVENT_DELETED]
    for row in rows:
        assert row.actor is None
        assert row.actor_label == "Service « Carnet de tension »"
        assert row.details["application"] == str(app.habilitation.public_id)


def test_every_read_and_search_writes_one_journal_row(fhir, app, citizen):
    body = created(fhir, app)
    created(fhir, app, description="Kinésithérapie")
    before = JournalEntry.objects.filter(action=API_READ).count()
    assert fhir.get(app.token, body["id"]).status_code == 200
    read = JournalEntry.objects.filter(action=API_READ).latest("pk")
    assert (read.citizen, read.object_id, read.details["ressource"]) == (citizen, body["id"], "Appointment")
    assert read.actor_label == "Service « Carnet de tension »"
    assert fhir.get(app.token, params={"_count": "1"}).status_code == 200
    search = JournalEntry.objects.filter(action=API_READ).latest("pk")
    assert (search.details["ressource"], search.details["nombre"]) == ("Appointment", 1)
    assert JournalEntry.objects.filter(action=API_READ).count() == before + 2


def test_recurring_series_round_trip_through_the_extension(fhir, app):
    extension = [{"url": RRULE_EXTENSION, "valueString": "FREQ=WEEKLY;COUNT=10"}]
    body = created(fhir, app, extension=extension, description="Rééducation du genou")
    event = Event.objects.get()
    assert event.rrule == "FREQ=WEEKLY;COUNT=10"
    assert body["extension"] == extension
    Appointment.model_validate(body)


def test_an_appointment_read_back_can_be_written_back_unchanged(fhir, app):
    extension = [{"url": RRULE_EXTENSION, "valueString": "FREQ=MONTHLY;COUNT=6"}]
    body = created(fhir, app, extension=extension)
    read = json.loads(fhir.get(app.token, body["id"]).content)
    response = fhir.put(app.token, body["id"], read)
    assert response.status_code == 200, response.content
    again = json.loads(response.content)
    assert again["meta"]["versionId"] == "1"
    assert {key: value for key, value in again.items() if key != "meta"} == {
        key: value for key, value in read.items() if key != "meta"
    }


def test_create_with_status_proposed_or_pending_is_booked(fhir, app):
    for status in ("proposed", "pending"):
        assert created(fhir, app, status=status)["status"] == "booked"
    assert Event.objects.count() == 2


def test_an_id_sent_on_create_is_not_kept(fhir, app):
    body = created(fhir, app, id="choisi-par-le-service")
    assert body["id"] == str(Event.objects.get().public_id)


def test_idempotency_key_replays_the_first_creation(fhir, app):
    first = fhir.post(app.token, appointment_body(app.idpe), headers={"Idempotency-Key": "rdv-2027-03-12"})
    again = fhir.post(app.token, appointment_body(app.idpe), headers={"Idempotency-Key": "rdv-2027-03-12"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert json.loads(again.content) == json.loads(first.content)
    assert again["Location"] == first["Location"]
    assert Event.objects.count() == 1


# --- Validation -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expression", "words"),
    [
        ({"end": "2027-03-12T09:00:00+01:00"}, "Appointment.end", "après le début"),
        ({"end": "2027-03-12T09:30:00+01:00"}, "Appointment.end", "après le début"),
        ({"start": None}, "Appointment.start", "date et l’heure de début"),
        ({"end": None}, "Appointment.end", "date et l’heure de fin"),
        ({"start": "2027-03-12T09:30:00"}, "Appointment.start", "décalage horaire"),
        ({"end": "2027-03-12"}, "Appointment.end", "décalage horaire"),
        ({"start": "2027-02-30T09:30:00+01:00"}, "Appointment.start", "décalage horaire"),
        ({"description": 5}, "Appointment.description", "chaîne de caractères"),
        ({"description": None}, "Appointment.description", "obligatoire"),
        ({"description": "   "}, "Appointment.description", "obligatoire"),
        ({"description": "x" * 201}, "Appointment.description", "200 caractères"),
        ({"comment": ["note"]}, "Appointment.comment", "chaîne de caractères"),
        ({"participant": "moi"}, "Appointment.participant", "liste"),
        ({"participant": None}, "Appointment.participant", "obligatoire"),
        ({"status": "cancelled"}, "Appointment.status", "annulé ne se crée pas"),
        ({"status": "fulfilled"}, "Appointment.status", "Statut non pris en charge"),
        ({"status": None}, "Appointment.status", "obligatoire"),
        ({"serviceType": [{"text": "Cardiologie"}]}, "Appointment.serviceType", "ne conserve pas"),
        ({"couleur": "rouge"}, "Appointment.couleur", "n’existe pas"),
        ({"implicitRules": "https://exemple.fr/regles"}, "Appointment.implicitRules", "ne conserve pas"),
        ({"start": "2300-01-01T09:00:00+01:00", "end": "2300-01-01T10:00:00+01:00"}, "Appointment.start", "2200"),
        ({"end": "2028-06-12T09:00:00+01:00"}, "Appointment.end", "plus d’un an"),
        (
            {"extension": [{"url": RRULE_EXTENSION, "valueString": "FREQ=SECONDLY"}]},
            "Appointment.extension[0].valueString",
            "chaque jour, semaine, mois ou année",
        ),
        ({"modifierExtension": [{"url": "https://exemple.fr/x", "valueBoolean": True}]}, None, "modificatrices"),
    ],
)
def test_invalid_appointments_are_422_with_the_fhir_path(fhir, app, overrides, expression, words):
    response = fhir.post(app.token, appointment_body(app.idpe, **overrides))
    assert response.status_code == 422, response.content
    messages, expressions = outcome(response)
    assert any(words in message for message in messages), messages
    assert [expression or "Appointment.modifierExtension"] in expressions
    assert not Event.objects.exists()


PATIENT = object()  # stands for the app's own patient participant in the cases below


@pytest.mark.parametrize(
    ("participants", "expression", "words"),
    [
        ([{"actor": {"type": "Practitioner", "display": "Dr Martin"}}], "Appointment.participant", "par son idPe"),
        (
            [{"actor": {"type": "Patient", "identifier": {"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "1"}}}],
            "Appointment.participant[0].actor.identifier",
            "idPe",
        ),
        ([{"actor": {"reference": "Patient/1"}}], "Appointment.participant[0].actor.identifier", "idPe"),
        ([PATIENT, PATIENT], "Appointment.participant", "qu’une fois"),
        ([PATIENT, {"actor": {"type": "Practitioner"}}], "Appointment.participant[1].actor.display", "professionnel"),
        (
            [PATIENT, {"actor": {"type": "Device", "display": "Tensiomètre"}}],
            "Appointment.participant[1].actor",
            "non pris en charge",
        ),
        ([PATIENT, {"type": [{"text": "Interprète"}]}], "Appointment.participant[1].actor", "acteur"),
        (
            [
                PATIENT,
                {"actor": {"reference": "Location/1", "display": "Cabinet A"}},
                {"actor": {"reference": "Location/2", "display": "Cabinet B"}},
            ],
            "Appointment.participant[2].actor",
            "au plus un lieu",
        ),
    ],
)
def test_invalid_participants_are_422(fhir, app, participants, expression, words):
    patient = {"actor": {"identifier": {"system": IDPE_SYSTEM, "value": app.idpe}}}
    listed = [{"status": "accepted", **(patient if item is PATIENT else item)} for item in participants]
    response = fhir.post(app.token, appointment_body(app.idpe, participant=listed))
    assert response.status_code == 422, response.content
    messages, expressions = outcome(response)
    assert any(words in message for message in messages), messages
    assert [expression] in expressions
    assert not Event.objects.exists()


def test_a_body_that_is_not_an_appointment_is_refused(fhir, app):
    response = fhir.post(app.token, {"resourceType": "Observation", "status": "final"})
    assert response.status_code == 422
    assert outcome(response)[1] == [["Appointment.resourceType"]]
    broken = fhir.client.post("/api/fhir/Appointment", data="{pas du json", content_type=FHIR_JSON, **_auth(app))
    assert broken.status_code == 400
    assert not Event.objects.exists()


def _auth(app: App) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {app.token}"}


def test_another_idpe_is_403_and_writes_nothing(fhir, app, other_app):
    response = fhir.post(app.token, appointment_body(other_app.idpe, start="pas une date"))
    assert response.status_code == 403
    assert outcome(response)[0] == [IDPE_MISMATCH]
    assert not Event.objects.exists()


# --- Who may do what --------------------------------------------------------------------------------------------

ALL_BUT = {
    "c": "patient/Appointment.ruds",
    "r": "patient/Appointment.cuds",
    "u": "patient/Appointment.crds",
    "d": "patient/Appointment.crus",
    "s": "patient/Appointment.crud",
}


def test_scope_matrix_each_interaction_without_its_letter_is_403(fhir, app, citizen):
    own = created(fhir, app)
    mine = citizen_event(citizen)
    calls = {
        "c": lambda token: fhir.post(token, appointment_body(app.idpe)),
        "u": lambda token: fhir.put(token, own["id"], appointment_body(app.idpe, id=own["id"])),
        "d": lambda token: fhir.delete(token, own["id"]),
        "s": lambda token: fhir.get(token),
    }
    for letter, call in calls.items():
        response = call(app.token_for([ALL_BUT[letter], "patient/Observation.crs"]))
        assert response.status_code == 403, letter
        assert outcome(response)[0] == [f"{CONSENT_NOT_GIVEN} (patient/Appointment.{letter})"]
    # Read: without « r », a 403 for any event, even one the app wrote (it finds its own through a search).
    no_agenda = app.token_for(["patient/Observation.crs"])
    assert fhir.get(no_agenda, own["id"]).status_code == 403
    assert fhir.get(no_agenda, mine.public_id).status_code == 403
    without_read = app.token_for([ALL_BUT["r"]])
    assert fhir.get(without_read, mine.public_id).status_code == 403
    assert fhir.get(without_read, own["id"]).status_code == 403
    assert Event.objects.count() == 2
    assert Event.objects.get(public_id=own["id"]).sequence == 0


def test_consented_scopes_bound_the_token(fhir, citizen):
    """A token asking for more than the citizen consented gets only the consented part."""
    from tests.api.conftest import issue_token, make_application, pair

    application = make_application(name="Agenda santé")
    pairing = pair(citizen, application, scopes=["openid", "patient/Appointment.rs"])
    token = issue_token(pairing, scopes=["patient/Appointment.cruds"])
    assert fhir.get(token).status_code == 200
    assert fhir.post(token, appointment_body(pairing.idpe)).status_code == 403


def test_the_person_s_own_events_are_read_with_r_and_never_changed(fhir, app, citizen):
    mine = citizen_event(citizen, professional="Dr Dupont", note="Détartrage")
    read = fhir.get(app.token, mine.public_id)
    assert read.status_code == 200
    body = json.loads(read.content)
    Appointment.model_validate(body)
    assert body["description"] == "Dentiste" and body["comment"] == "Détartrage"
    assert "source" not in body["meta"]
    attempt = appointment_body(app.idpe, id=str(mine.public_id), description="Changé par le service")
    put = fhir.put(app.token, mine.public_id, attempt)
    assert put.status_code == 403
    assert "n’a pas été ajouté par ce service" in outcome(put)[0][0]
    assert fhir.delete(app.token, mine.public_id).status_code == 403
    without_read = app.token_for([ALL_BUT["r"]])
    assert fhir.put(without_read, mine.public_id, attempt).status_code == 404
    assert fhir.delete(without_read, mine.public_id).status_code == 404
    mine.refresh_from_db()
    assert (mine.title, mine.sequence) == ("Dentiste", 0)


def test_app_a_cannot_change_app_b_s_events_and_reads_them_only_with_r(fhir, app, other_app):
    theirs = created(fhir, other_app, description="Séance de kinésithérapie")
    event = Event.objects.get(public_id=theirs["id"])
    assert event.source_ref == str(other_app.habilitation.public_id)
    read = fhir.get(app.token, theirs["id"])
    assert read.status_code == 200
    # Which other service the person uses is not told: no editor OID on another app's event.
    assert "source" not in json.loads(read.content)["meta"]
    body = appointment_body(app.idpe, id=theirs["id"], description="Repris")
    assert fhir.put(app.token, theirs["id"], body).status_code == 403
    assert fhir.delete(app.token, theirs["id"]).status_code == 403
    without_read = app.token_for([ALL_BUT["r"]])
    # Without « r », reading is refused outright; the other app's event does not exist for a change.
    assert fhir.get(without_read, theirs["id"]).status_code == 403
    for response in (fhir.put(without_read, theirs["id"], body), fhir.delete(without_read, theirs["id"])):
        assert response.status_code == 404
    event.refresh_from_db()
    assert (event.title, event.sequence) == ("Séance de kinésithérapie", 0)
    # Its own search without « r » leaves the other app's events out.
    search = json.loads(fhir.get(without_read).content)
    assert search.get("entry", []) == []


def test_another_citizen_s_events_are_404(fhir, app, other_citizen):
    bruno_app = App(other_citizen)
    bruno = created(fhir, bruno_app)
    brunos_own = citizen_event(other_citizen)
    for resource_id in (bruno["id"], brunos_own.public_id):
        body = appointment_body(app.idpe, id=str(resource_id))
        assert fhir.get(app.token, resource_id).status_code == 404
        assert fhir.put(app.token, resource_id, body).status_code == 404
        assert fhir.delete(app.token, resource_id).status_code == 404
    assert Event.objects.filter(citizen=other_citizen).count() == 2
    assert json.loads(fhir.get(app.token).content).get("entry", []) == []


def test_unknown_or_malformed_ids_are_fhir_404(fhir, app):
    for resource_id in ("3f1c4a52-0000-4000-8000-000000000000", "pas-un-uuid"):
        response = fhir.get(app.token, resource_id)
        assert response.status_code == 404
        assert outcome(response)[0] == ["Aucun rendez-vous ne porte cet identifiant."]
        assert fhir.delete(app.token, resource_id).status_code == 404


def test_no_token_is_401_everywhere(fhir, app):
    own = created(fhir, app)
    responses = [
        fhir.post(None, appointment_body(app.idpe)),
        fhir.get(None, own["id"]),
        fhir.put(None, own["id"], appointment_body(app.idpe, id=own["id"])),
        fhir.delete(None, own["id"]),
        fhir.get(None),
        fhir.get("jeton-inconnu"),
    ]
    for response in responses:
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert Event.objects.count() == 1


def _every_call(fhir, app, resource_id) -> list:
    return [
        fhir.post(app.token, appointment_body(app.idpe)),
        fhir.get(app.token, resource_id),
        fhir.put(app.token, resource_id, appointment_body(app.idpe, id=resource_id, description="Changé")),
        fhir.delete(app.token, resource_id),
        fhir.get(app.token),
    ]


def test_a_revoked_pairing_makes_every_call_fail(fhir, app, citizen):
    own = created(fhir, app)
    pairing_revoke(actor=citizen.user, pairing=app.pairing)
    # The tokens died with the pairing: no call succeeds.
    assert {response.status_code for response in _every_call(fhir, app, own["id"])} == {401}
    assert Event.objects.get().title == "Consultation de cardiologie"


def test_a_token_outliving_its_pairing_is_403(fhir, app):
    """A token still present while the pairing is already revoked (or the app suspended) is refused: 403."""
    own = created(fhir, app)
    type(app.pairing).objects.filter(pk=app.pairing.pk).update(revoked_at=timezone.now())
    for response in _every_call(fhir, app, own["id"]):
        assert response.status_code == 403
        assert outcome(response)[0] == [CONSENT_NOT_GIVEN]
    assert Event.objects.count() == 1


def test_a_suspended_app_is_403(fhir, app):
    own = created(fhir, app)
    habilitation_suspend(actor=None, habilitation=app.habilitation, actor_label="Commission")
    assert {response.status_code for response in _every_call(fhir, app, own["id"])} == {403}
    assert Event.objects.get().sequence == 0


# --- Update details: If-Match, cancellation, ids ---------------------------------------------------------------


def test_if_match_guards_updates_and_deletes(fhir, app):
    own = created(fhir, app)
    body = appointment_body(app.idpe, id=own["id"], description="Version 1")
    stale = fhir.put(app.token, own["id"], body, headers={"If-Match": 'W/"3"'})
    assert stale.status_code == 412
    assert "If-Match" in outcome(stale)[0][0]
    assert Event.objects.get().sequence == 0
    assert fhir.put(app.token, own["id"], body, headers={"If-Match": "nimporte"}).status_code == 400
    fresh = fhir.put(app.token, own["id"], body, headers={"If-Match": 'W/"0"'})
    assert fresh.status_code == 200 and fresh["ETag"] == 'W/"1"'
    # The version read before the update is now stale.
    assert fhir.put(app.token, own["id"], body, headers={"If-Match": 'W/"0"'}).status_code == 412
    assert fhir.delete(app.token, own["id"], headers={"If-Match": 'W/"0"'}).status_code == 412
    assert Event.objects.get().title == "Version 1"
    assert fhir.delete(app.token, own["id"], headers={"If-Match": 'W/"1"'}).status_code == 204
    assert not Event.objects.exists()


def test_put_cancelled_removes_the_event_and_answers_the_cancelled_appointment(fhir, app, citizen):
    own = created(fhir, app)
    cancelled = {**appointment_body(app.idpe, id=own["id"], status="cancelled"), "start": None, "end": None}
    cancelled = {key: value for key, value in cancelled.items() if value is not None}
    response = fhir.put(app.token, own["id"], cancelled)
    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    Appointment.model_validate(body)
    assert (body["status"], body["id"], body["meta"]["versionId"]) == ("cancelled", own["id"], "1")
    assert body["start"] == own["start"]
    assert not Event.objects.exists()
    assert JournalEntry.objects.filter(action=EVENT_DELETED, citizen=citizen, object_id=own["id"]).count() == 1
    assert fhir.get(app.token, own["id"]).status_code == 404


def test_put_needs_the_id_of_the_url(fhir, app):
    own = created(fhir, app)
    for body in (appointment_body(app.idpe), appointment_body(app.idpe, id=str(uuid.uuid4()))):
        response = fhir.put(app.token, own["id"], {**body, "description": "Changé"})
        assert response.status_code == 400
        assert outcome(response)[1] == [["Appointment.id"]]
    assert Event.objects.get().title == "Consultation de cardiologie"


def test_put_validates_like_create_and_changes_nothing_when_refused(fhir, app):
    own = created(fhir, app)
    body = appointment_body(app.idpe, id=own["id"], end="2027-03-12T08:00:00+01:00", description="Changé")
    response = fhir.put(app.token, own["id"], body)
    assert response.status_code == 422
    assert ["Appointment.end"] in outcome(response)[1]
    other_patient = appointment_body("idpe-inconnu", id=own["id"])
    assert fhir.put(app.token, own["id"], other_patient).status_code == 403
    event = Event.objects.get()
    assert (event.title, event.sequence) == ("Consultation de cardiologie", 0)


# --- Search -----------------------------------------------------------------------------------------------------


def _walk(fhir, token, params) -> tuple[list[dict], int]:
    """Every entry of a search, following its « next » links; and the number of pages."""
    response = fhir.get(token, params=params)
    entries, pages = [], 0
    while True:
        assert response.status_code == 200, response.content
        bundle = json.loads(response.content)
        assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "searchset")
        entries.extend(bundle.get("entry", []))
        pages += 1
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            return entries, pages
        response = fhir.get(token, url=following[0].removeprefix("http://testserver"))


def _make_agenda(fhir, app, citizen) -> None:
    """Seven events of the app (two at the same start) and three of the person's own."""
    for day in (1, 2, 2, 3, 5, 8, 13):
        created(
            fhir,
            app,
            description=f"Séance du {day}",
            start=f"2027-04-{day:02d}T09:00:00+02:00",
            end=f"2027-04-{day:02d}T09:45:00+02:00",
        )
    for day in (2, 4, 20):
        citizen_event(
            citizen,
            title=f"Rendez-vous du {day}",
            starts_at=datetime(2027, 4, day, 9, tzinfo=PARIS),
            ends_at=datetime(2027, 4, day, 10, tzinfo=PARIS),
        )


def test_search_walks_every_page_without_duplicates(fhir, app, citizen):
    _make_agenda(fhir, app, citizen)
    entries, pages = _walk(fhir, app.token, {"_count": "3"})
    ids = [entry["resource"]["id"] for entry in entries]
    assert pages == 4 and len(ids) == 10 and len(set(ids)) == 10
    assert set(ids) == {str(public_id) for public_id in Event.objects.values_list("public_id", flat=True)}
    starts = [entry["resource"]["start"] for entry in entries]
    assert starts == sorted(starts)
    for entry in entries:
        Appointment.model_validate(entry["resource"])
        assert entry["fullUrl"] == f"http://testserver/api/fhir/Appointment/{entry['resource']['id']}"
    # Newest first, the same set.
    backwards, _ = _walk(fhir, app.token, {"_count": "4", "_sort": "-date"})
    assert [entry["resource"]["id"] for entry in backwards] == ids[::-1]


def test_search_without_read_permission_lists_only_the_app_s_own_events(fhir, app, citizen):
    _make_agenda(fhir, app, citizen)
    token = app.token_for(["patient/Appointment.cs"])
    entries, _ = _walk(fhir, token, {"_count": "2"})
    assert len(entries) == 7
    assert all(entry["resource"]["description"].startswith("Séance") for entry in entries)
    assert all(entry["resource"]["meta"]["source"] == f"urn:oid:{app.habilitation.oid}" for entry in entries)


def test_search_by_date_and_patient(fhir, app, citizen):
    _make_agenda(fhir, app, citizen)
    entries, _ = _walk(fhir, app.token, {"date": ["ge2027-04-02", "lt2027-04-05"], "patient": f"Patient/{app.idpe}"})
    assert sorted(entry["resource"]["description"] for entry in entries) == [
        "Rendez-vous du 2",
        "Rendez-vous du 4",
        "Séance du 2",
        "Séance du 2",
        "Séance du 3",
    ]
    day, _ = _walk(fhir, app.token, {"date": "2027-04-13", "patient": f"{IDPE_SYSTEM}|{app.idpe}"})
    assert [entry["resource"]["description"] for entry in day] == ["Séance du 13"]
    instant, _ = _walk(fhir, app.token, {"date": "gt2027-04-13T09:00:00+02:00"})
    assert [entry["resource"]["description"] for entry in instant] == ["Rendez-vous du 20"]
    month, _ = _walk(fhir, app.token, {"date": "le2027-03"})
    assert month == []


@pytest.mark.parametrize(
    ("params", "expression"),
    [
        ({"date": "demain"}, "date"),
        ({"date": "ap2027-04-01"}, "date"),
        ({"date": "2027-02-30"}, "date"),
        ({"_count": "0"}, "_count"),
        ({"_count": "beaucoup"}, "_count"),
        ({"_sort": "description"}, "_sort"),
        ({"_cursor": "falsifié"}, "_cursor"),
        ({"status": "booked"}, "status"),
    ],
)
def test_invalid_search_parameters_are_400(fhir, app, params, expression):
    response = fhir.get(app.token, params=params)
    assert response.status_code == 400
    assert outcome(response)[1] == [[expression]]


def test_a_cursor_cannot_be_forged_nor_reused_for_another_order(fhir, app, citizen):
    _make_agenda(fhir, app, citizen)
    bundle = json.loads(fhir.get(app.token, params={"_count": "2"}).content)
    following = next(link["url"] for link in bundle["link"] if link["relation"] == "next")
    cursor = unquote(following.split("_cursor=")[1])
    assert fhir.get(app.token, params={"_count": "2", "_cursor": cursor}).status_code == 200
    assert fhir.get(app.token, params={"_count": "2", "_sort": "-date", "_cursor": cursor}).status_code == 400
    assert fhir.get(app.token, params={"_count": "2", "_cursor": cursor[:-2] + "xx"}).status_code == 400


def test_search_for_another_patient_is_403(fhir, app, other_app):
    response = fhir.get(app.token, params={"patient": other_app.idpe})
    assert response.status_code == 403
    assert outcome(response)[0] == [IDPE_MISMATCH]


def test_search_query_count_does_not_depend_on_page_size(fhir, app, citizen, django_assert_num_queries):
    start = datetime(2027, 1, 4, 8, tzinfo=PARIS)
    Event.objects.bulk_create(
        Event(
            citizen=citizen,
            uid=f"rdv-{index}@test",
            title=f"Séance {index}",
            starts_at=start + timedelta(days=index),
            ends_at=start + timedelta(days=index, hours=1),
            source=Source.APP if index % 2 else Source.CITIZEN,
            source_label="Carnet de tension" if index % 2 else "",
            source_ref=str(app.habilitation.public_id) if index % 2 else "",
            professional="Dr Martin",
            location="Cabinet",
            rrule="FREQ=MONTHLY;COUNT=3" if index % 7 == 0 else "",
        )
        for index in range(150)
    )
    fhir.get(app.token)  # the first call of a token notes the pairing's last access: a write the next ones skip
    counts = {}
    for count in ("1", "100"):
        with django_assert_num_queries(SEARCH_QUERIES) as captured:
            response = fhir.get(app.token, params={"_count": count})
        assert response.status_code == 200
        counts[count] = len(captured.captured_queries)
        assert len(json.loads(response.content)["entry"]) == int(count)
    assert counts["1"] == counts["100"]


# The token with its pairing, habilitation and citizen (one query), the page of events (one query for any page
# size, series included), the journal row of the search.
SEARCH_QUERIES = 3


# --- Where the citizen sees it ----------------------------------------------------------------------------------


def test_the_appointment_appears_in_the_citizen_s_agenda_with_the_app_name(fhir, app, citizen, client):
    soon = timezone.localtime() + timedelta(days=3)
    start = soon.replace(hour=10, minute=0, second=0, microsecond=0)
    created(
        fhir,
        app,
        description="Téléconsultation de suivi",
        start=start.isoformat(),
        end=(start + timedelta(minutes=20)).isoformat(),
    )
    client.force_login(citizen.user)
    page = client.get("/agenda/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Téléconsultation de suivi" in html
    assert "Service connecté : Carnet de tension" in html


def test_appointment_is_in_the_capability_statement(client, db):
    statement = json.loads(client.get("/api/fhir/metadata").content)
    resources = {entry["type"]: entry for entry in statement["rest"][0]["resource"]}
    interactions = {item["code"] for item in resources["Appointment"]["interaction"]}
    assert interactions == {"create", "read", "update", "delete", "search-type"}
    assert {param["name"] for param in resources["Appointment"]["searchParam"]} == {"patient", "date"}
