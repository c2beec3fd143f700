"""The account's notification centre: a row per person to notify, and the same message by e-mail.

A space is watched by its holder and, for a minor child, by their legal representatives: each of them gets the
notification. E-mails leave after the transaction commits (nothing is sent for a change that was rolled back);
a refused e-mail is logged and the in-app notification stays, so nothing is lost.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mes.acces.policy import majority_cutoff
from mes.comptes.models import Citizen, Notification, User

logger = logging.getLogger(__name__)


def space_watchers(citizen: Citizen) -> list[User]:
    """Who is told about what happens in ``citizen``'s space: the holder, and the parents of a minor."""
    watchers: list[User] = []
    if citizen.user_id is not None and citizen.user.is_active:
        watchers.append(citizen.user)
    if citizen.birth_date > majority_cutoff():
        watchers.extend(citizen.legal_representatives.filter(is_active=True).order_by("pk"))
    return watchers


def _email_send(*, to: str, subject: str, body: str) -> None:
    try:
        EmailMessage(subject=subject, body=body, to=[to]).send()
    except Exception:
        logger.exception("Notification e-mail to user could not be sent")


def notify_space(*, citizen: Citizen, title: str, body: str, link: str = "", email: bool = True) -> list[Notification]:
    """Notify every watcher of ``citizen``'s space, in the app and (``email``) by e-mail after the commit."""
    notifications = [
        Notification(user=user, citizen=citizen, title=title[:200], body=body[:2000], link=link[:200])
        for user in space_watchers(citizen)
    ]
    Notification.objects.bulk_create(notifications)
    if email:
        base = settings.PUBLIC_BASE_URL
        for notification in notifications:
            text = notification.body
            if notification.link:
                text += "\n\n" + _("Pour en savoir plus : %(url)s") % {"url": base + notification.link}
            text += "\n\n" + _("Ce message vous est envoyé par Mon espace santé ; n’y répondez pas.")
            transaction.on_commit(
                lambda to=notification.user.email, title=notification.title, text=text: _email_send(
                    to=to, subject=_("Mon espace santé : %(title)s") % {"title": title}, body=text
                )
            )
    return notifications


def notifications_mark_read(*, user: User, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all of them, or those of ``ids``); returns how many changed."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
