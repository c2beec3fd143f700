"""The navigation of the header, per role, and the count of the account's unread notifications."""

from functools import cached_property

from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from mes.comptes.models import Notification, Role
from mes.comptes.selectors.profiles import profile_switcher

_NAVIGATION = {
    Role.CITIZEN: [
        (_("Mon espace"), "citizen_home"),
        (_("Dossier médical"), "dossier_home"),
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


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    items = []
    if user is not None and user.is_authenticated:
        for label, name in _NAVIGATION.get(user.role, []):
            url = reverse(name)
            # A section stays current on its sub-pages (the dossier's documents, ...), the home only on itself.
            current = request.path == url or (url != "/" and request.path.startswith(url))
            current = current or any(request.path.startswith(reverse(page)) for page in _SECTION_PAGES.get(name, ()))
            items.append({"label": label, "url": url, "current": current})
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
