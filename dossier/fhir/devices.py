"""The measuring Device of a referenced app, and the editor OID its measures carry.

An app names itself by its editor OID (AFNOR) in two places: the ``meta.source`` of each Observation, and the
identifier system of each of its devices, ``urn:oid:<editor OID>``. Both must be the OID of the calling app's
habilitation: another OID is a conflict (409, ``OIDConflict``), not a malformed resource. ``meta.source`` is
accepted as ``urn:oid:<OID>`` (the URI form FHIR expects in a ``uri``) or as the bare OID (what the DOMAIN's real
API documents); both are stored as sent.

A Device is validated against FHIR R4 (``fhir.resources.R4B``), then against these rules: the identifier named by
the conditional create (``ifNoneExist: identifier=urn:oid:<OID>|<device id>``) is one of its identifiers, and it
names no patient — a device belongs to the app and is shared by every person it measures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from django.utils.translation import gettext as _
from fhir.resources.R4B.device import Device
from pydantic import ValidationError

from dossier.fhir.measures import ObservationError, ObservationIssue

OID_URN_PREFIX = "urn:oid:"
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
# Longest identifier part stored (the columns of ``dossier.models.Device``).
IDENTIFIER_MAX_LENGTH = 255


class DeviceError(ObservationError):
    """The Device (or the conditional create naming it) cannot be stored; ``issues`` says why."""


class OIDConflict(Exception):
    """An editor OID that is not the calling app's: in ``meta.source`` or in a device identifier system."""

    def __init__(self, message: str, expression: str):
        self.message = message
        self.expression = expression
        super().__init__(message)


@dataclass(frozen=True)
class ParsedDevice:
    """A valid Device, the identifier it is known by, and the resource to store (without ``id``)."""

    system: str
    value: str
    resource: dict


def oid_of(value: str) -> str:
    """``urn:oid:1.2.3`` and ``1.2.3`` both name the OID ``1.2.3``."""
    return value.removeprefix(OID_URN_PREFIX)


def check_source(resource: Any, *, oid: str) -> None:
    """``meta.source`` of an Observation sent by an app: mandatory, and the app's own OID."""
    meta = resource.get("meta") if isinstance(resource, dict) else None
    source = meta.get("source") if isinstance(meta, dict) else None
    if not isinstance(source, str) or not source.strip():
        raise ObservationError(
            [
                ObservationIssue(
                    "Observation.meta.source",
                    _("L’OID de l’éditeur est obligatoire dans meta.source (urn:oid:%(oid)s).") % {"oid": oid},
                )
            ]
        )
    if oid_of(source.strip()) != oid:
        raise OIDConflict(
            _("OID en conflit : meta.source vaut « %(source)s », alors que l’OID de ce service est %(oid)s.")
            % {"source": source, "oid": oid},
            "Observation.meta.source",
        )


def parse_if_none_exist(query: Any, *, expression: str = "Bundle.entry.request.ifNoneExist") -> tuple[str, str]:
    """``identifier=<system>|<value>`` (URL-encoded or not) → ``(system, value)``; ``DeviceError`` otherwise.

    ``expression`` is the FHIRPath of the ``ifNoneExist`` element, for the error."""
    message = _(
        "La création conditionnelle de l’appareil doit être de la forme "
        "« identifier=urn:oid:<OID de l’éditeur>|<identifiant de l’appareil> »."
    )
    if not isinstance(query, str):
        raise DeviceError([ObservationIssue(expression, message)])
    pairs = parse_qsl(query.removeprefix("Device?").removeprefix("?"), keep_blank_values=True)
    if len(pairs) != 1 or pairs[0][0] != "identifier" or "|" not in pairs[0][1]:
        raise DeviceError([ObservationIssue(expression, message)])
    system, value = pairs[0][1].split("|", 1)
    if not system or not value:
        raise DeviceError([ObservationIssue(expression, message)])
    return system, value


def _check_system(system: str, *, oid: str, expression: str) -> None:
    """A device identifier system is ``urn:oid:<the app's OID>``: another OID is a conflict, anything else invalid."""
    expected = f"{OID_URN_PREFIX}{oid}"
    if system == expected:
        return
    if system.startswith(OID_URN_PREFIX) and _OID.match(oid_of(system)):
        raise OIDConflict(
            _(
                "OID en conflit : l’identifiant de l’appareil est dans le système %(system)s, alors que ce service a "
                "l’OID %(oid)s."
            )
            % {"system": system, "oid": oid},
            expression,
        )
    raise DeviceError(
        [
            ObservationIssue(
                expression,
                _("Le système de l’identifiant de l’appareil doit être %(expected)s.") % {"expected": expected},
            )
        ]
    )


def _structure_issues(error: ValidationError) -> list[ObservationIssue]:
    issues = []
    for detail in error.errors():
        path = "Device" + "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in detail.get("loc", ())
        )
        if detail.get("type") == "extra_forbidden":
            message = _("Élément inconnu d’une ressource Device FHIR R4.")
        else:
            message = _("Élément mal formé pour FHIR R4 (%(detail)s).") % {"detail": detail.get("msg", "")}
        issues.append(ObservationIssue(path, message))
    return issues


def validate_device(
    resource: Any,
    *,
    oid: str,
    identifier: tuple[str, str],
    identifier_expression: str = "Bundle.entry.request.ifNoneExist",
) -> ParsedDevice:
    """Check the Device an app sends with a measure, known by ``identifier`` (from its conditional create, whose
    FHIRPath is ``identifier_expression``)."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Device":
        raise DeviceError([ObservationIssue("Device", _("La ressource doit être un Device FHIR."))])
    system, value = identifier
    _check_system(system, oid=oid, expression=identifier_expression)
    if len(value) > IDENTIFIER_MAX_LENGTH:
        raise DeviceError(
            [
                ObservationIssue(
                    identifier_expression,
                    _("L’identifiant de l’appareil dépasse %(count)s caractères.") % {"count": IDENTIFIER_MAX_LENGTH},
                )
            ]
        )
    try:
        Device.model_validate(resource)
    except ValidationError as error:
        raise DeviceError(_structure_issues(error)) from None
    issues = []
    identifiers = resource.get("identifier") or []
    for index, item in enumerate(identifiers):
        if isinstance(item, dict) and isinstance(item.get("system"), str):
            _check_system(item["system"], oid=oid, expression=f"Device.identifier[{index}].system")
    named = {(item.get("system"), item.get("value")) for item in identifiers if isinstance(item, dict)}
    if identifier not in named:
        issues.append(
            ObservationIssue(
                "Device.identifier",
                _("L’appareil doit porter l’identifiant de sa création conditionnelle (%(system)s|%(value)s).")
                % {"system": system, "value": value},
            )
        )
    if "patient" in resource:
        issues.append(
            ObservationIssue(
                "Device.patient",
                _("Un appareil est partagé par toutes les personnes qu’il mesure : il ne désigne pas de patient."),
            )
        )
    if issues:
        raise DeviceError(issues)
    # The server names the resource: an ``id`` sent by the app is replaced by the public id when stored.
    stored = {"resourceType": "Device"} | {k: v for k, v in resource.items() if k not in {"resourceType", "id"}}
    return ParsedDevice(system=system, value=value, resource=stored)
