"""Celery tasks of référencement: the monthly audit draw, the daily expiries, and the notices' e-mails.

Thin and idempotent: each calls one service, which claims its work by a guarded state (an audit still open past its
deadline, a dossier still waiting past its deadline, SKIP LOCKED) or by a unique constraint (one audit per dossier and
month). Schedules are in ``mes.celery``. Only a database that cannot be reached is worth a retry.
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils.dateparse import parse_datetime

from referencement.services.audits import audits_draw, audits_expire, responses_expire
from referencement.services.publication import notices_email as notices_email_send

_TRANSIENT = (OperationalError, InterfaceError)
_COMMON = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": _TRANSIENT,
    "retry_backoff": 30,
    "retry_backoff_max": 15 * 60,
    "max_retries": 8,
    "soft_time_limit": 14 * 60,
    "time_limit": 15 * 60,
}


def _at(now: str | None):
    return parse_datetime(now) if now else None


@shared_task(name="referencement.tasks.audits_draw", **_COMMON)
def audits_draw_task(now: str | None = None) -> dict:
    """Monthly: draw the audits of the month (a second run the same month opens none beyond the share)."""
    return {"opened": [str(audit.public_id) for audit in audits_draw(now=_at(now))]}


@shared_task(name="referencement.tasks.audits_expire", **_COMMON)
def audits_expire_task(now: str | None = None) -> dict:
    """Daily: the open audits past their deadline expire (and their service is suspended, by default)."""
    return {"expired": audits_expire(now=_at(now))}


@shared_task(name="referencement.tasks.responses_expire", **_COMMON)
def responses_expire_task(now: str | None = None) -> dict:
    """Daily: the dossiers whose editor let the deadline to answer pass are closed."""
    return {"closed": responses_expire(now=_at(now))}


@shared_task(
    name="referencement.tasks.notices_email",
    acks_late=True,
    reject_on_worker_lost=True,
    # No retry: after some batches left, a retry would send them twice. A refused batch is logged by the service,
    # and every citizen has the notification in their notification centre whatever happens to the e-mail.
    soft_time_limit=55 * 60,
    time_limit=60 * 60,
)
def notices_email(low_id: int, high_id: int, title: str, created_at: str) -> dict:
    """E-mail the notifications written by one suspension, reinstatement or withdrawal."""
    return {"sent": notices_email_send(low_id=low_id, high_id=high_id, title=title, created_at=_at(created_at))}
