"""Journal rows of the professionals' reads and of the refused accesses (DESIGN §4: every grant, every denial)."""

from django.utils.translation import gettext_lazy as _

from mes.acces.journal import register_action
from mes.acces.policy import CitizenAccess
from mes.acces.services import journal_append
from mes.comptes.models import Citizen, User

ACCESS_REFUSED = "acces.refuse"
register_action(ACCESS_REFUSED, _("Accès refusé à un professionnel"))


def access_trace(*, access: CitizenAccess, action: str, obj: object | None = None, details: dict | None = None) -> None:
    """Record what a professional read or did in the space, with the way they got in (care team, code, urgence)."""
    journal_append(
        actor=access.actor,
        action=action,
        citizen=access.citizen,
        obj=obj,
        details={"acces": access.kind, **(details or {})},
    )


def access_refusal_trace(*, actor: User, citizen: Citizen, path: str) -> None:
    """Record that ``actor`` asked for a page of ``citizen``'s space and was refused."""
    journal_append(actor=actor, action=ACCESS_REFUSED, citizen=citizen, details={"page": path[:200]})
