"""Celery tasks of the messagerie. The worker discovers the ``tasks`` module of each app only: the outgoing mail's
tasks live in ``messagerie.tasks_outgoing`` and are imported here so that every worker registers them. (Receiving
needs no task: the SMTP ingress stores each message while the sender waits for its answer.)"""

from messagerie.tasks_outgoing import message_deliver_task, messages_pending_dispatch_task

__all__ = ["message_deliver_task", "messages_pending_dispatch_task"]
