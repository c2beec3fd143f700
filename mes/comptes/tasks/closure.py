"""Deletion of the content of closed spaces once their grace period (or archive period) is over."""

from celery import shared_task
from django.utils import timezone

from mes.comptes.services.space import spaces_delete_content_due


@shared_task(
    name="mes.comptes.tasks.spaces_delete_content_due",
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=3600,
    soft_time_limit=3500,
)
def spaces_delete_content_due_task() -> dict:
    """Daily. Idempotent: the service claims due spaces with SKIP LOCKED and only those not emptied yet."""
    return {"deleted": spaces_delete_content_due(now=timezone.now())}
