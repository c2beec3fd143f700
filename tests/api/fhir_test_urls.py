"""Test-only URLconf: the project's URLs plus FHIR (and one plain DRF) views that fail on purpose, and two
endpoints of the paired apps (``FHIRAppView``) small enough to test tokens, consent and idempotency on their own."""

import time
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import path
from rest_framework import exceptions
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from dossier.fhir.measures import ObservationError
from dossier.models import MeasureKind, SourceKind
from dossier.services.measures import measure_record
from mes.api.app_views import FHIRAppView
from mes.api.exceptions import UnprocessableEntity
from mes.api.views import FHIRAPIView
from mes.urls import urlpatterns as project_urlpatterns

LEAKY_SECRET = "mot-de-passe-interne-A1B2C3"


class PatientView(FHIRAPIView):
    """Requires the default authentication (OAuth2 bearer or session); answers the caller's Patient."""

    def get(self, request):
        return Response({"resourceType": "Patient", "id": str(request.user.pk), "active": True})


class EchoView(FHIRAPIView):
    """Public; GET answers a resource, POST echoes the parsed FHIR body (PUT is not allowed)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    def get(self, request):
        return Response({"resourceType": "Patient", "active": True})

    def post(self, request):
        return Response(request.data, status=201)


class DenyAll(BasePermission):
    message = "Ce service n'a pas accès à cette ressource."

    def has_permission(self, request, view):
        return False


class ForbiddenView(FHIRAPIView):
    permission_classes = [IsAuthenticated, DenyAll]

    def get(self, request):
        return Response({"resourceType": "Patient"})


class DjangoPermissionDeniedView(FHIRAPIView):
    def get(self, request):
        raise PermissionDenied(f"Détail interne {LEAKY_SECRET}")


class NotFoundView(FHIRAPIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    def get(self, request):
        raise Http404(f"No Observation matches the given query ({LEAKY_SECRET}).")


class UnprocessableView(FHIRAPIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    def post(self, request):
        raise UnprocessableEntity(
            "La valeur de la mesure est hors des bornes physiologiques.",
            expressions=[["Observation.valueQuantity.value"]],
        )


class InvalidView(FHIRAPIView):
    """A serializer-style validation error, nested by field."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    def post(self, request):
        raise exceptions.ValidationError(
            {"subject": {"reference": ["Référence de patient inconnue."]}, "status": ["Valeur interdite."]}
        )


class OncePerMinute(AnonRateThrottle):
    scope = "fhir-test"
    rate = "1/min"


class ThrottledView(FHIRAPIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [OncePerMinute]

    def get(self, request):
        return Response({"resourceType": "Patient"})


class CrashView(FHIRAPIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    def get(self, request):
        raise RuntimeError(f"connexion à la base refusée, {LEAKY_SECRET}")


class PlainView(APIView):
    """A non-FHIR DRF endpoint: its errors stay DRF's plain JSON."""

    def get(self, request):
        raise exceptions.NotFound()

    def post(self, request):
        return Response(request.data)


class AppPatientView(FHIRAppView):
    """``GET test-fhir/app/Patient/<idPe>``: the paired person, only under the idPe the app was given."""

    def get(self, request, idpe: str):
        self.require("Patient", "r")
        self.check_idpe(idpe)
        self.trace_read(resource="Patient")
        return self.fhir_response({"resourceType": "Patient", "id": idpe})


class AppWeightView(FHIRAppView):
    """``POST test-fhir/app/weight``: records a weight with ``measure_record`` (a real write, journaled).

    ``?hold=<seconds>`` keeps the transaction open after the write, so that retries arrive while it is in flight;
    ``?crash=1`` fails after the write (the write must then be rolled back with the idempotency record).
    """

    def post(self, request):
        self.require("Observation", "c")
        try:
            value = Decimal(str(request.data["valueQuantity"]["value"]))
            effective_at = datetime.fromisoformat(request.data["effectiveDateTime"])
        except (KeyError, TypeError, ValueError, InvalidOperation):
            raise UnprocessableEntity(
                "La mesure doit avoir une valeur et une date.", expressions=[["Observation.valueQuantity.value"]]
            ) from None
        try:
            measure = measure_record(
                access=self.access,
                kind=MeasureKind.WEIGHT,
                effective_at=effective_at,
                value=value,
                source_kind=SourceKind.APP,
                source_label=self.access.actor.display_name,
            )
        except ObservationError as error:
            raise UnprocessableEntity(
                "; ".join(str(issue.message) for issue in error.issues),
                expressions=[[issue.expression for issue in error.issues]],
            ) from None
        if request.query_params.get("crash"):
            raise RuntimeError("échec après l’écriture")
        time.sleep(float(request.query_params.get("hold", "0")))
        return self.fhir_response(
            {"resourceType": "Observation", "id": str(measure.public_id)},
            status_code=201,
            headers={"Location": f"/api/fhir/Observation/{measure.public_id}"},
        )


urlpatterns = [
    path("test-fhir/app/Patient/<str:idpe>", AppPatientView.as_view()),
    path("test-fhir/app/weight", AppWeightView.as_view()),
    path("test-fhir/Patient", PatientView.as_view()),
    path("test-fhir/echo", EchoView.as_view()),
    path("test-fhir/forbidden", ForbiddenView.as_view()),
    path("test-fhir/django-forbidden", DjangoPermissionDeniedView.as_view()),
    path("test-fhir/missing", NotFoundView.as_view()),
    path("test-fhir/unprocessable", UnprocessableView.as_view()),
    path("test-fhir/invalid", InvalidView.as_view()),
    path("test-fhir/throttled", ThrottledView.as_view()),
    path("test-fhir/crash", CrashView.as_view()),
    path("test-plain/", PlainView.as_view()),
    *project_urlpatterns,
]
