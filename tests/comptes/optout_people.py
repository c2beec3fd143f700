"""Many notified people at once, set-based (the factories would be too slow for thousands)."""

from datetime import datetime

from django.db import connection

MARKER = "OPTOUTTEST"


def notified_people(count: int, *, deadline: datetime, notified_at: datetime, start: int = 1) -> None:
    """Insert ``count`` notified people; INS numbers 9…: valid for the format constraint, never a real person's."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO comptes_citizen (
                public_id, ins, birth_name, first_names, used_first_name, birth_date, sex, birthplace_code,
                contact_email, contact_phone, status, department, notification_channel, notified_at, deadline,
                closure_reason, mss_address, code_hash, code_failures)
            SELECT gen_random_uuid(), '9' || lpad(g::text, 14, '0'), %(marker)s, 'Alice Marie', '', DATE '1980-05-17',
                   'F', '31555', '', '', 'notified', '31', 'letter', %(notified_at)s, %(deadline)s, '', '', '', 0
            FROM generate_series(%(start)s, %(start)s + %(count)s - 1) AS g
            """,
            {"marker": MARKER, "count": count, "start": start, "deadline": deadline, "notified_at": notified_at},
        )


def counts() -> dict:
    """Per status, and how the journal covers the automatically created: people with 0, 1 or more rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.status, count(*),
                   count(*) FILTER (WHERE j.n IS NULL), count(*) FILTER (WHERE j.n = 1), count(*) FILTER (WHERE j.n > 1)
            FROM comptes_citizen c
            LEFT JOIN (SELECT citizen_id, count(*) AS n FROM acces_journalentry
                       WHERE action = 'compte.espace.cree_automatiquement' GROUP BY citizen_id) j
                   ON j.citizen_id = c.id
            GROUP BY c.status
            """
        )
        rows = cursor.fetchall()
    result = {status: total for status, total, *_ in rows}
    for status, _total, none, once, more in rows:
        result[f"{status}:journal"] = (none, once, more)
    return result
