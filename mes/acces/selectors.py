"""Reads of the journal."""

from dataclasses import dataclass
from datetime import datetime

from mes.acces.journal import action_label
from mes.acces.models import JournalEntry
from mes.comptes.models import Citizen


@dataclass(frozen=True)
class JournalLine:
    when: datetime
    who: str
    what: str


def journal_for_citizen(citizen: Citizen, *, limit: int = 50) -> list[JournalLine]:
    entries = JournalEntry.objects.filter(citizen=citizen).select_related("actor").order_by("-seq")[:limit]
    return [
        JournalLine(
            when=entry.created_at,
            who=entry.actor_label or (entry.actor.display_name if entry.actor else "Mon espace santé"),
            what=action_label(entry.action),
        )
        for entry in entries
    ]
