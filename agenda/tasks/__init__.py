"""The agenda's Celery tasks (named explicitly, so that their names do not depend on the module layout)."""

from agenda.tasks.prevention import prevention_dates_compute
from agenda.tasks.reminders import reminders_send

__all__ = ["prevention_dates_compute", "reminders_send"]
