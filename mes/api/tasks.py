from celery import shared_task

from mes.api.services import api_housekeeping as _api_housekeeping


@shared_task(name="mes.api.tasks.api_housekeeping", time_limit=1800, soft_time_limit=1700)
def api_housekeeping() -> dict:
    """Hourly: forget old idempotency answers and expired OAuth2 tokens (idempotent: deletes what is due)."""
    return _api_housekeeping()
