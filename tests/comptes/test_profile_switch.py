"""A parent opens a minor child's space from the header; nobody else can, and every switch is journaled."""

import pytest
from dateutil.relativedelta import relativedelta
from django.urls import reverse
from django.utils import timezone

from mes.acces.models import JournalEntry
from mes.acces.policy import may_act_for
from mes.comptes.selectors.profiles import ACTIVE_PROFILE_SESSION_KEY
from tests.factories import CitizenFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/profil/"


@pytest.fixture
def child(citizen):
    """Léa, Camille's 8-year-old daughter: no account of her own, Camille is her legal representative."""
    lea = CitizenFactory(
        user=None,
        first_names="Léa Anne",
        birth_name="DURAND",
        birth_date=timezone.localdate() - relativedelta(years=8),
    )
    lea.legal_representatives.add(citizen.user)
    return lea


def _switch(client, target):
    return client.post(URL, {"citizen": str(target.public_id)})


def test_parent_opens_the_child_space_and_comes_back(client, citizen, child):
    client.force_login(citizen.user)

    response = _switch(client, child)

    assert response.status_code == 302 and response["Location"] == reverse("citizen_home")
    assert client.session[ACTIVE_PROFILE_SESSION_KEY] == str(child.public_id)
    home = client.get("/").content.decode()
    assert "Vous consultez l’espace de Léa DURAND" in home
    assert child.ins in home and citizen.ins not in home
    assert "Revenir à mon espace" in home
    entry = JournalEntry.objects.get(action="compte.profil.bascule")
    assert (entry.actor, entry.citizen_id, entry.object_id) == (citizen.user, child.pk, str(child.public_id))
    # The child's space shows who opened it.
    assert "Ouverture de l’espace par un représentant légal" in home

    response = _switch(client, citizen)

    assert response.status_code == 302
    assert ACTIVE_PROFILE_SESSION_KEY not in client.session
    home = client.get("/").content.decode()
    assert "Vous consultez" not in home and citizen.ins in home
    assert JournalEntry.objects.filter(action="compte.profil.bascule").count() == 1  # coming back is no access


def test_header_offers_the_switch_to_a_parent_only(client, citizen, other_citizen, child):
    client.force_login(citizen.user)
    home = client.get("/").content.decode()
    assert "Espace affiché" in home and f'value="{child.public_id}"' in home
    assert "Ouvrir l’espace de Léa" in home
    client.force_login(other_citizen.user)
    home = client.get("/").content.decode()
    assert "Espace affiché" not in home and str(child.public_id) not in home


def test_another_citizen_cannot_switch_to_someone_elses_child(client, other_citizen, child):
    client.force_login(other_citizen.user)

    response = _switch(client, child)

    assert response.status_code == 403
    assert ACTIVE_PROFILE_SESSION_KEY not in client.session
    assert child.ins not in client.get("/").content.decode()
    refused = JournalEntry.objects.get(citizen=child)
    assert (refused.action, refused.actor) == ("compte.profil.bascule_refusee", other_citizen.user)


def test_another_citizen_cannot_switch_to_an_adult_space(client, citizen, other_citizen):
    client.force_login(other_citizen.user)
    assert _switch(client, citizen).status_code == 403


@pytest.mark.parametrize("value", ["", "pas-un-uuid", "00000000-0000-0000-0000-000000000000"])
def test_garbage_or_unknown_ids_are_refused_alike(client, citizen, value):
    client.force_login(citizen.user)
    assert client.post(URL, {"citizen": value}).status_code == 403


def test_a_session_pointing_to_a_space_no_longer_represented_falls_back(client, citizen, child):
    client.force_login(citizen.user)
    _switch(client, child)
    child.legal_representatives.clear()
    home = client.get("/").content.decode()
    assert "Vous consultez" not in home and citizen.ins in home
    assert ACTIVE_PROFILE_SESSION_KEY not in client.session


def test_choice_page_lists_the_spaces(client, citizen, child):
    client.force_login(citizen.user)
    page = client.get(URL).content.decode()
    assert "Mon espace" in page and "Espace de Léa DURAND" in page


@pytest.mark.parametrize("method", ["get", "post"])
def test_only_citizens_reach_the_switch(client, persona_users, child, method):
    response = getattr(client, method)(URL, {"citizen": str(child.public_id)} if method == "post" else None)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    for role, user in persona_users.items():
        if role == "citizen":
            continue
        client.force_login(user)
        response = getattr(client, method)(URL, {"citizen": str(child.public_id)} if method == "post" else None)
        assert response.status_code == 403, role


def test_may_act_for(citizen, other_citizen, child, professional):
    assert may_act_for(citizen.user, citizen)
    assert may_act_for(citizen.user, child)
    assert not may_act_for(other_citizen.user, child)
    assert not may_act_for(other_citizen.user, citizen)
    assert not may_act_for(professional.user, child)
    assert not may_act_for(citizen.user, None)
    child.legal_representatives.add(professional.user)
    assert not may_act_for(professional.user, child)  # only citizen accounts act for a citizen
    citizen.user.is_active = False
    assert not may_act_for(citizen.user, child)


def test_a_representative_no_longer_acts_for_a_child_who_came_of_age(citizen, child):
    child.birth_date = timezone.localdate() - relativedelta(years=18)
    child.save(update_fields=["birth_date"])
    assert not may_act_for(citizen.user, child)  # even before the daily job removes the link
    child.birth_date += relativedelta(days=1)
    child.save(update_fields=["birth_date"])
    assert may_act_for(citizen.user, child)


def test_anonymous_user_acts_for_nobody(child):
    from django.contrib.auth.models import AnonymousUser

    assert not may_act_for(AnonymousUser(), child)
    assert not may_act_for(UserFactory.build(is_active=True), child)
