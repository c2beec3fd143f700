"""The journal: append-only, hash-chained, verified set-based, readable by the citizen in French."""

import threading

import pytest
from django.db import DatabaseError, connection, transaction

from mes.acces.models import GENESIS_HASH, JournalEntry
from mes.acces.selectors import journal_for_citizen
from mes.acces.services import journal_append, journal_verify_and_record, journal_verify_chain


def _append(n: int, **kwargs) -> list[JournalEntry]:
    return [journal_append(actor=None, action="test.evenement", details={"n": i}, **kwargs) for i in range(n)]


@pytest.mark.django_db
def test_rows_are_numbered_and_chained():
    first, second, third = _append(3)
    assert [first.seq + 1, first.seq + 2] == [second.seq, third.seq]
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert len({first.hash, second.hash, third.hash}) == 3
    assert journal_verify_chain().ok


@pytest.mark.django_db
def test_the_first_row_chains_from_the_genesis_hash():
    assert JournalEntry.objects.count() == 0
    (first,) = _append(1)
    assert first.seq == 1
    assert first.prev_hash == GENESIS_HASH


@pytest.mark.django_db
def test_updates_and_deletes_are_refused_by_the_database():
    (entry,) = _append(1)
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).update(action="test.falsifie")
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).delete()


def _tamper(sql: str, params: list) -> None:
    """Simulate an attacker with direct database access, who can disable the guard trigger."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE acces_journalentry DISABLE TRIGGER acces_journal_append_only")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE acces_journalentry ENABLE TRIGGER acces_journal_append_only")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("UPDATE acces_journalentry SET details = '{\"n\": 99}' WHERE seq = %s", "altered-row"),
        ("UPDATE acces_journalentry SET citizen_id = 4242 WHERE seq = %s", "altered-row"),
        ("DELETE FROM acces_journalentry WHERE seq = %s", "missing-row"),
    ],
)
def test_verification_finds_tampering(sql, reason):
    entries = _append(5)
    target = entries[2].seq
    _tamper(sql, [target])
    report = journal_verify_chain()
    assert not report.ok
    assert report.first_broken_seq == target
    assert report.reason == reason


@pytest.mark.django_db
def test_verification_finds_a_recomputed_forgery_and_a_truncated_tail():
    entries = _append(4)
    # Rewriting a row with a fresh, self-consistent hash still breaks the next row's link.
    _tamper(
        "UPDATE acces_journalentry SET details = '{}', hash = acces_journal_hash(prev_hash, seq, created_at, actor_id,"
        " actor_label, action, citizen_id, object_type, object_id, '{}'::jsonb) WHERE seq = %s",
        [entries[1].seq],
    )
    report = journal_verify_chain()
    assert (report.ok, report.first_broken_seq, report.reason) == (False, entries[2].seq, "broken-link")


@pytest.mark.django_db
def test_verification_detects_removal_of_the_last_rows():
    entries = _append(3)
    _tamper("DELETE FROM acces_journalentry WHERE seq = %s", [entries[-1].seq])
    report = journal_verify_chain()
    assert not report.ok


@pytest.mark.django_db
def test_verification_walks_several_windows(monkeypatch):
    monkeypatch.setattr("mes.acces.services.VERIFY_CHUNK", 3)
    _append(10)
    report = journal_verify_chain()
    assert (report.ok, report.checked) == (True, 10)


@pytest.mark.django_db
def test_set_based_inserts_are_chained_too():
    _append(1)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO acces_journalentry (created_at, actor_label, action, object_type, object_id, details)"
            " SELECT now(), '', 'test.masse', '', g::text, jsonb_build_object('g', g) FROM generate_series(1, 500) g"
        )
    assert JournalEntry.objects.count() == 501
    assert journal_verify_chain().ok


@pytest.mark.django_db
def test_verification_job_records_its_outcome():
    _append(2)
    report = journal_verify_and_record()
    assert report.ok
    last = JournalEntry.objects.order_by("-seq").first()
    assert last.action == "journal.verification"
    assert last.details == {"ok": True, "checked": 2, "first_broken_seq": None, "reason": ""}


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_unbroken_chain():
    errors = []

    def writer():
        try:
            for i in range(20):
                with transaction.atomic():
                    journal_append(actor=None, action="test.concurrent", details={"i": i})
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert list(JournalEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, 81))
    assert journal_verify_chain().ok


@pytest.mark.django_db
def test_a_rolled_back_change_leaves_no_journal_row():
    with pytest.raises(RuntimeError), transaction.atomic():
        journal_append(actor=None, action="test.annule")
        raise RuntimeError("the change failed")
    assert not JournalEntry.objects.filter(action="test.annule").exists()
    _append(1)
    assert journal_verify_chain().ok


def test_the_citizen_reads_their_journal_in_french(client, citizen, other_citizen):
    client.force_login(citizen.user)  # writes a "compte.connexion" row through the sign-in signal
    journal_append(actor=other_citizen.user, action="compte.connexion", citizen=other_citizen)
    lines = journal_for_citizen(citizen)
    assert [line.what for line in lines] == ["Connexion à l’espace"]
    assert lines[0].who == citizen.user.display_name
    assert "Connexion à l’espace" in client.get("/").content.decode()
