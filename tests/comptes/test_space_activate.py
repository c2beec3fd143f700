"""Activer mon espace: identity + letter code, then credentials; refusals that never reveal whether a person
exists; 5 tries per code; rate limit per IP."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user
from django.core import mail
from django.utils import timezone

from mes.acces.models import JournalEntry
from mes.comptes.codes import code_hash
from mes.comptes.models import CitizenStatus, ClosureReason, Role, User
from mes.comptes.views.space import ACTIVATION_SESSION_KEY
from tests.comptes.space_helpers import (
    CODE,
    GENERIC_ERROR,
    HEALTH_WORDS,
    WRONG_CODE,
    by_ins,
    by_traits,
    notified_citizen,
    unknown_ins,
    without_echoed_values,
)
from tests.factories import PASSWORD, CitizenFactory

pytestmark = pytest.mark.django_db

STEP1 = "/activer/"
STEP2 = "/activer/identifiants/"
NEW_PASSWORD = "Une-phrase-de-passe-solide-2026"


def _credentials(email="camille.nouvelle@exemple.fr", password=NEW_PASSWORD):
    return {"email": email, "password1": password, "password2": password}


def _activate(client, data, email="camille.nouvelle@exemple.fr"):
    response = client.post(STEP1, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == STEP2
    return client.post(STEP2, _credentials(email))


def test_pages_open_to_visitors(client):
    response = client.get(STEP1)
    assert response.status_code == 200
    assert "Activer mon espace" in response.content.decode()
    assert client.get(STEP2)["Location"] == STEP1  # no step 2 without step 1


def test_activation_with_the_ins_creates_the_account_signs_in_and_lands_home(
    client, django_capture_on_commit_callbacks
):
    citizen = notified_citizen()
    response = client.post(STEP1, by_ins(citizen))
    assert response["Location"] == STEP2
    page = client.get(STEP2)
    assert page.status_code == 200
    assert "Votre identité est vérifiée, Camille" in page.content.decode()
    assert 'value="camille.durand@exemple.fr"' in page.content.decode()  # the known contact address is offered

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(STEP2, _credentials())

    assert response.status_code == 302
    assert response["Location"] == "/"
    citizen.refresh_from_db()
    user = citizen.user
    assert (user.email, user.role, user.is_active) == ("camille.nouvelle@exemple.fr", Role.CITIZEN, True)
    assert user.check_password(NEW_PASSWORD)
    assert citizen.status == CitizenStatus.ACTIVATED and citizen.activated_at
    assert (citizen.code_hash, citizen.code_failures, citizen.code_expires_at) == ("", 0, None)
    assert citizen.mss_address == f"{citizen.ins}@patient.mssante.fr"
    assert get_user(client) == user
    assert "Bonjour Camille" in client.get("/").content.decode()
    entry = JournalEntry.objects.get(action="compte.espace.active")
    assert (entry.actor_id, entry.citizen_id, entry.details["from"]) == (user.pk, citizen.pk, "notified")
    assert JournalEntry.objects.filter(action="compte.connexion", actor=user).exists()
    assert ACTIVATION_SESSION_KEY not in client.session
    # A confirmation to the new address, without health content.
    (message,) = mail.outbox
    assert message.to == ["camille.nouvelle@exemple.fr"]
    assert "activé" in message.subject
    assert not any(word in message.body.lower() for word in HEALTH_WORDS)


def test_activation_with_birth_traits_typed_loosely(client):
    citizen = notified_citizen()
    data = by_traits(citizen, code="ab12c-d34ef", birth_name=" Durand ", first_name="camille")
    _activate(client, data)
    citizen.refresh_from_db()
    assert citizen.status == CitizenStatus.ACTIVATED


def test_birth_date_typed_the_french_way_is_accepted(client):
    citizen = notified_citizen()
    data = by_traits(citizen, birth_date=citizen.birth_date.strftime("%d/%m/%Y"))
    assert client.post(STEP1, data)["Location"] == STEP2


def test_homonyms_are_told_apart_by_the_code_without_a_failure_for_the_other(client):
    first = notified_citizen(code_hash=code_hash("1111122222"))
    second = notified_citizen()
    assert client.post(STEP1, by_traits(second))["Location"] == STEP2
    first.refresh_from_db()
    assert first.code_failures == 0


@pytest.mark.parametrize("status", [CitizenStatus.OPPOSED, CitizenStatus.CREATED_AUTOMATICALLY])
def test_a_person_who_objected_or_whose_space_was_created_may_still_activate(client, status):
    citizen = notified_citizen(status=status, opposed_at=timezone.now())
    _activate(client, by_ins(citizen))
    citizen.refresh_from_db()
    assert citizen.status == CitizenStatus.ACTIVATED
    assert JournalEntry.objects.get(action="compte.espace.active").details["from"] == status


def test_missing_identity_is_explained(client):
    response = client.post(STEP1, {"code": CODE})
    assert response.status_code == 200
    assert "Saisissez votre matricule INS, ou bien" in response.content.decode()


def test_incomplete_traits_name_the_missing_fields(client):
    response = client.post(STEP1, {"birth_name": "DURAND", "code": CODE})
    assert response.status_code == 200
    assert response.content.decode().count("Ce champ est obligatoire si vous ne saisissez pas") == 3


def test_a_malformed_ins_or_code_is_a_field_error(client):
    response = client.post(STEP1, {"ins": "123", "code": "abc"})
    content = response.content.decode()
    assert "Le matricule INS doit comporter 15 caractères" in content
    assert "Le code comporte 10 caractères" in content


def _generic_refusal(client, data):
    response = client.post(STEP1, data)
    assert response.status_code == 200
    assert GENERIC_ERROR in response.content.decode()
    assert "5 essais erronés" in response.content.decode()
    assert ACTIVATION_SESSION_KEY not in client.session
    return response


def test_a_wrong_code_is_counted_committed_and_journaled(client):
    citizen = notified_citizen()
    _generic_refusal(client, by_ins(citizen, WRONG_CODE))
    citizen.refresh_from_db()
    assert citizen.code_failures == 1
    entry = JournalEntry.objects.get(action="compte.code.echec")
    assert (entry.citizen_id, entry.details) == (citizen.pk, {"failures": 1})


def test_the_code_locks_after_5_wrong_tries_and_then_refuses_even_the_right_code(client):
    citizen = notified_citizen()
    for _ in range(5):
        _generic_refusal(client, by_ins(citizen, WRONG_CODE))
    citizen.refresh_from_db()
    assert citizen.code_failures == 5
    assert JournalEntry.objects.filter(action="compte.code.bloque", citizen=citizen).count() == 1

    _generic_refusal(client, by_ins(citizen))

    citizen.refresh_from_db()
    assert (citizen.status, citizen.code_failures, citizen.user) == (CitizenStatus.NOTIFIED, 5, None)
    assert JournalEntry.objects.filter(action="compte.code.echec").count() == 5


def test_a_success_gives_the_tries_back(client):
    citizen = notified_citizen(code_failures=3)
    assert client.post(STEP1, by_ins(citizen))["Location"] == STEP2
    citizen.refresh_from_db()
    assert citizen.code_failures == 0


def test_refusals_are_identical_whether_or_not_the_person_exists(client):
    """Unknown person, wrong code, expired code, locked code, already activated, closed: one and the same page."""
    wrong = notified_citizen()
    expired = notified_citizen(code_expires_at=timezone.now() - timedelta(minutes=1))
    locked = notified_citizen(code_failures=5)
    activated = CitizenFactory(code_hash=code_hash(CODE))  # an activated space whose code would still match
    closed = notified_citizen(status=CitizenStatus.CLOSED, closure_reason=ClosureReason.PERSON)
    attempts = {
        "inconnu": {"ins": unknown_ins(), "code": CODE},
        "inconnu-traits": by_traits(wrong, birth_name="PERSONNE"),
        "mauvais-code": by_ins(wrong, WRONG_CODE),
        "expire": by_ins(expired),
        "bloque": by_ins(locked),
        "deja-active": by_ins(activated),
        "ferme": by_ins(closed),
    }
    pages = {name: without_echoed_values(_generic_refusal(client, data)) for name, data in attempts.items()}
    for name, content in pages.items():
        assert content == pages["inconnu"], name


def test_closed_or_activated_spaces_cannot_be_activated_again(client):
    activated = CitizenFactory(code_hash=code_hash(CODE))
    closed = notified_citizen(status=CitizenStatus.CLOSED, closure_reason=ClosureReason.PERSON)
    for citizen in (activated, closed):
        _generic_refusal(client, by_ins(citizen))
        citizen.refresh_from_db()
        assert citizen.code_failures == 0  # no live code: nothing to count
    assert User.objects.count() == 1  # the activated person's own account only


def test_the_verification_expires_with_the_session_state(client):
    citizen = notified_citizen()
    client.post(STEP1, by_ins(citizen))
    session = client.session
    session[ACTIVATION_SESSION_KEY]["expires"] = (timezone.now() - timedelta(seconds=1)).isoformat()
    session.save()
    response = client.post(STEP2, _credentials())
    assert response["Location"] == STEP1
    citizen.refresh_from_db()
    assert citizen.user is None and citizen.status == CitizenStatus.NOTIFIED


def test_a_code_used_or_replaced_between_the_steps_is_refused(client):
    citizen = notified_citizen()
    client.post(STEP1, by_ins(citizen))
    type(citizen).objects.filter(pk=citizen.pk).update(code_hash=code_hash("9999988888"))
    response = client.post(STEP2, _credentials(), follow=True)
    assert "Votre vérification a expiré ou le code de votre courrier a déjà été utilisé" in response.content.decode()
    assert not User.objects.filter(email="camille.nouvelle@exemple.fr").exists()


def test_weak_password_and_taken_address_are_refused_with_french_messages(client, other_citizen):
    citizen = notified_citizen()
    client.post(STEP1, by_ins(citizen))
    weak = client.post(STEP2, _credentials(password="court"))
    assert "Ce mot de passe est trop court" in weak.content.decode()
    mismatch = client.post(STEP2, {**_credentials(), "password2": "autre-chose-encore-42"})
    assert "Les deux mots de passe ne sont pas identiques" in mismatch.content.decode()
    taken = client.post(STEP2, _credentials(email=other_citizen.user.email.upper()))
    assert "déjà utilisée par un autre compte" in taken.content.decode()
    citizen.refresh_from_db()
    assert citizen.user is None and citizen.status == CitizenStatus.NOTIFIED


def test_signed_in_people_are_sent_home(client, citizen):
    client.force_login(citizen.user)
    assert client.get(STEP1)["Location"] == "/connexion/suite/"
    assert client.get(STEP2)["Location"] == "/connexion/suite/"


def test_identification_is_rate_limited_per_ip_across_activation_and_opposition(client):
    citizen = notified_citizen()
    for number in range(20):
        path = STEP1 if number % 2 else "/opposition/"
        assert client.post(path, by_ins(citizen, WRONG_CODE) if number < 3 else {}).status_code == 200
    response = client.post(STEP1, by_ins(citizen))
    assert response.status_code == 429
    assert "Trop de tentatives" in response.content.decode()
    # Another address is not held back.
    assert client.post(STEP1, by_ins(citizen), REMOTE_ADDR="203.0.113.9")["Location"] == STEP2


def test_activation_signs_in_with_the_new_credentials_afterwards(client):
    citizen = notified_citizen()
    _activate(client, by_ins(citizen))
    client.logout()
    login = "/compte/login/"
    assert client.post(login, {"login": "camille.nouvelle@exemple.fr", "password": PASSWORD}).status_code == 200
    assert client.post(login, {"login": "camille.nouvelle@exemple.fr", "password": NEW_PASSWORD}).status_code == 302
