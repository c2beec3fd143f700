"""FHIR R4 JSON over DRF: media type, parser, renderer and OperationOutcome construction.

Resources are validated with ``fhir.resources`` (its R4B models are the nearest to R4).
"""

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer

FHIR_JSON = "application/fhir+json"
NOT_A_RESOURCE = "Le corps de la requête doit être une ressource FHIR (objet avec « resourceType »)."


class FHIRJSONParser(BaseParser):
    media_type = FHIR_JSON

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.loads(stream.read().decode(encoding))
        except (ValueError, UnicodeDecodeError) as error:
            raise ParseError(f"Le corps de la requête n'est pas un JSON FHIR valide : {error}") from None
        if not isinstance(data, dict) or "resourceType" not in data:
            raise ParseError(NOT_A_RESOURCE)
        return data


class FHIRJSONRenderer(BaseRenderer):
    media_type = FHIR_JSON
    format = "fhir"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# HTTP status → FHIR issue code (http://hl7.org/fhir/R4/valueset-issue-type.html)
_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
    429: "throttled",
}


def operation_outcome(status: int, messages: list[str], *, expressions: list[list[str]] | None = None) -> dict:
    """An OperationOutcome with one issue per message (``error`` severity, code derived from the status)."""
    code = _ISSUE_CODES.get(status, "exception")
    issues = []
    for index, message in enumerate(messages or ["Erreur."]):
        issue = {"severity": "error" if status < 500 else "fatal", "code": code, "diagnostics": message}
        if expressions and index < len(expressions) and expressions[index]:
            issue["expression"] = expressions[index]
        issues.append(issue)
    return {"resourceType": "OperationOutcome", "issue": issues}
