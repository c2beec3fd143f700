"""The mesures de santé of the FHIR API (DOMAIN.md §5): Observation write, read and search, and the app's Devices.

Writes go through the services of the citizen's own form (``measure_record_observation``, and
``measure_record_with_device`` for a transaction Bundle), so the profile rules, the plausibility of the values, the
BMI and the journal are the same for everyone. What this module adds is the API's:

- the person is named by the app's idPe (``subject.identifier``); another idPe, or the matricule INS (an app never
  knows it), is a 403 before anything is read or written. On output the subject is the idPe again: the stored
  resource names the INS, which an app must never see;
- ``meta.source`` is the app's editor OID (``urn:oid:<OID>`` or the bare OID), checked by the service: another OID
  is a 409, none a 422;
- the transaction Bundle (``POST /api/fhir/``) holds exactly one Observation and its Device, created on the
  condition ``ifNoneExist: identifier=urn:oid:<OID>|<device id>`` (an existing Device of the app is reused, answered
  « 200 OK »); both land in one database transaction, or neither;
- search is strict: a parameter it does not serve is a 400 naming it, rather than a silently wider result.
  Pagination is by keyset on ``(effective_at, id)``: the ``next`` link carries a signed, opaque ``_cursor``.

Query counts (asserted in tests/dossier/api): a transaction Bundle of a known device, for a measure that is not a
weight or a height, is 5 queries between BEGIN and COMMIT: token, pairing, device, measure insert, journal row. A
weight or a height adds the BMI upkeep of the service: the lock of the person and the rebuild of the span's BMIs
(4 more, 5 when a BMI is written). A search or a read is 4 queries whatever ``_count``: token, pairing, the page,
the journal row (plus, at most once a minute, the pairing's last access).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from dossier.fhir.bundle import fhir_instant
from dossier.fhir.devices import OIDConflict, parse_if_none_exist, validate_device
from dossier.fhir.measures import ObservationError
from dossier.measures_catalog import INS_SYSTEM, LOINC_SYSTEMS, MEASURES
from dossier.models import Device, Measure, SourceKind
from dossier.selectors.measures import MeasureRow, device_of_app, measure_of_citizen, measures_page
from dossier.services.measures import measure_record_observation, measure_record_with_device
from mes.api.app_views import IDPE_MISMATCH, IDPE_SYSTEM, FHIRAppView
from mes.api.exceptions import UnprocessableEntity
from mes.api.registry import FHIRResource
from mes.api.search import (
    CURSOR_PARAM,
    DEFAULT_COUNT,
    INVALID_CURSOR,
    MAX_COUNT,
    InvalidSearch,
    cursor_dump,
    cursor_load,
    search_count,
)

OBSERVATION = "Observation"
DEVICE = "Device"
SEARCH_PARAMS = frozenset({"patient", "code", "date", "_count", "_sort", CURSOR_PARAM})
_CURSOR_SALT = "dossier.api.observations.cursor"
_ETAG = 'W/"1"'
_URN_UUID = re.compile(r"^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DEVICE_REFERENCE = re.compile(r"^Device/([0-9a-fA-F-]{36})$")


class OIDConflictError(exceptions.APIException):
    """409: the editor OID of the resource is not the calling app's."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "OID en conflit."
    default_code = "conflict"

    def __init__(self, conflict: OIDConflict):
        super().__init__(conflict.message)
        self.expressions = [[conflict.expression]]


def _unprocessable(error: ObservationError) -> UnprocessableEntity:
    return UnprocessableEntity(
        [issue.message for issue in error.issues], expressions=[[issue.expression] for issue in error.issues]
    )


# --- the resources as an app sees them ------------------------------------------------------------------------


def observation_for_app(measure: Measure | MeasureRow, *, idpe: str) -> dict:
    """The stored Observation, with its version and the person named by the app's idPe (never the INS)."""
    resource = dict(measure.resource)
    resource["id"] = str(measure.public_id)
    resource["meta"] = {
        **(resource.get("meta") or {}),
        "versionId": "1",
        "lastUpdated": fhir_instant(measure.created_at),
    }
    resource["subject"] = {"type": "Patient", "identifier": {"system": IDPE_SYSTEM, "value": idpe}}
    return resource


def device_for_app(device: Device) -> dict:
    resource = dict(device.resource)
    resource["meta"] = {
        **(resource.get("meta") or {}),
        "versionId": "1",
        "lastUpdated": fhir_instant(device.created_at),
    }
    return resource


def _version_headers(created_at: datetime) -> dict[str, str]:
    return {"ETag": _ETAG, "Last-Modified": http_date(created_at.timestamp())}


def _public_id(value: str, resource_type: str) -> uuid.UUID:
    """The UUID of an id in a URL; anything else is simply not found."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise _not_found(resource_type, value) from None


def _not_found(resource_type: str, public_id: uuid.UUID | str) -> exceptions.NotFound:
    return exceptions.NotFound(_("Ressource %(type)s/%(id)s introuvable.") % {"type": resource_type, "id": public_id})


# --- writes -----------------------------------------------------------------------------------------------------


def _check_subject(view: FHIRAppView, resource: dict) -> None:
    """The person of the Observation is the app's idPe: another idPe, or the INS, is a 403 (before any write)."""
    subject = resource.get("subject")
    identifier = subject.get("identifier") if isinstance(subject, dict) else None
    if not isinstance(identifier, dict):
        return  # no identifier at all: the validation says what is missing (422)
    if identifier.get("system") == IDPE_SYSTEM:
        view.check_idpe(identifier.get("value"))
    elif identifier.get("system") == INS_SYSTEM:
        # An app knows the person by its idPe only: the matricule INS is never an identifier it may use.
        raise exceptions.PermissionDenied(IDPE_MISMATCH)


def _record(view: FHIRAppView, resource: dict, *, device: Device | None) -> Measure:
    """``POST Observation``: the service, its refusals turned into FHIR answers (409, 422)."""
    access = view.access
    try:
        return measure_record_observation(
            access=access,
            resource=resource,
            source_kind=SourceKind.APP,
            source_label=access.actor.display_name,
            subject_identifiers=frozenset({(IDPE_SYSTEM, access.pairing.idpe)}),
            device=device,
        )
    except OIDConflict as conflict:
        raise OIDConflictError(conflict) from None
    except ObservationError as error:
        raise _unprocessable(error) from None


def _entry_error(message: str, expression: str) -> UnprocessableEntity:
    return UnprocessableEntity(message, expressions=[[expression]])


def _bundle_entries(bundle: dict) -> tuple[int, dict, int, dict]:
    """The positions and entries of the Observation and of its Device; 422 for any other shape."""
    found: dict[str, tuple[int, dict]] = {}
    for index, entry in enumerate(bundle.get("entry") or []):
        path = f"Bundle.entry[{index}]"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        request = entry.get("request") if isinstance(entry, dict) else None
        resource_type = resource.get("resourceType") if isinstance(resource, dict) else None
        if resource_type not in (OBSERVATION, DEVICE):
            raise _entry_error(
                _("Une transaction de mesure contient une Observation et son Device, rien d’autre."), f"{path}.resource"
            )
        if resource_type in found:
            raise _entry_error(
                _("Une transaction de mesure contient exactement une ressource %(type)s.") % {"type": resource_type},
                f"{path}.resource",
            )
        if not isinstance(request, dict) or request.get("method") != "POST" or request.get("url") != resource_type:
            raise _entry_error(
                _("La requête de cette entrée doit être « POST %(type)s ».") % {"type": resource_type},
                f"{path}.request",
            )
        found[resource_type] = (index, entry)
    if OBSERVATION not in found or DEVICE not in found:
        raise _entry_error(
            _("Une transaction de mesure contient exactement une Observation et le Device qui l’a mesurée."),
            "Bundle.entry",
        )
    (observation_index, observation_entry), (device_index, device_entry) = found[OBSERVATION], found[DEVICE]
    return observation_index, observation_entry, device_index, device_entry


def observation_transaction(view: FHIRAppView, request: Request, bundle: dict) -> Response:
    """``POST /api/fhir/`` with an Observation: the measure and its Device, all or nothing (registered in
    ``DossierConfig.ready``)."""
    view.require(OBSERVATION, "c")
    observation_index, observation_entry, device_index, device_entry = _bundle_entries(bundle)
    observation = observation_entry["resource"]
    _check_subject(view, observation)
    device_url = device_entry.get("fullUrl")
    if not isinstance(device_url, str) or not _URN_UUID.match(device_url):
        raise _entry_error(
            _("Le Device de la transaction doit avoir un fullUrl « urn:uuid:<uuid> »."),
            f"Bundle.entry[{device_index}].fullUrl",
        )
    named = observation.get("device")
    reference = named.get("reference") if isinstance(named, dict) else None
    if reference != device_url:
        raise _entry_error(
            _("L’Observation doit désigner l’appareil de la transaction : device.reference = « %(url)s ».")
            % {"url": device_url},
            "Observation.device.reference",
        )
    access = view.access
    device_request = f"Bundle.entry[{device_index}].request.ifNoneExist"
    try:
        identifier = parse_if_none_exist(device_entry["request"].get("ifNoneExist"), expression=device_request)
        parsed_device = validate_device(
            device_entry["resource"],
            oid=access.pairing.habilitation.oid,
            identifier=identifier,
            identifier_expression=device_request,
        )
        # The Device and the Observation in one database transaction: a refused Observation leaves no new Device.
        measure, created = measure_record_with_device(
            access=access,
            resource=observation,
            device=parsed_device,
            source_label=access.actor.display_name,
            subject_identifiers=frozenset({(IDPE_SYSTEM, access.pairing.idpe)}),
        )
    except OIDConflict as conflict:
        raise OIDConflictError(conflict) from None
    except ObservationError as error:
        raise _unprocessable(error) from None
    device = measure.device
    responses = {
        device_index: {
            "status": "201 Created" if created else "200 OK",
            "location": f"{DEVICE}/{device.public_id}/_history/1",
            "etag": _ETAG,
            "lastModified": fhir_instant(device.created_at),
        },
        observation_index: {
            "status": "201 Created",
            "location": f"{OBSERVATION}/{measure.public_id}/_history/1",
            "etag": _ETAG,
            "lastModified": fhir_instant(measure.created_at),
        },
    }
    body = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "transaction-response",
        "entry": [{"response": responses[index]} for index in sorted(responses)],
    }
    return view.fhir_response(body)


# --- search parameters ------------------------------------------------------------------------------------------

_DATE_PREFIXES = ("ge", "gt", "le", "lt", "eq")
_DATE_ONLY = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::(\d{2})(?:\.(\d{1,6}))?)?(?:Z|[+-]\d{2}:\d{2})$")


def _date_interval(raw: str) -> tuple[datetime, datetime]:
    """The span ``[start, end)`` a FHIR date or dateTime stands for, at its precision (a day, a second...)."""
    match = _DATE_ONLY.match(raw)
    if match is not None:
        year, month, day = (int(part) if part else None for part in match.groups())
        first = datetime(year, month or 1, day or 1)
        if day is not None:
            after = first + timedelta(days=1)
        elif month is not None:
            after = datetime(year + (month == 12), month % 12 + 1, 1)
        else:
            after = datetime(year + 1, 1, 1)
        # A date has no time zone: it is a day of the person's calendar, in France.
        return _utc(timezone.make_aware(first)), _utc(timezone.make_aware(after))
    match = _DATE_TIME.match(raw)
    if match is None:
        raise ValueError(raw)
    start = datetime.fromisoformat(raw)
    seconds, fraction = match.groups()
    if fraction:
        step = timedelta(microseconds=10 ** (6 - len(fraction)))
    else:
        step = timedelta(seconds=1) if seconds else timedelta(minutes=1)
    return _utc(start), _utc(start + step)


def _utc(moment: datetime) -> datetime:
    """In UTC, so that a moment PostgreSQL cannot hold (before year 1 once in UTC) fails here (``OverflowError``)."""
    return moment.astimezone(UTC)


def _date_bounds(values: list[str]) -> tuple[datetime | None, datetime | None]:
    """``since`` (included) and ``until`` (excluded) from the ``date`` parameters, all of them applying at once."""
    since: datetime | None = None
    until: datetime | None = None
    for value in values:
        # A « + » of a time zone left unencoded in the query string arrives as a space: it can only mean « + ».
        value = value.replace(" ", "+")
        prefix, text = (value[:2], value[2:]) if value[:2] in _DATE_PREFIXES else ("eq", value)
        try:
            start, end = _date_interval(text)
        except (ValueError, OverflowError):
            raise InvalidSearch(
                "date",
                _(
                    "Date invalide « %(value)s » : attendu un préfixe ge, gt, le, lt ou eq suivi d’une date "
                    "(2024-05-01) ou d’une date et heure avec fuseau (2024-05-01T08:30:00+02:00)."
                )
                % {"value": value},
            ) from None
        lower = {"ge": start, "gt": end, "eq": start}.get(prefix)
        upper = {"le": end, "lt": start, "eq": end}.get(prefix)
        if lower is not None:
            since = lower if since is None else max(since, lower)
        if upper is not None:
            until = upper if until is None else min(until, upper)
    return since, until


def _kinds_for_codes(value: str) -> set[str]:
    """The measures named by a ``code`` parameter: ``[system]|code`` or ``code``, comma-separated for « or »."""
    kinds = set()
    for token in value.split(","):
        system, _sep, code = token.rpartition("|")
        if system and system not in LOINC_SYSTEMS:
            continue  # a code of another system names none of the measures
        kinds.update(spec.kind for spec in MEASURES.values() if code in spec.loinc_codes)
    return kinds


def _single(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidSearch(name, _("Le paramètre %(name)s ne peut être donné qu’une fois.") % {"name": name})
    return values[0] if values else None


def _cursor_position(view: FHIRAppView, raw: str | None, *, ascending: bool) -> tuple[datetime, int] | None:
    if raw is None:
        return None
    # A cursor serves the pairing and the sort order it was made for, nothing else.
    position = cursor_load(raw, salt=_CURSOR_SALT, context=[view.access.pairing.pk, ascending])
    try:
        moment, row_id = position
        return datetime.fromisoformat(moment), int(row_id)
    except (TypeError, ValueError):
        raise InvalidSearch(CURSOR_PARAM, INVALID_CURSOR) from None


def _cursor(view: FHIRAppView, position: tuple[datetime, int], *, ascending: bool) -> str:
    moment, row_id = position
    return cursor_dump([moment.isoformat(), row_id], salt=_CURSOR_SALT, context=[view.access.pairing.pk, ascending])


# --- views ------------------------------------------------------------------------------------------------------

_NOT_FOUND = OpenApiResponse(description="Introuvable (OperationOutcome)")
_ERRORS = {
    401: OpenApiResponse(description="Jeton absent ou invalide (OperationOutcome)"),
    403: OpenApiResponse(description="Consentement absent ou idPe d’un autre patient (OperationOutcome)"),
}
_SEARCH_PARAMETERS = [
    OpenApiParameter(
        "patient", OpenApiTypes.STR, description="Le patient : « Patient/<idPe> », « <idPe> » ou « <système>|<idPe> »."
    ),
    OpenApiParameter(
        "code",
        OpenApiTypes.STR,
        description="Code LOINC de la mesure, « http://loinc.org|29463-7 » ou « 29463-7 » ; plusieurs séparés par des "
        "virgules (ou).",
    ),
    OpenApiParameter(
        "date",
        OpenApiTypes.STR,
        many=True,
        explode=True,
        description="Date de la mesure avec un préfixe ge, gt, le, lt ou eq (ex. ge2024-01-01, "
        "lt2024-05-01T08:30:00+02:00) ; répétable, toutes les conditions s’appliquent.",
    ),
    OpenApiParameter(
        "_count",
        OpenApiTypes.INT,
        description=f"Taille de la page : {DEFAULT_COUNT} par défaut, au plus {MAX_COUNT} (au-delà, {MAX_COUNT}).",
    ),
    OpenApiParameter("_sort", OpenApiTypes.STR, enum=["-date", "date"], description="Ordre : « -date » par défaut."),
    OpenApiParameter(
        CURSOR_PARAM, OpenApiTypes.STR, description="Curseur opaque de la page suivante (donné par le lien « next »)."
    ),
]


class ObservationTypeView(FHIRAppView):
    """``/api/fhir/Observation``: create one measure, or search the citizen's measures."""

    @extend_schema(
        operation_id="fhir_observation_search",
        summary="Rechercher les mesures de santé",
        description=(
            "Bundle « searchset » des mesures de la personne, de toutes sources (dont l’IMC calculé), les plus "
            "récentes d’abord. Pagination par curseur : suivre le lien « next » (pas de « total »). Périmètre "
            "« patient/Observation.s ». Recherche stricte : un paramètre non pris en charge est refusé (400, "
            "OperationOutcome qui le nomme)."
        ),
        parameters=_SEARCH_PARAMETERS,
        responses={
            200: OpenApiResponse(description="Bundle searchset"),
            400: OpenApiResponse(
                description="Paramètre de recherche invalide ou non pris en charge (OperationOutcome)"
            ),
            **_ERRORS,
        },
        tags=["FHIR"],
    )
    def get(self, request: Request) -> Response:
        self.require(OBSERVATION, "s")
        params = request.query_params
        unknown = sorted(set(params) - SEARCH_PARAMS)
        if unknown:
            raise InvalidSearch(
                unknown[0],
                _("Paramètre de recherche non pris en charge : %(name)s (acceptés : %(known)s).")
                % {"name": unknown[0], "known": ", ".join(sorted(SEARCH_PARAMS))},
            )
        self.check_patient_search(_single(request, "patient"))
        code = _single(request, "code")
        kinds = _kinds_for_codes(code) if code is not None else None
        since, until = _date_bounds(params.getlist("date"))
        limit = search_count(_single(request, "_count"))
        sort = _single(request, "_sort") or "-date"
        if sort not in ("-date", "date"):
            raise InvalidSearch("_sort", _("_sort accepte « -date » (par défaut) ou « date »."))
        ascending = sort == "date"
        after = _cursor_position(self, _single(request, CURSOR_PARAM), ascending=ascending)
        page = measures_page(
            self.access.citizen, kinds=kinds, since=since, until=until, after=after, limit=limit, ascending=ascending
        )
        self.trace_read(resource=OBSERVATION, count=len(page.items))
        return self.fhir_response(self._searchset(request, page, ascending=ascending))

    def _searchset(self, request: Request, page, *, ascending: bool) -> dict:
        base = request.build_absolute_uri(reverse("fhir_observation_type"))
        links = [{"relation": "self", "url": request.build_absolute_uri()}]
        if page.next_position is not None:
            kept = [(name, value) for name, value in request.query_params.lists() if name != CURSOR_PARAM]
            query = [(name, value) for name, values in kept for value in values]
            query.append((CURSOR_PARAM, _cursor(self, page.next_position, ascending=ascending)))
            links.append({"relation": "next", "url": f"{base}?{urlencode(query)}"})
        idpe = self.access.pairing.idpe
        body: dict = {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "searchset", "link": links}
        if page.items:
            body["entry"] = [
                {
                    "fullUrl": f"{base}/{measure.public_id}",
                    "resource": observation_for_app(measure, idpe=idpe),
                    "search": {"mode": "match"},
                }
                for measure in page.items
            ]
        return body

    @extend_schema(
        operation_id="fhir_observation_create",
        summary="Ajouter une mesure de santé",
        description=(
            "Une Observation conforme à un profil des mesures de santé (meta.profile obligatoire, IMC refusé), "
            "subject.identifier = idPe du patient pour ce service, meta.source = OID de l’éditeur "
            "(« urn:oid:<OID> » ou l’OID seul). device, facultatif, désigne un Device déjà déclaré par ce service "
            "(« Device/<id> »). Périmètre « patient/Observation.c »."
        ),
        request={"application/fhir+json": dict},
        responses={
            201: OpenApiResponse(description="L’Observation enregistrée (en-tête Location)"),
            400: OpenApiResponse(description="Corps illisible : pas une ressource FHIR JSON (OperationOutcome)"),
            **_ERRORS,
            409: OpenApiResponse(description="OID en conflit, ou clé d’idempotence en cours (OperationOutcome)"),
            422: OpenApiResponse(description="Ressource invalide, avec son chemin FHIR (OperationOutcome)"),
        },
        tags=["FHIR"],
    )
    def post(self, request: Request) -> Response:
        self.require(OBSERVATION, "c")
        resource = request.data
        if resource.get("resourceType") != OBSERVATION:
            raise _entry_error(_("La ressource doit être une Observation FHIR."), "Observation")
        _check_subject(self, resource)
        device = None
        if "device" in resource:
            reference = resource["device"].get("reference") if isinstance(resource["device"], dict) else None
            match = _DEVICE_REFERENCE.match(reference) if isinstance(reference, str) else None
            device_id = None
            if match is not None:
                try:
                    device_id = uuid.UUID(match.group(1))
                except ValueError:
                    device_id = None
            device = device_of_app(self.access.pairing.habilitation, device_id) if device_id else None
            if device is None:
                raise _entry_error(
                    _("device.reference doit désigner un Device déclaré par ce service : « Device/<id> »."),
                    "Observation.device.reference",
                )
        measure = _record(self, resource, device=device)
        location = request.build_absolute_uri(
            reverse("fhir_observation_version", kwargs={"public_id": measure.public_id, "version": "1"})
        )
        return self.fhir_response(
            observation_for_app(measure, idpe=self.access.pairing.idpe),
            status_code=status.HTTP_201_CREATED,
            headers={"Location": location, **_version_headers(measure.created_at)},
        )


class ObservationInstanceView(FHIRAppView):
    """``/api/fhir/Observation/<id>`` (and its only version, ``/_history/1``): one of the citizen's measures."""

    @extend_schema(
        operation_id="fhir_observation_read",
        summary="Lire une mesure de santé",
        description=(
            "L’Observation telle qu’enregistrée, le patient désigné par son idPe pour ce service. Une mesure "
            "d’une autre personne est introuvable (404). Périmètre « patient/Observation.r »."
        ),
        parameters=[OpenApiParameter("public_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses={
            200: OpenApiResponse(description="Observation"),
            **_ERRORS,
            404: OpenApiResponse(description="Mesure introuvable (OperationOutcome)"),
        },
        tags=["FHIR"],
    )
    def get(self, request: Request, public_id: str, version: str | None = None) -> Response:
        self.require(OBSERVATION, "r")
        wanted = _public_id(public_id, OBSERVATION)
        measure = measure_of_citizen(self.access.citizen, wanted)
        if measure is None or version not in (None, "1"):
            raise _not_found(OBSERVATION, wanted)
        self.trace_read(resource=OBSERVATION, obj=measure)
        return self.fhir_response(
            observation_for_app(measure, idpe=self.access.pairing.idpe), headers=_version_headers(measure.created_at)
        )


class ObservationVersionView(ObservationInstanceView):
    @extend_schema(
        operation_id="fhir_observation_vread",
        summary="Lire une version d’une mesure de santé",
        description="Une mesure n’a qu’une version, « 1 » : la même réponse que la lecture.",
        parameters=[
            OpenApiParameter("public_id", OpenApiTypes.UUID, OpenApiParameter.PATH),
            OpenApiParameter("version", OpenApiTypes.STR, OpenApiParameter.PATH),
        ],
        responses={200: OpenApiResponse(description="Observation"), **_ERRORS, 404: _NOT_FOUND},
        tags=["FHIR"],
    )
    def get(self, request: Request, public_id: str, version: str | None = None) -> Response:
        return super().get(request, public_id, version)


class DeviceInstanceView(FHIRAppView):
    """``/api/fhir/Device/<id>``: one of the calling app's own devices (any other is not found)."""

    @extend_schema(
        operation_id="fhir_device_read",
        summary="Lire un appareil de mesure du service",
        description=(
            "Un Device déclaré par ce service avec ses mesures ; celui d’un autre service est introuvable (404). "
            "Périmètre « patient/Observation.c » ou « patient/Observation.r »."
        ),
        parameters=[OpenApiParameter("public_id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        responses={
            200: OpenApiResponse(description="Device"),
            **_ERRORS,
            404: OpenApiResponse(description="Appareil introuvable (OperationOutcome)"),
        },
        tags=["FHIR"],
    )
    def get(self, request: Request, public_id: str, version: str | None = None) -> Response:
        # The devices are the app's, not the citizen's data: whoever writes or reads the measures may read them,
        # and no journal row lands in the citizen's history.
        if not self.access.app_may(OBSERVATION, "c"):
            self.require(OBSERVATION, "r")
        wanted = _public_id(public_id, DEVICE)
        device = device_of_app(self.access.pairing.habilitation, wanted)
        if device is None or version not in (None, "1"):
            raise _not_found(DEVICE, wanted)
        return self.fhir_response(device_for_app(device), headers=_version_headers(device.created_at))


class DeviceVersionView(DeviceInstanceView):
    @extend_schema(
        operation_id="fhir_device_vread",
        summary="Lire une version d’un appareil de mesure",
        description="Un appareil n’a qu’une version, « 1 » : la même réponse que la lecture.",
        parameters=[
            OpenApiParameter("public_id", OpenApiTypes.UUID, OpenApiParameter.PATH),
            OpenApiParameter("version", OpenApiTypes.STR, OpenApiParameter.PATH),
        ],
        responses={200: OpenApiResponse(description="Device"), **_ERRORS, 404: _NOT_FOUND},
        tags=["FHIR"],
    )
    def get(self, request: Request, public_id: str, version: str | None = None) -> Response:
        return super().get(request, public_id, version)


# --- CapabilityStatement ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentedResource(FHIRResource):
    """A resource whose CapabilityStatement entry also says how it is served (strict search, conditional create)."""

    documentation: str = ""
    search_documentation: tuple[tuple[str, str], ...] = ()
    conditional_create: bool = False

    def capability(self) -> dict:
        entry = super().capability()
        if self.documentation:
            entry["documentation"] = self.documentation
        if self.conditional_create:
            entry["conditionalCreate"] = True
        notes = dict(self.search_documentation)
        for parameter in entry.get("searchParam", []):
            if parameter["name"] in notes:
                parameter["documentation"] = notes[parameter["name"]]
        return entry


OBSERVATION_RESOURCE = DocumentedResource(
    type=OBSERVATION,
    profiles=tuple(spec.profile for spec in MEASURES.values()),
    interactions=("read", "vread", "create", "search-type"),
    search_params=(
        ("patient", "reference"),
        ("code", "token"),
        ("date", "date"),
        ("_count", "number"),
        ("_sort", "string"),
    ),
    documentation=(
        "Mesures de santé (guide ANS « mesures de santé »). Écriture : POST Observation, ou Bundle transaction "
        "(une Observation et son Device). Le profil FrObservationBmi est en lecture seule (IMC calculé). "
        "Recherche stricte : tout autre paramètre est refusé (400). Pagination par le lien « next » (curseur)."
    ),
    search_documentation=(
        ("patient", "Patient/<idPe>, <idPe> ou <système>|<idPe> ; un autre idPe est refusé (403)."),
        ("code", "Code LOINC de la mesure, avec ou sans système ; plusieurs séparés par des virgules."),
        ("date", "Préfixes ge, gt, le, lt, eq ; date ou date et heure avec fuseau ; répétable."),
        ("_count", f"{DEFAULT_COUNT} par défaut, au plus {MAX_COUNT}."),
        ("_sort", "-date (par défaut) ou date."),
    ),
)
DEVICE_RESOURCE = DocumentedResource(
    type=DEVICE,
    interactions=("read", "vread"),
    documentation=(
        "Les appareils de mesure déclarés par le service lui-même, créés dans le Bundle transaction d’une mesure "
        "(ifNoneExist: identifier=urn:oid:<OID de l’éditeur>|<identifiant>)."
    ),
    conditional_create=True,
)
