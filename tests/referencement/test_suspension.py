"""Suspension, reinstatement and withdrawal of a published référencement: the app's API access (a real call with a
real token), the catalogue entry, the paired citizens told, and the administrators' pages."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from oauth2_provider.models import AccessToken, RefreshToken

from catalogue.models import ServiceStatus
from mes.acces.models import JournalEntry, Pairing
from mes.acces.services.pairings import PAIRING_REVOKED, pairing_consent
from mes.comptes.models import Notification
from referencement.models import State
from referencement.services.publication import dossier_reinstate, dossier_suspend, dossier_withdraw
from tests.api.conftest import issue_token
from tests.factories import CitizenFactory, UserFactory
from tests.referencement.conftest import dossier_in_state
from tests.referencement.test_publication import published_dossier

pytestmark = pytest.mark.django_db

OBSERVATIONS = "/api/fhir/Observation"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def dossier(ready_product, editor, administrator):
    dossier = published_dossier(ready_product, editor, administrator)
    dossier.refresh_from_db()
    return dossier


def paired(citizen, dossier) -> str:
    """``citizen`` pairs the production app (their own consent) and the app gets a token: returns the token."""
    habilitation = dossier.habilitation
    pairing = pairing_consent(
        actor=citizen.user,
        citizen=citizen,
        habilitation=habilitation,
        external_id=f"compte-{citizen.pk}",
        scopes=["openid", *habilitation.approved_scopes],
    )
    return issue_token(pairing)


def read(client, token):
    return client.get(OBSERVATIONS, HTTP_AUTHORIZATION=f"Bearer {token}")


# --- Suspension ----------------------------------------------------------------------------------------------------


def test_suspension_cuts_the_apps_access_on_its_next_request(client, dossier, citizen, administrator):
    token = paired(citizen, dossier)
    assert read(client, token).status_code == 200

    dossier_suspend(actor=administrator, dossier=dossier, reason="Audit non conforme : registre RGPD absent.")

    response = read(client, token)
    assert response.status_code in (401, 403)
    assert response.json()["resourceType"] == "OperationOutcome"


def test_suspension_takes_the_entry_off_the_catalogue(client, dossier, citizen, administrator):
    client.force_login(citizen.user)
    assert "Suivi Tension" in client.get(reverse("catalogue_home")).content.decode()

    dossier_suspend(actor=administrator, dossier=dossier, reason="Audit non conforme.")

    dossier.refresh_from_db()
    assert dossier.state == State.SUSPENDED
    assert dossier.service.status == ServiceStatus.SUSPENDED
    assert "Suivi Tension" not in client.get(reverse("catalogue_home")).content.decode()
    assert client.get(reverse("catalogue_detail", args=[dossier.service.slug])).status_code == 404
    event = dossier.events.get(transition="suspend")
    assert event.comment == "Audit non conforme."


def test_the_paired_citizens_are_told_in_the_app_and_by_email(
    dossier, citizen, other_citizen, administrator, django_capture_on_commit_callbacks
):
    paired(citizen, dossier)
    paired(other_citizen, dossier)
    unpaired = CitizenFactory(first_names="Denis")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        dossier_suspend(actor=administrator, dossier=dossier, reason="Audit non conforme.")

    notices = Notification.objects.filter(title="Service suspendu : Suivi Tension")
    assert sorted(notices.values_list("user_id", flat=True)) == sorted([citizen.user_id, other_citizen.user_id])
    body = notices.first().body
    assert "« Suivi Tension » est suspendu" in body
    assert "Les données qu’il a déjà partagées restent dans votre espace santé" in body
    assert notices.first().link == reverse("access_apps")
    assert not Notification.objects.filter(user=unpaired.user).exists()
    notice_mails = [message for message in mail.outbox if "Service suspendu" in message.subject]
    assert sorted(message.to[0] for message in notice_mails) == sorted([citizen.user.email, other_citizen.user.email])
    assert "restent dans votre espace santé" in notice_mails[0].body


def test_notices_are_written_chunk_by_chunk_once_per_space_and_reach_a_minors_parents(dossier, administrator, settings):
    settings.REFERENCEMENT_NOTICE_CHUNK = 1
    adults = [CitizenFactory(first_names=f"Personne {n}") for n in range(3)]
    parent = UserFactory(first_name="Parent")
    child = CitizenFactory(first_names="Enfant", birth_date=date.today().replace(year=date.today().year - 10))
    child.legal_representatives.add(parent)
    revoked = CitizenFactory(first_names="Ancienne")
    for person in [*adults, child, revoked]:
        Pairing.objects.create(
            citizen=person,
            habilitation=dossier.habilitation,
            external_id=f"c-{person.pk}",
            idpe=f"idpe-{person.pk}",
            scopes=["patient/Observation.rs"],
            consented_at=dossier.published_at,
        )
    Pairing.objects.filter(citizen=revoked).update(revoked_at=dossier.published_at)

    dossier_suspend(actor=administrator, dossier=dossier, reason="Vérification en cours.")

    told = list(Notification.objects.order_by("user_id").values_list("user_id", "citizen_id"))
    expected = sorted([(person.user_id, person.pk) for person in [*adults, child]] + [(parent.pk, child.pk)])
    assert told == expected


def test_the_platform_may_suspend_and_an_editor_may_not(dossier, editor):
    with pytest.raises(ValidationError, match="Vous ne pouvez pas effectuer cette étape"):
        dossier_suspend(actor=editor, dossier=dossier, reason="Je me suspends.")
    dossier_suspend(actor=None, dossier=dossier, reason="Audit sans réponse.")
    dossier.refresh_from_db()
    assert dossier.state == State.SUSPENDED
    assert dossier.events.get(transition="suspend").actor is None


def test_a_suspension_needs_a_reason_and_changes_nothing_without(dossier, administrator):
    with pytest.raises(ValidationError) as refused:
        dossier_suspend(actor=administrator, dossier=dossier, reason="   ")
    assert "reason" in refused.value.error_dict
    dossier.refresh_from_db()
    assert dossier.state == State.PUBLISHED and dossier.habilitation.is_active


# --- Reinstatement -------------------------------------------------------------------------------------------------


def test_reinstatement_gives_the_access_and_the_entry_back(client, dossier, citizen, administrator):
    token = paired(citizen, dossier)
    dossier_suspend(actor=administrator, dossier=dossier, reason="Audit non conforme.")
    assert read(client, token).status_code in (401, 403)

    dossier_reinstate(actor=administrator, dossier=dossier, reason="Pièces reçues et conformes.")

    assert read(client, token).status_code == 200
    dossier.refresh_from_db()
    assert dossier.state == State.PUBLISHED
    assert dossier.service.status == ServiceStatus.PUBLISHED
    assert Notification.objects.filter(
        user=citizen.user, title="Service de nouveau disponible : Suivi Tension"
    ).exists()


# --- Withdrawal ----------------------------------------------------------------------------------------------------


def test_withdrawal_revokes_every_pairing_and_token_and_withdraws_the_entry(
    client, dossier, citizen, other_citizen, administrator
):
    tokens = [paired(citizen, dossier), paired(other_citizen, dossier)]

    dossier_withdraw(actor=administrator, dossier=dossier, reason="Fin de l’activité de l’éditeur.")

    dossier.refresh_from_db()
    assert dossier.state == State.WITHDRAWN
    assert dossier.service.status == ServiceStatus.WITHDRAWN
    assert not dossier.habilitation.is_active
    pairings = Pairing.objects.filter(habilitation=dossier.habilitation)
    assert pairings.count() == 2 and not pairings.filter(revoked_at__isnull=True).exists()
    assert set(pairings.values_list("revoked_by", flat=True)) == {administrator.pk}
    rows = JournalEntry.objects.filter(action=PAIRING_REVOKED)
    assert sorted(rows.values_list("citizen_id", flat=True)) == sorted([citizen.pk, other_citizen.pk])
    assert {row.details["service"] for row in rows} == {"Suivi Tension"}
    assert not AccessToken.objects.filter(application_id=dossier.habilitation.application_id).exists()
    assert not RefreshToken.objects.filter(
        application_id=dossier.habilitation.application_id, revoked__isnull=True
    ).exists()
    for token in tokens:
        assert read(client, token).status_code == 401
    told = Notification.objects.filter(title="Service retiré : Suivi Tension")
    assert sorted(told.values_list("user_id", flat=True)) == sorted([citizen.user_id, other_citizen.user_id])


def test_a_suspended_referencement_may_be_withdrawn_but_not_suspended_again(dossier, administrator):
    dossier_suspend(actor=administrator, dossier=dossier, reason="Audit non conforme.")
    with pytest.raises(ValidationError, match="n’est pas possible"):
        dossier_suspend(actor=administrator, dossier=dossier, reason="Encore.")
    dossier_withdraw(actor=administrator, dossier=dossier, reason="Non-conformité persistante.")
    dossier.refresh_from_db()
    assert dossier.state == State.WITHDRAWN


# --- The administrators' pages -------------------------------------------------------------------------------------

ACTIONS = ["referencement_suspend", "referencement_reinstate", "referencement_withdraw"]


def action_url(dossier, name):
    return reverse(name, args=[dossier.public_id])


def test_the_suspension_page_asks_a_reason_and_a_confirmation(client, dossier, administrator):
    client.force_login(administrator)
    page = client.get(action_url(dossier, "referencement_suspend"))
    assert page.status_code == 200
    assert "Je confirme la suspension de ce service" in page.content.decode()

    no_reason = client.post(action_url(dossier, "referencement_suspend"), {"reason": "", "confirm": "on"})
    assert no_reason.status_code == 400
    assert "Indiquez le motif de la décision" in no_reason.content.decode()
    no_confirmation = client.post(action_url(dossier, "referencement_suspend"), {"reason": "Audit non conforme."})
    assert no_confirmation.status_code == 400
    assert "Cochez la case pour confirmer." in no_confirmation.content.decode()
    dossier.refresh_from_db()
    assert dossier.state == State.PUBLISHED

    done = client.post(action_url(dossier, "referencement_suspend"), {"reason": "Audit non conforme.", "confirm": "on"})
    assert done.status_code == 302 and done["Location"] == reverse("referencement_followup")
    dossier.refresh_from_db()
    assert dossier.state == State.SUSPENDED


def test_reinstate_and_withdraw_from_the_pages(client, dossier, administrator):
    client.force_login(administrator)
    data = {"reason": "Décision de l’administration.", "confirm": "on"}
    # Reinstating a published dossier is not possible: nothing changes.
    refused = client.post(action_url(dossier, "referencement_reinstate"), data)
    assert refused.status_code == 302
    dossier.refresh_from_db()
    assert dossier.state == State.PUBLISHED
    client.post(action_url(dossier, "referencement_suspend"), data)
    client.post(action_url(dossier, "referencement_reinstate"), data)
    dossier.refresh_from_db()
    assert dossier.state == State.PUBLISHED
    client.post(action_url(dossier, "referencement_withdraw"), data)
    dossier.refresh_from_db()
    assert dossier.state == State.WITHDRAWN


def test_the_followup_list_shows_the_published_referencements(client, dossier, administrator):
    client.force_login(administrator)
    html = client.get(reverse("referencement_followup")).content.decode()
    assert dossier.reference in html
    assert action_url(dossier, "referencement_suspend") in html
    filtered = client.get(reverse("referencement_followup"), {"etat": State.SUSPENDED}).content.decode()
    assert dossier.reference not in filtered


@pytest.mark.parametrize("name", ACTIONS, ids=ACTIONS)
def test_anonymous_users_sign_in_first(client, dossier, name):
    response = client.get(action_url(dossier, name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login") + "?next=")


@pytest.mark.parametrize("name", ACTIONS, ids=ACTIONS)
@pytest.mark.parametrize("persona", ["citizen", "professional", "editor", "commission"], ids=str)
def test_only_administrators_decide(client, dossier, persona_users, name, persona):
    client.force_login(persona_users[persona])
    assert client.get(action_url(dossier, name)).status_code == 403
    assert client.post(action_url(dossier, name), {"reason": "x", "confirm": "on"}).status_code == 403
    dossier.refresh_from_db()
    assert dossier.state == State.PUBLISHED


@pytest.mark.parametrize("persona", ["citizen", "professional", "editor", "commission"], ids=str)
def test_the_followup_list_is_for_administrators(client, persona_users, persona):
    client.force_login(persona_users[persona])
    assert client.get(reverse("referencement_followup")).status_code == 403


def test_a_draft_is_not_found(client, ready_product, editor, administrator):
    draft = dossier_in_state(ready_product, State.DRAFT, editor=editor)
    client.force_login(administrator)
    assert client.get(action_url(draft, "referencement_suspend")).status_code == 404
