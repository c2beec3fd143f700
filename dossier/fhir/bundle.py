"""A FHIR R4 Bundle written to a stream one entry at a time, so that its size never has to fit in memory.

The writer emits the JSON itself: the envelope, then each entry as soon as it is given, then the closing brackets.
A Binary's ``data`` (base64) is written from an iterator of byte chunks of any size, re-cut into blocks whose length
is a multiple of 3 so that each block encodes to base64 without padding and the concatenation is the encoding of the
whole content: only one block is ever held in memory.
"""

import base64
import json
import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import BinaryIO

# Canonical base of the code systems and extensions this service defines (a name, never fetched).
CANONICAL_BASE = "https://www.monespacesante.fr/fhir"

# Bytes encoded per base64 block: a multiple of 3 (no padding inside the data), about 48 KiB.
BASE64_BLOCK = 3 * 16 * 1024


def urn_uuid(value: uuid.UUID | str) -> str:
    """The ``fullUrl`` of an entry whose resource has this UUID (references inside the Bundle use it too)."""
    return f"urn:uuid:{value}"


_LOCAL_REFERENCE = re.compile(r"^[A-Z][A-Za-z]+/([0-9a-fA-F-]{36})$")


def bundle_reference(reference: str) -> str:
    """A reference as an entry of the Bundle sees it: ``Observation/<uuid>`` (how the API names a resource by its
    public id) becomes ``urn:uuid:<uuid>``, the ``fullUrl`` of that resource in the Bundle; anything else is kept."""
    match = _LOCAL_REFERENCE.match(reference)
    if match is None:
        return reference
    try:
        return urn_uuid(uuid.UUID(match.group(1)))
    except ValueError:
        return reference


def fhir_instant(moment: datetime) -> str:
    """An instant as FHIR wants it: seconds, an explicit offset (``Z`` for UTC)."""
    text = moment.isoformat(timespec="seconds")
    return text.replace("+00:00", "Z")


def _dumps(value: dict) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class BundleWriter:
    """Writes ``{"resourceType": "Bundle", ..., "entry": [...]}`` to a binary stream, entry by entry.

    Use it as a context manager; leaving the block normally closes the JSON, leaving it on an exception does not
    (the caller throws the incomplete stream away).
    """

    def __init__(self, stream: BinaryIO, *, bundle_id: uuid.UUID, timestamp: datetime, bundle_type: str = "collection"):
        self.stream = stream
        self.bundle_id = bundle_id
        self.timestamp = timestamp
        self.bundle_type = bundle_type
        self.entries = 0
        self.bytes_written = 0
        self._opened = False
        self._closed = False

    def __enter__(self) -> "BundleWriter":
        self.open()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()

    def _write(self, data: bytes) -> None:
        self.stream.write(data)
        self.bytes_written += len(data)

    def open(self) -> None:
        head = {
            "resourceType": "Bundle",
            "id": str(self.bundle_id),
            "identifier": {"system": "urn:ietf:rfc:3986", "value": urn_uuid(self.bundle_id)},
            "type": self.bundle_type,
            "timestamp": fhir_instant(self.timestamp),
        }
        # The envelope without its closing brace: the entry array opens with the first entry (FHIR forbids an empty
        # array), then entries follow one per line.
        self._write(_dumps(head)[:-1])
        self._opened = True

    def _entry_start(self, full_url: str) -> None:
        if not self._opened or self._closed:
            raise RuntimeError("The Bundle is not open for writing.")
        self._write(b',"entry":[\n' if self.entries == 0 else b",\n")
        self._write(b'{"fullUrl":' + json.dumps(full_url).encode("utf-8"))
        self.entries += 1

    def add(self, resource: dict, *, full_url: str) -> None:
        """One entry holding ``resource`` (a JSON-ready dict with its ``resourceType``)."""
        self._entry_start(full_url)
        self._write(b',"resource":' + _dumps(resource) + b"}")

    def add_binary(self, resource: dict, *, full_url: str, chunks: Iterable[bytes]) -> int:
        """One Binary entry whose ``data`` is the base64 of the concatenated ``chunks``; returns the bytes read.

        ``resource`` carries everything but ``data`` (``resourceType``, ``id``, ``contentType``...). An empty
        content has no ``data`` at all: FHIR forbids empty strings.
        """
        self._entry_start(full_url)
        head = _dumps(resource)[:-1]  # without the closing brace: data comes last
        self._write(b',"resource":' + head)
        pending = b""
        total = 0
        started = False
        for chunk in chunks:
            total += len(chunk)
            pending += chunk
            if len(pending) < BASE64_BLOCK:
                continue  # small reads are gathered into one block
            usable = len(pending) - len(pending) % 3
            if not started:
                self._write(b',"data":"')
                started = True
            self._write(base64.b64encode(pending[:usable]))
            pending = pending[usable:]
        if pending:
            if not started:
                self._write(b',"data":"')
                started = True
            self._write(base64.b64encode(pending))
        if started:
            self._write(b'"')
        self._write(b"}}")
        return total

    def close(self) -> None:
        if self._closed:
            return
        self._write(b"\n]}\n" if self.entries else b"}\n")
        self._closed = True
