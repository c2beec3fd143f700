"""The checklist of the technical tests, computed from the journal: which steps it has, what ticks them (real
successes of the sandbox app only), the rule of the reaction to a withdrawn consent, and its cost."""

import base64
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import RefreshToken

from agenda.services.events import EVENT_ADDED
from catalogue.models import DataExchange
from dossier.services.documents import DOCUMENT_ADDED
from dossier.services.measures import MEASURE_ADDED
from dossier.services.profile import IMMUNIZATION_ADDED
from mes.acces.models import AppHabilitation, JournalEntry
from mes.acces.services.pairings import pairing_consent
from mes.api.app_views import API_REFUSED
from mes.api.oauth import RENEWAL_REFUSED
from referencement import selectors_sandbox
from referencement.models import Dossier, RequestedExchange, State
from referencement.selectors_sandbox import sandbox_checklist
from referencement.services.sandbox import sandbox_consent_revoke, sandbox_secret_regenerate, technical_tests_start
from tests.api.conftest import bearer, issue_token
from tests.dossier.api.test_observation_api import OBSERVATIONS, post, weight
from tests.referencement.conftest import dossier_in_state
from tests.referencement.test_sandbox_pairing import sandbox_app

pytestmark = pytest.mark.django_db

ALL_CODES = ["appariement", "ecriture_mesure", "lecture", "ecriture_document", "retrait_consentement"]


@pytest.fixture
def opened(ready_product, editor, administrator):
    dossier = dossier_in_state(ready_product, State.INSTRUCTION, editor=editor)
    return technical_tests_start(actor=administrator, dossier=dossier)


def fresh(dossier) -> Dossier:
    return Dossier.objects.select_related("sandbox_habilitation").get(pk=dossier.pk)


def done(dossier) -> dict[str, bool]:
    return {item.code: item.done for item in sandbox_checklist(fresh(dossier)).items}


def pair(dossier, habilitation: AppHabilitation | None = None) -> SimpleNamespace:
    """The test person authorises the app (the sandbox app of the dossier unless told), which gets a token."""
    citizen = dossier.sandbox_citizen
    habilitation = habilitation or dossier.sandbox_habilitation
    pairing = pairing_consent(
        actor=citizen.user,
        citizen=citizen,
        habilitation=habilitation,
        external_id="compte-test-1",
        scopes=["openid", *habilitation.approved_scopes],
    )
    return SimpleNamespace(pairing=pairing, idpe=pairing.idpe, oid=habilitation.oid, token=issue_token(pairing))


def search(client, app):
    return client.get(OBSERVATIONS, {"patient": app.idpe}, **bearer(app.token))


# --- The steps ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exchanges", "codes"),
    [
        (None, ALL_CODES),
        (
            [DataExchange.AGENDA_WRITE, DataExchange.CONTACT_READ],
            ["appariement", "lecture", "ecriture_rendez_vous", "retrait_consentement"],
        ),
        ([DataExchange.IMMUNIZATIONS_WRITE], ["appariement", "ecriture_vaccination", "retrait_consentement"]),
        (
            [DataExchange.DOCUMENTS_READ, DataExchange.AGENDA_READ],
            ["appariement", "lecture", "retrait_consentement"],
        ),
    ],
    ids=["declared-exchanges", "agenda-write-and-contact", "vaccination-only", "reads-only"],
)
def test_the_steps_follow_the_requested_exchanges(ready_product, editor, administrator, exchanges, codes):
    dossier = dossier_in_state(ready_product, State.INSTRUCTION, editor=editor)
    if exchanges is not None:
        dossier.requested_exchanges.all().delete()
        for exchange in exchanges:
            RequestedExchange.objects.create(dossier=dossier, exchange=exchange, justification="Pour le suivi.")
    dossier = technical_tests_start(actor=administrator, dossier=dossier)
    checklist = sandbox_checklist(dossier)
    assert [item.code for item in checklist.items] == codes
    assert checklist.opened and not checklist.complete and checklist.done_count == 0
    assert all(item.help and item.done_at is None for item in checklist.items)


def test_the_journal_codes_read_are_the_ones_the_bricks_write():
    assert selectors_sandbox.MEASURE_ADDED == MEASURE_ADDED
    assert selectors_sandbox.DOCUMENT_ADDED == DOCUMENT_ADDED
    assert selectors_sandbox.APPOINTMENT_ADDED == EVENT_ADDED
    assert selectors_sandbox.IMMUNIZATION_ADDED == IMMUNIZATION_ADDED


def test_a_dossier_whose_tests_were_never_opened_has_an_empty_checklist(ready_product, editor):
    checklist = sandbox_checklist(dossier_in_state(ready_product, State.INSTRUCTION, editor=editor))
    assert checklist.items == () and not checklist.opened and not checklist.complete


def test_only_real_successes_of_the_sandbox_app_tick_the_steps(client, opened):
    assert done(opened) == dict.fromkeys(ALL_CODES, False)
    app = pair(opened)
    assert done(opened)["appariement"] is True

    # A measure the API refuses (an impossible weight) is no success.
    assert post(client, OBSERVATIONS, weight(app, device=None, value=4000), app.token).status_code == 422
    assert done(opened)["ecriture_mesure"] is False
    assert post(client, OBSERVATIONS, weight(app, device=None), app.token).status_code == 201
    item = next(item for item in sandbox_checklist(fresh(opened)).items if item.code == "ecriture_mesure")
    assert item.done and item.done_at is not None

    # Documents are written, not read, by this dossier: reading them is refused and ticks nothing.
    refused = client.get("/api/fhir/DocumentReference", {"patient": app.idpe}, **bearer(app.token))
    assert refused.status_code == 403
    # The refusal itself is journaled, in the test person's history, under the app.
    refusal = JournalEntry.objects.get(action=API_REFUSED)
    assert refusal.citizen == opened.sandbox_citizen and "DocumentReference" in refusal.details["motif"]
    assert refusal.actor_label == f"Service « {opened.sandbox_habilitation.name} »"
    assert done(opened)["lecture"] is False
    assert search(client, app).status_code == 200
    assert done(opened) == {**dict.fromkeys(ALL_CODES, True), "ecriture_document": False, "retrait_consentement": False}


def test_what_another_app_does_with_the_test_person_does_not_count(client, opened):
    other = AppHabilitation.objects.get(application=sandbox_app("Autre service — bac à sable"))
    app = pair(opened, other)
    assert post(client, OBSERVATIONS, weight(app, device=None), app.token).status_code == 201
    assert search(client, app).status_code == 200
    assert JournalEntry.objects.filter(citizen=opened.sandbox_citizen, action=MEASURE_ADDED).exists()
    assert done(opened) == dict.fromkeys(ALL_CODES, False)


# --- The reaction to a withdrawn consent ------------------------------------------------------------------------


def test_an_app_that_insists_after_the_withdrawal_fails_the_step_until_a_better_try(client, opened, editor, settings):
    settings.REFERENCEMENT_SANDBOX_CALLS_AFTER_REVOCATION = 2
    app = pair(opened)
    sandbox_consent_revoke(actor=editor, dossier=opened)
    item = sandbox_checklist(fresh(opened)).items[-1]
    assert not item.done and "connectez-vous avec lui et autorisez de nouveau" in item.help

    # Three calls refused with a 403 after the withdrawal (a token issued in the instant of the withdrawal).
    late = issue_token(app.pairing)
    for _attempt in range(3):
        assert client.get(OBSERVATIONS, {"patient": app.idpe}, **bearer(late)).status_code == 403
    refusals = JournalEntry.objects.filter(action=API_REFUSED, citizen=opened.sandbox_citizen)
    assert refusals.count() == 3
    assert refusals.first().details["application"] == str(opened.sandbox_habilitation.public_id)
    pair(opened)
    item = sandbox_checklist(fresh(opened)).items[-1]
    assert not item.done and "3 appels refusés, au plus 2 admis" in item.help
    assert "3 appel(s) refusé(s)" in item.observed

    # A new try, counted from the last withdrawal only.
    sandbox_consent_revoke(actor=editor, dossier=opened)
    assert done(opened)["retrait_consentement"] is False  # waiting for the person to be sent through pairing again
    app = pair(opened)
    assert done(opened)["retrait_consentement"] is True
    sandbox_consent_revoke(actor=editor, dossier=opened)
    assert client.get(OBSERVATIONS, {"patient": app.idpe}, **bearer(issue_token(app.pairing))).status_code == 403
    pair(opened)
    item = sandbox_checklist(fresh(opened)).items[-1]
    assert item.done and item.done_at is not None
    assert "1 appel(s) refusé(s)" in item.help


def test_a_refused_refresh_token_is_a_refused_call_of_the_app(client, opened, editor, settings):
    settings.REFERENCEMENT_SANDBOX_CALLS_AFTER_REVOCATION = 0
    secret = sandbox_secret_regenerate(actor=editor, dossier=opened)
    app = pair(opened)
    application = opened.sandbox_habilitation.application
    RefreshToken.objects.create(user=opened.sandbox_citizen.user, application=application, token="rafraichissement-1")
    sandbox_consent_revoke(actor=editor, dossier=opened)

    credentials = base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
    answer = client.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": "rafraichissement-1"},
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    row = JournalEntry.objects.get(action=RENEWAL_REFUSED)
    assert row.citizen == opened.sandbox_citizen
    assert row.details["application"] == str(opened.sandbox_habilitation.public_id)
    # An unknown refresh token names nobody: it is not journaled.
    client.post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": "invente"},
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )
    assert JournalEntry.objects.filter(action=RENEWAL_REFUSED).count() == 1

    pair(opened)
    assert app.pairing.revoked_at is None  # the object of the first pairing, as it was
    assert done(opened)["retrait_consentement"] is False


# --- Rounds, hand-ticking, cost ---------------------------------------------------------------------------------


def test_a_new_round_of_tests_starts_from_scratch(client, opened, administrator):
    app = pair(opened)
    assert post(client, OBSERVATIONS, weight(app, device=None), app.token).status_code == 201
    assert done(opened)["ecriture_mesure"] is True
    opened.state = State.INSTRUCTION  # back from a request for completion
    opened.save(update_fields=["state"])
    again = technical_tests_start(actor=administrator, dossier=opened)
    assert done(again) == dict.fromkeys(ALL_CODES, False)


def test_no_route_ticks_the_checklist_by_hand(client, opened, editor):
    client.force_login(editor)
    tests_url = f"/editeurs/referencement/{opened.public_id}/tests/"
    status_url = tests_url + "etat.json"
    forged = {"action": "valider", "code": "lecture", "done": "true", "items": "appariement"}
    for method in (client.post, client.put, client.patch, client.delete):
        assert method(status_url, forged).status_code == 405
    assert client.post(tests_url, forged).status_code == 302
    assert done(opened) == dict.fromkeys(ALL_CODES, False)


def test_the_checklist_costs_the_same_queries_whatever_the_traffic(client, opened, django_assert_num_queries):
    quiet_dossier = fresh(opened)
    with CaptureQueriesContext(connection) as quiet:
        sandbox_checklist(quiet_dossier)
    # Counted now: every request of the test client empties the connection's log of queries.
    expected = len(quiet.captured_queries)
    assert expected <= 3
    app = pair(opened)
    for value in range(60, 80):
        assert post(client, OBSERVATIONS, weight(app, device=None, value=value), app.token).status_code == 201
        assert search(client, app).status_code == 200
    busy = fresh(opened)
    with django_assert_num_queries(expected):
        checklist = sandbox_checklist(busy)
    assert checklist.done_count == 3
