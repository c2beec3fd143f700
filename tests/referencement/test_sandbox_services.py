"""Opening the technical tests, the editor's actions on the sandbox (secret, password, consent), and its closing."""

import base64

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from oauth2_provider.models import Application

from catalogue.models import DataExchange
from mes.acces.models import AppHabilitation, JournalEntry, Pairing
from mes.acces.services.pairings import HABILITATION_GRANTED, PAIRING_REVOKED, habilitation_grant, pairing_consent
from mes.comptes.identifiers import validate_ins
from mes.comptes.models import Citizen, Role
from referencement.models import Event, RequestedExchange, State
from referencement.services.sandbox import (
    SANDBOX_CLIENT_RENEWED,
    sandbox_close,
    sandbox_consent_revoke,
    sandbox_password_regenerate,
    sandbox_secret_regenerate,
    technical_tests_start,
)
from referencement.workflow import TransitionRefused
from tests.api.conftest import make_application
from tests.referencement.conftest import dossier_in_state, make_ready_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def instruction_dossier(ready_product, editor):
    return dossier_in_state(ready_product, State.INSTRUCTION, editor=editor)


@pytest.fixture
def opened(instruction_dossier, administrator):
    """A dossier whose technical tests an administrator has just opened."""
    return technical_tests_start(actor=administrator, dossier=instruction_dossier)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def sandbox_pair(dossier) -> Pairing:
    citizen = dossier.sandbox_citizen
    return pairing_consent(
        actor=citizen.user,
        citizen=citizen,
        habilitation=dossier.sandbox_habilitation,
        external_id="compte-test-1",
        scopes=["openid", *dossier.sandbox_habilitation.approved_scopes],
    )


# --- Opening ----------------------------------------------------------------------------------------------------


def test_opening_the_tests_creates_the_sandbox_app_and_the_test_person(opened, administrator):
    opened.refresh_from_db()
    assert opened.state == State.TECHNICAL_TESTS
    habilitation = opened.sandbox_habilitation
    application = habilitation.application
    assert habilitation.sandbox is True and habilitation.is_active
    assert habilitation.oid == "1.2.250.1.999.1" == opened.oid
    # The scopes of the requested exchanges (measures read and write, documents write), and nothing else.
    assert habilitation.approved_scopes == ["patient/Observation.crs", "patient/DocumentReference.c"]
    assert habilitation.name == application.name == "Suivi Tension — bac à sable"
    assert habilitation.editor_name == opened.organisation.name
    assert application.client_type == Application.CLIENT_CONFIDENTIAL
    assert application.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
    assert application.algorithm == Application.RS256_ALGORITHM
    assert application.redirect_uris.split() == ["https://suivi-tension.example.fr/oauth/retour"]
    assert application.skip_authorization is False

    citizen = opened.sandbox_citizen
    assert citizen.is_sandbox and citizen.has_space
    assert validate_ins(citizen.ins) == citizen.ins
    assert citizen.ins[0] == ("1" if citizen.sex == "M" else "2")
    assert citizen.ins[1:5] == citizen.birth_date.strftime("%y%m")
    assert citizen.user.role == Role.CITIZEN and citizen.user.has_usable_password()
    assert citizen.user.email.endswith("@bac-a-sable.invalid")
    assert opened.reference.lower() in citizen.user.email

    event = Event.objects.get(dossier=opened, transition="start_tests")
    assert (event.from_state, event.to_state, event.actor) == (State.INSTRUCTION, State.TECHNICAL_TESTS, administrator)
    assert event.details["client_id"] == application.client_id
    grant = JournalEntry.objects.get(action=HABILITATION_GRANTED, object_id=str(habilitation.public_id))
    assert grant.details["bac_a_sable"] is True and grant.actor == administrator
    assert JournalEntry.objects.filter(action="referencement.dossier.start_tests").count() == 1


def test_the_scopes_follow_the_requested_exchanges(instruction_dossier, administrator):
    instruction_dossier.requested_exchanges.all().delete()
    RequestedExchange.objects.create(
        dossier=instruction_dossier, exchange=DataExchange.AGENDA_WRITE, justification="Rendez-vous de suivi."
    )
    RequestedExchange.objects.create(
        dossier=instruction_dossier, exchange=DataExchange.CONTACT_READ, justification="Rappel par téléphone."
    )
    dossier = technical_tests_start(actor=administrator, dossier=instruction_dossier)
    assert dossier.sandbox_habilitation.approved_scopes == ["patient/Appointment.cud", "patient/Patient.r"]


def test_the_sandbox_app_may_share_the_oid_of_the_editors_production_app(instruction_dossier, administrator):
    production = make_application(name="Suivi Tension", habilitation=False)
    habilitation_grant(
        actor=None,
        application=production,
        name="Suivi Tension",
        editor_name="Éditeur",
        oid=instruction_dossier.oid,
        approved_scopes=["patient/Observation.crs"],
    )
    dossier = technical_tests_start(actor=administrator, dossier=instruction_dossier)
    assert AppHabilitation.objects.filter(oid=dossier.oid).count() == 2
    assert dossier.sandbox_habilitation.sandbox is True


@pytest.mark.parametrize("role", ["editor", "commission"], ids=["editor", "commission-member"])
def test_only_an_administrator_opens_the_tests_and_a_refusal_creates_nothing(instruction_dossier, persona_users, role):
    with pytest.raises(TransitionRefused):
        technical_tests_start(actor=persona_users[role], dossier=instruction_dossier)
    instruction_dossier.refresh_from_db()
    assert instruction_dossier.state == State.INSTRUCTION and instruction_dossier.sandbox_habilitation is None
    assert not Application.objects.exists() and not Citizen.objects.filter(is_sandbox=True).exists()


@pytest.mark.parametrize("state", [State.SUBMITTED, State.COMMISSION], ids=["submitted", "commission"])
def test_the_tests_open_only_from_instruction(ready_product, editor, administrator, state):
    dossier = dossier_in_state(ready_product, state, editor=editor)
    with pytest.raises(TransitionRefused, match="ne peuvent pas être ouverts"):
        technical_tests_start(actor=administrator, dossier=dossier)
    assert not Application.objects.exists()


def test_a_dossier_without_data_exchange_has_no_tests(ready_product_simple, editor, administrator):
    dossier = dossier_in_state(ready_product_simple, State.INSTRUCTION, editor=editor)
    with pytest.raises(ValidationError, match="procédure avec échange"):
        technical_tests_start(actor=administrator, dossier=dossier)
    dossier.refresh_from_db()
    assert dossier.state == State.INSTRUCTION and not Application.objects.exists()


def test_a_dossier_without_redirect_uri_is_refused_field_by_field(instruction_dossier, administrator):
    instruction_dossier.redirect_uris = []
    instruction_dossier.save(update_fields=["redirect_uris"])
    with pytest.raises(ValidationError) as refused:
        technical_tests_start(actor=administrator, dossier=instruction_dossier)
    assert "URI de redirection" in refused.value.message_dict["redirect_uris"][0]
    assert not Application.objects.exists()


def test_opening_the_tests_again_keeps_the_app_and_the_person_and_starts_a_new_round(opened, administrator):
    pairing = sandbox_pair(opened)
    sandbox_close(dossier=opened)
    # A request for completion during the instruction, then the dossier comes back.
    opened.state = State.INSTRUCTION
    opened.save(update_fields=["state"])
    again = technical_tests_start(actor=administrator, dossier=opened)
    assert again.sandbox_habilitation_id == opened.sandbox_habilitation_id
    assert again.sandbox_citizen_id == opened.sandbox_citizen_id
    again.sandbox_habilitation.refresh_from_db()
    assert again.sandbox_habilitation.is_active
    pairing.refresh_from_db()
    assert pairing.revoked_at is not None and pairing.revoked_by == administrator
    assert Application.objects.count() == 1 and Citizen.objects.filter(is_sandbox=True).count() == 1


def test_each_dossier_gets_its_own_test_person(opened, referential, editor, organisation, administrator):
    other = make_ready_product(editor, organisation, name="Glycémie Facile")
    second = technical_tests_start(
        actor=administrator,
        dossier=dossier_in_state(other, State.INSTRUCTION, editor=editor, oid="1.2.250.1.999.2"),
    )
    assert second.sandbox_citizen_id != opened.sandbox_citizen_id
    assert second.sandbox_citizen.ins != opened.sandbox_citizen.ins
    assert second.sandbox_habilitation.application_id != opened.sandbox_habilitation.application_id


# --- The editor's actions ---------------------------------------------------------------------------------------


def test_a_new_secret_works_at_the_token_endpoint_and_the_previous_one_stops(client, opened, editor):
    client_id = opened.sandbox_habilitation.application.client_id
    first = sandbox_secret_regenerate(actor=editor, dossier=opened)
    second = sandbox_secret_regenerate(actor=editor, dossier=opened)
    assert first != second and len(second) >= 40

    def token_request(secret: str):
        return client.post(
            "/o/token/",
            {
                "grant_type": "authorization_code",
                "code": "code-inconnu",
                "redirect_uri": "https://suivi-tension.example.fr/oauth/retour",
                "code_verifier": "v" * 43,
            },
            HTTP_AUTHORIZATION=basic(client_id, secret),
        )

    assert token_request(first).json()["error"] == "invalid_client"
    # The client is recognised: only the (made-up) code is refused.
    assert token_request(second).json()["error"] == "invalid_grant"
    stored = Application.objects.get(client_id=client_id).client_secret
    assert second not in stored and first not in stored
    rows = JournalEntry.objects.filter(action=SANDBOX_CLIENT_RENEWED)
    assert rows.count() == 2 and {row.actor for row in rows} == {editor}


def test_a_new_password_signs_the_test_person_in_and_the_previous_one_no_more(client, opened, colleague):
    email = opened.sandbox_citizen.user.email
    first = sandbox_password_regenerate(actor=colleague, dossier=opened)
    second = sandbox_password_regenerate(actor=colleague, dossier=opened)
    assert first != second
    assert client.login(email=email, password=first) is False
    assert client.login(email=email, password=second) is True


def test_withdrawing_the_consent_ends_the_pairing_as_the_person_would(opened, editor):
    with pytest.raises(ValidationError, match="faites d’abord l’appariement"):
        sandbox_consent_revoke(actor=editor, dossier=opened)
    pairing = sandbox_pair(opened)
    revoked = sandbox_consent_revoke(actor=editor, dossier=opened)
    assert revoked.pk == pairing.pk and revoked.revoked_at is not None
    row = JournalEntry.objects.get(action=PAIRING_REVOKED)
    assert row.citizen_id == opened.sandbox_citizen_id and row.object_id == str(pairing.public_id)
    assert row.actor == editor


@pytest.mark.parametrize(
    "action",
    [sandbox_secret_regenerate, sandbox_password_regenerate, sandbox_consent_revoke],
    ids=["secret", "password", "revoke"],
)
def test_another_organisations_editor_cannot_act_on_the_sandbox(opened, outsider, commission_member, action):
    for actor in (outsider, commission_member):
        with pytest.raises(PermissionDenied):
            action(actor=actor, dossier=opened)
    assert not JournalEntry.objects.filter(actor__in=[outsider, commission_member]).exists()


@pytest.mark.parametrize(
    "action",
    [sandbox_secret_regenerate, sandbox_password_regenerate, sandbox_consent_revoke],
    ids=["secret", "password", "revoke"],
)
def test_once_the_tests_are_over_the_sandbox_is_read_only(opened, editor, action):
    opened.state = State.COMMISSION
    opened.save(update_fields=["state"])
    with pytest.raises(ValidationError, match="ne sont pas ouverts"):
        action(actor=editor, dossier=opened)


# --- Closing ----------------------------------------------------------------------------------------------------


def test_closing_suspends_the_sandbox_app_and_its_tokens_are_refused(client, opened, editor):
    secret = sandbox_secret_regenerate(actor=editor, dossier=opened)
    sandbox_close(dossier=opened)
    sandbox_close(dossier=opened)  # idempotent
    habilitation = AppHabilitation.objects.get(pk=opened.sandbox_habilitation_id)
    assert habilitation.suspended_at is not None
    assert JournalEntry.objects.filter(action="acces.habilitation.suspendue").count() == 1
    answer = client.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": "inconnu"},
        HTTP_AUTHORIZATION=basic(habilitation.application.client_id, secret),
    )
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_closing_a_dossier_without_sandbox_does_nothing(ready_product_simple, editor):
    dossier = dossier_in_state(ready_product_simple, State.REFUSED, editor=editor)
    before = JournalEntry.objects.count()
    sandbox_close(dossier=dossier)
    assert JournalEntry.objects.count() == before
