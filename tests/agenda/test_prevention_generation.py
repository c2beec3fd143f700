"""Generation of the prevention key dates: idempotent, never duplicated, what the person did is kept, obsolete pending
rows go (profile corrected, new table version, space closed), the one-person and range paths agree, the signal, the
nightly task, and the deletion of a closed space's content."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agenda import prevention as prevention_module
from agenda.models import Event, Feed, PreventionDate, Task
from agenda.prevention import DEFAULT_TABLE_PATH, table_load
from agenda.services.prevention import (
    CHUNK_SIZE,
    SPACE_STATUSES,
    prevention_date_dismiss,
    prevention_date_mark_done,
    prevention_dates_compute,
    prevention_dates_refresh_citizen,
    prevention_dates_refresh_range,
)
from agenda.tasks import prevention_dates_compute as prevention_task
from mes.comptes.events import space_content_deleting
from mes.comptes.models import Citizen, CitizenStatus
from mes.comptes.services.lifecycle import citizen_transition
from tests.agenda.test_prevention_rules import BREAST, CERVICAL, COLORECTAL, key_dates, person
from tests.factories import CitizenFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 4, 1)


def snapshot(citizen_ids) -> list[tuple]:
    return sorted(
        PreventionDate.objects.filter(citizen_id__in=citizen_ids).values_list(
            "citizen_id", "programme", "occurrence", "due_from", "due_until", "status", "table_version", "public_id"
        )
    )


def second_table(tmp_path: Path, change) -> prevention_module.PreventionTable:
    """A new version of the table: the file in force, changed by ``change(data)``, loaded from ``tmp_path``."""
    data = yaml.safe_load(DEFAULT_TABLE_PATH.read_text(encoding="utf-8"))
    data["version"] = "2026.2"
    change(data)
    path = tmp_path / "prevention-2026.2.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return table_load(path)


def test_two_runs_give_the_same_rows_and_the_second_writes_nothing():
    people = [person(born=date(1971, 1, 10), sex="F"), person(born=date(2015, 5, 5), sex="M")]
    ids = [p.pk for p in people]
    first = prevention_dates_refresh_range(first_id=min(ids), last_id=max(ids), today=TODAY)
    rows = snapshot(ids)
    assert first.created == len(rows) > 0
    second = prevention_dates_refresh_range(first_id=min(ids), last_id=max(ids), today=TODAY)
    assert (second.created, second.updated, second.removed) == (0, 0, 0)
    assert snapshot(ids) == rows  # same rows, same public ids: nothing rewritten, nothing duplicated


def test_status_of_existing_rows_is_kept_across_regeneration():
    woman = person(born=date(1971, 1, 10), sex="F")
    key_dates(woman, TODAY)
    access = citizen_access_for(woman)
    done = PreventionDate.objects.get(citizen=woman, programme=BREAST)
    dismissed = PreventionDate.objects.get(citizen=woman, programme=COLORECTAL)
    prevention_date_mark_done(access=access, prevention_date=done)
    prevention_date_dismiss(access=access, prevention_date=dismissed)
    prevention_dates_refresh_citizen(citizen=woman, today=TODAY)
    prevention_dates_refresh_citizen(citizen=woman, today=TODAY + timedelta(days=30))
    assert PreventionDate.objects.get(pk=done.pk).status == "done"
    assert PreventionDate.objects.get(pk=dismissed.pk).status == "dismissed"
    assert PreventionDate.objects.filter(citizen=woman, programme=BREAST).count() == 1


def citizen_access_for(citizen: Citizen):
    """The person's side of a citizen without an account: their legal representative's access is the same kind."""
    from mes.acces.policy import ACCESS_CITIZEN, CitizenAccess

    return CitizenAccess(actor=None, citizen=citizen, kind=ACCESS_CITIZEN)


def test_a_window_that_has_passed_gives_way_to_the_next_and_done_rows_stay_as_history():
    woman = person(born=date(1976, 3, 10), sex="F")
    key_dates(woman, date(2026, 3, 10))
    first = PreventionDate.objects.get(citizen=woman, programme=BREAST)
    prevention_date_mark_done(access=citizen_access_for(woman), prevention_date=first)
    colorectal_first = PreventionDate.objects.get(citizen=woman, programme=COLORECTAL)
    assert key_dates(woman, date(2028, 3, 10))[BREAST][0] == "52"
    assert PreventionDate.objects.get(pk=first.pk).status == "done"  # history
    # The pending colorectal window that has passed is gone, replaced by the next one.
    assert not PreventionDate.objects.filter(pk=colorectal_first.pk).exists()
    assert PreventionDate.objects.get(citizen=woman, programme=COLORECTAL).occurrence == "52"


def test_a_birth_date_correction_removes_and_moves_pending_rows_and_keeps_done_ones():
    woman = person(born=date(1971, 1, 10), sex="F")
    before = key_dates(woman, TODAY)
    assert BREAST in before
    done = PreventionDate.objects.get(citizen=woman, programme=COLORECTAL)
    prevention_date_mark_done(access=citizen_access_for(woman), prevention_date=done)
    cervical = PreventionDate.objects.get(citizen=woman, programme=CERVICAL)
    # Born three months later than recorded: the same cervical occurrence (52), with moved dates, same row.
    Citizen.objects.filter(pk=woman.pk).update(birth_date=date(1971, 4, 10))
    woman.refresh_from_db()
    after = key_dates(woman, TODAY)
    moved = PreventionDate.objects.get(pk=cervical.pk)
    assert (moved.occurrence, moved.due_from, moved.due_until) == ("52", date(2023, 4, 10), date(2028, 4, 9))
    assert after[CERVICAL] == ("52", date(2023, 4, 10), date(2028, 4, 9))
    # Born in 1990 in fact: no screening by age any more; the done row stays, the pending breast row goes.
    Citizen.objects.filter(pk=woman.pk).update(birth_date=date(1990, 1, 10))
    woman.refresh_from_db()
    after = key_dates(woman, TODAY)
    assert BREAST not in after
    assert not PreventionDate.objects.filter(citizen=woman, programme=BREAST).exists()
    assert PreventionDate.objects.get(pk=done.pk).status == "done"
    assert after[CERVICAL][0] == "32"


def test_a_sex_correction_removes_the_programmes_that_no_longer_apply():
    citizen = person(born=date(1971, 1, 10), sex="F")
    assert {BREAST, CERVICAL, COLORECTAL} <= set(key_dates(citizen, TODAY))
    Citizen.objects.filter(pk=citizen.pk).update(sex="M")
    after = key_dates(citizen, TODAY)
    assert BREAST not in after and CERVICAL not in after and COLORECTAL in after
    Citizen.objects.filter(pk=citizen.pk).update(sex="I")  # indéterminé: the programmes for all
    assert set(key_dates(citizen, TODAY)) == set(after)


def test_a_new_table_version_removes_pending_rows_of_a_removed_or_changed_programme(tmp_path, monkeypatch):
    woman = person(born=date(1971, 1, 10), sex="F")
    key_dates(woman, TODAY)
    kept = PreventionDate.objects.get(citizen=woman, programme=COLORECTAL)
    prevention_date_mark_done(access=citizen_access_for(woman), prevention_date=kept)

    def change(data):
        # Breast screening removed; colorectal screening every 3 years from 50 (a different occurrence today);
        # the cervical programme unchanged.
        data["programmes"] = [p for p in data["programmes"] if p["code"] != BREAST]
        colorectal = next(p for p in data["programmes"] if p["code"] == COLORECTAL)
        colorectal["schedule"]["windows"] = [{"from": 50, "to": 74, "every": 3}]

    new = second_table(tmp_path, change)
    counts = prevention_dates_refresh_citizen(citizen=woman, today=TODAY, table=new)
    rows = {row.programme: row for row in PreventionDate.objects.filter(citizen=woman)}
    assert BREAST not in rows  # pending, of a removed programme: deleted
    # The done colorectal row (54) is history; the new rule's occurrence (53) is a new pending row.
    assert PreventionDate.objects.get(pk=kept.pk).status == "done"
    new_colorectal = PreventionDate.objects.get(citizen=woman, programme=COLORECTAL, status="pending")
    assert (new_colorectal.occurrence, new_colorectal.table_version) == ("53", "2026.2")
    # Unchanged windows stay the same rows, now under the new version.
    assert rows[CERVICAL].table_version == "2026.2"
    assert counts.removed == 1 and counts.created == 1
    # Once the new table is in force, the removed programme is unknown to the rows that remain.
    monkeypatch.setattr(prevention_module, "_current", new)
    assert PreventionDate.objects.get(pk=kept.pk).programme_info.code == COLORECTAL
    done_breast = PreventionDate(citizen=woman, programme=BREAST, occurrence="54", due_from=TODAY, table_version="x")
    assert done_breast.programme_info is None


def test_citizen_path_and_range_path_give_identical_rows():
    rng = random.Random(7)
    people = []
    for _index in range(60):
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(95 * 365))
        if rng.random() < 0.1:
            born = date(rng.choice([1956, 1976, 2000, 2020]), 2, 29)
        people.append(person(born=born, sex=rng.choice("FMI")))
    people.append(person(born=date(1970, 1, 1), status=CitizenStatus.OPPOSED))
    ids = [p.pk for p in people]
    for today in (TODAY, date(2028, 2, 29)):
        PreventionDate.objects.filter(citizen_id__in=ids).delete()
        prevention_dates_refresh_range(first_id=min(ids), last_id=max(ids), today=today)
        by_range = [row[:-1] for row in snapshot(ids)]
        PreventionDate.objects.filter(citizen_id__in=ids).delete()
        for citizen in people:
            prevention_dates_refresh_citizen(citizen=citizen, today=today)
        assert [row[:-1] for row in snapshot(ids)] == by_range
        assert len(by_range) > 60


@pytest.mark.parametrize(
    "status",
    [CitizenStatus.IMPORTED, CitizenStatus.NOTIFIED, CitizenStatus.OPPOSED, CitizenStatus.CLOSED],
)
def test_people_without_a_space_get_nothing(status):
    assert key_dates(person(born=date(1971, 1, 10), status=status), TODAY) == {}


def test_spaces_created_automatically_get_their_key_dates():
    citizen = person(born=date(1971, 1, 10), status=CitizenStatus.CREATED_AUTOMATICALLY)
    assert COLORECTAL in key_dates(citizen, TODAY)
    assert set(SPACE_STATUSES) == {status for status in CitizenStatus.values if Citizen(status=status).has_space}


def test_closing_a_space_removes_its_pending_rows_and_keeps_the_history():
    citizen = person(born=date(1971, 1, 10))
    key_dates(citizen, TODAY)
    done = PreventionDate.objects.get(citizen=citizen, programme=COLORECTAL)
    prevention_date_mark_done(access=citizen_access_for(citizen), prevention_date=done)
    Citizen.objects.filter(pk=citizen.pk).update(status=CitizenStatus.CLOSED, closed_at=timezone.now())
    assert key_dates(citizen, TODAY) == {}
    assert list(PreventionDate.objects.filter(citizen=citizen).values_list("pk", flat=True)) == [done.pk]


def test_the_range_refresh_touches_only_its_range():
    inside, outside = person(born=date(1971, 1, 10)), person(born=date(1971, 1, 10))
    prevention_dates_refresh_range(first_id=inside.pk, last_id=inside.pk, today=TODAY)
    assert PreventionDate.objects.filter(citizen=inside).exists()
    assert not PreventionDate.objects.filter(citizen=outside).exists()


def test_the_range_refresh_refuses_bad_ranges():
    with pytest.raises(ValueError):
        prevention_dates_refresh_range(first_id=10, last_id=9, today=TODAY)
    with pytest.raises(ValueError):
        prevention_dates_refresh_range(first_id=0, last_id=CHUNK_SIZE * 1000, today=TODAY)


def test_the_job_walks_every_chunk_and_resumes_where_it_stopped():
    people = [person(born=date(1950 + 5 * n, 6, 1), sex="FM"[n % 2]) for n in range(8)]
    ids = [p.pk for p in people]
    whole = prevention_dates_compute(today=TODAY)
    assert whole.finished and whole.chunks >= 1
    expected = [row[:-1] for row in snapshot(ids)]
    PreventionDate.objects.filter(citizen_id__in=ids).delete()
    stopped = prevention_dates_compute(today=TODAY, chunk_size=2, max_seconds=0)
    assert (stopped.finished, stopped.chunks, stopped.next_id) == (
        False,
        0,
        min(Citizen.objects.values_list("pk", flat=True)) // 2 * 2,
    )
    resumed = prevention_dates_compute(today=TODAY, chunk_size=2, start_id=stopped.next_id)
    assert resumed.finished and resumed.chunks >= len(ids) // 2
    assert [row[:-1] for row in snapshot(ids)] == expected
    again = prevention_dates_compute(today=TODAY, chunk_size=3)
    assert (again.created, again.updated, again.removed) == (0, 0, 0)


def test_the_nightly_task_runs_inline_and_is_idempotent():
    citizen = person(born=date(1971, 1, 10))
    result = prevention_task.delay(today="2026-04-01").get()
    assert result["finished"] is True and result["created"] >= 1
    rows = snapshot([citizen.pk])
    assert prevention_task.apply(kwargs={"today": "2026-04-01"}).get()["created"] == 0
    assert snapshot([citizen.pk]) == rows
    # Without a day, the task computes for today in Paris.
    prevention_task.delay()
    assert PreventionDate.objects.filter(citizen=citizen, due_until__gte=timezone.localdate()).exists()


def test_the_task_is_declared_for_celery_as_the_beat_schedule_names_it():
    from mes.celery import app

    assert prevention_task.name == "agenda.tasks.prevention_dates_compute"
    assert prevention_task.acks_late and prevention_task.reject_on_worker_lost and prevention_task.time_limit
    assert any(entry["task"] == prevention_task.name for entry in app.conf.beat_schedule.values())


# --- The signal: a profile or space change refreshes the person after the commit ----------------------------------


def test_a_new_space_gets_its_key_dates_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        citizen = CitizenFactory(user=None, birth_date=timezone.localdate() - timedelta(days=52 * 365), sex="F")
    assert PreventionDate.objects.filter(citizen=citizen, programme=BREAST).exists()


def test_a_birth_date_or_sex_change_refreshes_after_commit(django_capture_on_commit_callbacks):
    today = timezone.localdate()
    citizen = CitizenFactory(user=None, birth_date=today - timedelta(days=52 * 365), sex="F")
    prevention_dates_refresh_citizen(citizen=citizen)
    assert PreventionDate.objects.filter(citizen=citizen, programme=BREAST).exists()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        citizen.sex = "M"
        citizen.save(update_fields=["sex"])
    assert len(callbacks) == 1
    assert not PreventionDate.objects.filter(citizen=citizen, programme=BREAST).exists()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        citizen.birth_date = today - timedelta(days=20 * 365)
        citizen.save()
    assert len(callbacks) == 1
    assert not PreventionDate.objects.filter(citizen=citizen, programme=COLORECTAL).exists()


def test_other_changes_do_not_refresh(django_capture_on_commit_callbacks):
    citizen = CitizenFactory(user=None)
    with django_capture_on_commit_callbacks() as callbacks:
        citizen.contact_phone = "0601020304"
        citizen.save(update_fields=["contact_phone"])
        citizen.save()  # nothing changed
    assert callbacks == []


def test_nothing_is_refreshed_when_the_change_is_rolled_back(django_capture_on_commit_callbacks):
    citizen = CitizenFactory(user=None, birth_date=date(1971, 1, 10), sex="F")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        citizen.sex = "M"
        citizen.save(update_fields=["sex"])
    assert len(callbacks) == 1  # registered for the commit only, and not run here
    assert not PreventionDate.objects.filter(citizen=citizen).exists()


def test_closing_a_space_through_the_lifecycle_refreshes(django_capture_on_commit_callbacks):
    citizen = CitizenFactory(user=None, birth_date=timezone.localdate() - timedelta(days=52 * 365), sex="F")
    prevention_dates_refresh_citizen(citizen=citizen)
    assert PreventionDate.objects.filter(citizen=citizen).exists()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        citizen_transition(citizen=citizen, to=CitizenStatus.CLOSED, actor=None, closure_reason="person")
    assert len(callbacks) == 1
    assert not PreventionDate.objects.filter(citizen=citizen).exists()


def test_a_closed_space_whose_content_is_deleted_loses_its_agenda():
    citizen = CitizenFactory(user=None, birth_date=date(1971, 1, 10))
    other = CitizenFactory(user=None, birth_date=date(1971, 1, 10))
    for someone in (citizen, other):
        prevention_dates_refresh_citizen(citizen=someone, today=TODAY)
        Task.objects.create(citizen=someone, uid=f"t-{someone.pk}@test", title="Prendre rendez-vous")
        Event.objects.create(
            citizen=someone,
            uid=f"e-{someone.pk}@test",
            title="Consultation",
            starts_at=timezone.now(),
            ends_at=timezone.now() + timedelta(hours=1),
        )
        Feed.objects.create(citizen=someone, token_hash=f"{someone.pk:064d}", created_by=UserFactory())
    space_content_deleting.send(sender=Citizen, citizen_ids=[citizen.pk])
    for model in (PreventionDate, Task, Event, Feed):
        assert not model.objects.filter(citizen=citizen).exists(), model
        assert model.objects.filter(citizen=other).exists(), model


def test_the_generation_is_one_statement_per_chunk():
    people = [person(born=date(1940 + n, 1, 1)) for n in range(30)]
    ids = [p.pk for p in people]
    with CaptureQueriesContext(connection) as context:
        prevention_dates_refresh_range(first_id=min(ids), last_id=max(ids), today=TODAY)
    statements = [q["sql"] for q in context.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    # The advisory lock of the chunk, then one statement, whatever the number of people.
    assert len(statements) == 2
    assert "pg_advisory_xact_lock" in statements[0]
    assert PreventionDate.objects.filter(citizen_id__in=ids).count() > 30
