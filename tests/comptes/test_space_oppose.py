"""M'opposer à la création: identity + letter code → opposed (from notified only), confirmation page and e-mail."""

import pytest
from django.core import mail
from django.utils import timezone

from mes.acces.models import JournalEntry
from mes.comptes.models import CitizenStatus
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

pytestmark = pytest.mark.django_db

OPPOSE = "/opposition/"
DONE = "/opposition/confirmee/"


def test_the_page_is_open_to_visitors_and_the_confirmation_needs_an_opposition(client):
    response = client.get(OPPOSE)
    assert response.status_code == 200
    assert "M’opposer à la création de mon espace" in response.content.decode()
    assert client.get(DONE)["Location"] == OPPOSE


def test_opposition_is_recorded_confirmed_and_mailed_without_health_content(client, django_capture_on_commit_callbacks):
    citizen = notified_citizen()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(OPPOSE, by_traits(citizen, code="ab12c-d34ef"))

    assert response["Location"] == DONE
    citizen.refresh_from_db()
    assert citizen.status == CitizenStatus.OPPOSED and citizen.opposed_at
    assert citizen.user is None and citizen.mss_address == ""
    assert citizen.code_hash  # kept: the person may change their mind and activate
    entry = JournalEntry.objects.get(action="compte.espace.oppose")
    assert (entry.citizen_id, entry.details) == (citizen.pk, {"from": "notified", "to": "opposed"})
    (message,) = mail.outbox
    assert message.to == ["camille.durand@exemple.fr"]
    assert "opposition" in message.subject
    assert "3422" in message.body
    assert not any(word in message.body.lower() for word in HEALTH_WORDS)
    assert citizen.ins not in message.body and CODE not in message.body
    page = client.get(DONE).content.decode()
    assert "Votre opposition à la création de votre espace est enregistrée" in page
    assert "Un courriel de confirmation vous a été envoyé" in page


def test_without_a_known_address_no_mail_is_sent(client, django_capture_on_commit_callbacks):
    citizen = notified_citizen(contact_email="")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(OPPOSE, by_ins(citizen))
    citizen.refresh_from_db()
    assert citizen.status == CitizenStatus.OPPOSED
    assert mail.outbox == []
    assert "Un courriel de confirmation" not in client.get(DONE).content.decode()


def test_objecting_twice_says_it_is_already_recorded(client, django_capture_on_commit_callbacks):
    citizen = notified_citizen(status=CitizenStatus.OPPOSED, opposed_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(OPPOSE, by_ins(citizen))
    assert response["Location"] == DONE
    assert "était déjà enregistrée" in client.get(DONE).content.decode()
    assert mail.outbox == []
    assert not JournalEntry.objects.filter(action="compte.espace.oppose").exists()


def test_after_automatic_creation_the_person_is_told_to_close_instead(client):
    citizen = notified_citizen(status=CitizenStatus.CREATED_AUTOMATICALLY, auto_created_at=timezone.now())
    response = client.post(OPPOSE, by_ins(citizen))
    assert response.status_code == 200
    assert "il n’est plus possible de s’opposer à sa création" in response.content.decode()
    citizen.refresh_from_db()
    assert citizen.status == CitizenStatus.CREATED_AUTOMATICALLY


def test_wrong_code_and_unknown_person_get_the_same_page(client):
    citizen = notified_citizen()
    wrong = client.post(OPPOSE, by_ins(citizen, WRONG_CODE))
    unknown = client.post(OPPOSE, {"ins": unknown_ins(), "code": CODE})
    assert GENERIC_ERROR in wrong.content.decode()
    assert without_echoed_values(wrong) == without_echoed_values(unknown)
    citizen.refresh_from_db()
    assert (citizen.status, citizen.code_failures) == (CitizenStatus.NOTIFIED, 1)


def test_the_same_5_tries_lock_the_code_for_opposition_too(client):
    citizen = notified_citizen(code_failures=4)
    client.post(OPPOSE, by_ins(citizen, WRONG_CODE))
    response = client.post(OPPOSE, by_ins(citizen))
    assert GENERIC_ERROR in response.content.decode()
    citizen.refresh_from_db()
    assert (citizen.status, citizen.code_failures) == (CitizenStatus.NOTIFIED, 5)


def test_an_activated_space_cannot_be_objected_to(client, citizen):
    response = client.post(OPPOSE, by_ins(citizen))
    assert GENERIC_ERROR in response.content.decode()
    citizen.refresh_from_db()
    assert citizen.status == CitizenStatus.ACTIVATED


def test_objected_then_changed_mind_and_activated(client):
    citizen = notified_citizen()
    client.post(OPPOSE, by_ins(citizen))
    assert client.post("/activer/", by_ins(citizen))["Location"] == "/activer/identifiants/"
    password = "Une-phrase-de-passe-solide-2026"
    client.post("/activer/identifiants/", {"email": "c@exemple.fr", "password1": password, "password2": password})
    citizen.refresh_from_db()
    assert citizen.status == CitizenStatus.ACTIVATED
    actions = list(JournalEntry.objects.filter(citizen=citizen).order_by("seq").values_list("action", flat=True))
    assert actions == ["compte.espace.oppose", "compte.espace.active", "compte.connexion"]


def test_opposition_is_rate_limited_per_ip(client, settings):
    settings.SPACE_CODE_RATE_LIMIT = "3/10m/ip"
    citizen = notified_citizen()
    for _ in range(3):
        client.post(OPPOSE, by_ins(citizen, WRONG_CODE))
    assert client.post(OPPOSE, by_ins(citizen)).status_code == 429
    citizen.refresh_from_db()
    assert citizen.status == CitizenStatus.NOTIFIED
