"""Majority: at 18 the representatives lose access, once, with one journal row per child."""

from datetime import date

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from mes.acces.journal import action_label
from mes.acces.models import JournalEntry
from mes.celery import app
from mes.comptes.services.majority import majority_release
from mes.comptes.tasks.majority import majority_release_daily
from tests.factories import CitizenFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 15)


def _child(born: date, *representatives):
    child = CitizenFactory(user=None, first_names="Léa", birth_name="DURAND", birth_date=born)
    child.legal_representatives.add(*representatives)
    return child


def test_born_exactly_18_years_ago_is_due_one_day_short_is_not(citizen):
    due = _child(date(2008, 6, 15), citizen.user)
    not_due = _child(date(2008, 6, 16), citizen.user)

    assert majority_release(today=TODAY) == 1

    assert not due.legal_representatives.exists()
    assert list(not_due.legal_representatives.all()) == [citizen.user]


def test_born_on_29_february_comes_of_age_on_1_march(citizen):
    leap = _child(date(2008, 2, 29), citizen.user)
    assert majority_release(today=date(2026, 2, 28)) == 0
    assert majority_release(today=date(2026, 3, 1)) == 1
    assert not leap.legal_representatives.exists()


def test_one_journal_row_per_child_naming_the_former_representatives(citizen, other_citizen):
    twins = [_child(date(2008, 1, 2), citizen.user, other_citizen.user) for _ in range(2)]
    adult_without_representative = CitizenFactory(birth_date=date(1990, 1, 1))

    assert majority_release(today=TODAY) == 2

    entries = JournalEntry.objects.filter(action="compte.majorite").order_by("citizen_id")
    assert [entry.citizen_id for entry in entries] == [twin.pk for twin in twins]
    for entry, twin in zip(entries, twins, strict=True):
        assert entry.actor is None and entry.actor_label == "Mon espace santé"
        assert entry.object_id == str(twin.public_id)
        assert entry.details == {
            "former_representatives": sorted([citizen.user.pk, other_citizen.user.pk]),
            "majority_on": "2026-06-15",
        }
    assert not JournalEntry.objects.filter(citizen=adult_without_representative).exists()
    assert "Majorité" in action_label("compte.majorite")


def test_idempotent(citizen):
    _child(date(2000, 1, 1), citizen.user)
    assert majority_release(today=TODAY) == 1
    assert majority_release(today=TODAY) == 0
    assert JournalEntry.objects.filter(action="compte.majorite").count() == 1


def test_parent_home_says_the_space_is_now_the_childs_own(client, citizen):
    child = _child(timezone.localdate() - relativedelta(years=18), citizen.user)
    client.force_login(citizen.user)
    assert "Ouvrir l’espace de Léa" not in client.get("/").content.decode()  # of age: no longer offered

    majority_release()

    home = client.get("/").content.decode()
    assert "L’espace de Léa DURAND est désormais le sien depuis sa majorité." in home
    assert str(child.public_id) not in home
    client.force_login(UserFactory())
    assert "désormais le sien" not in client.get("/").content.decode()


def test_daily_task_runs_the_service_and_is_scheduled(citizen):
    _child(timezone.localdate() - relativedelta(years=19), citizen.user)
    assert majority_release_daily.apply().get() == 1
    assert majority_release_daily.apply().get() == 0
    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "mes.comptes.tasks.majority_release" in schedule
    assert majority_release_daily.name in app.tasks
