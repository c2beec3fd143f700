"""The private subscription feed (webcal) of the person's agenda.

The feed's URL carries a secret token (``secrets.token_urlsafe(32)``, 256 bits) that the person's calendar
application presents instead of signing in; only an HMAC-SHA256 of it is stored, keyed from SECRET_KEY like the letter
codes (``mes.comptes.codes``), so a copy of the database gives no working URL. Regenerating replaces the stored hash:
the old URL stops working at the very next request. The feed carries only what the person chose (by default the titles
and times only), only while the space is open, and only while whoever gave out its token may still act for the space
(a parent's feed of a child's agenda stops when the child comes of age).

A phone polls the feed every 15 minutes or so: each fetch updates ``last_fetched_at``, but the journal records
« agenda consulté par l’abonnement » at most once an hour per feed (a marker in the shared cache, set atomically), so
the person's access journal stays readable.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agenda.models import Feed
from agenda.services.ical import calendar_render
from mes.acces.journal import register_action
from mes.acces.policy import CitizenAccess, may_act_for
from mes.acces.services import journal_append

FEED_CREATED = "agenda.abonnement.cree"
FEED_REGENERATED = "agenda.abonnement.regenere"
FEED_CHANGED = "agenda.abonnement.modifie"
FEED_DELETED = "agenda.abonnement.supprime"
FEED_READ = "agenda.abonnement.consulte"
register_action(FEED_CREATED, gettext_lazy("Création de l’adresse d’abonnement à l’agenda"))
register_action(FEED_REGENERATED, gettext_lazy("Nouvelle adresse d’abonnement à l’agenda (l’ancienne ne marche plus)"))
register_action(FEED_CHANGED, gettext_lazy("Modification du contenu de l’abonnement à l’agenda"))
register_action(FEED_DELETED, gettext_lazy("Arrêt de l’abonnement à l’agenda"))
register_action(FEED_READ, gettext_lazy("Agenda consulté par l’abonnement"))

# The journal records the feed's reads at most once per this many seconds.
READ_JOURNAL_INTERVAL = 3600
READER_LABEL = gettext_lazy("Application de calendrier (abonnement)")


def _key() -> bytes:
    return hashlib.sha256(b"agenda.feed:" + settings.SECRET_KEY.encode()).digest()


def token_hash(token: str) -> str:
    return hmac.new(_key(), token.encode(), hashlib.sha256).hexdigest()


def feed_urls(token: str) -> dict[str, str]:
    """The feed's https URL (for copying) and its webcal:// twin (which opens the phone's calendar application)."""
    https = settings.PUBLIC_BASE_URL + reverse("agenda_feed_ics", kwargs={"token": token})
    return {"https": https, "webcal": "webcal://" + https.split("://", 1)[1]}


def feed_get(access: CitizenAccess) -> Feed | None:
    if not access.is_citizen_side:
        return None
    return Feed.objects.filter(citizen=access.citizen).first()


def _require_citizen_side(access: CitizenAccess) -> None:
    if not access.is_citizen_side:
        raise PermissionDenied(_("Seule la personne ou son représentant légal gère l’abonnement à son agenda."))


def _options(feed: Feed) -> dict:
    return {
        "titres_seulement": feed.titles_only,
        "taches": feed.include_tasks,
        "prevention": feed.include_prevention,
    }


@transaction.atomic
def feed_create_or_regenerate(
    *, access: CitizenAccess, titles_only: bool = True, include_tasks: bool = False, include_prevention: bool = True
) -> str:
    """Create the feed, or give it a new token (the old URL stops working at once). Returns the token, which is
    shown once and never stored."""
    _require_citizen_side(access)
    token = secrets.token_urlsafe(32)
    feed = Feed.objects.select_for_update().filter(citizen=access.citizen).first()
    created = feed is None
    if created:
        feed = Feed(citizen=access.citizen)
    feed.token_hash = token_hash(token)
    feed.created_by = access.actor
    feed.titles_only = titles_only
    feed.include_tasks = include_tasks
    feed.include_prevention = include_prevention
    feed.last_fetched_at = None
    feed.save()
    journal_append(
        actor=access.actor,
        action=FEED_CREATED if created else FEED_REGENERATED,
        citizen=access.citizen,
        details=_options(feed),
    )
    return token


@transaction.atomic
def feed_settings_update(
    *, access: CitizenAccess, titles_only: bool, include_tasks: bool, include_prevention: bool
) -> Feed:
    """Change what the feed carries; its URL stays the same."""
    _require_citizen_side(access)
    feed = Feed.objects.select_for_update().filter(citizen=access.citizen).first()
    if feed is None:
        raise Feed.DoesNotExist
    feed.titles_only = titles_only
    feed.include_tasks = include_tasks
    feed.include_prevention = include_prevention
    feed.save(update_fields=["titles_only", "include_tasks", "include_prevention"])
    journal_append(actor=access.actor, action=FEED_CHANGED, citizen=access.citizen, details=_options(feed))
    return feed


@transaction.atomic
def feed_delete(*, access: CitizenAccess) -> bool:
    """Stop the feed: its URL answers 404 from now on. ``False`` when there was none."""
    _require_citizen_side(access)
    deleted, _rows = Feed.objects.filter(citizen=access.citizen).delete()
    if deleted:
        journal_append(actor=access.actor, action=FEED_DELETED, citizen=access.citizen)
    return bool(deleted)


def _creator_may_still_act(feed: Feed) -> bool:
    """Whoever created (or last regenerated) the feed must still be allowed into the space.

    A parent who subscribed their phone to a minor child's agenda must stop receiving it when the child comes of age
    or the parent loses that right, exactly as they lose the pages: the right is checked at every read.
    """
    return may_act_for(feed.created_by, feed.citizen)


def feed_render(token: str) -> bytes | None:
    """The ``.ics`` of the feed whose token is ``token``, or ``None``: unknown token, or the space is closed."""
    if not token or len(token) > 200:
        return None
    # A lookup by keyed hash: the stored value reveals nothing, and timing tells nothing about a valid token.
    feed = Feed.objects.select_related("citizen", "created_by").filter(token_hash=token_hash(token)).first()
    if feed is None or not feed.citizen.has_space or not _creator_may_still_act(feed):
        return None
    body = calendar_render(
        feed.citizen,
        titles_only=feed.titles_only,
        include_tasks=feed.include_tasks,
        include_prevention=feed.include_prevention,
        refresh=True,
    )
    now = timezone.now()
    with transaction.atomic():
        Feed.objects.filter(pk=feed.pk).update(last_fetched_at=now)
        # cache.add sets the marker only if it is absent, atomically: one journal row per feed and per hour.
        if cache.add(f"agenda:feed-read:{feed.pk}:{feed.token_hash[:16]}", now.isoformat(), READ_JOURNAL_INTERVAL):
            journal_append(
                actor=None,
                actor_label=str(READER_LABEL),
                action=FEED_READ,
                citizen=feed.citizen,
                details=_options(feed),
            )
    return body
