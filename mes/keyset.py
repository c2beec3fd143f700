"""The cursors of the two-way keyset pagination of the pages' lists (documents, conversations...).

A cursor names a row by its sort key and its id, and says which way to go from it (``OLDER`` or ``NEWER``):
``o:<key>:<id>`` in URL-safe base64. Anything this server did not produce (edited by hand, truncated) is an
``InvalidCursor``, which the pages answer with a 400 and a French message.
"""

import base64
import binascii
import re
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from django.db.models import Q

__all__ = ["MAX_ID", "NEWER", "OLDER", "InvalidCursor", "cursor_decode", "cursor_encode", "keyset_page"]

OLDER, NEWER = "o", "n"
MAX_ID = 2**63 - 1  # a bigint primary key

Key = TypeVar("Key")


class InvalidCursor(ValueError):
    """A pagination cursor that this server did not produce (edited by hand, truncated)."""


def cursor_encode(direction: str, key: str, pk: int) -> str:
    raw = f"{direction}:{key}:{pk}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


@lru_cache(maxsize=16)
def _pattern(key_pattern: str) -> re.Pattern:
    return re.compile(rf"^(?P<direction>[on]):(?P<key>{key_pattern}):(?P<id>\d{{1,19}})$")


def cursor_decode(cursor: str, *, key_pattern: str, parse: Callable[[str], Key]) -> tuple[str, Key, int]:
    """``(direction, key, id)`` of ``cursor``; ``key_pattern`` is the regular expression of the key's text and
    ``parse`` turns it into the key (a ``ValueError`` from it makes the cursor invalid)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor(cursor) from None
    match = _pattern(key_pattern).match(raw)
    if match is None:
        raise InvalidCursor(cursor)
    try:
        key = parse(match["key"])
    except ValueError:
        raise InvalidCursor(cursor) from None
    pk = int(match["id"])
    if pk > MAX_ID:
        raise InvalidCursor(cursor)
    return match["direction"], key, pk


def keyset_page(
    rows,
    *,
    field: str,
    cursor: str | None,
    size: int,
    decode: Callable[[str], tuple[str, Key, int]],
    encode: Callable[[str, object], str],
) -> tuple[list, str | None, str | None]:
    """One page of ``rows`` (a queryset), newest ``field`` first then newest id, from ``cursor`` on, in one query.

    Returns the page (newest first) and the cursors of the older and newer pages (``None`` when there is none).
    ``decode`` reads a cursor into ``(direction, key, id)``; ``encode(direction, row)`` writes one for a row.
    """
    direction = OLDER
    if cursor:
        direction, key, pk = decode(cursor)
        if direction == OLDER:
            rows = rows.filter(Q(**{f"{field}__lt": key}) | Q(**{field: key, "pk__lt": pk}))
        else:
            rows = rows.filter(Q(**{f"{field}__gt": key}) | Q(**{field: key, "pk__gt": pk}))
    if direction == OLDER:
        found = list(rows.order_by(f"-{field}", "-pk")[: size + 1])
        more = len(found) > size
        found = found[:size]
        older = encode(OLDER, found[-1]) if more and found else None
        newer = encode(NEWER, found[0]) if cursor and found else None
    else:
        found = list(rows.order_by(field, "pk")[: size + 1])
        more = len(found) > size
        found = list(reversed(found[:size]))
        newer = encode(NEWER, found[0]) if more and found else None
        older = encode(OLDER, found[-1]) if found else None
    return found, older, newer
