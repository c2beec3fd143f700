"""Writes of the journal: append one row, verify the chain."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.acces.models import GENESIS_HASH, JournalEntry
from mes.comptes.models import Citizen, Notification, Role, User
from mes.db import RowInserter

logger = logging.getLogger(__name__)

VERIFY_CHUNK = 10_000  # seals per window


_JOURNAL_INSERT = RowInserter(JournalEntry, database_columns=("xact", "created_at"))


def journal_append(
    *,
    actor,
    action: str,
    citizen: Citizen | None = None,
    obj: object | None = None,
    details: dict | None = None,
    actor_label: str = "",
) -> JournalEntry:
    """Append one row. Call it inside the transaction of the change it records, so both land or neither.

    ``actor`` is a user, ``None`` (the platform itself, named by ``actor_label``) or a paired app.
    """
    object_type = object_id = ""
    # A paired app (``mes.acces.policy.AppActor``) is no account: it signs with its name and its identifier.
    actor_label = actor_label or getattr(actor, "journal_label", "")
    details = {**(details or {}), **getattr(actor, "journal_details", {})}
    if obj is not None:
        object_type = f"{obj._meta.app_label}.{obj._meta.model_name}"  # type: ignore[attr-defined]
        object_id = str(getattr(obj, "public_id", None) or obj.pk)  # type: ignore[attr-defined]
    entry = JournalEntry(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label,
        action=action,
        citizen=citizen,
        object_type=object_type,
        object_id=object_id,
        details=details,
    )
    # One prepared INSERT: every access to a person's data writes a row, so this is on every hot path.
    return _JOURNAL_INSERT.insert(entry)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int  # journal rows whose seal was verified
    first_broken_seq: int | None
    reason: str


# One window of seals, each with its rows recomputed from the journal (rows found by the seq range, through the
# primary key, then filtered on the writing transaction).
_SEALS_SQL = """
SELECT s.id, s.first_seq, s.row_count, s.prev_hash, s.hash, r.n,
       acces_journal_seal_hash(s.prev_hash, r.body) AS recomputed
FROM (SELECT * FROM acces_journalseal WHERE id > %(after)s ORDER BY id LIMIT %(limit)s) s
CROSS JOIN LATERAL (
    SELECT count(*) AS n,
           string_agg(acces_journal_row_text(j.seq, j.created_at, j.actor_id, j.actor_label, j.action,
                                             j.citizen_id, j.object_type, j.object_id, j.details),
                      E'\n' ORDER BY j.seq) AS body
    FROM acces_journalentry j
    WHERE j.seq BETWEEN s.first_seq AND s.last_seq AND j.xact = s.xact
) r
ORDER BY s.id
"""

_UNSEALED_SQL = """
SELECT min(j.seq) FROM acces_journalentry j
WHERE NOT EXISTS (
    SELECT 1 FROM acces_journalseal s WHERE s.xact = j.xact AND j.seq BETWEEN s.first_seq AND s.last_seq
)
"""


def journal_verify_chain() -> ChainReport:
    """Recompute every seal from its rows and follow the chain of seals, window by window."""
    previous_hash, checked, after = GENESIS_HASH, 0, 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(_SEALS_SQL, {"after": after, "limit": VERIFY_CHUNK})
            seals = cursor.fetchall()
            if not seals:
                break
            for seal_id, first_seq, row_count, prev_hash, sealed_hash, found, recomputed in seals:
                if prev_hash != previous_hash:
                    return ChainReport(False, checked, first_seq, "broken-link")
                if found != row_count:
                    return ChainReport(False, checked, first_seq, "missing-row")
                if recomputed != sealed_hash:
                    return ChainReport(False, checked, first_seq, "altered-row")
                previous_hash, checked, after = sealed_hash, checked + row_count, seal_id
        cursor.execute("SELECT last_hash FROM acces_journalhead WHERE id = 1")
        head = cursor.fetchone()
        if (head[0] if head else GENESIS_HASH) != previous_hash:
            return ChainReport(False, checked, None, "head-mismatch")
        cursor.execute("SELECT count(*) FROM acces_journalentry")
        if cursor.fetchone()[0] != checked:
            cursor.execute(_UNSEALED_SQL)
            return ChainReport(False, checked, cursor.fetchone()[0], "unsealed-row")
    return ChainReport(True, checked, None, "")


# The verification's findings, in the words of the alert sent to administrators.
_BREAK_REASONS = {
    "broken-link": gettext_lazy("un sceau ne suit plus le précédent (chaîne rompue)"),
    "missing-row": gettext_lazy("une entrée a été supprimée"),
    "altered-row": gettext_lazy("une entrée a été modifiée"),
    "head-mismatch": gettext_lazy("la fin de la chaîne ne correspond plus (dernières entrées supprimées)"),
    "unsealed-row": gettext_lazy("une entrée a été ajoutée sans sceau"),
}
BREAK_ALERT_SUBJECT = gettext_lazy("Mon espace santé : intégrité du journal compromise")


def _admin_addresses(admins: list[User]) -> list[str]:
    """The administrators' addresses, then those of ``settings.ADMINS``, each once."""
    addresses = [admin.email for admin in admins if admin.email]
    for entry in settings.ADMINS:
        address = entry if isinstance(entry, str) else entry[1]
        if address and address.lower() not in {known.lower() for known in addresses}:
            addresses.append(address)
    return addresses


def _send_break_alert(*, to: str, body: str) -> None:
    try:
        EmailMessage(subject=str(BREAK_ALERT_SUBJECT), body=body, to=[to]).send()
    except Exception:  # a refused e-mail must not stop the others; the in-app alert stays
        logger.exception("Journal break alert could not be e-mailed")


def _alert_admins(report: ChainReport) -> None:
    """Tell every active administrator, in the app and by e-mail after the commit, that the chain is broken."""
    where = str(report.first_broken_seq) if report.first_broken_seq is not None else _("non déterminée")
    body = _(
        "La vérification du journal des accès a trouvé une rupture de la chaîne d’intégrité.\n\n"
        "Première entrée en cause (numéro) : %(seq)s\n"
        "Raison : %(reason)s (%(code)s)\n"
        "Entrées vérifiées avant la rupture : %(checked)s\n\n"
        "Le journal a pu être modifié en dehors de l’application. Préservez la base de données en l’état et "
        "lancez l’analyse de l’incident."
    ) % {
        "seq": where,
        "reason": _BREAK_REASONS.get(report.reason, report.reason),
        "code": report.reason,
        "checked": report.checked,
    }
    admins = list(User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk"))
    link = reverse("admin:acces_journalentry_changelist")
    Notification.objects.bulk_create(
        Notification(user=admin, title=str(BREAK_ALERT_SUBJECT), body=body, link=link) for admin in admins
    )
    for address in _admin_addresses(admins):
        transaction.on_commit(lambda to=address: _send_break_alert(to=to, body=body))


@transaction.atomic
def journal_verify_and_record() -> ChainReport:
    """Verify the chain, record the outcome in the journal itself and, if it is broken, alert the administrators."""
    report = journal_verify_chain()
    if not report.ok:
        logger.error("Journal chain broken at seq %s (%s)", report.first_broken_seq, report.reason)
        _alert_admins(report)
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
