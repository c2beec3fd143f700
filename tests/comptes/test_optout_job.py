"""The automatic creation job: who is created, journal rows, idempotence, chunks, crashes and concurrent runs."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, connection, connections, transaction

from mes.acces.models import JournalEntry, JournalSeal
from mes.acces.services import journal_verify_chain
from mes.celery import app
from mes.comptes.models import Citizen, ClosureReason
from mes.comptes.models import CitizenStatus as S
from mes.comptes.services import optout
from mes.comptes.services.optout import LOCK_CLASS, spaces_create_automatically, spaces_create_chunk
from mes.comptes.tasks.optout import spaces_create_automatically_task
from tests.comptes.optout_people import counts, notified_people
from tests.factories import CitizenFactory

NOW = datetime(2026, 7, 1, 1, 0, tzinfo=UTC)
NOTIFIED_AT = datetime(2026, 5, 20, 9, 0, tzinfo=UTC)
PAST, FUTURE = NOW - timedelta(days=1), NOW + timedelta(days=1)


def _person(status=S.NOTIFIED, deadline=PAST, **fields) -> Citizen:
    defaults = {"user": None, "activated_at": None, "mss_address": "", "notified_at": NOTIFIED_AT}
    return CitizenFactory(status=status, deadline=deadline, **{**defaults, **fields})


def _snapshot(citizen: Citizen) -> dict:
    return {f.attname: getattr(citizen, f.attname) for f in Citizen._meta.concrete_fields}


@pytest.mark.django_db(transaction=True)
def test_only_the_due_notified_people_are_created():
    due = _person()
    due_exactly_now = _person(deadline=NOW)
    others = [
        _person(deadline=FUTURE),
        _person(status=S.OPPOSED, opposed_at=NOW - timedelta(days=3)),
        _person(status=S.ACTIVATED, activated_at=NOW - timedelta(days=2), mss_address="x@patient.mssante.fr"),
        _person(status=S.CLOSED, closed_at=NOW - timedelta(days=2), closure_reason=ClosureReason.DEATH),
        # (A notified person always has a deadline: the database refuses one without.)
        _person(status=S.IMPORTED, deadline=None, notified_at=None),
    ]
    before = {c.pk: _snapshot(c) for c in [*others, due]}

    result = spaces_create_automatically(now=NOW)

    assert (result.created, result.finished) == (2, True)
    for citizen in (due, due_exactly_now):
        citizen.refresh_from_db()
        assert citizen.status == S.CREATED_AUTOMATICALLY
        assert citizen.auto_created_at == NOW
        assert citizen.mss_address == f"{citizen.ins}@patient.mssante.fr"
    # Nothing else changed on the created person, nothing at all on the others.
    assert _snapshot(due) == {
        **before[due.pk],
        "status": S.CREATED_AUTOMATICALLY,
        "auto_created_at": NOW,
        "mss_address": f"{due.ins}@patient.mssante.fr",
    }
    for citizen in others:
        citizen.refresh_from_db()
        assert _snapshot(citizen) == before[citizen.pk]


@pytest.mark.django_db(transaction=True)
def test_one_journal_row_per_person_like_the_lifecycle_service_and_the_chain_holds():
    people = [_person() for _ in range(5)]
    _person(deadline=FUTURE)

    spaces_create_automatically(now=NOW, chunk_size=2)

    rows = JournalEntry.objects.filter(action="compte.espace.cree_automatiquement")
    assert rows.count() == 5
    for citizen in people:
        row = rows.get(citizen_id=citizen.pk)
        assert (row.actor_id, row.actor_label) == (None, "Mon espace santé")
        assert (row.object_type, row.object_id) == ("comptes.citizen", str(citizen.public_id))
        assert row.details == {"from": "notified", "to": "created_automatically"}
    report = journal_verify_chain()
    assert report.ok, report
    assert report.checked == JournalEntry.objects.count()


@pytest.mark.django_db(transaction=True)
def test_an_mss_address_already_set_is_kept():
    citizen = _person(mss_address="ancienne@patient.mssante.fr")
    spaces_create_automatically(now=NOW)
    citizen.refresh_from_db()
    assert (citizen.status, citizen.mss_address) == (S.CREATED_AUTOMATICALLY, "ancienne@patient.mssante.fr")


@pytest.mark.django_db(transaction=True)
def test_a_second_run_creates_nobody_and_writes_nothing():
    notified_people(30, deadline=PAST, notified_at=NOTIFIED_AT)
    assert spaces_create_automatically(now=NOW, chunk_size=8).created == 30
    journal_rows, seals = JournalEntry.objects.count(), JournalSeal.objects.count()

    again = spaces_create_automatically(now=NOW, chunk_size=8)

    assert (again.created, again.chunks, again.finished) == (0, 0, True)
    assert (JournalEntry.objects.count(), JournalSeal.objects.count()) == (journal_rows, seals)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("chunk_size", [1, 7, 10, 64, 1000])
def test_chunks_cover_every_id_once_whatever_their_size(chunk_size):
    notified_people(37, deadline=PAST, notified_at=NOTIFIED_AT)
    notified_people(11, deadline=FUTURE, notified_at=NOTIFIED_AT, start=100)
    # Holes and not-due people inside the ranges.
    Citizen.objects.filter(ins__endswith="5").delete()

    result = spaces_create_automatically(now=NOW, chunk_size=chunk_size)

    due = 37 - 4  # ins …05, …15, …25, …35 deleted
    assert result.created == due
    assert counts()[S.CREATED_AUTOMATICALLY] == due
    assert counts()[f"{S.CREATED_AUTOMATICALLY}:journal"] == (0, due, 0)
    assert counts()[S.NOTIFIED] == 11 - 1  # ins …105 deleted
    # One transaction, so one sealed INSERT, per range that had due people.
    ids = sorted(Citizen.objects.filter(status=S.CREATED_AUTOMATICALLY).values_list("id", flat=True))
    assert JournalSeal.objects.count() == len({i // chunk_size for i in ids})
    assert journal_verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_a_crash_in_the_middle_loses_nothing_and_the_next_run_resumes(monkeypatch):
    notified_people(50, deadline=PAST, notified_at=NOTIFIED_AT)
    real_chunk, calls = optout.spaces_create_chunk, []

    def crashing_chunk(**kwargs):
        calls.append(kwargs)
        if len(calls) == 4:
            # The statement of the 4th chunk ran, then the process "dies" before the commit.
            with transaction.atomic():
                real_chunk(**kwargs)
                raise ConnectionError("worker lost")
        return real_chunk(**kwargs)

    monkeypatch.setattr(optout, "spaces_create_chunk", crashing_chunk)
    with pytest.raises(ConnectionError):
        spaces_create_automatically(now=NOW, chunk_size=10)
    partial = counts()
    assert 0 < partial[S.CREATED_AUTOMATICALLY] < 50
    assert partial[f"{S.CREATED_AUTOMATICALLY}:journal"] == (0, partial[S.CREATED_AUTOMATICALLY], 0)
    assert partial[S.CREATED_AUTOMATICALLY] + partial[S.NOTIFIED] == 50

    monkeypatch.setattr(optout, "spaces_create_chunk", real_chunk)
    resumed = spaces_create_automatically(now=NOW, chunk_size=10)

    assert resumed.created == partial[S.NOTIFIED]
    assert counts()[S.CREATED_AUTOMATICALLY] == 50
    assert counts()[f"{S.CREATED_AUTOMATICALLY}:journal"] == (0, 50, 0)
    assert journal_verify_chain().ok


@pytest.mark.django_db
def test_the_run_refuses_to_be_one_big_transaction():
    with pytest.raises(RuntimeError, match="chunk by chunk"):
        spaces_create_automatically(now=NOW)


def _in_thread(target, results, key, **kwargs):
    def run():
        try:
            results[key] = target(**kwargs)
        except (DatabaseError, RuntimeError) as exc:  # reported to the test, which fails on it
            results[key] = exc
        finally:
            connections.close_all()

    return threading.Thread(target=run)


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_create_everyone_exactly_once():
    notified_people(2000, deadline=PAST, notified_at=NOTIFIED_AT)
    results: dict = {}
    threads = [
        _in_thread(spaces_create_automatically, results, name, now=NOW, chunk_size=20, pause=0.001)
        for name in ("a", "b")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert all(not isinstance(r, Exception) for r in results.values()), results
    assert results["a"].created + results["b"].created == 2000
    assert results["a"].created and results["b"].created  # both really worked
    assert counts()[S.CREATED_AUTOMATICALLY] == 2000
    assert counts()[f"{S.CREATED_AUTOMATICALLY}:journal"] == (0, 2000, 0)
    assert journal_verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_a_range_held_by_a_worker_that_then_fails_is_done_by_the_other_run():
    notified_people(30, deadline=PAST, notified_at=NOTIFIED_AT)
    first = Citizen.objects.order_by("id").values_list("id", flat=True)[0]
    held = first - first % 10
    locked, release = threading.Event(), threading.Event()

    def failing_worker():
        # Another worker holds the first range, works on it, then its transaction fails.
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, held // 10])
                    cursor.execute("UPDATE comptes_citizen SET status = 'notified' WHERE id = %s", [first])
                locked.set()
                release.wait(10)
                raise ConnectionError("worker lost")
        except ConnectionError:
            pass
        finally:
            connections.close_all()

    other = threading.Thread(target=failing_worker)
    other.start()
    assert locked.wait(10)
    threading.Timer(0.5, release.set).start()

    result = spaces_create_automatically(now=NOW, chunk_size=10)
    other.join(10)

    assert result.skipped == [held]
    assert result.created == 30
    assert counts()[f"{S.CREATED_AUTOMATICALLY}:journal"] == (0, 30, 0)


@pytest.mark.django_db(transaction=True)
def test_a_chunk_whose_range_is_held_elsewhere_says_so():
    notified_people(3, deadline=PAST, notified_at=NOTIFIED_AT)
    first = Citizen.objects.order_by("id").values_list("id", flat=True)[0]
    start = first - first % 100
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, start // 100])
        results: dict = {}
        thread = _in_thread(spaces_create_chunk, results, "chunk", now=NOW, first_id=start, last_id=start + 99)
        thread.start()
        thread.join(10)
    assert results["chunk"] is None
    assert spaces_create_chunk(now=NOW, first_id=start, last_id=start + 99) == 3


@pytest.mark.django_db(transaction=True)
def test_the_daily_task_is_scheduled_and_runs_the_job():
    app.loader.import_default_modules()
    entry = app.conf.beat_schedule["spaces-create-automatically-daily"]
    assert entry["task"] == spaces_create_automatically_task.name
    assert entry["task"] in app.tasks
    assert spaces_create_automatically_task.acks_late and spaces_create_automatically_task.reject_on_worker_lost
    notified_people(12, deadline=PAST, notified_at=NOTIFIED_AT)
    notified_people(3, deadline=FUTURE, notified_at=NOTIFIED_AT, start=100)

    outcome = spaces_create_automatically_task.delay(now=NOW.isoformat(), chunk_size=5).get()

    assert outcome["created"] == 12 and outcome["finished"] is True
    assert counts()[S.NOTIFIED] == 3


@pytest.mark.django_db
def test_a_run_stopped_by_its_time_budget_hands_over_with_the_same_reference_time(monkeypatch):
    from mes.comptes.tasks import optout as task_module

    calls = []

    def bounded_run(**kwargs):
        calls.append(kwargs)
        return optout.RunResult(created=5, chunks=1, finished=len(calls) > 1)

    monkeypatch.setattr(task_module, "spaces_create_automatically", bounded_run)
    spaces_create_automatically_task.delay(chunk_size=50)

    assert len(calls) == 2
    assert calls[0]["now"] == calls[1]["now"]
    assert calls[1]["chunk_size"] == 50 and calls[1]["max_seconds"] == task_module.RUN_SECONDS
