"""The admin of referenced apps and pairings: lists and search, suspension and reinstatement, the approved scopes
changed through the service, pairings read-only (never added, edited nor deleted by hand) and revoked through the
service (tokens dead, journal row)."""

import json
import re

import pytest
from django.urls import reverse
from oauth2_provider.models import AccessToken

from mes.acces.models import AppHabilitation, JournalEntry, Pairing
from mes.acces.services.pairings import (
    HABILITATION_GRANTED,
    HABILITATION_REINSTATED,
    HABILITATION_SUSPENDED,
    PAIRING_REVOKED,
)
from tests.api.conftest import bearer, issue_token, make_application, pair

pytestmark = pytest.mark.django_db

HABILITATIONS = reverse("admin:acces_apphabilitation_changelist")
PAIRINGS = reverse("admin:acces_pairing_changelist")


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator)
    return client


@pytest.fixture
def app(citizen, other_citizen):
    application = make_application(name="TensioCarnet", approved_scopes=["patient/Observation.crs"])
    pair(citizen, application)
    pair(other_citizen, application)
    return application


def test_the_lists_open_and_search(admin_client, app, citizen):
    make_application(name="Autre service")
    body = admin_client.get(HABILITATIONS).content.decode()
    assert "TensioCarnet" in body and "Autre service" in body and app.client_id in body
    body = admin_client.get(HABILITATIONS, {"q": app.client_id}).content.decode()
    assert "TensioCarnet" in body and "Autre service" not in body
    pairing = Pairing.objects.get(citizen=citizen)
    other = Pairing.objects.exclude(citizen=citizen).get()
    body = admin_client.get(PAIRINGS).content.decode()
    assert str(pairing.public_id) in body and str(other.public_id) in body
    for query in (pairing.idpe, citizen.ins, str(pairing.public_id)):
        body = admin_client.get(PAIRINGS, {"q": query}).content.decode()
        assert str(pairing.public_id) in body and str(other.public_id) not in body, query


def test_habilitations_and_pairings_cannot_be_added_nor_deleted_by_hand(admin_client, app, citizen):
    pairing = Pairing.objects.get(citizen=citizen)
    habilitation = app.habilitation
    assert admin_client.get(reverse("admin:acces_pairing_add")).status_code == 403
    assert admin_client.get(reverse("admin:acces_apphabilitation_add")).status_code == 403
    for url in (
        reverse("admin:acces_pairing_delete", args=[pairing.pk]),
        reverse("admin:acces_apphabilitation_delete", args=[habilitation.pk]),
    ):
        assert admin_client.post(url, {"post": "yes"}).status_code == 403
    # The pairing's page is read-only: a POST changes nothing.
    page = admin_client.get(reverse("admin:acces_pairing_change", args=[pairing.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert pairing.idpe in body and 'name="idpe"' not in body and 'name="_save"' not in body
    admin_client.post(reverse("admin:acces_pairing_change", args=[pairing.pk]), {"idpe": "autre", "scopes": ""})
    assert Pairing.objects.get(pk=pairing.pk).idpe == pairing.idpe
    assert Pairing.objects.count() == 2 and AppHabilitation.objects.count() == 1


def test_revoke_action_goes_through_the_service(admin_client, administrator, app, citizen, other_citizen):
    pairing = Pairing.objects.get(citizen=citizen)
    token = issue_token(pairing)
    response = admin_client.post(PAIRINGS, {"action": "revoke", "_selected_action": [pairing.pk]}, follow=True)
    assert "Appariements révoqués : 1." in response.content.decode()
    pairing.refresh_from_db()
    assert pairing.revoked_at is not None and pairing.revoked_by == administrator
    assert not AccessToken.objects.filter(user=citizen.user).exists()
    row = JournalEntry.objects.get(action=PAIRING_REVOKED)
    assert row.actor_id == administrator.pk and row.citizen_id == citizen.pk
    assert Pairing.objects.get(citizen=other_citizen).is_active
    admin_client.logout()
    api = admin_client.post(
        reverse("fhir_transaction"),
        data=json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": []}),
        content_type="application/fhir+json",
        **bearer(token),
    )
    assert api.status_code == 401


def test_suspend_and_reinstate_actions_go_through_the_services(admin_client, administrator, app, citizen):
    habilitation = app.habilitation
    token = issue_token(Pairing.objects.get(citizen=citizen))
    admin_client.post(HABILITATIONS, {"action": "suspend", "_selected_action": [habilitation.pk]})
    habilitation.refresh_from_db()
    assert habilitation.suspended_at is not None
    assert JournalEntry.objects.get(action=HABILITATION_SUSPENDED).actor_id == administrator.pk
    body = {"resourceType": "Bundle", "type": "transaction", "entry": []}
    api = admin_client.post(
        reverse("fhir_transaction"), data=json.dumps(body), content_type="application/fhir+json", **bearer(token)
    )
    assert api.status_code == 403
    assert "Suspendu le" in admin_client.get(HABILITATIONS).content.decode()
    admin_client.post(HABILITATIONS, {"action": "reinstate", "_selected_action": [habilitation.pk]})
    habilitation.refresh_from_db()
    assert habilitation.suspended_at is None
    assert JournalEntry.objects.filter(action=HABILITATION_REINSTATED).count() == 1


def test_the_approved_scopes_are_changed_through_the_service(admin_client, administrator, app):
    habilitation = app.habilitation
    url = reverse("admin:acces_apphabilitation_change", args=[habilitation.pk])
    page = admin_client.get(url).content.decode()
    # Stored as one scope per resource, shown split in its read and write parts, both ticked.
    for scope in ("patient/Observation.rs", "patient/Observation.c"):
        assert re.search(
            rf'<input type="checkbox" name="approved_scopes" value="{re.escape(scope)}"[^>]* checked>', page
        )
    assert not re.search(r'value="patient/Patient.r"[^>]* checked>', page)
    assert "Lire vos mesures de santé" in page
    response = admin_client.post(
        url,
        {
            "name": "TensioCarnet",
            "editor_name": "Cardio Partage",
            "oid": habilitation.oid,
            "approved_scopes": ["patient/Observation.c", "patient/Patient.r"],
        },
    )
    assert response.status_code == 302
    habilitation.refresh_from_db()
    assert habilitation.editor_name == "Cardio Partage"
    assert habilitation.approved_scopes == ["patient/Observation.c", "patient/Patient.r"]
    row = JournalEntry.objects.filter(action=HABILITATION_GRANTED).order_by("-seq").first()
    assert row.actor_id == administrator.pk and row.details["nouvelle"] is False


def test_an_unknown_scope_is_refused(admin_client, app):
    habilitation = app.habilitation
    url = reverse("admin:acces_apphabilitation_change", args=[habilitation.pk])
    response = admin_client.post(
        url,
        {"name": "TensioCarnet", "editor_name": "X", "oid": habilitation.oid, "approved_scopes": ["patient/Foo.r"]},
    )
    assert response.status_code == 200
    habilitation.refresh_from_db()
    assert habilitation.approved_scopes == ["patient/Observation.crs"]


def test_the_admin_is_for_administrators_only(client, persona_users):
    for role in ("citizen", "professional", "editor", "commission"):
        client.force_login(persona_users[role])
        assert client.get(PAIRINGS).status_code == 403
        assert client.get(HABILITATIONS).status_code == 403


def test_a_malformed_oid_is_refused_in_french(admin_client, app):
    habilitation = app.habilitation
    url = reverse("admin:acces_apphabilitation_change", args=[habilitation.pk])
    data = {"name": "TensioCarnet", "editor_name": "X", "oid": "1.2.abc", "approved_scopes": ["patient/Observation.c"]}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "Un OID s’écrit en nombres séparés par des points" in response.content.decode()
    habilitation.refresh_from_db()
    assert habilitation.oid != "1.2.abc" and habilitation.approved_scopes == ["patient/Observation.crs"]
