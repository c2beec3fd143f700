"""The page /agenda/prevention/ and its actions: content, who may open it, another citizen's key date (404)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.urls import reverse
from django.utils import timezone

from agenda.models import PreventionDate
from agenda.services.prevention import (
    PREVENTION_DISMISSED,
    PREVENTION_DONE,
    PREVENTION_REOPENED,
    prevention_dates_refresh_citizen,
)
from agenda.views.prevention import long_day, window_text
from mes.acces.journal import action_label
from mes.acces.models import JournalEntry
from mes.comptes.models import Citizen
from mes.comptes.selectors.profiles import ACTIVE_PROFILE_SESSION_KEY
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/agenda/prevention/"
ACTIONS = ["prevention_done", "prevention_dismiss", "prevention_reopen"]


@pytest.fixture
def key_dates(citizen):
    """Camille's key dates for today (46 in 2026: cervical screening, the booster of 45, Mon bilan prévention)."""
    prevention_dates_refresh_citizen(citizen=citizen)
    rows = list(PreventionDate.objects.filter(citizen=citizen).order_by("due_from"))
    assert rows, "the citizen persona should have key dates today"
    return rows


def booster(citizen) -> PreventionDate:
    return PreventionDate.objects.get(citizen=citizen, programme="rappel-dtp")


def test_window_is_written_the_french_way():
    row = PreventionDate(due_from=date(2027, 3, 3), due_until=date(2029, 3, 2))
    assert window_text(row) == "entre le 3 mars 2027 et le 2 mars 2029"
    row = PreventionDate(due_from=date(2027, 3, 1), due_until=None)
    assert window_text(row) == "à partir du 1er mars 2027"
    assert long_day(date(2026, 1, 1)) == "1er janvier 2026"


def test_anonymous_visitors_are_sent_to_sign_in(client, key_dates):
    response = client.get(LIST_URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    for name in ACTIONS:
        response = client.post(reverse(name, args=[key_dates[0].public_id]))
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert set(PreventionDate.objects.values_list("status", flat=True)) == {"pending"}


@pytest.mark.parametrize("role", ["professional", "editor", "commission", "admin"])
def test_other_roles_are_refused(client, persona_users, key_dates, role):
    client.force_login(persona_users[role])
    assert client.get(LIST_URL).status_code == 403
    for name in ACTIONS:
        assert client.post(reverse(name, args=[key_dates[0].public_id])).status_code == 403
    assert set(PreventionDate.objects.values_list("status", flat=True)) == {"pending"}


@pytest.mark.parametrize("name", ACTIONS)
def test_another_citizens_key_date_answers_404_and_nothing_changes(client, citizen, other_citizen, key_dates, name):
    row = key_dates[0]
    if name == "prevention_reopen":
        PreventionDate.objects.filter(pk=row.pk).update(status="done")
    before = PreventionDate.objects.get(pk=row.pk).status
    client.force_login(other_citizen.user)
    assert client.post(reverse(name, args=[row.public_id])).status_code == 404
    assert PreventionDate.objects.get(pk=row.pk).status == before
    assert not JournalEntry.objects.filter(action__startswith="agenda.prevention").exists()
    # Nor does it show on the other citizen's page.
    assert str(row.public_id) not in client.get(LIST_URL).content.decode()


def test_an_unknown_key_date_answers_404_and_actions_are_post_only(client, citizen, key_dates):
    client.force_login(citizen.user)
    assert client.post(reverse("prevention_done", args=["00000000-0000-0000-0000-000000000000"])).status_code == 404
    for name in ACTIONS:
        assert client.get(reverse(name, args=[key_dates[0].public_id])).status_code == 405
    assert client.post(LIST_URL).status_code == 405


def test_the_page_shows_the_pending_key_dates_with_explanation_window_link_and_buttons(client, citizen, key_dates):
    client.force_login(citizen.user)
    response = client.get(LIST_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Dates clés de prévention</h1>" in html
    # Breadcrumbs: Mon espace › Agenda › Dates clés de prévention.
    crumbs = re.search(r'<ol class="fr-breadcrumb__list">(.*?)</ol>', html, re.S).group(1)
    assert re.findall(r">([^<>]+)</a>", crumbs) == ["Mon espace", "Agenda", "Dates clés de prévention"]
    assert f'href="{reverse("agenda_home")}"' in crumbs
    row = booster(citizen)
    assert "Rappel de vaccination diphtérie, tétanos, poliomyélite" in html
    assert "Rappel de 45 ans" in html
    assert f"entre le {long_day(row.due_from)} et le {long_day(row.due_until)}" in html
    assert "Le rappel de 25 ans protège aussi contre la coqueluche." in html
    link = re.search(r'<a class="fr-link" href="https://sante\.gouv\.fr/[^"]*"[^>]*>', html).group(0)
    assert 'target="_blank"' in link and 'rel="noopener"' in link
    assert 'title="Le calendrier des vaccinations (ministère de la Santé) — nouvelle fenêtre"' in link
    for key in key_dates:
        assert reverse("prevention_done", args=[key.public_id]) in html
        assert reverse("prevention_dismiss", args=[key.public_id]) in html
    assert html.count("C’est fait<span") == len(key_dates)
    assert html.count("Ne plus afficher<span") == len(key_dates)
    # Where the rules come from, and the table's version.
    assert "version 2026.1 du 15 janvier 2026" in html
    assert "programmes nationaux de prévention et de dépistage" in html
    assert "Remettre à faire" not in html


def test_marking_done_dismissing_and_reopening(client, citizen, key_dates):
    client.force_login(citizen.user)
    row = booster(citizen)
    response = client.post(reverse("prevention_done", args=[row.public_id]), follow=True)
    assert response.redirect_chain == [(LIST_URL, 302)]
    row.refresh_from_db()
    assert row.status == "done" and row.status_changed_at is not None
    html = response.content.decode()
    assert "« Rappel de vaccination diphtérie, tétanos, poliomyélite » est noté comme fait." in html
    assert "Faites ou masquées" in html
    assert f"Fait, noté le {long_day(timezone.localdate())}" in html
    assert reverse("prevention_reopen", args=[row.public_id]) in html
    assert reverse("prevention_done", args=[row.public_id]) not in html

    client.post(reverse("prevention_reopen", args=[row.public_id]))
    row.refresh_from_db()
    assert row.status == "pending"
    client.post(reverse("prevention_dismiss", args=[row.public_id]))
    row.refresh_from_db()
    assert row.status == "dismissed"
    assert "Masqué le" in client.get(LIST_URL).content.decode()

    entries = list(JournalEntry.objects.filter(citizen=citizen, action__startswith="agenda.prevention").order_by("seq"))
    assert [entry.action for entry in entries] == [PREVENTION_DONE, PREVENTION_REOPENED, PREVENTION_DISMISSED]
    assert all(entry.actor_id == citizen.user_id and entry.object_id == str(row.public_id) for entry in entries)
    assert entries[0].details == {"programme": "rappel-dtp", "occurrence": "45", "from": "pending", "to": "done"}
    assert action_label(PREVENTION_DONE) == "Date clé de prévention marquée comme faite"
    assert action_label(PREVENTION_DISMISSED) == "Date clé de prévention masquée"
    assert action_label(PREVENTION_REOPENED) == "Date clé de prévention remise à faire"


def test_a_second_click_changes_and_journals_nothing(client, citizen, key_dates):
    client.force_login(citizen.user)
    row = booster(citizen)
    client.post(reverse("prevention_done", args=[row.public_id]))
    client.post(reverse("prevention_done", args=[row.public_id]))
    assert JournalEntry.objects.filter(action=PREVENTION_DONE).count() == 1


def test_a_past_key_date_stays_in_the_history_and_cannot_be_reopened(client, citizen, key_dates):
    past = PreventionDate.objects.create(
        citizen=citizen,
        programme="rappel-dtp",
        occurrence="25",
        due_from=date(2005, 5, 17),
        due_until=date(2025, 5, 16),
        status="done",
        status_changed_at=timezone.now() - timedelta(days=400),
        table_version="2026.1",
    )
    client.force_login(citizen.user)
    html = client.get(LIST_URL).content.decode()
    assert "Rappel de 25 ans" in html
    assert reverse("prevention_reopen", args=[past.public_id]) not in html
    response = client.post(reverse("prevention_reopen", args=[past.public_id]), follow=True)
    assert "Cette date clé est passée ou ne vous concerne plus" in response.content.decode()
    past.refresh_from_db()
    assert past.status == "done"
    assert not JournalEntry.objects.filter(action=PREVENTION_REOPENED).exists()


def test_a_programme_that_left_the_table_is_still_named_in_the_history(client, citizen, key_dates):
    PreventionDate.objects.create(
        citizen=citizen,
        programme="ancien-programme",
        occurrence="40",
        due_from=date(2020, 5, 17),
        due_until=date(2021, 5, 16),
        status="dismissed",
        table_version="2025.1",
    )
    client.force_login(citizen.user)
    response = client.get(LIST_URL)
    assert response.status_code == 200
    assert "Programme « ancien-programme » (retiré du référentiel)" in response.content.decode()


def test_everything_done_shows_that_there_is_nothing_to_do(client, citizen, key_dates):
    PreventionDate.objects.filter(citizen=citizen).update(status="done", status_changed_at=timezone.now())
    client.force_login(citizen.user)
    html = client.get(LIST_URL).content.decode()
    assert "Rien à faire pour le moment" in html and "Faites ou masquées" in html


def test_a_person_concerned_by_no_programme_sees_a_friendly_empty_state(client, citizen):
    Citizen.objects.filter(pk=citizen.pk).update(birth_date=timezone.localdate() - relativedelta(years=1))
    citizen.refresh_from_db()
    prevention_dates_refresh_citizen(citizen=citizen)
    assert not PreventionDate.objects.filter(citizen=citizen).exists()
    client.force_login(citizen.user)
    response = client.get(LIST_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Aucune date clé de prévention pour le moment" in html
    assert "Vous n’avez rien à faire" in html
    assert "version 2026.1" in html


def test_a_legal_representative_manages_the_childs_key_dates(client, citizen):
    child = CitizenFactory(
        user=None, first_names="Léa", birth_name="DURAND", birth_date=timezone.localdate() - relativedelta(years=8)
    )
    child.legal_representatives.add(citizen.user)
    prevention_dates_refresh_citizen(citizen=child)
    dental = PreventionDate.objects.get(citizen=child, programme="mt-dents")
    client.force_login(citizen.user)
    session = client.session
    session[ACTIVE_PROFILE_SESSION_KEY] = str(child.public_id)
    session.save()
    html = client.get(LIST_URL).content.decode()
    assert "Agenda de Léa DURAND — vous agissez en tant que représentant légal." in html
    assert "M’T dents, l’examen bucco-dentaire de prévention" in html
    assert client.post(reverse("prevention_done", args=[dental.public_id])).status_code == 302
    dental.refresh_from_db()
    assert dental.status == "done"
    entry = JournalEntry.objects.get(action=PREVENTION_DONE)
    assert (entry.citizen_id, entry.actor_id) == (child.pk, citizen.user_id)
