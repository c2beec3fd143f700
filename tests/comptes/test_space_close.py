"""Paramètres and Fermer mon espace (citizens only, their own space only), and the job that deletes the content
of closed spaces after the grace period."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user
from django.core import mail
from django.utils import timezone

from mes.acces.models import JournalEntry
from mes.acces.services import journal_verify_chain
from mes.comptes.codes import code_hash
from mes.comptes.models import Citizen, CitizenStatus, ClosureReason, User
from mes.comptes.services.lifecycle import citizen_transition
from mes.comptes.services.space import spaces_delete_content_due
from mes.comptes.tasks.closure import spaces_delete_content_due_task
from tests.comptes.space_helpers import HEALTH_WORDS, by_ins
from tests.factories import PASSWORD, CitizenFactory, UserFactory

pytestmark = pytest.mark.django_db

SETTINGS = "/parametres/"
CLOSE = "/parametres/fermer-mon-espace/"
CLOSED = "/espace-ferme/"
CONFIRM = {"confirm": "on", "password": PASSWORD}


@pytest.mark.parametrize("path", [SETTINGS, CLOSE])
def test_only_citizens_open_the_settings_and_the_closure(client, persona_users, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/compte/login/")
    for role, user in persona_users.items():
        client.force_login(user)
        assert client.get(path).status_code == (200 if role == "citizen" else 403), role
        # Posting is refused to the other roles as well, and closes nothing.
        assert client.post(path, CONFIRM).status_code in ((200, 302) if role == "citizen" else (403,)), role
        client.logout()


def test_anonymous_post_closes_nothing(client, citizen):
    response = client.post(CLOSE, CONFIRM)
    assert response.status_code == 302 and response["Location"].startswith("/compte/login/")
    citizen.refresh_from_db()
    assert citizen.status == CitizenStatus.ACTIVATED


def test_the_settings_page_lists_security_and_closure(client, citizen):
    client.force_login(citizen.user)
    content = client.get(SETTINGS).content.decode()
    assert 'href="/compte/2fa/"' in content
    assert f'href="{CLOSE}"' in content
    assert 'href="/parametres/"' in client.get("/").content.decode()  # in the citizen's navigation


def test_the_closure_page_explains_the_consequences_and_the_date(client, citizen, settings):
    settings.SPACE_CLOSURE_GRACE_DAYS = 30
    client.force_login(citizen.user)
    content = client.get(CLOSE).content.decode()
    date = timezone.localtime(timezone.now() + timedelta(days=30))
    assert "supprimé définitivement 30 jours après la fermeture" in content
    assert f"{date.day} " in content and str(date.year) in content
    assert "ne peut pas être rouvert en ligne" in content and "3422" in content


def test_closing_deactivates_signs_out_confirms_and_mails(
    client, citizen, settings, django_capture_on_commit_callbacks
):
    settings.SPACE_CLOSURE_GRACE_DAYS = 30
    client.force_login(citizen.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CLOSE, CONFIRM)

    assert response["Location"] == CLOSED
    citizen.refresh_from_db()
    citizen.user.refresh_from_db()
    assert citizen.status == CitizenStatus.CLOSED
    assert citizen.closure_reason == ClosureReason.PERSON
    assert citizen.content_deletion_due_at == citizen.closed_at + timedelta(days=30)
    assert citizen.user.is_active is False
    assert not get_user(client).is_authenticated
    entry = JournalEntry.objects.get(action="compte.espace.ferme")
    assert (entry.actor_id, entry.citizen_id, entry.details["to"]) == (citizen.user.pk, citizen.pk, "closed")
    page = client.get(CLOSED).content.decode()
    assert "Votre espace est fermé" in page and "ne peut pas être rouvert en ligne" in page
    (message,) = mail.outbox
    assert message.to == [citizen.user.email]
    assert "fermé" in message.subject and "3422" in message.body
    assert not any(word in message.body.lower() for word in HEALTH_WORDS)
    # The account no longer signs in.
    login = client.post("/compte/login/", {"login": citizen.user.email, "password": PASSWORD})
    assert login["Location"] == "/compte/inactive/"
    assert not get_user(client).is_authenticated


def test_a_closed_space_cannot_be_activated_again_with_an_old_code(client, citizen):
    Citizen.objects.filter(pk=citizen.pk).update(code_hash=code_hash("AB12CD34EF"))
    client.force_login(citizen.user)
    client.post(CLOSE, CONFIRM)
    citizen.refresh_from_db()
    assert citizen.code_hash == ""
    response = client.post("/activer/", by_ins(citizen, "AB12CD34EF"))
    assert "ne correspondent pas à un courrier en cours de validité" in response.content.decode()


def test_wrong_password_or_missing_confirmation_closes_nothing(client, citizen):
    client.force_login(citizen.user)
    wrong = client.post(CLOSE, {"confirm": "on", "password": "pas-le-bon"})
    assert "Mot de passe incorrect" in wrong.content.decode()
    unchecked = client.post(CLOSE, {"password": PASSWORD})
    assert "Cochez la case pour confirmer" in unchecked.content.decode()
    citizen.refresh_from_db()
    assert citizen.status == CitizenStatus.ACTIVATED
    assert get_user(client).is_authenticated


def test_password_confirmations_are_rate_limited_per_user(client, citizen):
    client.force_login(citizen.user)
    for _ in range(5):
        client.post(CLOSE, {"confirm": "on", "password": "pas-le-bon"})
    assert client.post(CLOSE, CONFIRM).status_code == 429
    citizen.refresh_from_db()
    assert citizen.status == CitizenStatus.ACTIVATED


def test_another_citizen_can_only_close_their_own_space(client, citizen, other_citizen):
    """Bruno, signed in, cannot close Camille's space: there is no identifier to change, and her password is
    useless on his session."""
    client.force_login(other_citizen.user)
    camille_password = "Le-mot-de-passe-de-Camille-99"
    citizen.user.set_password(camille_password)
    citizen.user.save(update_fields=["password"])
    refused = client.post(CLOSE, {"confirm": "on", "password": camille_password})
    assert "Mot de passe incorrect" in refused.content.decode()
    client.post(CLOSE, CONFIRM)
    citizen.refresh_from_db()
    other_citizen.refresh_from_db()
    assert citizen.status == CitizenStatus.ACTIVATED and citizen.user.is_active
    assert other_citizen.status == CitizenStatus.CLOSED


def test_a_citizen_account_without_a_space_has_nothing_to_close(client, db):
    user = UserFactory(role="citizen")
    client.force_login(user)
    assert f'href="{CLOSE}"' not in client.get(SETTINGS).content.decode()
    response = client.get(CLOSE)
    assert response.status_code == 200
    assert "il n’y a rien à fermer" in response.content.decode()
    assert client.post(CLOSE, CONFIRM).status_code == 200
    assert User.objects.get(pk=user.pk).is_active


def test_the_closed_page_without_a_closure_stays_neutral(client):
    response = client.get(CLOSED)
    assert response.status_code == 200
    assert "Cette page confirme la fermeture d’un espace" in response.content.decode()


# --- The deletion job ---


def _closed(*, days_ago: int, reason=ClosureReason.PERSON, **fields) -> Citizen:
    citizen = CitizenFactory(contact_email="contact@exemple.fr", contact_phone="0600000000", **fields)
    if citizen.user is not None:
        EmailAddress.objects.create(user=citizen.user, email=citizen.user.email, primary=True, verified=True)
    at = timezone.now() - timedelta(days=days_ago)
    return citizen_transition(citizen=citizen, to=CitizenStatus.CLOSED, actor=None, at=at, closure_reason=reason)


def test_deletion_empties_the_due_spaces_only_and_is_idempotent(settings):
    settings.SPACE_CLOSURE_GRACE_DAYS = 30
    due = _closed(days_ago=31)
    due_user = due.user
    not_due = _closed(days_ago=29)
    on_death = _closed(days_ago=31, reason=ClosureReason.DEATH)  # archived 10 years
    open_space = CitizenFactory(contact_email="contact@exemple.fr")

    assert spaces_delete_content_due(now=timezone.now()) == 1

    due.refresh_from_db()
    assert due.content_deleted_at is not None
    assert (due.user_id, due.contact_email, due.contact_phone, due.mss_address) == (None, "", "", "")
    # The identity stays, closed, so that no campaign creates the space again.
    assert (due.status, due.ins, due.birth_name) == (CitizenStatus.CLOSED, due.ins, "TEST")
    due_user.refresh_from_db()
    assert due_user.email.endswith("@compte-supprime.invalid")
    assert (due_user.first_name, due_user.last_name, due_user.is_active) == ("", "", False)
    assert not due_user.has_usable_password()
    assert not EmailAddress.objects.filter(user=due_user).exists()
    for kept in (not_due, on_death, open_space):
        kept.refresh_from_db()
        assert kept.content_deleted_at is None and kept.user is not None and kept.contact_email
    entry = JournalEntry.objects.get(action="compte.espace.contenu_supprime")
    assert (entry.citizen_id, entry.object_id, entry.details) == (
        due.pk,
        str(due.public_id),
        {"account_anonymised": True},
    )

    assert spaces_delete_content_due(now=timezone.now()) == 0
    assert JournalEntry.objects.filter(action="compte.espace.contenu_supprime").count() == 1
    assert journal_verify_chain().ok


def test_deletion_works_in_chunks_with_one_journal_row_per_space(settings):
    settings.SPACE_CLOSURE_GRACE_DAYS = 0
    spaces = [_closed(days_ago=1) for _ in range(5)]
    spaces.append(_closed(days_ago=1, user=None))  # closed before any account existed
    assert spaces_delete_content_due(now=timezone.now(), chunk_size=2) == 6
    assert Citizen.objects.filter(content_deleted_at__isnull=False).count() == 6
    rows = JournalEntry.objects.filter(action="compte.espace.contenu_supprime")
    assert sorted(rows.values_list("citizen_id", flat=True)) == sorted(space.pk for space in spaces)
    assert journal_verify_chain().ok


def test_the_daily_task_calls_the_service(settings):
    settings.SPACE_CLOSURE_GRACE_DAYS = 30
    _closed(days_ago=40)
    assert spaces_delete_content_due_task.delay().get() == {"deleted": 1}
    assert spaces_delete_content_due_task.delay().get() == {"deleted": 0}


def test_the_task_is_scheduled_daily():
    from mes.celery import app

    entries = [
        entry for entry in app.conf.beat_schedule.values() if entry["task"].endswith("spaces_delete_content_due")
    ]
    assert len(entries) == 1
