"""Plain-French wording of journal actions, shown to the citizen in their access journal.

Each brick registers the actions it writes with ``register_action``; an unregistered action is still shown,
with a neutral wording, so that nothing written to the journal is ever hidden from the citizen.
"""

from collections.abc import Callable

from django.utils.translation import gettext_lazy as _

_LABELS: dict[str, str] = {}


def register_action(code: str, label: str) -> None:
    _LABELS[code] = label


# How a brick's detail keys read in the citizen's history: key → (title, formatter of the stored value).
_DETAILS: dict[str, tuple[str, Callable[[object], str | None]]] = {}


def register_detail(key: str, title: str, formatter: Callable[[object], str | None]) -> None:
    """Show ``details[key]`` in the history under ``title`` (``formatter`` returns ``None`` to leave it out)."""
    _DETAILS[key] = (title, formatter)


def registered_details(details: dict) -> list[tuple[str, str]]:
    found = []
    for key, (title, formatter) in _DETAILS.items():
        if key in details:
            text = formatter(details[key])
            if text:
                found.append((str(title), text))
    return found


def action_label(code: str) -> str:
    return str(_LABELS.get(code, _("Action enregistrée (%(code)s)") % {"code": code}))


register_action("compte.connexion", _("Connexion à l’espace"))
register_action("journal.verification", _("Vérification de l’intégrité du journal"))
