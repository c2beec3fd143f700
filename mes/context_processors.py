"""The navigation of the header, per role, and the count of the account's unread notifications."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from mes.comptes.models import Notification, Role
from mes.comptes.selectors.profiles import profile_switcher

_NAVIGATION = {
    Role.CITIZEN: [
        (_("Mon espace"), "citizen_home"),
        (_("Dossier médical"), "dossier_home"),
        (_("Messagerie"), "messagerie_inbox"),
        (_("Catalogue"), "catalogue_home"),
        (_("Agenda"), "agenda_home"),
        (_("Accès"), "access_settings"),
        (_("Paramètres"), "citizen_settings"),
    ],
    Role.PROFESSIONAL: [(_("Espace professionnel"), "pro_home")],
    Role.EDITOR: [(_("Portail éditeurs"), "editor_home")],
    Role.COMMISSION: [(_("Commission de référencement"), "commission_home")],
    Role.ADMIN: [
        (_("Administration"), "admin:index"),
        (_("Campagnes"), "campaign_list"),
        (_("Statistiques"), "campaign_statistics"),
        (_("Référencement"), "commission_home"),
    ],
}


# Pages that belong to a section without living under its URL: the access history is part of « Accès ».
_SECTION_PAGES = {"access_settings": ("access_history",)}


class UnreadNotifications:
    """The number of unread notifications of the account, counted once per page and only if the page shows it
    (one COUNT through the partial index ``notification_unread``)."""

    def __init__(self, user) -> None:
        self._user = user

    @cached_property
    def count(self) -> int:
        return Notification.objects.filter(user=self._user, read_at__isnull=True).count()


@dataclass(frozen=True)
class NavigationBadge:
    """A number shown beside an entry of the navigation (the unread messages beside « Messagerie »): ``count``
    answers it for the request, ``label`` says it in words for screen readers (« 2 messages non lus »)."""

    count: Callable[[HttpRequest], int]
    label: Callable[[int], str]


# Registered by the brick that owns the entry (``mes`` imports no brick): the route's name → its badge.
_BADGES: dict[str, NavigationBadge] = {}


def register_navigation_badge(url_name: str, badge: NavigationBadge) -> None:
    _BADGES[url_name] = badge


class LazyBadge:
    """A badge counted once per page, and only if the page shows it."""

    def __init__(self, badge: NavigationBadge, request: HttpRequest) -> None:
        self._badge = badge
        self._request = request

    @cached_property
    def count(self) -> int:
        return self._badge.count(self._request)

    @cached_property
    def label(self) -> str:
        return self._badge.label(self.count)


def _badge(name: str, request: HttpRequest) -> LazyBadge | None:
    badge = _BADGES.get(name)
    return LazyBadge(badge, request) if badge is not None else None


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    items = []
    if user is not None and user.is_authenticated:
        for label, name in _NAVIGATION.get(user.role, []):
            url = reverse(name)
            # A section stays current on its sub-pages (the dossier's documents, ...), the home only on itself.
            current = request.path == url or (url != "/" and request.path.startswith(url))
            current = current or any(request.path.startswith(reverse(page)) for page in _SECTION_PAGES.get(name, ()))
            items.append({"label": label, "url": url, "current": current, "badge": _badge(name, request)})
        items.append(
            {
                "label": _("Sécurité du compte"),
                "url": reverse("mfa_index"),
                "current": request.path.startswith(reverse("mfa_index")),
            }
        )
    # Lazy: the query runs once per page, and only when the header of a citizen's page shows the switcher.
    return {
        "main_navigation": items,
        "profile_switcher": SimpleLazyObject(lambda: profile_switcher(request)),
        "unread_notifications": UnreadNotifications(user) if user is not None and user.is_authenticated else None,
    }
