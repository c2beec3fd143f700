"""What every FHIR search of the paired apps shares: the page size and the signed keyset cursor of ``next`` links.

A cursor carries the position of the last row served and what it was made for (the pairing, the sort order, the
filters: each search says); it is signed, so that an app can neither forge a position nor reuse a cursor for
another search. Refusals are 400 OperationOutcomes naming the parameter.
"""

import json

from django.core import signing
from rest_framework import exceptions

DEFAULT_COUNT = 20
MAX_COUNT = 100
CURSOR_PARAM = "_cursor"
INVALID_CURSOR = "Curseur de page invalide : suivez le lien « next » de la page précédente tel quel."


class InvalidSearch(exceptions.ValidationError):
    """400 on a search parameter, named in the OperationOutcome's ``expression``."""

    def __init__(self, parameter: str, message: str):
        super().__init__({parameter: [message]})


def search_count(raw: str | None) -> int:
    """``_count``: a positive integer; past ``MAX_COUNT`` the page is ``MAX_COUNT`` (FHIR lets a server return
    fewer results than asked)."""
    if raw is None:
        return DEFAULT_COUNT
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidSearch("_count", f"_count doit être un nombre entier positif (au plus {MAX_COUNT}).")
    return min(int(raw), MAX_COUNT)


def _normalised(context) -> object:
    # What the cursor gives back went through JSON: tuples come back as lists.
    return json.loads(json.dumps(context))


def cursor_dump(position: list, *, salt: str, context) -> str:
    """A signed cursor for ``position`` (JSON values), valid only for ``context``."""
    return signing.dumps({"at": position, "for": context}, salt=salt)


def cursor_load(raw: str, *, salt: str, context) -> list:
    """The position a cursor carries; ``InvalidSearch`` when it was altered or made for another ``context``."""
    try:
        data = signing.loads(raw, salt=salt)
    except signing.BadSignature:
        raise InvalidSearch(CURSOR_PARAM, INVALID_CURSOR) from None
    if not isinstance(data, dict) or not isinstance(data.get("at"), list) or data.get("for") != _normalised(context):
        raise InvalidSearch(CURSOR_PARAM, INVALID_CURSOR)
    return data["at"]
