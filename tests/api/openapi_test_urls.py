"""Test-only URLconf: the project's URLs plus one documented, OAuth2-protected FHIR endpoint."""

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from oauth2_provider.contrib.rest_framework import TokenHasScope
from rest_framework.response import Response

from mes.api.views import FHIRAPIView
from mes.urls import urlpatterns as project_urlpatterns


class DocumentedPatientView(FHIRAPIView):
    permission_classes = [TokenHasScope]
    required_scopes = ["openid"]

    @extend_schema(
        summary="Patient de l'usager",
        responses={200: OpenApiResponse(description="Patient FHIR R4")},
        tags=["FHIR"],
    )
    def get(self, request):
        return Response({"resourceType": "Patient", "id": str(request.user.pk)})


urlpatterns = [path("api/fhir/Patient", DocumentedPatientView.as_view()), *project_urlpatterns]
