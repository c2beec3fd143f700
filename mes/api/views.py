"""FHIR plumbing shared by every brick's API, and the server's CapabilityStatement."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from mes.api.fhir import FHIR_JSON, FHIRJSONParser, FHIRJSONRenderer
from mes.api.registry import fhir_resources


class FHIRAPIView(APIView):
    """Base of FHIR endpoints: FHIR JSON in and out, errors as OperationOutcome."""

    fhir = True
    parser_classes = [FHIRJSONParser]
    renderer_classes = [FHIRJSONRenderer]


class CapabilityStatementView(FHIRAPIView):
    """``GET /api/fhir/metadata``: what this FHIR server supports (public, as FHIR expects)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        summary="Déclaration de capacités FHIR (CapabilityStatement)",
        responses={200: OpenApiResponse(description="CapabilityStatement FHIR R4")},
        tags=["FHIR"],
    )
    def get(self, request: Request) -> Response:
        statement = CapabilityStatement.model_validate(
            {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "date": timezone.now().date().isoformat(),
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
