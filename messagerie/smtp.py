"""The SMTP ingress of the MSS operator: professionals' mail servers deliver ``<INS>@patient.mssante.fr`` here.

An aiosmtpd server whose handler answers each step with the verdict of ``messagerie.services.ingest``:
- MAIL FROM: ``sender_check`` (550 5.7.1 for a sender outside the MSSanté professional space);
- RCPT TO: ``recipient_resolve`` (550 5.1.1 for an unknown or inactive space, 550 5.7.1 for another domain: no
  relay); at most ``MSS_MAX_RECIPIENTS`` per message (452 4.5.3, the sender sends the rest again);
- SIZE: announced in EHLO and enforced by aiosmtpd while the data streams in (552);
- DATA: ``message_ingest``; 250 with a delivery identifier, or its refusal (552 5.3.4, 554 5.6.0). A database or
  storage failure answers 451 4.3.0: the sender keeps the message and tries again, and nothing was half-stored
  (one transaction, files deleted on rollback). Any other failure is temporary too (``handle_exception``), and its
  text never reaches the sender.
The ORM work runs in a pool of threads (the event loop never blocks on the database); each thread closes its
connection when it is unusable or older than ``CONN_MAX_AGE``, as a request would, and the pool closes them all
when the server stops. The logs name the sender and the shape of a message, never its subject, content or the
recipients' INS.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import threading
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections

from messagerie.services.ingest import IngestRefused, message_ingest, recipient_resolve, sender_check

logger = logging.getLogger(__name__)

T = TypeVar("T")

TEMPORARY_FAILURE = "451 4.3.0 Temporary local problem, please try again later"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
# What the server calls itself in its greeting, instead of aiosmtpd's name and version.
IDENT = "Mon espace sante MSS"


class OrmThreads:
    """Threads for the ORM work of the SMTP sessions, each keeping its database connection between jobs."""

    def __init__(self, workers: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mss-smtp-db")
        self._wrappers: set = set()
        self._lock = threading.Lock()

    def _call(self, function: Callable[[], T]) -> T:
        close_old_connections()
        try:
            return function()
        finally:
            close_old_connections()
            with self._lock:
                self._wrappers.update(connections.all(initialized_only=True))

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, functools.partial(function, *args, **kwargs))

    def close(self) -> None:
        """Wait for the running jobs, then close every connection the threads opened (from this thread: Django
        allows it once the connection is marked as shared)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            wrappers, self._wrappers = list(self._wrappers), set()
        for wrapper in wrappers:
            wrapper.inc_thread_sharing()
            try:
                wrapper.close()
            finally:
                wrapper.dec_thread_sharing()


def _log_failure(text: str, *args: object, error: BaseException) -> None:
    """Log a failure with its traceback; for a database error, without its message: PostgreSQL details may quote
    the row being written (« Failing row contains … »), a message's text included."""
    if isinstance(error, DatabaseError):
        cause = error.__cause__ or error
        logger.error(
            text + " (%s, SQLSTATE %s)\n%s",
            *args,
            type(error).__name__,
            getattr(cause, "sqlstate", None) or "?",
            "".join(traceback.format_tb(error.__traceback__)).rstrip(),
        )
    else:
        logger.error(text, *args, exc_info=error)


class IngressHandler:
    """The aiosmtpd handler: each SMTP step asks the ingestion service."""

    def __init__(self, *, workers: int | None = None) -> None:
        self.orm = OrmThreads(workers or settings.MSS_SMTP_WORKERS)

    async def handle_MAIL(self, server, session, envelope, address: str, mail_options: list[str]) -> str:
        try:
            await self.orm.run(sender_check, address)
        except IngestRefused as refusal:
            logger.info("MAIL FROM %s refused from %s: %s", address, _peer(session), refusal.smtp_reply)
            return refusal.smtp_reply
        except DatabaseError as error:
            _log_failure("MAIL FROM could not be checked", error=error)
            return TEMPORARY_FAILURE
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= settings.MSS_MAX_RECIPIENTS:
            return TOO_MANY_RECIPIENTS
        try:
            await self.orm.run(recipient_resolve, address)
        except IngestRefused as refusal:
            logger.info("RCPT TO refused for a message from %s: %s", envelope.mail_from, refusal.smtp_reply)
            return refusal.smtp_reply
        except DatabaseError as error:
            _log_failure("RCPT TO could not be checked", error=error)
            return TEMPORARY_FAILURE
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        delivery = uuid.uuid4().hex[:16]
        try:
            messages = await self.orm.run(
                message_ingest,
                raw=bytes(envelope.original_content),
                envelope_from=envelope.mail_from,
                recipients=list(envelope.rcpt_tos),
            )
        except IngestRefused as refusal:
            logger.info("Message %s from %s refused: %s", delivery, envelope.mail_from, refusal.smtp_reply)
            return refusal.smtp_reply
        except (DatabaseError, OSError) as error:
            # The database or the storage: temporary, so the sender keeps the message and retries (the transaction
            # rolled back, and the files written for it were deleted). Any other error goes to handle_exception.
            _log_failure("Message %s from %s could not be stored", delivery, envelope.mail_from, error=error)
            return TEMPORARY_FAILURE
        logger.info(
            "Message %s from %s delivered to %d space(s): %s",
            delivery,
            envelope.mail_from,
            len(messages),
            ", ".join(str(message.public_id) for message in messages),
        )
        return f"250 2.0.0 Ok: queued as {delivery}"

    async def handle_exception(self, error: Exception) -> str:
        """Any other failure while a command is handled: temporary for the sender, and nothing of the error's text
        (which aiosmtpd would otherwise send back) leaves the server."""
        _log_failure("SMTP command failed", error=error)
        return TEMPORARY_FAILURE

    def close(self) -> None:
        self.orm.close()


def _peer(session) -> str:
    peer = getattr(session, "peer", None)
    return str(peer[0]) if isinstance(peer, tuple) and peer else "?"


def tls_context() -> ssl.SSLContext | None:
    """The STARTTLS context when a certificate is configured (``MSS_SMTP_TLS_CERT_FILE`` / ``..._KEY_FILE``)."""
    if not settings.MSS_SMTP_TLS_CERT_FILE:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.MSS_SMTP_TLS_CERT_FILE, settings.MSS_SMTP_TLS_KEY_FILE)
    return context


class IngressController(Controller):
    """aiosmtpd's threaded controller; port 0 takes a free port chosen by the system (read it back from ``port``)."""

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()

    def stop(self, no_assert: bool = False) -> None:
        try:
            super().stop(no_assert=no_assert)
        finally:
            self.handler.close()


def ingress_controller(*, host: str | None = None, port: int | None = None) -> IngressController:
    """The SMTP ingress, not started yet: ``start()`` it, ``stop()`` it (which also closes its database work)."""
    # aiosmtpd logs every command at INFO, recipients' addresses (their INS) included: keep only its problems.
    if logging.getLogger("mail.log").getEffectiveLevel() < logging.WARNING:
        logging.getLogger("mail.log").setLevel(logging.WARNING)
    context = tls_context()
    return IngressController(
        IngressHandler(),
        hostname=host if host is not None else settings.MSS_SMTP_HOST,
        port=port if port is not None else settings.MSS_SMTP_PORT,
        server_hostname=settings.MSS_SMTP_HOSTNAME,
        ident=IDENT,
        data_size_limit=settings.MSS_MAX_MESSAGE_BYTES,
        tls_context=context,
        require_starttls=context is not None,
        # Servers deliver without authenticating (the MSSanté trust space rests on TLS): no AUTH is offered.
        auth_exclude_mechanism=["LOGIN", "PLAIN"],
        # Decoding is ours (the email package, on the bytes as received).
        decode_data=False,
    )
