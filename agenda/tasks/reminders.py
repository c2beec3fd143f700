"""The reminders job, run every minute by Celery beat (schedule in ``mes.celery``)."""

from celery import shared_task

from agenda.services.reminders import reminders_schedule, reminders_send_due

# At most this many reminders per run; more wait for the next minute, or are taken by a run on another worker at the
# same time (runs share the work safely: see agenda.services.reminders).
REMINDERS_PER_RUN = 500
# Each e-mail waits at most SMTP_TIMEOUT (30 s) for the server. A run past the soft limit stops where it is: the
# reminder under way is rolled back (nothing is left half-sent) and counted as a failed attempt.
TIME_LIMIT = 10 * 60


@shared_task(
    name="agenda.tasks.reminders_send",
    # A worker killed mid-run leaves the message unacknowledged: it is delivered again. That is harmless: the
    # reminder under way was rolled back with the dead worker's session, and the ones sent are no longer pending.
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=TIME_LIMIT - 30,
    time_limit=TIME_LIMIT,
    # No automatic retry: the next beat run, a minute later, is the retry (transient mail errors are counted on
    # each reminder by the service).
)
def reminders_send() -> dict:
    """Create the reminders now due, then send them; returns the counts."""
    created = reminders_schedule()
    sent = reminders_send_due(batch=REMINDERS_PER_RUN)
    return {"created": created, "sent": sent}
