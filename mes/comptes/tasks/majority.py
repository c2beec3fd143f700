"""Daily: the spaces of children who came of age become their own."""

from celery import shared_task
from django.utils import timezone

from mes.comptes.services.majority import majority_release


@shared_task(name="mes.comptes.tasks.majority_release", time_limit=15 * 60, soft_time_limit=14 * 60)
def majority_release_daily() -> int:
    """Idempotent: a second run the same day finds no representative left to remove."""
    return majority_release(today=timezone.localdate())
