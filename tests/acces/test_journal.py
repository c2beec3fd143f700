"""The journal: append-only, hash-chained, verified set-based, readable by the citizen in French."""

import threading

import pytest
from django.db import DatabaseError, connection, transaction

from mes.acces.models import GENESIS_HASH, JournalEntry, JournalSeal
from mes.acces.selectors import journal_for_citizen
from mes.acces.services import ChainReport, journal_append, journal_verify_and_record, journal_verify_chain


def _append(n: int, **kwargs) -> list[JournalEntry]:
    return [journal_append(actor=None, action="test.evenement", details={"n": i}, **kwargs) for i in range(n)]


@pytest.mark.django_db
def test_each_insert_statement_is_sealed_and_the_seals_are_chained():
    first, second, third = _append(3)
    assert first.seq < second.seq < third.seq
    seals = list(JournalSeal.objects.order_by("id"))
    assert [(seal.first_seq, seal.last_seq, seal.row_count) for seal in seals] == [
        (entry.seq, entry.seq, 1) for entry in (first, second, third)
    ]
    assert seals[0].prev_hash == GENESIS_HASH
    assert [seal.prev_hash for seal in seals[1:]] == [seal.hash for seal in seals[:-1]]
    assert len({seal.hash for seal in seals}) == 3
    assert journal_verify_chain() == ChainReport(True, 3, None, "")


def _tamper(*statements: tuple[str, list]) -> None:
    """Simulate an attacker with direct database access, who can disable the guard triggers."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE acces_journalentry DISABLE TRIGGER USER")
        cursor.execute("ALTER TABLE acces_journalseal DISABLE TRIGGER USER")
        for sql, params in statements:
            cursor.execute(sql, params)
        cursor.execute("ALTER TABLE acces_journalentry ENABLE TRIGGER USER")
        cursor.execute("ALTER TABLE acces_journalseal ENABLE TRIGGER USER")


@pytest.mark.django_db
def test_updates_and_deletes_are_refused_by_the_database():
    (entry,) = _append(1)
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).update(action="test.falsifie")
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        JournalEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError, match="ajout seul"), transaction.atomic():
        JournalSeal.objects.update(hash="0" * 64)


@pytest.mark.django_db
def test_a_forged_writing_transaction_is_refused():
    with pytest.raises(DatabaseError, match="forgée"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO acces_journalentry (xact, action) VALUES (42, 'test.forge')")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("UPDATE acces_journalentry SET details = '{\"n\": 99}' WHERE seq = %s", "altered-row"),
        ("UPDATE acces_journalentry SET citizen_id = 4242 WHERE seq = %s", "altered-row"),
        ("UPDATE acces_journalentry SET created_at = created_at - interval '1 day' WHERE seq = %s", "altered-row"),
        ("DELETE FROM acces_journalentry WHERE seq = %s", "missing-row"),
    ],
)
def test_verification_finds_tampering(sql, reason):
    entries = _append(5)
    target = entries[2].seq
    _tamper((sql, [target]))
    report = journal_verify_chain()
    assert (report.ok, report.first_broken_seq, report.reason) == (False, target, reason)


@pytest.mark.django_db
def test_verification_finds_a_forgery_with_a_recomputed_seal():
    entries = _append(4)
    target = entries[1].seq
    _tamper(
        ("UPDATE acces_journalentry SET details = '{}' WHERE seq = %s", [target]),
        (
            "UPDATE acces_journalseal SET hash = acces_journal_seal_hash(prev_hash, acces_journal_row_text("
            " j.seq, j.created_at, j.actor_id, j.actor_label, j.action, j.citizen_id, j.object_type, j.object_id,"
            " j.details)) FROM acces_journalentry j WHERE j.seq = %s AND acces_journalseal.first_seq = j.seq",
            [target],
        ),
    )
    report = journal_verify_chain()
    # The forged seal is self-consistent, but the next seal no longer links to it.
    assert (report.ok, report.first_broken_seq, report.reason) == (False, entries[2].seq, "broken-link")


@pytest.mark.django_db
def test_verification_detects_removal_of_the_last_statement():
    entries = _append(3)
    _tamper(
        ("DELETE FROM acces_journalentry WHERE seq = %s", [entries[-1].seq]),
        ("DELETE FROM acces_journalseal WHERE first_seq = %s", [entries[-1].seq]),
    )
    assert journal_verify_chain().reason == "head-mismatch"


@pytest.mark.django_db
def test_verification_detects_rows_inserted_behind_the_seal_trigger():
    _append(2)
    _tamper(("INSERT INTO acces_journalentry (action) VALUES ('test.cache')", []))
    hidden = JournalEntry.objects.get(action="test.cache")
    report = journal_verify_chain()
    assert (report.ok, report.first_broken_seq, report.reason) == (False, hidden.seq, "unsealed-row")


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
            "INSERT INTO acces_journalentry (action, object_type, object_id, details)"
            " SELECT 'test.masse', '', g::text, jsonb_build_object('g', g) FROM generate_series(1, 500) g"
        )
    assert JournalEntry.objects.count() == 501
    bulk_seal = JournalSeal.objects.order_by("-id").first()
    assert bulk_seal.row_count == 500
    assert journal_verify_chain() == ChainReport(True, 501, None, "")


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
    assert JournalEntry.objects.count() == JournalSeal.objects.count() == 80
    assert journal_verify_chain() == ChainReport(True, 80, None, "")


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
