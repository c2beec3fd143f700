"""The Celery application. Periodic schedules are declared here, and only here."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mes.settings.dev")

app = Celery("mes")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_time_limit=15 * 60,
    task_soft_time_limit=14 * 60,
    broker_connection_retry_on_startup=True,
    timezone="Europe/Paris",
    beat_schedule={
        "spaces-create-automatically-daily": {
            "task": "mes.comptes.tasks.optout.spaces_create_automatically",
            "schedule": crontab(hour=1, minute=0),
        },
        "journal-verify-nightly": {
            "task": "mes.acces.tasks.journal_verify",
            "schedule": crontab(hour=3, minute=15),
        },
        "spaces-delete-content-due-daily": {
            "task": "mes.comptes.tasks.spaces_delete_content_due",
            "schedule": crontab(hour=2, minute=30),
        },
        "campaigns-resume-stalled": {
            "task": "mes.comptes.tasks.campaigns_resume_stalled",
            "schedule": crontab(minute="*/10"),
        },
        "dossier-exports-purge-hourly": {
            "task": "dossier.tasks.dossier_export_purge_expired",
            "schedule": crontab(minute=20),
        },
        "agenda-prevention-dates-nightly": {
            "task": "agenda.tasks.prevention_dates_compute",
            "schedule": crontab(hour=4, minute=0),
        },
        "agenda-reminders-every-minute": {
            "task": "agenda.tasks.reminders_send",
            "schedule": crontab(minute="*"),
        },
        "api-housekeeping-hourly": {
            "task": "mes.api.tasks.api_housekeeping",
            "schedule": crontab(minute=40),
        },
        "majority-release-daily": {
            "task": "mes.comptes.tasks.majority_release",
            "schedule": crontab(hour=0, minute=30),
        },
        # Outgoing secure mail whose delivery task was lost (broker down at commit): queued again.
        "messagerie-pending-dispatch": {
            "task": "messagerie.tasks.messages_pending_dispatch",
            "schedule": crontab(minute="*/5"),
        },
        # Référencement: the audits of the month are drawn on the 1st; expired audits and unanswered requests daily.
        "referencement-audits-draw-monthly": {
            "task": "referencement.tasks.audits_draw",
            "schedule": crontab(day_of_month=1, hour=6, minute=0),
        },
        "referencement-audits-expire-daily": {
            "task": "referencement.tasks.audits_expire",
            "schedule": crontab(hour=5, minute=10),
        },
        "referencement-responses-expire-daily": {
            "task": "referencement.tasks.responses_expire",
            "schedule": crontab(hour=5, minute=20),
        },
    },
)
app.autodiscover_tasks()
