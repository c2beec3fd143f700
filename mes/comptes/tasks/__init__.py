"""Celery tasks of mes.comptes, one module per concern; importing them here registers them with Celery."""
