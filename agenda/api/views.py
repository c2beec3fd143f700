"""``/api/fhir/Appointment``: the agenda as FHIR R4 Appointments for the paired apps.

Who sees and changes what (SMART permissions of the token, ∩ consent ∩ référencement):
- create (``Appointment.c``): an event of the person's agenda, written by the app (``Source.APP``, the app's name
  shown on it, ``source_ref`` = its habilitation's public id);
- read: the events the app wrote, with ``r`` or any of ``c u d`` (an app reads back what it wrote); the person's
  other events only with ``r``; anything else is a 404, so that an app learns nothing of what it may not see;
- update (``u``) and delete (``d``): only the events the app wrote. Another event is a 403 when the app may read it
  (``r``), a 404 otherwise. The person's own events are never the app's to change;
- search (``s``): the whole agenda with ``r``, else the events the app wrote; a recurring series is one
  Appointment (see ``agenda.api.fhir``); keyset pages on (start, id) with a signed cursor.

The agenda has no « cancelled » state: an update with ``status = cancelled`` removes the event (as a delete does)
and answers 200 with the cancelled Appointment; reading it afterwards is a 404.
Writes are journaled by the agenda services (signed with the app's name); each read or search writes one row.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from agenda import selectors
from agenda.api.fhir import CANCELLED, appointment_errors, appointment_read, appointment_resource
from agenda.models import Event, Source
from agenda.recurrence import zone
from agenda.services import event_create, event_delete, event_update
from mes.acces.policy import CitizenAccess
from mes.api.app_views import FHIRAppView
from mes.api.search import (
    CURSOR_PARAM,
    INVALID_CURSOR,
    MAX_COUNT,
    InvalidSearch,
    cursor_dump,
    cursor_load,
    search_count,
)

APPOINTMENT = selectors.APPOINTMENT
CURSOR_SALT = "agenda.api.appointment-search"
SEARCH_PARAMETERS = frozenset({"patient", "date", "_count", "_sort", "_cursor", "_format"})
_ETAG = re.compile(r'^(?:W/)?"(\d{1,9})"$')
_DATE = re.compile(
    r"^(?P<prefix>[a-z]{2})?(?P<date>\d{4}(?:-\d{2}(?:-\d{2})?)?)"
    r"(?:T(?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(?P<offset>Z|[+-]\d{2}:\d{2})?)?$"
)
LOCAL_ZONE = "Europe/Paris"

_COMMON_ERRORS = {
    401: OpenApiResponse(description="Jeton absent ou invalide (OperationOutcome)"),
    403: OpenApiResponse(description="Consentement absent, ou idPe d’un autre patient (OperationOutcome)"),
}
_RESOURCE_ID = OpenApiParameter(
    "resource_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Identifiant du rendez-vous"
)
_IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description='Version attendue, W/"<versionId>" : 412 si le rendez-vous a changé depuis.',
)


def _scopes(*scopes: str) -> list[dict]:
    """The OAuth2 requirement of an operation: any one of these scopes (as the server's catalogue names them)."""
    return [{"oauth2": [scope]} for scope in scopes]


READ_SCOPES = _scopes("patient/Appointment.rs", "patient/Appointment.cruds")
WRITE_SCOPES = _scopes("patient/Appointment.cud", "patient/Appointment.cruds")
SEARCH_SCOPES = _scopes("patient/Appointment.rs", "patient/Appointment.cruds")


def _etag(event: Event) -> str:
    return f'W/"{event.sequence}"'


def _parse_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise exceptions.NotFound("Aucun rendez-vous ne porte cet identifiant.") from None


class AppointmentMixin:
    """What the Appointment endpoints share: the app's idPe and OID, URLs, the event an app may change."""

    access: CitizenAccess
    request: Request

    def base_url(self) -> str:
        return self.request.build_absolute_uri(reverse("fhir_appointment_type"))

    def resource(self, event: Event, **options) -> dict:
        pairing = self.access.pairing
        own = selectors.app_owns(self.access, event)
        return appointment_resource(
            event, idpe=pairing.idpe, editor_oid=pairing.habilitation.oid if own else None, **options
        )

    def created_headers(self, event: Event) -> dict:
        return {"ETag": _etag(event), "Location": f"{self.base_url()}/{event.public_id}"}

    def own_event_for_change(self, resource_id: str, verb: str) -> Event:
        """The event to change, locked until the end of the transaction: 404 when the app may not even read it,
        403 when it may read it but did not write it."""
        event = selectors.app_event_get(self.access, _parse_uuid(resource_id), for_update=True)
        if event is None:
            raise exceptions.NotFound("Aucun rendez-vous ne porte cet identifiant.")
        if not selectors.app_owns(self.access, event):
            raise exceptions.PermissionDenied(
                f"Ce rendez-vous n’a pas été ajouté par ce service : il ne peut pas le {verb}."
            )
        return event

    def check_if_match(self, event: Event) -> None:
        """``If-Match: W/"<versionId>"`` (optional): the change applies only to the version the app has seen."""
        value = self.request.headers.get("If-Match")
        if value is None:
            return
        match = _ETAG.match(value.strip())
        if match is None:
            raise exceptions.ValidationError({"If-Match": 'L’en-tête If-Match doit valoir W/"<versionId>".'})
        if int(match.group(1)) != event.sequence:
            raise PreconditionFailed()


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "Le rendez-vous a changé depuis la version indiquée par If-Match : relisez-le avant de l’écrire."
    default_code = "precondition_failed"


class AppointmentTypeView(AppointmentMixin, FHIRAppView):
    """``POST /Appointment`` (create) and ``GET /Appointment`` (search)."""

    @extend_schema(
        operation_id="fhir_appointment_create",
        auth=WRITE_SCOPES,
        summary="Ajouter un rendez-vous à l’agenda",
        description=(
            "Crée un événement de l’agenda de la personne à partir d’une ressource Appointment FHIR R4 : statut "
            "booked, proposed ou pending ; start et end avec décalage horaire ; description (titre) obligatoire ; "
            "comment (note) ; participants : le patient par son idPe (identifier, système "
            "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2560), au plus un Practitioner et un Location par leur "
            "display. Périmètre patient/Appointment.c. L’en-tête Idempotency-Key rend la requête rejouable."
        ),
        request={"application/fhir+json": OpenApiTypes.OBJECT},
        responses={
            201: OpenApiResponse(description="Appointment créé (en-têtes Location et ETag)"),
            400: OpenApiResponse(description="Corps illisible : pas du JSON FHIR (OperationOutcome)"),
            **_COMMON_ERRORS,
            409: OpenApiResponse(description="Clé d’idempotence encore en cours (OperationOutcome)"),
            422: OpenApiResponse(description="Ressource invalide, avec son chemin FHIR (OperationOutcome)"),
        },
        tags=["FHIR"],
    )
    def post(self, request: Request) -> Response:
        self.require(APPOINTMENT, "c")
        parsed = appointment_read(request.data, check_idpe=self.check_idpe, allow_cancelled=False)
        habilitation = self.access.pairing.habilitation
        try:
            event = event_create(
                access=self.access,
                **parsed.fields,
                source=Source.APP,
                source_label=habilitation.name,
                source_ref=selectors.app_source_ref(self.access),
            )
        except DjangoValidationError as error:
            raise appointment_errors(error, parsed.paths) from None
        return self.fhir_response(self.resource(event), status_code=201, headers=self.created_headers(event))

    @extend_schema(
        operation_id="fhir_appointment_search",
        auth=SEARCH_SCOPES,
        summary="Rechercher les rendez-vous",
        description=(
            "Bundle searchset des rendez-vous, triés par début puis identifiant, par pages (lien « next », "
            "curseur signé). Avec patient/Appointment.rs : tout l’agenda ; avec seulement .s et c, u ou d : les "
            "rendez-vous ajoutés par ce service. Une série répétée est un seul Appointment (règle RRULE en "
            "extension) ; le paramètre date porte sur son début."
        ),
        parameters=[
            OpenApiParameter("patient", OpenApiTypes.STR, description="Patient/<idPe>, <idPe> ou <système>|<idPe>"),
            OpenApiParameter(
                "date",
                OpenApiTypes.STR,
                many=True,
                explode=True,
                description="Début du rendez-vous, préfixes eq, ge, gt, le, lt (ex. ge2027-01-01, lt2027-02-01)",
            ),
            OpenApiParameter("_count", OpenApiTypes.INT, description=f"Taille de page (1 à {MAX_COUNT})"),
            OpenApiParameter("_sort", OpenApiTypes.STR, enum=["date", "-date"], description="Ordre (début)"),
            OpenApiParameter("_cursor", OpenApiTypes.STR, description="Curseur de la page suivante (lien next)"),
        ],
        responses={
            200: OpenApiResponse(description="Bundle searchset d’Appointment"),
            400: OpenApiResponse(description="Paramètre de recherche invalide (OperationOutcome)"),
            **_COMMON_ERRORS,
        },
        tags=["FHIR"],
    )
    def get(self, request: Request) -> Response:
        self.require(APPOINTMENT, "s")
        params = request.query_params
        unknown = sorted(set(params) - SEARCH_PARAMETERS)
        if unknown:
            raise exceptions.ValidationError(
                dict.fromkeys(unknown, "Paramètre de recherche non pris en charge pour Appointment.")
            )
        self.check_patient_search(params.get("patient"))
        count = search_count(params.get("_count"))
        descending = _descending(params.get("_sort"))
        start_from, start_before = _date_bounds(params.getlist("date"))
        after = _cursor_read(params.get("_cursor"), descending) if "_cursor" in params else None
        events = selectors.app_events_page(
            self.access,
            start_from=start_from,
            start_before=start_before,
            after=after,
            descending=descending,
            limit=count + 1,
        )
        page = events[:count]
        base = self.base_url()
        links = [{"relation": "self", "url": request.build_absolute_uri()}]
        if len(events) > count:
            query = [(name, value) for name, values in params.lists() if name != "_cursor" for value in values]
            query.append(("_cursor", _cursor_make(page[-1], descending)))
            links.append({"relation": "next", "url": f"{base}?{urlencode(query)}"})
        self.trace_read(resource=APPOINTMENT, count=len(page))
        bundle = {
            "resourceType": "Bundle",
            "type": "searchset",
            "link": links,
            "entry": [
                {"fullUrl": f"{base}/{event.public_id}", "resource": self.resource(event), "search": {"mode": "match"}}
                for event in page
            ],
        }
        return self.fhir_response(bundle)


class AppointmentInstanceView(AppointmentMixin, FHIRAppView):
    """``GET``, ``PUT`` and ``DELETE /Appointment/<id>``."""

    @extend_schema(
        operation_id="fhir_appointment_read",
        auth=READ_SCOPES,
        summary="Lire un rendez-vous",
        description=("Un rendez-vous de l’agenda, ajouté par ce service ou non (patient/Appointment.r). Sinon 404."),
        parameters=[_RESOURCE_ID],
        responses={
            200: OpenApiResponse(description="Appointment (en-tête ETag)"),
            **_COMMON_ERRORS,
            404: OpenApiResponse(description="Rendez-vous inconnu ou hors de portée du service (OperationOutcome)"),
        },
        tags=["FHIR"],
    )
    def get(self, request: Request, resource_id: str) -> Response:
        # Reading one appointment is the « r » interaction, whoever wrote it (the scope matrix: no letter, no call).
        self.require(APPOINTMENT, "r")
        event = selectors.app_event_get(self.access, _parse_uuid(resource_id))
        if event is None:
            raise exceptions.NotFound("Aucun rendez-vous ne porte cet identifiant.")
        self.trace_read(resource=APPOINTMENT, obj=event)
        return self.fhir_response(self.resource(event), headers={"ETag": _etag(event)})

    @extend_schema(
        operation_id="fhir_appointment_update",
        auth=WRITE_SCOPES,
        summary="Remplacer un rendez-vous ajouté par ce service",
        description=(
            "Remplacement complet (patient/Appointment.u), seulement pour un rendez-vous que ce service a ajouté. "
            "Le statut cancelled retire le rendez-vous de l’agenda (réponse : l’Appointment annulé). "
            'If-Match: W/"<versionId>" facultatif.'
        ),
        parameters=[_RESOURCE_ID, _IF_MATCH],
        request={"application/fhir+json": OpenApiTypes.OBJECT},
        responses={
            200: OpenApiResponse(description="Appointment dans sa nouvelle version (en-tête ETag)"),
            400: OpenApiResponse(
                description="Corps illisible, id autre que celui de l’adresse, If-Match mal formé (OperationOutcome)"
            ),
            **_COMMON_ERRORS,
            404: OpenApiResponse(description="Rendez-vous inconnu ou hors de portée du service (OperationOutcome)"),
            412: OpenApiResponse(description="Version différente de If-Match (OperationOutcome)"),
            422: OpenApiResponse(description="Ressource invalide, avec son chemin FHIR (OperationOutcome)"),
        },
        tags=["FHIR"],
    )
    def put(self, request: Request, resource_id: str) -> Response:
        self.require(APPOINTMENT, "u")
        # One transaction: the row stays locked from the If-Match check to the write, so no change slips between.
        with transaction.atomic():
            event = self.own_event_for_change(resource_id, "modifier")
            self.check_if_match(event)
            parsed = appointment_read(request.data, check_idpe=self.check_idpe, allow_cancelled=True)
            if parsed.resource_id != str(event.public_id):
                raise exceptions.ValidationError(
                    {"Appointment.id": "L’id de la ressource doit être celui de l’adresse de la requête."}
                )
            if parsed.status == CANCELLED:
                body = self.resource(event, status=CANCELLED, version=event.sequence + 1)
                event_delete(access=self.access, event=event)
                return self.fhir_response(body)
            try:
                event = event_update(access=self.access, event=event, **parsed.fields)
            except DjangoValidationError as error:
                raise appointment_errors(error, parsed.paths) from None
        return self.fhir_response(self.resource(event), headers={"ETag": _etag(event)})

    @extend_schema(
        operation_id="fhir_appointment_delete",
        auth=WRITE_SCOPES,
        summary="Supprimer un rendez-vous ajouté par ce service",
        description=(
            "Retire de l’agenda un rendez-vous que ce service a ajouté (patient/Appointment.d). "
            'If-Match: W/"<versionId>" facultatif.'
        ),
        parameters=[_RESOURCE_ID, _IF_MATCH],
        responses={
            204: OpenApiResponse(description="Rendez-vous supprimé"),
            400: OpenApiResponse(description="If-Match mal formé (OperationOutcome)"),
            **_COMMON_ERRORS,
            404: OpenApiResponse(description="Rendez-vous inconnu ou hors de portée du service (OperationOutcome)"),
            412: OpenApiResponse(description="Version différente de If-Match (OperationOutcome)"),
        },
        tags=["FHIR"],
    )
    def delete(self, request: Request, resource_id: str) -> Response:
        self.require(APPOINTMENT, "d")
        with transaction.atomic():
            event = self.own_event_for_change(resource_id, "supprimer")
            self.check_if_match(event)
            event_delete(access=self.access, event=event)
        return self.fhir_response(None, status_code=204)


# --- Search parameters ------------------------------------------------------------------------------------------


def _descending(value: str | None) -> bool:
    if value in (None, "date"):
        return False
    if value == "-date":
        return True
    raise exceptions.ValidationError({"_sort": "Tri possible : date ou -date (début du rendez-vous)."})


def _date_range(match: re.Match) -> tuple[datetime, datetime]:
    """The instants a FHIR date value covers, [first, next): a year, a month, a day, a minute or a second.

    A value without an offset is read in the agenda's time zone (Europe/Paris), as FHIR leaves it to the server.
    """
    tz = zone(LOCAL_ZONE)
    day, time = match.group("date"), match.group("time")
    if time is None:
        if len(day) == 4:
            first = datetime(int(day), 1, 1, tzinfo=tz)
            return first, first.replace(year=first.year + 1)
        if len(day) == 7:
            first = datetime(int(day[:4]), int(day[5:7]), 1, tzinfo=tz)
            return first, (first + timedelta(days=32)).replace(day=1)
        first = datetime.fromisoformat(day).replace(tzinfo=tz)
        return first, first + timedelta(days=1)  # wall-clock arithmetic: the next local midnight
    if len(day) != 10:
        raise ValueError("a time needs a full date")
    moment = datetime.fromisoformat(f"{day}T{time}{(match.group('offset') or '').replace('Z', '+00:00')}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment, moment + (timedelta(minutes=1) if len(time) == 5 else timedelta(seconds=1))


def _date_bounds(values: list[str]) -> tuple[datetime | None, datetime | None]:
    """``date`` (repeatable, ANDed): the start bounds [from, before) of the events searched."""
    start_from: datetime | None = None
    start_before: datetime | None = None
    for raw in values:
        match = _DATE.match(raw.strip())
        if match is None:
            raise exceptions.ValidationError(
                {"date": f"Date invalide : « {raw[:40]} » (ex. ge2027-01-01, lt2027-02-01T10:00:00+01:00)."}
            )
        prefix = match.group("prefix") or "eq"
        if prefix not in ("eq", "ge", "gt", "le", "lt"):
            raise exceptions.ValidationError({"date": "Préfixes pris en charge : eq, ge, gt, le, lt."})
        try:
            first, following = _date_range(match)
        except ValueError:
            raise exceptions.ValidationError({"date": f"Date inexistante : « {raw[:40]} »."}) from None
        low = {"eq": first, "ge": first, "gt": following}.get(prefix)
        high = {"eq": following, "le": following, "lt": first}.get(prefix)
        if low is not None:
            start_from = low if start_from is None else max(start_from, low)
        if high is not None:
            start_before = high if start_before is None else min(start_before, high)
    return start_from, start_before


def _cursor_make(event: Event, descending: bool) -> str:
    return cursor_dump([event.starts_at.isoformat(), str(event.public_id)], salt=CURSOR_SALT, context=descending)


def _cursor_read(value: str, descending: bool) -> tuple[datetime, uuid.UUID]:
    """The (start, public id) a page follows; a cursor altered, or made for the other order, is refused."""
    position = cursor_load(value, salt=CURSOR_SALT, context=descending)
    try:
        moment, public_id = position
        return datetime.fromisoformat(moment), uuid.UUID(public_id)
    except (TypeError, ValueError, AttributeError):
        raise InvalidSearch(CURSOR_PARAM, INVALID_CURSOR) from None
