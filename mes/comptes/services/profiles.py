"""Switching the profile an account acts for (a parent opening a minor child's space)."""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from mes.acces.journal import register_action
from mes.acces.policy import may_act_for
from mes.acces.services import journal_append
from mes.comptes.models import Citizen, User

PROFILE_SWITCHED = "compte.profil.bascule"
PROFILE_SWITCH_REFUSED = "compte.profil.bascule_refusee"
register_action(PROFILE_SWITCHED, _("Ouverture de l’espace par un représentant légal"))
register_action(PROFILE_SWITCH_REFUSED, _("Tentative refusée d’ouvrir l’espace"))


@transaction.atomic
def profile_switch(*, actor: User, citizen: Citizen) -> bool:
    """Decide whether ``actor`` may act for ``citizen``; journal the grant or the denial in ``citizen``'s journal.

    Returning to one's own space is no access to someone else's data and writes nothing.
    """
    allowed = may_act_for(actor, citizen)
    if allowed and citizen.user_id == actor.pk:
        return True
    journal_append(
        actor=actor,
        action=PROFILE_SWITCHED if allowed else PROFILE_SWITCH_REFUSED,
        citizen=citizen,
        obj=citizen,
    )
    return allowed
