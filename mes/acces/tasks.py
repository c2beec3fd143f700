from celery import shared_task

from mes.acces.services import journal_verify_and_record


@shared_task(name="mes.acces.tasks.journal_verify", time_limit=3600, soft_time_limit=3500)
def journal_verify() -> dict:
    """Nightly check of the journal's hash chain (read-only on existing rows, so always safe to re-run)."""
    report = journal_verify_and_record()
    return {"ok": report.ok, "checked": report.checked, "first_broken_seq": report.first_broken_seq}
