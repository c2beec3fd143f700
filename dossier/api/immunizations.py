"""FHIR Immunization for the paired apps: ``POST /api/fhir/Immunization`` records a vaccination.

The resource is checked by the same rules as the citizen's form (``dossier.fhir.immunization``: a completed
vaccination, a vaccine of the referential coded in ATC, a full date neither in the future nor before birth, ...) and
recorded by ``immunization_record_resource`` with the app as its source. The app names the person by its idPe
(``patient.identifier`` or ``Patient/<idPe>``); the stored resource names them by the INS, so the answer shows the
idPe again: an app never sees the INS.
"""

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from dossier.api.documents import check_subject, patient_subject
from dossier.fhir.immunization import ImmunizationInvalid
from dossier.models import Immunization, SourceKind
from dossier.services.profile import immunization_record_resource
from mes.api.app_views import FHIRAppView
from mes.api.exceptions import UnprocessableEntity
from mes.api.registry import FHIRResource

IMMUNIZATION = "Immunization"


def immunization_shared(view: FHIRAppView, immunization: Immunization) -> dict:
    """The stored Immunization as the app sees it: the person as its idPe."""
    return {**immunization.resource, "patient": patient_subject(view)}


class ImmunizationTypeView(FHIRAppView):
    """``/api/fhir/Immunization``: create."""

    @extend_schema(
        operation_id="fhir_immunization_create",
        summary="Ajouter une vaccination (Immunization)",
        description=(
            "Une vaccination réalisée (status « completed »), vaccin du référentiel codé en ATC "
            "(vaccineCode.coding), date complète (occurrenceDateTime), patient désigné par son idPe "
            "(patient.identifier). Numéro de dose (protocolApplied[0].doseNumberPositiveInt), numéro de lot et "
            "vaccinateur (performer[0].actor.display) facultatifs. Périmètre patient/Immunization.c. Réponse 201 "
            "avec Location et la vaccination enregistrée."
        ),
        request={"application/fhir+json": dict},
        responses={
            201: OpenApiResponse(description="Immunization enregistrée"),
            400: OpenApiResponse(description="Corps absent ou JSON illisible (OperationOutcome)"),
            401: OpenApiResponse(description="Jeton absent ou invalide (OperationOutcome)"),
            403: OpenApiResponse(description="Consentement absent, ou idPe d’un autre patient (OperationOutcome)"),
            422: OpenApiResponse(
                description="Vaccination invalide, avec le chemin FHIR de l’élément (OperationOutcome)"
            ),
        },
        tags=["FHIR"],
    )
    def post(self, request: Request) -> Response:
        self.require(IMMUNIZATION, "c")
        resource = request.data
        check_subject(self, resource.get("patient"), path="Immunization.patient")
        try:
            immunization = immunization_record_resource(
                access=self.access,
                resource=resource,
                source_kind=SourceKind.APP,
                source_label=self.access.pairing.habilitation.name,
            )
        except ImmunizationInvalid as error:
            raise UnprocessableEntity(
                error.messages, expressions=[[issue.expression] for issue in error.issues]
            ) from None
        path = f"{reverse('fhir_immunization_type')}/{immunization.public_id}/_history/1"
        headers = {"Location": request.build_absolute_uri(path), "ETag": 'W/"1"'}
        return self.fhir_response(immunization_shared(self, immunization), status_code=201, headers=headers)


IMMUNIZATION_RESOURCE = FHIRResource(type=IMMUNIZATION, interactions=("create",))
