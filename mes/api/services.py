"""Housekeeping of the API's own records."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import clear_expired

from mes.api.models import IdempotencyRecord

# A retry comes within minutes; a day covers a client that retries after an outage.
IDEMPOTENCY_RETENTION = timedelta(hours=24)
PURGE_CHUNK = 5_000


def idempotency_purge(*, now: datetime | None = None, chunk_size: int = PURGE_CHUNK) -> int:
    """Delete the recorded answers older than ``IDEMPOTENCY_RETENTION``, chunk by chunk (short transactions)."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_RETENTION
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                IdempotencyRecord.objects.filter(created_at__lt=cutoff)
                .order_by("pk")
                .values_list("pk", flat=True)[:chunk_size]
            )
            if not ids:
                return deleted
            deleted += IdempotencyRecord.objects.filter(pk__in=ids).delete()[0]


def api_housekeeping() -> dict:
    """Old idempotency records, then the toolkit's expired tokens and codes (``clear_expired``)."""
    purged = idempotency_purge()
    clear_expired()
    return {"idempotency_records_deleted": purged}
