"""``POST /api/fhir/``: the FHIR transaction Bundles of the paired apps, each handed to the brick that serves it.

A brick registers, from its ``AppConfig.ready``, the resource type its transactions are about (``Observation``:
one measure and its Device; ``DocumentReference``: the ProvideDocumentBundle of PDSm/MHD) and a handler. The
Bundle goes to the handler of the one registered type it holds; any other Bundle is a 422 naming what is served.
"""

from collections.abc import Callable

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from mes.api.app_views import FHIRAppView
from mes.api.exceptions import UnprocessableEntity

TransactionHandler = Callable[[FHIRAppView, Request, dict], Response]
_HANDLERS: dict[str, TransactionHandler] = {}


def register_transaction(resource_type: str, handler: TransactionHandler) -> None:
    _HANDLERS[resource_type] = handler


class TransactionView(FHIRAppView):
    @extend_schema(
        summary="Transaction FHIR (mesure + appareil, ou ProvideDocumentBundle)",
        description=(
            "Bundle de type « transaction » : une Observation et son Device (création conditionnelle), ou un "
            "DocumentReference et son Binary (PDSm / IHE MHD). Réponse : Bundle « transaction-response »."
        ),
        request={"application/fhir+json": dict},
        responses={
            200: OpenApiResponse(description="Bundle transaction-response"),
            400: OpenApiResponse(description="Corps absent ou JSON illisible (OperationOutcome)"),
            401: OpenApiResponse(description="Jeton absent ou invalide (OperationOutcome)"),
            403: OpenApiResponse(description="Consentement absent ou idPe d’un autre patient (OperationOutcome)"),
            409: OpenApiResponse(description="OID en conflit, ou clé d’idempotence en cours (OperationOutcome)"),
            422: OpenApiResponse(description="Ressource invalide, avec son chemin FHIR (OperationOutcome)"),
        },
        tags=["FHIR"],
    )
    def post(self, request: Request) -> Response:
        bundle = request.data
        if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
            raise UnprocessableEntity(
                "Le corps doit être un Bundle FHIR de type « transaction ».", expressions=[["Bundle.type"]]
            )
        entries = bundle.get("entry")
        if not isinstance(entries, list) or not entries:
            raise UnprocessableEntity("Le Bundle ne contient aucune entrée.", expressions=[["Bundle.entry"]])
        types = {
            (entry.get("resource") or {}).get("resourceType") for entry in entries if isinstance(entry, dict)
        } & set(_HANDLERS)
        if len(types) != 1:
            served = ", ".join(sorted(_HANDLERS))
            raise UnprocessableEntity(
                f"Le Bundle doit porter exactement une des ressources servies en transaction : {served}.",
                expressions=[["Bundle.entry"]],
            )
        return _HANDLERS[types.pop()](self, request, bundle)
