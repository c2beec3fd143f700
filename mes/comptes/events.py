"""Signals the bricks listen to (``mes`` imports no brick: they connect to these instead)."""

from django.dispatch import Signal

# Sent inside the transaction that empties closed spaces, with ``citizen_ids``: each brick deletes what it holds for
# them in that same transaction, and its stored files once the transaction has committed.
space_content_deleting = Signal()
