"""Who may see which référencement dossier: the one place the views of the editors and the commission ask.

- An editor sees the dossiers of the organisations they are a member of, whatever their state; another
  organisation's dossier is not revealed to exist (``Dossier.DoesNotExist``, a 404 in the views).
- Commission members and administrators see every dossier once it has been submitted (a draft is the editor's
  own business); only they see the commission's private comments, votes and conflicts.
Decisions fail closed: any other role, or an anonymous user, sees nothing.
"""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from mes.comptes.models import Role, User
from referencement.models import Dossier, State


def _role(actor) -> str | None:
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return None
    return actor.role


def dossiers_for_editor(actor: User) -> QuerySet[Dossier]:
    if _role(actor) != Role.EDITOR:
        return Dossier.objects.none()
    return Dossier.objects.filter(organisation__memberships__user=actor).select_related("organisation", "product")


def dossier_for_editor(actor: User, public_id: UUID | str) -> Dossier:
    """The dossier ``public_id`` of one of ``actor``'s organisations; ``Dossier.DoesNotExist`` otherwise."""
    return dossiers_for_editor(actor).get(public_id=public_id)


def dossiers_for_reviewer(actor: User) -> QuerySet[Dossier]:
    """What the commission and the administrators see: every dossier past the draft."""
    if _role(actor) not in (Role.COMMISSION, Role.ADMIN):
        return Dossier.objects.none()
    return Dossier.objects.exclude(state=State.DRAFT).select_related("organisation", "product")


def dossier_for_reviewer(actor: User, public_id: UUID | str) -> Dossier:
    return dossiers_for_reviewer(actor).get(public_id=public_id)


def is_commission_member(actor: User) -> bool:
    return _role(actor) == Role.COMMISSION


def is_administrator(actor: User) -> bool:
    return _role(actor) == Role.ADMIN
