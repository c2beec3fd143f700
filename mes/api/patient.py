"""``GET /api/fhir/Patient/<idPe>``: the contact data of the person, for an app holding ``patient/Patient.r``.

The Patient an app reads is the person as that app knows them: its ``id`` and only identifier are the app's idPe,
and it carries the telecom the person gave (phone, e-mail) and nothing else — no name, no INS, no birth date — so
that the contact scope opens the contact data only, and two apps still cannot correlate the person.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from mes.api.app_views import IDPE_SYSTEM, FHIRAppView
from mes.api.registry import FHIRResource
from mes.comptes.models import Citizen

PATIENT = "Patient"


def patient_contact_resource(citizen: Citizen, *, idpe: str) -> dict:
    """The Patient with the contact data of ``citizen`` only, named by ``idpe``."""
    resource: dict = {
        "resourceType": PATIENT,
        "id": idpe,
        "identifier": [{"system": IDPE_SYSTEM, "value": idpe}],
    }
    telecom = []
    if citizen.contact_phone:
        telecom.append({"system": "phone", "value": citizen.contact_phone})
    if citizen.contact_email:
        telecom.append({"system": "email", "value": citizen.contact_email})
    if telecom:  # FHIR forbids empty arrays
        resource["telecom"] = telecom
    return resource


class PatientInstanceView(FHIRAppView):
    """``/api/fhir/Patient/<idPe>``: read."""

    @extend_schema(
        operation_id="fhir_patient_read",
        summary="Lire les coordonnées de l’usager (Patient)",
        description=(
            "Le téléphone et l’adresse électronique de contact de l’usager (telecom), et rien d’autre : ni nom, "
            "ni INS, ni date de naissance. L’identifiant est l’idPe du service. Périmètre patient/Patient.r ; "
            "l’idPe d’un autre patient : 403."
        ),
        responses={
            200: OpenApiResponse(description="Patient FHIR R4 (identifiant idPe et telecom)"),
            401: OpenApiResponse(description="Jeton absent ou invalide (OperationOutcome)"),
            403: OpenApiResponse(description="Consentement absent, ou idPe d’un autre patient (OperationOutcome)"),
        },
        tags=["FHIR"],
    )
    def get(self, request: Request, idpe: str) -> Response:
        self.require(PATIENT, "r")
        self.check_idpe(idpe)
        resource = patient_contact_resource(self.access.citizen, idpe=idpe)
        self.trace_read(resource=PATIENT)
        return self.fhir_response(resource)


# The contact data, read by idPe; no search (the SMART scope of this resource opens « read » only).
PATIENT_RESOURCE = FHIRResource(type=PATIENT, interactions=("read",))
