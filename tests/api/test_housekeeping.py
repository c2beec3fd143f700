"""The hourly housekeeping forgets old idempotency answers and expired tokens, and nothing else."""

from datetime import timedelta

from django.utils import timezone
from oauth2_provider.models import AccessToken

from mes.api.models import IdempotencyRecord
from mes.api.services import IDEMPOTENCY_RETENTION, idempotency_purge
from mes.api.tasks import api_housekeeping


def _record(paired, key: str, age: timedelta) -> IdempotencyRecord:
    record = IdempotencyRecord.objects.create(
        application=paired.application,
        user=paired.pairing.citizen.user,
        key=key,
        request_hash="0" * 64,
        status_code=201,
        body={"resourceType": "Observation"},
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - age)
    return record


def test_purge_deletes_only_records_past_retention_in_chunks(paired):
    old = [_record(paired, f"ancienne-{n}", IDEMPOTENCY_RETENTION + timedelta(minutes=5)) for n in range(5)]
    recent = _record(paired, "recente", IDEMPOTENCY_RETENTION - timedelta(minutes=5))
    assert idempotency_purge(chunk_size=2) == len(old)
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == [recent.key]


def test_task_also_clears_expired_tokens_but_keeps_valid_ones(paired):
    AccessToken.objects.create(
        user=paired.pairing.citizen.user,
        application=paired.application,
        token="perime-0123456789",
        expires=timezone.now() - timedelta(days=2),
        scope="patient/Observation.rs",
    )
    _record(paired, "ancienne", IDEMPOTENCY_RETENTION + timedelta(hours=1))
    assert api_housekeeping.delay().get() == {"idempotency_records_deleted": 1}
    assert AccessToken.objects.filter(user=paired.pairing.citizen.user).count() == 1  # the valid token of `paired`
