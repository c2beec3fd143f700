"""Celery tasks of mes.comptes, one module per concern; importing them here registers them with Celery."""

from mes.comptes.tasks import campaigns, closure, majority, optout  # noqa: F401
