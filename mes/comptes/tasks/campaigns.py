"""Campaign tasks: thin, taking ids, idempotent (each service claims its work by the wave's state)."""

from celery import shared_task

from mes.comptes.models import User
from mes.comptes.services.campaigns import wave_import, waves_stalled
from mes.comptes.services.notification import notices_retry, wave_notify_run

# A notification run hands over to a new task after this long, well within the task's time limit.
NOTIFY_TIME_BUDGET = 10 * 60


def _actor(actor_id: int | None) -> User | None:
    return User.objects.filter(pk=actor_id).first() if actor_id else None


# The import is one transaction by design (all or nothing): its limit is that of the largest file accepted.
@shared_task(name="mes.comptes.tasks.campaign_import", time_limit=4 * 3600, soft_time_limit=4 * 3600 - 60)
def campaign_import(wave_id: int, source_name: str, actor_id: int | None) -> str:
    return wave_import(wave_id=wave_id, source_name=source_name, actor=_actor(actor_id)).status


@shared_task(bind=True, name="mes.comptes.tasks.campaign_notify", time_limit=30 * 60, soft_time_limit=25 * 60)
def campaign_notify(self, wave_id: int, actor_id: int | None) -> bool:
    # Inline (no broker), the whole wave is notified in one go; on a worker, a long wave goes on in a new task.
    budget = None if self.request.is_eager else NOTIFY_TIME_BUDGET
    done = wave_notify_run(wave_id=wave_id, actor=_actor(actor_id), time_budget=budget)
    if not done:
        campaign_notify.delay(wave_id, actor_id)
    return done


@shared_task(name="mes.comptes.tasks.campaign_email_retry", time_limit=15 * 60, soft_time_limit=14 * 60)
def campaign_email_retry(wave_id: int, public_ids: list[str], attempt: int) -> None:
    notices_retry(wave_id=wave_id, public_ids=public_ids, attempt=attempt)


@shared_task(name="mes.comptes.tasks.campaigns_resume_stalled", time_limit=5 * 60, soft_time_limit=4 * 60)
def campaigns_resume_stalled() -> int:
    """Queue again the imports and notifications whose task was lost; both are idempotent."""
    stalled = waves_stalled()
    for wave_id, source_name, actor_id in stalled.importing:
        campaign_import.delay(wave_id, source_name, actor_id)
    for wave_id, actor_id in stalled.notifying:
        campaign_notify.delay(wave_id, actor_id)
    return len(stalled.importing) + len(stalled.notifying)
