"""Majority: on their 18th birthday a child's space becomes their own.

One statement per run, whatever the number of children: the legal representatives are removed (DELETE on the
through table) and one journal row per child is written by the same statement, so both land or neither. Running
it again finds nothing left to do. The young adult then signs up through the normal activation flow.
"""

from datetime import date

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mes.acces.journal import register_action
from mes.acces.policy import majority_cutoff

MAJORITY_REACHED = "compte.majorite"
register_action(
    MAJORITY_REACHED, _("Majorité : votre espace est désormais le vôtre, vos représentants n’y ont plus accès")
)

# The former representatives' user ids stay in the row's details: the parent's home reads them to explain
# where the child's space went.
_RELEASE_SQL = """
WITH removed AS (
    DELETE FROM comptes_citizen_legal_representatives r
    USING comptes_citizen c
    WHERE r.citizen_id = c.id AND c.birth_date <= %(cutoff)s
    RETURNING r.citizen_id, r.user_id
)
INSERT INTO acces_journalentry (actor_id, actor_label, action, citizen_id, object_type, object_id, details)
SELECT NULL, 'Mon espace santé', %(action)s, c.id, 'comptes.citizen', c.public_id::text,
       jsonb_build_object('former_representatives', jsonb_agg(r.user_id ORDER BY r.user_id),
                          'majority_on', %(today)s::text)
FROM removed r
JOIN comptes_citizen c ON c.id = r.citizen_id
GROUP BY c.id, c.public_id
ORDER BY c.id
"""


@transaction.atomic
def majority_release(*, actor: None = None, today: date | None = None) -> int:
    """Remove the legal representatives of every child who is 18 or older today; return how many children.

    ``actor`` is always the platform (None): no person decides a majority.
    """
    today = today or timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(
            _RELEASE_SQL, {"cutoff": majority_cutoff(today), "action": MAJORITY_REACHED, "today": today.isoformat()}
        )
        return cursor.rowcount
