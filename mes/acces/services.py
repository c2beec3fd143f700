"""Writes of the journal: append one row, verify the chain."""

import logging
from dataclasses import dataclass

from django.db import connection, transaction

from mes.acces.models import GENESIS_HASH, JournalEntry
from mes.comptes.models import Citizen, User

logger = logging.getLogger(__name__)

VERIFY_CHUNK = 100_000


def journal_append(
    *,
    actor: User | None,
    action: str,
    citizen: Citizen | None = None,
    obj: object | None = None,
    details: dict | None = None,
    actor_label: str = "",
) -> JournalEntry:
    """Append one row. Call it inside the transaction of the change it records, so both land or neither."""
    object_type = object_id = ""
    if obj is not None:
        object_type = f"{obj._meta.app_label}.{obj._meta.model_name}"  # type: ignore[attr-defined]
        object_id = str(getattr(obj, "public_id", None) or obj.pk)  # type: ignore[attr-defined]
    return JournalEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label,
        action=action,
        citizen=citizen,
        object_type=object_type,
        object_id=object_id,
        details=details or {},
    )


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str


# For every row of a seq window: is its link to the previous row intact, and does its hash match its content?
_VERIFY_SQL = """
SELECT CASE WHEN seq <> expected_seq THEN expected_seq ELSE seq END AS broken_seq,
       CASE
         WHEN seq <> expected_seq THEN 'missing-row'
         WHEN prev_hash <> expected_prev THEN 'broken-link'
         WHEN hash <> acces_journal_hash(prev_hash, seq, created_at, actor_id, actor_label, action,
                                          citizen_id, object_type, object_id, details) THEN 'altered-row'
       END AS problem
FROM (
  SELECT j.*,
         coalesce(lag(seq) OVER w, %(before_seq)s) + 1 AS expected_seq,
         coalesce(lag(hash) OVER w, %(before_hash)s) AS expected_prev
  FROM acces_journalentry j
  WHERE seq > %(after)s AND seq <= %(upto)s
  WINDOW w AS (ORDER BY seq)
) rows
WHERE seq <> expected_seq
   OR prev_hash <> expected_prev
   OR hash <> acces_journal_hash(prev_hash, seq, created_at, actor_id, actor_label, action,
                                 citizen_id, object_type, object_id, details)
ORDER BY seq
LIMIT 1
"""


def journal_verify_chain() -> ChainReport:
    """Check the whole chain window by window, set-based in SQL; stop at the first problem."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, last_hash FROM acces_journalhead WHERE id = 1")
        head = cursor.fetchone()
        head_seq, head_hash = head if head else (0, GENESIS_HASH)
        last_seq, last_hash = 0, GENESIS_HASH
        checked = 0
        while last_seq < head_seq:
            upto = last_seq + VERIFY_CHUNK
            params = {"after": last_seq, "upto": upto, "before_seq": last_seq, "before_hash": last_hash}
            cursor.execute(_VERIFY_SQL, params)
            problem = cursor.fetchone()
            if problem:
                return ChainReport(False, checked, problem[0], problem[1])
            cursor.execute(
                "SELECT count(*), max(seq) FROM acces_journalentry WHERE seq > %s AND seq <= %s", [last_seq, upto]
            )
            count, max_seq = cursor.fetchone()
            if count == 0:
                return ChainReport(False, checked, last_seq + 1, "missing-row")
            cursor.execute("SELECT hash FROM acces_journalentry WHERE seq = %s", [max_seq])
            last_hash = cursor.fetchone()[0]
            checked += count
            last_seq = max_seq
        cursor.execute("SELECT count(*) FROM acces_journalentry WHERE seq > %s", [head_seq])
        if cursor.fetchone()[0]:
            return ChainReport(False, checked, head_seq + 1, "row-beyond-head")
    if last_hash != head_hash:
        return ChainReport(False, checked, head_seq, "head-mismatch")
    return ChainReport(True, checked, None, "")


@transaction.atomic
def journal_verify_and_record() -> ChainReport:
    """Verify the chain and record the outcome in the journal itself."""
    report = journal_verify_chain()
    if not report.ok:
        logger.error("Journal chain broken at seq %s (%s)", report.first_broken_seq, report.reason)
    journal_append(
        actor=None,
        actor_label="Mon espace santé",
        action="journal.verification",
        details={
            "ok": report.ok,
            "checked": report.checked,
            "first_broken_seq": report.first_broken_seq,
            "reason": report.reason,
        },
    )
    return report
