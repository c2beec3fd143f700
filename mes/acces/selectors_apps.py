"""Reads of « Mes services connectés »: the referenced apps paired with a space, what each may do there, and how the
catalogue presents them.

What an app may do is what the API would let it do now: the scopes the person consented to, within those still
approved for the app (``mes.acces.policy.app_access`` intersects the same two). The catalogue's page and logo of an
app come from the catalogue brick through ``register_app_showcase`` (``mes`` imports no brick); the whole page
costs a fixed number of queries, whatever the number of apps.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mes.acces import scopes as app_scopes
from mes.acces.models import Pairing
from mes.comptes.models import Citizen

RECENT_DISCONNECTED = 20


@dataclass(frozen=True)
class AppShowcase:
    """How the catalogue presents an app: its page and its logo, while the service is published."""

    url: str = ""
    logo_url: str = ""


ShowcaseProvider = Callable[[list[int]], dict[int, AppShowcase]]
_showcase_providers: list[ShowcaseProvider] = []


def register_app_showcase(provider: ShowcaseProvider) -> None:
    """Called from a brick's ``AppConfig.ready``: ``provider(habilitation_ids)`` answers, in one query, the
    showcase of those of the apps it presents."""
    if provider not in _showcase_providers:
        _showcase_providers.append(provider)


def app_showcases(habilitation_ids: Iterable[int]) -> dict[int, AppShowcase]:
    ids = sorted(set(habilitation_ids))
    showcases: dict[int, AppShowcase] = {}
    if not ids:
        return showcases
    for provider in _showcase_providers:
        showcases.update(provider(ids))
    return showcases


def pairing_abilities(pairing: Pairing) -> list[app_scopes.ScopeItem]:
    """What the app may do in the space, in plain French: the consented scopes it is still approved for."""
    approved = app_scopes.permissions(pairing.habilitation.approved_scopes)
    granted = sorted(app_scopes.permissions(pairing.scopes) & approved)
    scopes = [f"patient/{permission}" for permission in granted]
    if app_scopes.OPENID in pairing.scopes:
        scopes.append(app_scopes.OPENID)
    return app_scopes.consent_items(scopes)


@dataclass
class ConnectedApp:
    """One line of the page: a pairing, what its app may do, and the app's page in the catalogue."""

    pairing: Pairing
    abilities: list[app_scopes.ScopeItem] = field(default_factory=list)
    showcase: AppShowcase = field(default_factory=AppShowcase)

    @property
    def name(self) -> str:
        return self.pairing.habilitation.name

    @property
    def editor_name(self) -> str:
        return self.pairing.habilitation.editor_name

    @property
    def is_suspended(self) -> bool:
        return not self.pairing.habilitation.is_active


@dataclass(frozen=True)
class ConnectedApps:
    active: list[ConnectedApp]
    disconnected: list[ConnectedApp]


def _pairings(citizen: Citizen):
    return Pairing.objects.filter(citizen=citizen).select_related("habilitation")


def connected_apps(citizen: Citizen, *, disconnected_limit: int = RECENT_DISCONNECTED) -> ConnectedApps:
    """The space's active pairings (the most recent first), and its latest ended ones (three queries in all)."""
    active = list(_pairings(citizen).filter(revoked_at__isnull=True).order_by("-created_at", "-pk"))
    ended = list(
        _pairings(citizen).filter(revoked_at__isnull=False).order_by("-revoked_at", "-pk")[:disconnected_limit]
    )
    showcases = app_showcases(pairing.habilitation_id for pairing in active + ended)

    def row(pairing: Pairing, *, abilities: bool) -> ConnectedApp:
        return ConnectedApp(
            pairing=pairing,
            abilities=pairing_abilities(pairing) if abilities else [],
            showcase=showcases.get(pairing.habilitation_id, AppShowcase()),
        )

    return ConnectedApps(
        active=[row(pairing, abilities=True) for pairing in active],
        disconnected=[row(pairing, abilities=False) for pairing in ended],
    )


def space_pairing(citizen: Citizen, public_id) -> Pairing | None:
    """A pairing of this space, active or not; ``None`` for another space's (the caller answers 404)."""
    return _pairings(citizen).filter(public_id=public_id).first()
