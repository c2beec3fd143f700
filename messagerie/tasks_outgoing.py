"""Celery tasks of the citizen's outgoing mail: thin, taking ids, idempotent (the delivery claims its message by a
guarded state: ``en_attente`` and not locked by another delivery).

Named explicitly, so that their names do not depend on the module layout; ``messagerie.tasks`` imports this module
so that the worker (which discovers ``tasks`` modules only) knows them.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from messagerie.services.outgoing import DeliveryDeferred, message_deliver, messages_pending_dispatch

# Transient SMTP failures are tried again after 1, 2, 4, 8, 16 then 30 minutes (about an hour in all); the last
# attempt marks the message failed, and the citizen may try again from the conversation.
MAX_RETRIES = 6
RETRY_BACKOFF = 60
RETRY_BACKOFF_MAX = 30 * 60
# One SMTP exchange (30 s of timeout per step) and the reading of the attachments.
TIME_LIMIT = 5 * 60


@shared_task(
    bind=True,
    name="messagerie.tasks.message_deliver",
    # A worker killed mid-send leaves the task unacknowledged: it is delivered again, and finds the message still
    # waiting (the claim was rolled back with the dead worker's session). The message may then reach the
    # professional twice, with the same Message-ID, which mail clients show once.
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=TIME_LIMIT - 30,
    time_limit=TIME_LIMIT,
    max_retries=MAX_RETRIES,
    # A database that cannot be reached is worth retrying; the claim makes a retry harmless.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=RETRY_BACKOFF,
    retry_backoff_max=RETRY_BACKOFF_MAX,
)
def message_deliver_task(self, message_id: int) -> str:
    """Deliver one outbound message; returns its status (``envoye``, ``echec``) or ``skipped``."""
    # Without a broker the task runs inline, in the citizen's request: there is no waiting between attempts there,
    # so the first transient failure is final, and the citizen tries again from the conversation.
    final_attempt = bool(self.request.is_eager) or self.request.retries >= self.max_retries
    try:
        return message_deliver(message_id=message_id, final_attempt=final_attempt)
    except DeliveryDeferred as deferred:
        countdown = min(RETRY_BACKOFF * 2**self.request.retries, RETRY_BACKOFF_MAX)
        raise self.retry(exc=deferred, countdown=countdown) from deferred


@shared_task(
    name="messagerie.tasks.messages_pending_dispatch",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=4 * 60,
    time_limit=5 * 60,
)
def messages_pending_dispatch_task() -> dict:
    """Every few minutes (schedule in ``mes.celery``): the messages whose delivery task was lost are handed again."""
    return {"dispatched": messages_pending_dispatch()}
