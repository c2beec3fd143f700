"""Writes of the agenda. Every function takes the ``access`` decided by ``mes.acces.policy`` and an explicit source;
each change writes one journal row in its transaction."""

from agenda.services.events import (
    EVENT_ADDED,
    EVENT_CHANGED,
    EVENT_DELETED,
    TASK_ADDED,
    TASK_CHANGED,
    TASK_DELETED,
    event_create,
    event_delete,
    event_occurrence_delete,
    event_update,
    task_create,
    task_delete,
    task_set_done,
    task_update,
)

__all__ = [
    "EVENT_ADDED",
    "EVENT_CHANGED",
    "EVENT_DELETED",
    "TASK_ADDED",
    "TASK_CHANGED",
    "TASK_DELETED",
    "event_create",
    "event_delete",
    "event_occurrence_delete",
    "event_update",
    "task_create",
    "task_delete",
    "task_set_done",
    "task_update",
]
