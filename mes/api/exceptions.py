"""API error handling: FHIR endpoints answer every error with an OperationOutcome."""

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from mes.api.fhir import FHIR_JSON, FHIRJSONRenderer, operation_outcome

logger = logging.getLogger(__name__)


class UnprocessableEntity(exceptions.APIException):
    """A well-formed resource that breaks a business or profile rule (FHIR answers 422)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "La ressource ne respecte pas les règles attendues."
    default_code = "unprocessable"

    def __init__(self, detail=None, code=None, expressions: list[list[str]] | None = None):
        super().__init__(detail, code)
        self.expressions = expressions


def _flatten(detail, path: tuple[str, ...] = ()) -> list[tuple[str, list[str]]]:
    """(message, FHIRPath-like expression) pairs from a DRF error detail, whatever its nesting."""
    if isinstance(detail, dict):
        pairs = []
        for key, value in detail.items():
            sub_path = path if key in {"non_field_errors", "detail"} else (*path, str(key))
            pairs.extend(_flatten(value, sub_path))
        return pairs
    if isinstance(detail, list):
        pairs = []
        for item in detail:
            pairs.extend(_flatten(item, path))
        return pairs
    return [(str(detail), [".".join(path)] if path else [])]


def is_fhir_view(context: dict) -> bool:
    view = context.get("view")
    return bool(view is not None and getattr(view, "fhir", False))


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if not is_fhir_view(context):
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if response is None:
        # An unexpected error: answer in FHIR, without leaking internals, and let it be logged as a 500.
        logger.exception("Unhandled error in FHIR endpoint %s", context.get("view").__class__.__name__, exc_info=exc)
        # The exception is answered rather than raised, so an ATOMIC_REQUESTS transaction must be marked for
        # rollback here (DRF's handler does so for the errors it handles).
        set_rollback()
        status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
        body = operation_outcome(status_code, ["Erreur interne du serveur."])
        headers = {}
    else:
        status_code = response.status_code
        pairs = _flatten(exc.detail) if isinstance(exc, exceptions.APIException) else [(str(exc), [])]
        expressions = getattr(exc, "expressions", None) or [expression for _, expression in pairs]
        body = operation_outcome(status_code, [message for message, _ in pairs], expressions=expressions)
        headers = {key: value for key, value in response.items() if key in {"WWW-Authenticate", "Retry-After", "Allow"}}
    fhir_response = Response(body, status=status_code, headers=headers, content_type=FHIR_JSON)
    # The negotiated renderer may be plain JSON (e.g. on a 406); an OperationOutcome is always FHIR JSON.
    fhir_response.accepted_renderer = FHIRJSONRenderer()
    fhir_response.accepted_media_type = FHIR_JSON
    fhir_response.renderer_context = context
    if response is None:
        fhir_response.exception = True
    return fhir_response
