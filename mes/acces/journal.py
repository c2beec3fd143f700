"""Plain-French wording of journal actions, shown to the citizen in their access journal.

Each brick registers the actions it writes with ``register_action``; an unregistered action is still shown,
with a neutral wording, so that nothing written to the journal is ever hidden from the citizen.
"""

from django.utils.translation import gettext_lazy as _

_LABELS: dict[str, str] = {}


def register_action(code: str, label: str) -> None:
    _LABELS[code] = label


def action_label(code: str) -> str:
    return str(_LABELS.get(code, _("Action enregistrée (%(code)s)") % {"code": code}))


register_action("compte.connexion", _("Connexion à l’espace"))
register_action("journal.verification", _("Vérification de l’intégrité du journal"))
