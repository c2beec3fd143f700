"""Every brick's uploads: the size limit, enforced before and while the request body streams; and the deletion of a
file written for a transaction that does not commit."""

import logging
import weakref

from django.core.files.storage import Storage, default_storage
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.http import HttpRequest

logger = logging.getLogger(__name__)

# Room for the multipart envelope and the form's other fields around the file itself.
MULTIPART_MARGIN = 64 * 1024


class UploadLimit(FileUploadHandler):
    """Counts the bytes of uploaded files as the request body streams, and stops reading past the limit."""

    def __init__(self, request=None, *, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.exceeded = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None


def upload_limit_install(request: HttpRequest, *, max_bytes: int) -> UploadLimit | None:
    """Watch the body of a POST against ``max_bytes``; ``None`` when the announced size is already too large, so
    that the view refuses it before a byte of the body is read. Call it before anything reads ``request.POST``
    (the view is ``csrf_exempt`` and checks the token afterwards)."""
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        announced = 0
    if announced > max_bytes + MULTIPART_MARGIN:
        return None
    limiter = UploadLimit(request, max_bytes=max_bytes)
    request.upload_handlers = [limiter, *request.upload_handlers]
    return limiter


def _exists_committed(model, field: str, name: str, using: str) -> bool:
    """Whether a committed row of ``model`` references ``name`` in ``field``, asked on a fresh connection (which sees
    committed rows only, whatever the state of the transaction being rolled back)."""
    connection = connections[using].copy()
    try:
        table = connection.ops.quote_name(model._meta.db_table)
        column = connection.ops.quote_name(model._meta.get_field(field).column)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {table} WHERE {column} = %s LIMIT 1", [name])  # noqa: S608 - model names
            return cursor.fetchone() is not None
    finally:
        connection.close()


def delete_quietly(storage: Storage, name: str) -> None:
    try:
        storage.delete(name)
    except Exception:  # the storage may be unreachable: the file is then an orphan, said in the log
        logger.exception("Fichier %s non supprimé du stockage", name)


def _discard(storage: Storage, name: str, model, field: str, using: str, state: dict) -> None:
    if state["committed"]:
        return
    try:
        if _exists_committed(model, field, name, using):
            return  # committed after all (a commit hook registered before ours failed, so ours never ran)
    except Exception:
        logger.exception("Vérification du fichier %s impossible : il est conservé", name)
        return
    delete_quietly(storage, name)


def discard_unless_committed(
    name: str, *, model, field: str = "file", storage: Storage | None = None, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Delete the stored file ``name`` again unless the current transaction commits with a ``model`` row referencing
    it in ``field``.

    Django has commit hooks but no rollback hook. A commit hook dropped unrun means the transaction (or the savepoint
    that registered it) was rolled back: the hook below is then freed, and its finaliser deletes the file, after
    checking from a fresh connection that no committed row references it. A commit runs the hook, which marks the
    file as kept. This covers rollbacks of an outer transaction too (several files added in one transaction).
    """
    storage = storage or default_storage
    state = {"committed": False}

    def committed() -> None:
        state["committed"] = True

    weakref.finalize(committed, _discard, storage, name, model, field, using, state)
    transaction.on_commit(committed, using=using)
