"""An agenda event as a FHIR R4 Appointment, and an Appointment written by a paired app as the fields of an event.

Event → Appointment:
- ``id`` = the event's public id; ``meta.versionId`` = its ``sequence`` (the iCalendar SEQUENCE, raised by every
  change; the ETag is ``W/"<sequence>"``); ``meta.lastUpdated``; ``meta.source`` = ``urn:oid:<editor OID>`` on the
  events the reading app wrote itself (another app's events do not say which other service the person uses);
- ``status`` = ``booked``: the agenda keeps the appointments that are planned, it has no other state;
- ``start`` / ``end`` = instants with the offset of the event's time zone (an all-day event runs from midnight to
  midnight); ``description`` = the title; ``comment`` = the note;
- ``participant``: the patient, named by the app's idPe (never the INS), the professional and the place as
  displays (``actor.type`` Practitioner, Location), each ``accepted``;
- a recurring series is one Appointment, its first occurrence's times, with its RRULE (RFC 5545) in the
  ``agenda-rrule`` extension and the removed occurrences in ``agenda-exdate`` extensions.

Appointment → event (create and update, the same rules):
- validated with ``fhir.resources`` (R4B), unknown elements refused; ``status`` booked, proposed or pending (the
  event is then in the agenda, read back as booked); cancelled only on an update, where it removes the event;
- ``start`` and ``end`` required, with their offset; ``description`` required; ``comment`` optional;
- ``participant``: exactly one patient, by ``actor.identifier`` (system ``IDPE_SYSTEM``, value = the idPe the app
  was given); at most one Practitioner (or PractitionerRole) and one Location, by ``actor.display``;
- the ``agenda-rrule`` extension (``valueString``) makes a recurring series; other extensions are ignored, as
  FHIR allows, and any ``modifierExtension`` is refused since its meaning cannot be kept;
- elements the agenda does not keep (``serviceType``, ``reasonCode``...) are refused rather than silently lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pydantic
from django.core.exceptions import ValidationError as DjangoValidationError
from fhir.resources.R4B.appointment import Appointment

from agenda.models import Event
from agenda.recurrence import zone
from mes.api.app_views import IDPE_SYSTEM
from mes.api.exceptions import UnprocessableEntity

CANONICAL_BASE = "https://www.monespacesante.fr/fhir"
RRULE_EXTENSION = f"{CANONICAL_BASE}/StructureDefinition/agenda-rrule"
EXDATE_EXTENSION = f"{CANONICAL_BASE}/StructureDefinition/agenda-exdate"
BOOKED = "booked"
CANCELLED = "cancelled"
WRITABLE_STATUSES = (BOOKED, "proposed", "pending")
PRACTITIONER_TYPES = ("Practitioner", "PractitionerRole")
# The elements of an Appointment the agenda keeps; any other is refused (see the module's docstring).
KEPT_ELEMENTS = frozenset(
    {"resourceType", "id", "meta", "text", "extension", "modifierExtension", "status", "description", "start"}
    | {"end", "comment", "participant", "language"}
)
# Where each field of an event comes from, for the errors of ``agenda.services.events.event_fields_clean``.
FIELD_PATHS = {
    "title": "Appointment.description",
    "note": "Appointment.comment",
    "starts_at": "Appointment.start",
    "ends_at": "Appointment.end",
    "rrule": "Appointment.extension",
}


def fhir_instant(moment: datetime) -> str:
    """An instant with an explicit offset (``Z`` for UTC), as FHIR requires."""
    return moment.isoformat().replace("+00:00", "Z")


def _local(moment: datetime, tzid: str) -> datetime:
    try:
        return moment.astimezone(zone(tzid))
    except DjangoValidationError:
        return moment.astimezone(UTC)


def appointment_resource(
    event: Event, *, idpe: str, editor_oid: str | None = None, status: str = BOOKED, version: int | None = None
) -> dict:
    """``event`` as an Appointment for the app that knows the person as ``idpe``.

    ``editor_oid`` is given for the events the reading app wrote itself (``meta.source``); ``status`` and
    ``version`` describe a cancellation (the last state of an event being removed).
    """
    meta: dict = {
        "versionId": str(event.sequence if version is None else version),
        "lastUpdated": fhir_instant(event.updated_at.astimezone(UTC)),
    }
    if editor_oid:
        meta["source"] = f"urn:oid:{editor_oid}"
    participants: list[dict] = [
        {"actor": {"type": "Patient", "identifier": {"system": IDPE_SYSTEM, "value": idpe}}, "status": "accepted"}
    ]
    if event.professional:
        participants.append({"actor": {"type": "Practitioner", "display": event.professional}, "status": "accepted"})
    if event.location:
        participants.append({"actor": {"type": "Location", "display": event.location}, "status": "accepted"})
    resource: dict = {"resourceType": "Appointment", "id": str(event.public_id), "meta": meta}
    if event.rrule:
        resource["extension"] = [
            {"url": RRULE_EXTENSION, "valueString": event.rrule},
            *({"url": EXDATE_EXTENSION, "valueDateTime": fhir_instant(moment)} for moment in sorted(event.exdates)),
        ]
    resource.update(
        {
            "status": status,
            "description": event.title,
            "start": fhir_instant(_local(event.starts_at, event.tzid)),
            "end": fhir_instant(_local(event.ends_at, event.tzid)),
        }
    )
    if event.note:
        resource["comment"] = event.note
    resource["participant"] = participants
    return resource


# --- Reading what an app writes ---------------------------------------------------------------------------------


@dataclass
class AppointmentInput:
    """A valid Appointment written by an app: its status, its id (on an update) and the fields of the event."""

    status: str
    resource_id: str | None
    fields: dict
    # The FHIR path of each event field, where the app wrote it (errors of the agenda services name it).
    paths: dict[str, str] = field(default_factory=dict)


def _path(location: tuple) -> str:
    text = "Appointment"
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            text += f".{part}"
    return text


_TYPE_MESSAGES = {
    "missing": "Cet élément est obligatoire.",
    "model_field_validation.missing": "Cet élément est obligatoire.",
    "extra_forbidden": "Cet élément n’existe pas dans une ressource Appointment (FHIR R4).",
    "string_type": "Une chaîne de caractères est attendue.",
    "list_type": "Une liste est attendue.",
    "dict_type": "Un objet JSON est attendu.",
    "model_type": "Un objet JSON est attendu.",
    "model_attributes_type": "Un objet JSON est attendu.",
    "int_type": "Un nombre entier est attendu.",
    "int_parsing": "Un nombre entier est attendu.",
    "bool_type": "Un booléen (true ou false) est attendu.",
    "bool_parsing": "Un booléen (true ou false) est attendu.",
}
INSTANT_MESSAGE = (
    "Date et heure invalides : écrivez-les avec leur décalage horaire, par exemple 2027-03-12T09:30:00+01:00."
)


def _message(error: dict) -> str:
    kind = error.get("type", "")
    if (
        kind.startswith(("datetime", "date_"))
        or "Instant" in error.get("msg", "")
        or "DateTime" in error.get("msg", "")
    ):
        return INSTANT_MESSAGE
    return _TYPE_MESSAGES.get(kind, "Valeur invalide pour cet élément.")


def appointment_validate(data: dict) -> Appointment:
    """The resource checked against FHIR R4 (``fhir.resources`` R4B); a 422 naming each failing path otherwise."""
    if data.get("resourceType") != "Appointment":
        raise UnprocessableEntity(
            "Le corps de la requête doit être une ressource Appointment.", expressions=[["Appointment.resourceType"]]
        )
    unkept = sorted(name for name in data if name not in KEPT_ELEMENTS and name in Appointment.model_fields)
    if unkept:
        raise UnprocessableEntity(
            [f"L’agenda ne conserve pas l’élément « {name} » : retirez-le de la ressource." for name in unkept],
            expressions=[[f"Appointment.{name}"] for name in unkept],
        )
    try:
        return Appointment.model_validate(data)
    except pydantic.ValidationError as error:
        issues = error.errors(include_url=False)
        raise UnprocessableEntity(
            [_message(issue) for issue in issues], expressions=[[_path(issue["loc"])] for issue in issues]
        ) from None


def _actor_type(actor) -> str:
    """The kind of a participant: ``actor.type``, else the resource type of ``actor.reference``."""
    if actor.type:
        return actor.type
    reference = actor.reference or ""
    return reference.split("/", 1)[0] if "/" in reference else ""


def appointment_read(data: dict, *, check_idpe: Callable[[str], None], allow_cancelled: bool) -> AppointmentInput:
    """The event fields of an Appointment written by an app, or a 422 listing every problem with its FHIR path.

    ``check_idpe`` is called with each idPe the participants name before any other rule is checked, so that naming
    another person is refused (403) whatever else is wrong.
    """
    # Naming another person is refused first, even in a resource that is invalid otherwise.
    for idpe in _raw_idpes(data):
        check_idpe(idpe)
    resource = appointment_validate(data)
    problems: list[tuple[str, str]] = []
    fields: dict = {"title": resource.description or "", "note": resource.comment or ""}
    paths: dict[str, str] = {}
    patients = _participants_read(resource, fields, paths, problems, check_idpe)
    if not patients:
        problems.append(
            ("Le patient doit figurer parmi les participants, désigné par son idPe.", "Appointment.participant")
        )
    elif len(patients) > 1:
        problems.append(("Le patient ne doit figurer qu’une fois parmi les participants.", "Appointment.participant"))
    status = resource.status
    if status not in ((*WRITABLE_STATUSES, CANCELLED) if allow_cancelled else WRITABLE_STATUSES):
        if status == CANCELLED:
            message = "Un rendez-vous annulé ne se crée pas : utilisez booked, proposed ou pending."
        elif allow_cancelled:
            message = "Statut non pris en charge : booked, proposed, pending, ou cancelled pour annuler le rendez-vous."
        else:
            message = "Statut non pris en charge : booked, proposed ou pending."
        problems.append((message, "Appointment.status"))
    if resource.modifierExtension:
        message = "Les extensions modificatrices ne sont pas prises en charge."
        problems.append((message, "Appointment.modifierExtension"))
    fields["rrule"] = ""
    for index, extension in enumerate(resource.extension or []):
        if extension.url == RRULE_EXTENSION:
            path = f"Appointment.extension[{index}]"
            if fields["rrule"] or not extension.valueString:
                problems.append(("Une seule règle de répétition, dans valueString.", path))
            else:
                fields["rrule"] = extension.valueString
                paths["rrule"] = f"{path}.valueString"
    if status != CANCELLED:
        # FHIR lets a proposed appointment go without times; the agenda places every event in time.
        for name, element, label in (("starts_at", "start", "de début"), ("ends_at", "end", "de fin")):
            fields[name] = getattr(resource, element)
            if fields[name] is None:
                message = f"Indiquez la date et l’heure {label}, avec leur décalage horaire."
                problems.append((message, f"Appointment.{element}"))
    if problems:
        raise UnprocessableEntity([message for message, _ in problems], expressions=[[path] for _, path in problems])
    return AppointmentInput(status=status, resource_id=resource.id, fields=fields, paths=paths)


def _raw_idpes(data: dict) -> list[str]:
    """The idPe values named in the participants of a body not validated yet (ill-typed parts are skipped)."""
    found = []
    participants = data.get("participant")
    for participant in participants if isinstance(participants, list) else []:
        actor = participant.get("actor") if isinstance(participant, dict) else None
        identifier = actor.get("identifier") if isinstance(actor, dict) else None
        if isinstance(identifier, dict) and identifier.get("system") == IDPE_SYSTEM:
            found.append(identifier.get("value"))
    return found


def _participants_read(
    resource: Appointment, fields: dict, paths: dict, problems: list, check_idpe: Callable[[str], None]
) -> list[int]:
    """Read the participants into ``fields`` (professional, location); the indexes of the patient's entries."""
    patients: list[int] = []
    fields.update(professional="", location="")
    for index, participant in enumerate(resource.participant):
        path = f"Appointment.participant[{index}].actor"
        actor = participant.actor
        if actor is None:
            problems.append(("Chaque participant doit désigner son acteur (actor).", path))
            continue
        kind = _actor_type(actor)
        identifier = actor.identifier
        if kind == "Patient" or (identifier is not None and identifier.system == IDPE_SYSTEM):
            if identifier is None or identifier.system != IDPE_SYSTEM or not identifier.value:
                message = f"Le patient se désigne par son idPe : identifier.system = {IDPE_SYSTEM}."
                problems.append((message, f"{path}.identifier"))
                continue
            check_idpe(identifier.value)
            patients.append(index)
        elif kind in PRACTITIONER_TYPES or kind == "Location":
            name, label = ("professional", "professionnel") if kind in PRACTITIONER_TYPES else ("location", "lieu")
            if name in paths:
                problems.append((f"Un rendez-vous compte au plus un {label}.", path))
            elif not (actor.display or "").strip():
                problems.append((f"Indiquez le nom du {label} dans actor.display.", f"{path}.display"))
            else:
                fields[name] = actor.display
                paths[name] = f"{path}.display"
        else:
            message = (
                "Participant non pris en charge : seuls Patient, Practitioner, PractitionerRole et Location le sont."
            )
            problems.append((message, path))
    return patients


def appointment_errors(error: DjangoValidationError, paths: dict[str, str]) -> UnprocessableEntity:
    """The field errors of the agenda services as a 422, each with the FHIR path the app wrote it at."""
    messages: list[str] = []
    expressions: list[list[str]] = []
    for name, texts in error.message_dict.items():
        for text in texts:
            messages.append(text)
            expressions.append([paths.get(name) or FIELD_PATHS.get(name, "Appointment")])
    return UnprocessableEntity(messages, expressions=expressions)
