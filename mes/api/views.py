"""FHIR plumbing shared by every brick's API, and the server's CapabilityStatement."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from rest_framework.exceptions import ParseError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mes.api.fhir import FHIR_JSON, NOT_A_RESOURCE, FHIRJSONParser, FHIRJSONRenderer
from mes.api.registry import fhir_resources

_PLAIN_ACCEPTS = frozenset({None, "", "*/*", FHIR_JSON})


class FHIRAPIView(APIView):
    """Base of FHIR endpoints: FHIR JSON in and out, errors as OperationOutcome."""

    fhir = True
    parser_classes = [FHIRJSONParser]
    renderer_classes = [FHIRJSONRenderer]
    # Methods whose body must be a FHIR resource. DRF hands an empty body to no parser at all (``request.data``
    # is then ``{}``), so an empty body is refused here, after authentication, permissions and throttling.
    resource_body_methods = frozenset({"POST", "PUT", "PATCH"})

    def perform_content_negotiation(self, request: Request, force: bool = False):
        # The usual case, FHIR JSON asked for (or anything accepted) of an endpoint that only speaks it, is settled
        # without DRF's parsing of the Accept header; any other header is negotiated (and refused, 406) as before.
        if self.renderer_classes == [FHIRJSONRenderer] and request.META.get("HTTP_ACCEPT") in _PLAIN_ACCEPTS:
            return FHIRJSONRenderer(), FHIR_JSON
        return super().perform_content_negotiation(request, force)

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        method = request.method.upper()
        if method in self.resource_body_methods and hasattr(self, method.lower()) and request.stream is None:
            raise ParseError(NOT_A_RESOURCE)


class CapabilityStatementView(FHIRAPIView):
    """``GET /api/fhir/metadata``: what this FHIR server supports (public, as FHIR expects)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        summary="Déclaration de capacités FHIR (CapabilityStatement)",
        description=(
            "Ce que ce serveur FHIR prend en charge : ressources, interactions, sécurité. "
            "Public, comme FHIR le prévoit."
        ),
        responses={200: OpenApiResponse(description="CapabilityStatement FHIR R4")},
        tags=["FHIR"],
    )
    def get(self, request: Request) -> Response:
        statement = CapabilityStatement.model_validate(
            {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "date": timezone.localdate().isoformat(),
                "publisher": "Mon espace santé",
                "kind": "instance",
                "fhirVersion": "4.0.1",
                "format": [FHIR_JSON],
                "implementation": {
                    "description": "API Mon espace santé pour les services référencés",
                    "url": request.build_absolute_uri("/api/fhir"),
                },
                "rest": [
                    {
                        "mode": "server",
                        "security": {
                            "cors": False,
                            "service": [
                                {
                                    "coding": [
                                        {
                                            "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                            "code": "OAuth",
                                        }
                                    ]
                                }
                            ],
                            "description": (
                                "OAuth2 (code d'autorisation avec PKCE S256) : jeton obtenu après appariement "
                                "par l'usager, limité aux périmètres accordés au référencement et consentis."
                            ),
                        },
                        "resource": [resource.capability() for resource in fhir_resources()],
                    }
                ],
            }
        )
        return Response(statement.model_dump(mode="json", exclude_none=True), content_type=FHIR_JSON)
