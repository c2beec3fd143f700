"""Broker reachability, for /healthz."""

from django.conf import settings

from mes.celery import app


def broker_status() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER and not settings.CELERY_BROKER_URL:
        return {"status": "inline", "detail": "tâches exécutées dans le processus web (aucun broker configuré)"}
    try:
        with app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:  # noqa: BLE001 - any failure means "down"; the type is reported
        return {"status": "error", "error": type(error).__name__}
    return {"status": "ok"}
