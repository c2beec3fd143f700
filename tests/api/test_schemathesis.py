"""Property-based checks of the API against its own OpenAPI schema (``/api/schema/``), in-process over WSGI.

For every documented operation, a bounded and reproducible set of generated requests (valid and invalid) is sent
with the bearer token of a paired app holding every scope, so that the handlers themselves run, not only the
authentication. No answer may be a server error, and every answer must match what the schema declares: its status
code, its media type, its headers and its body.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Per operation: enough to go through the parameters and the main shapes of the bodies, within a minute overall.
EXAMPLES_PER_OPERATION = 20


@pytest.fixture
def api_schema(db):
    """The schema served by the project itself, and the project as the WSGI application to call.

    The test's data live in a transaction that a real request's end would close the connection of: as Django's
    test client does, connections are left open around these requests.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _check_operation(operation, mode: GenerationMode, token: str) -> str | None:
    """Runs the bounded examples of one operation in one generation mode; the first failure found, if any."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION // 2,
        derandomize=True,
        deadline=None,
        database=None,
        # A failure is reported as found: shrinking it would cost more time than it saves here.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        # Nothing of this operation can be made invalid (no parameter, no body): there is no negative case to send.
        return None
    except (AssertionError, FailureGroup) as error:
        return f"{operation.method.upper()} {operation.path} ({mode}) : {error}"
    return None


def test_api_answers_as_its_schema_says(api_schema, paired):
    # The token opens the handlers (else every generated request would stop at a 401 and prove little).
    patient = api_schema["/api/fhir/Patient/{idpe}"]["GET"]
    case = api_schema.make_case(operation=patient, path_parameters={"idpe": paired.pairing.idpe})
    assert case.call(headers={"Authorization": f"Bearer {paired.token}"}).status_code == 200
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 10, "the FHIR endpoints are in the schema"
    failures = [
        failure
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (failure := _check_operation(operation, mode, paired.token)) is not None
    ]
    assert not failures, "\n\n".join(failures)
