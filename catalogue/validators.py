"""Addresses of a published service: https only, and the stores' buttons lead to the stores themselves.

A link of the catalogue is shown to millions of people as vetted by the State: a plain ``http`` address (open to
tampering on the way) or a « Google Play » button leading to another site would betray that trust.
"""

from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

APP_STORE_HOSTS = frozenset({"apps.apple.com"})
GOOGLE_PLAY_HOSTS = frozenset({"play.google.com"})

_https = URLValidator(schemes=["https"], message=_("Saisissez une adresse web complète commençant par https://."))


def _split(value: str):
    _https(value)
    parts = urlsplit(value)
    if parts.username or parts.password:
        raise ValidationError(_("L’adresse ne doit pas contenir d’identifiant ni de mot de passe."), code="userinfo")
    return parts


def https_url(value: str) -> None:
    """A complete https address, without credentials in it."""
    _split(value)


def app_store_url(value: str) -> None:
    """The page of an app on Apple's App Store: ``https://apps.apple.com/fr/app/<nom>/id<numéro>``."""
    parts = _split(value)
    if (parts.hostname or "").lower() not in APP_STORE_HOSTS or "/app/" not in f"{parts.path}/":
        raise ValidationError(
            _("Le lien App Store doit mener à la fiche de l’application sur https://apps.apple.com/…/app/…."),
            code="app_store_host",
        )


def google_play_url(value: str) -> None:
    """The page of an app on Google Play: ``https://play.google.com/store/apps/details?id=<identifiant>``."""
    parts = _split(value)
    if (
        (parts.hostname or "").lower() not in GOOGLE_PLAY_HOSTS
        or parts.path.rstrip("/") != "/store/apps/details"
        or not parse_qs(parts.query).get("id")
    ):
        raise ValidationError(
            _(
                "Le lien Google Play doit mener à la fiche de l’application : "
                "https://play.google.com/store/apps/details?id=…"
            ),
            code="google_play_host",
        )
