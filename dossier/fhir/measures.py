"""Mesures de santé as FHIR R4 Observations: built for the citizen's entries, validated for everyone.

Validation is two layers: the structure of FHIR R4 (``fhir.resources.R4B``, the models nearest to R4), then the
rules of the ANS guide « mesures de santé » and of Mon espace santé — the profile in ``meta.profile``, the LOINC
code, the UCUM unit, the patient, a timezone-aware effective date that is not in the future, a value (blood
pressure: a panel with its two components and no value of its own), the moment of a glycaemia, and plausible
values. Every problem comes back at once as an ``ObservationIssue`` (FHIRPath expression, French message), which
the pages show next to the field and the API turns into an OperationOutcome (422).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from django.utils import timezone
from django.utils.translation import gettext as _
from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError

from dossier.measures_catalog import (
    CISP2,
    GLUCOSE_MOMENT_CODES,
    IDPE_SYSTEM,
    INS_SYSTEM,
    LOINC,
    LOINC_SYSTEMS,
    MEASURES,
    MOMENT_EXTENSION,
    OBSERVATION_CATEGORY,
    PAIN_UNIT_ALIASES,
    UCUM,
    ComponentSpec,
    GlucoseMoment,
    MeasureSpec,
    UnitSpec,
    check_blood_pressure,
    check_value,
    glucose_moment_for,
    measure_spec,
    spec_for_profile,
)
from dossier.models import MeasureKind
from mes.comptes.models import Citizen

# A device's clock may run a little ahead of the server's: a measure « in the future » by less is accepted.
CLOCK_SKEW = timedelta(minutes=5)
# FHIR dateTime with a time: the time zone is then mandatory (FHIR R4 §2.24.0.1), and so it is here.
_DATETIME_WITH_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
_MOMENT_SYSTEMS = LOINC_SYSTEMS | {CISP2}


@dataclass(frozen=True)
class ObservationIssue:
    expression: str  # FHIRPath of the element at fault, e.g. "Observation.valueQuantity.value"
    message: str  # in French, for the person who typed the value or the developer of the app


class ObservationError(ValueError):
    """The Observation cannot be stored; ``issues`` says why, element by element."""

    def __init__(self, issues: list[ObservationIssue]):
        self.issues = list(issues)
        super().__init__(" ; ".join(f"{issue.expression} : {issue.message}" for issue in self.issues))


@dataclass(frozen=True)
class ParsedObservation:
    """A valid Observation and the search columns extracted from it."""

    spec: MeasureSpec
    effective_at: datetime
    value: Decimal
    value_secondary: Decimal | None
    unit: str
    glucose_moment: str  # code of the moment (glucose), else ""
    resource: dict


def subject_reference(citizen: Citizen) -> dict:
    """The patient of a stored Observation: the matricule INS, whoever sent it (an app's idPe is not kept, so
    that no app can read another app's pseudonym of the person)."""
    return {"type": "Patient", "identifier": {"system": INS_SYSTEM, "value": citizen.ins}}


def fhir_datetime(moment: datetime) -> str:
    """An aware datetime as FHIR dateTime, at the offset of Europe/Paris (what the person saw on their clock)."""
    local = timezone.localtime(moment)
    return local.isoformat(timespec="milliseconds" if local.microsecond else "seconds")


def json_number(value: Decimal) -> int | float:
    """A decimal as a JSON number: integers stay integers, the rest keeps its digits (72.5, not 72.500)."""
    if value == value.to_integral_value():
        return int(value)
    return float(value.normalize())


def quantity(value: Decimal, unit: UnitSpec) -> dict:
    return {"value": json_number(value), "unit": unit.label, "system": UCUM, "code": unit.code}


def moment_extension(moment: GlucoseMoment) -> dict:
    concept: dict[str, Any] = {"coding": [{"system": moment.system, "code": moment.code, "display": moment.display}]}
    if moment.text:
        concept["text"] = moment.text
    return {"url": MOMENT_EXTENSION, "valueCodeableConcept": concept}


def build_observation(
    *,
    spec: MeasureSpec,
    citizen: Citizen,
    effective_at: datetime,
    value: Decimal,
    value_secondary: Decimal | None = None,
    unit_code: str | None = None,
    moment: GlucoseMoment | None = None,
    observation_id: UUID | None = None,
    derived_from: tuple[UUID, ...] = (),
) -> dict:
    """The Observation of one measure, following the measure's profile (validate it before storing it)."""
    unit = spec.unit_for(unit_code) or spec.unit
    resource: dict[str, Any] = {"resourceType": "Observation"}
    if observation_id is not None:
        resource["id"] = str(observation_id)
    resource["meta"] = {"profile": [spec.profile]}
    if moment is not None:
        resource["extension"] = [moment_extension(moment)]
    resource |= {
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Signes vitaux"}]}],
        "code": {
            "coding": [{"system": LOINC, "code": spec.loinc, "display": spec.loinc_display}],
            "text": str(spec.label),
        },
        "subject": subject_reference(citizen),
        "effectiveDateTime": fhir_datetime(effective_at),
    }
    if spec.is_panel:
        values = (value, value_secondary)
        resource["component"] = [
            {
                "code": {"coding": [{"system": LOINC, "code": component.loinc, "display": component.display}]},
                "valueQuantity": quantity(component_value, unit),
            }
            for component, component_value in zip(spec.components, values, strict=True)
        ]
    else:
        resource["valueQuantity"] = quantity(value, unit)
    if derived_from:
        resource["derivedFrom"] = [{"reference": f"Observation/{source}"} for source in derived_from]
    return resource


# --- validation -------------------------------------------------------------------------------------------------


def _date_required_message() -> str:
    return _(
        "La date et l’heure de la mesure sont obligatoires, avec le fuseau horaire (ex. 2024-05-01T08:30:00+02:00)."
    )


def _fhirpath(loc: tuple) -> str:
    path = "Observation"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _structure_issues(error: ValidationError) -> list[ObservationIssue]:
    issues = []
    for detail in error.errors():
        kind = detail.get("type", "")
        if tuple(detail.get("loc", ())) == ("effectiveDateTime",):
            message = _date_required_message()
        elif kind == "missing":
            message = _("Élément obligatoire absent.")
        elif kind == "extra_forbidden":
            message = _("Élément inconnu d’une ressource Observation FHIR R4.")
        else:
            message = _("Élément mal formé pour FHIR R4 (%(detail)s).") % {"detail": detail.get("msg", "")}
        issues.append(ObservationIssue(_fhirpath(tuple(detail.get("loc", ()))), message))
    return issues


def _decimal(raw: Any) -> Decimal | None:
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _has_coding(concept: Any, systems: frozenset[str], codes: frozenset[str]) -> bool:
    if not isinstance(concept, dict):
        return False
    return any(
        isinstance(coding, dict) and coding.get("system") in systems and coding.get("code") in codes
        for coding in concept.get("coding") or []
    )


class _Checker:
    """Collects the issues of one Observation against the profile of its measure."""

    def __init__(self, resource: dict, *, citizen: Citizen, subject_identifiers: frozenset, now: datetime):
        self.resource = resource
        self.citizen = citizen
        self.subject_identifiers = subject_identifiers | {(INS_SYSTEM, citizen.ins)}
        self.now = now
        self.issues: list[ObservationIssue] = []

    def add(self, expression: str, message: str) -> None:
        self.issues.append(ObservationIssue(expression, message))

    def spec(self, kind: str | None, *, allow_computed: bool) -> MeasureSpec | None:
        profiles = (self.resource.get("meta") or {}).get("profile") or []
        if kind is not None:
            spec = measure_spec(kind)
            if spec.profile not in profiles:
                self.add(
                    "Observation.meta.profile", _("Le profil %(profile)s est obligatoire.") % {"profile": spec.profile}
                )
        else:
            found = {found.kind: found for found in (spec_for_profile(profile) for profile in profiles) if found}
            if len(found) != 1:
                expected = ", ".join(spec.profile for spec in MEASURES.values() if not spec.computed)
                self.add(
                    "Observation.meta.profile",
                    _("Indiquez le profil d’une des mesures de santé, exactement un parmi : %(profiles)s.")
                    % {"profiles": expected},
                )
                return None
            spec = next(iter(found.values()))
        if spec.computed and not allow_computed:
            self.add(
                "Observation.meta.profile",
                _(
                    "L’indice de masse corporelle est calculé par Mon espace santé à partir du poids et de la taille : "
                    "il ne peut pas être transmis ni saisi."
                ),
            )
        return spec

    def status(self) -> None:
        if self.resource.get("status") != "final":
            self.add("Observation.status", _("Le statut d’une mesure transmise doit être « final »."))

    def category(self) -> None:
        categories = self.resource.get("category") or []
        if not any(_has_coding(c, frozenset({OBSERVATION_CATEGORY}), frozenset({"vital-signs"})) for c in categories):
            self.add(
                "Observation.category",
                _("La catégorie « vital-signs » (%(system)s) est obligatoire.") % {"system": OBSERVATION_CATEGORY},
            )

    def code(self, spec: MeasureSpec) -> None:
        if not _has_coding(self.resource.get("code"), LOINC_SYSTEMS, spec.loinc_codes):
            self.add(
                "Observation.code.coding",
                _("Le code LOINC de la mesure « %(label)s » doit être %(codes)s.")
                % {"label": spec.label, "codes": _(" ou ").join(sorted(spec.loinc_codes))},
            )

    def subject(self) -> None:
        subject = self.resource.get("subject")
        identifier = subject.get("identifier") if isinstance(subject, dict) else None
        if not isinstance(identifier, dict) or not identifier.get("system") or not identifier.get("value"):
            self.add(
                "Observation.subject.identifier",
                _("Le patient doit être désigné par un identifiant (matricule INS %(ins)s ou idPe %(idpe)s).")
                % {"ins": INS_SYSTEM, "idpe": IDPE_SYSTEM},
            )
            return
        if identifier["system"] not in (INS_SYSTEM, IDPE_SYSTEM):
            self.add(
                "Observation.subject.identifier.system",
                _("Système d’identifiant du patient inconnu : attendu %(ins)s (INS) ou %(idpe)s (idPe).")
                % {"ins": INS_SYSTEM, "idpe": IDPE_SYSTEM},
            )
        elif (identifier["system"], identifier["value"]) not in self.subject_identifiers:
            self.add("Observation.subject.identifier.value", _("Ce patient n’est pas celui de cet espace santé."))

    def effective(self, parsed: Observation) -> datetime | None:
        raw = self.resource.get("effectiveDateTime")
        others = [key for key in ("effectivePeriod", "effectiveTiming", "effectiveInstant") if key in self.resource]
        if others:
            self.add(f"Observation.{others[0]}", _("La date de la mesure s’indique par effectiveDateTime."))
        if not isinstance(raw, str) or not _DATETIME_WITH_TIME.match(raw):
            self.add("Observation.effectiveDateTime", _date_required_message())
            return None
        effective = parsed.effectiveDateTime
        if not isinstance(effective, datetime) or effective.tzinfo is None:
            self.add("Observation.effectiveDateTime", _("Date et heure de la mesure illisibles."))
            return None
        if effective > self.now + CLOCK_SKEW:
            self.add(
                "Observation.effectiveDateTime", _("La date et l’heure de la mesure ne peuvent pas être dans le futur.")
            )
        elif timezone.localtime(effective).date() < self.citizen.birth_date:
            self.add("Observation.effectiveDateTime", _("La date de la mesure précède la date de naissance."))
        return effective

    def quantity(self, expression: str, raw: Any, spec: MeasureSpec) -> tuple[Decimal, UnitSpec] | None:
        if not isinstance(raw, dict):
            self.add(expression, _("La valeur de la mesure est obligatoire (valueQuantity)."))
            return None
        problems_before = len(self.issues)
        if raw.get("comparator"):
            self.add(f"{expression}.comparator", _("Une mesure doit être une valeur exacte, sans comparateur."))
        if raw.get("system") != UCUM:
            self.add(f"{expression}.system", _("L’unité doit être codée en UCUM (%(system)s).") % {"system": UCUM})
        code = raw.get("code")
        if spec.kind == MeasureKind.PAIN:
            code = PAIN_UNIT_ALIASES.get(code, code)
        unit = spec.unit_for(code) if code else None
        if unit is None:
            self.add(
                f"{expression}.code",
                _("Unité refusée pour la mesure « %(label)s » : attendu %(units)s.")
                % {"label": spec.label, "units": _(" ou ").join(u.code for u in spec.units)},
            )
        if not raw.get("unit"):
            self.add(f"{expression}.unit", _("Le libellé de l’unité (unit) est obligatoire."))
        value = _decimal(raw.get("value"))
        if value is None:
            self.add(
                f"{expression}.value", _("La valeur de la mesure est obligatoire : une mesure sans valeur est refusée.")
            )
        if len(self.issues) > problems_before or unit is None or value is None:
            return None
        return value, unit

    def value(self, spec: MeasureSpec) -> tuple[Decimal, Decimal | None, str] | None:
        value_keys = [key for key in self.resource if key.startswith("value")]
        if "dataAbsentReason" in self.resource:
            self.add("Observation.dataAbsentReason", _("Une mesure sans valeur est refusée."))
        if spec.is_panel:
            return self._panel(spec, value_keys)
        for key in value_keys:
            if key != "valueQuantity":
                self.add(f"Observation.{key}", _("La valeur d’une mesure est une quantité (valueQuantity)."))
        found = self.quantity("Observation.valueQuantity", self.resource.get("valueQuantity"), spec)
        if found is None:
            return None
        value, unit = found
        for problem in check_value(spec, value, unit):
            self.add("Observation.valueQuantity.value", problem)
        return value, None, unit.code

    def _panel(self, spec: MeasureSpec, value_keys: list[str]) -> tuple[Decimal, Decimal | None, str] | None:
        for key in value_keys:
            self.add(
                f"Observation.{key}",
                _("Une tension artérielle n’a pas de valeur propre : ses valeurs sont dans ses composantes."),
            )
        components = self.resource.get("component") or []
        values: list[Decimal] = []
        for component in spec.components:
            index = self._component_index(components, component)
            if index is None:
                self.add(
                    "Observation.component",
                    _("La composante « %(label)s » (LOINC %(code)s) est obligatoire.")
                    % {"label": component.label, "code": component.loinc},
                )
                continue
            expression = f"Observation.component[{index}].valueQuantity"
            found = self.quantity(expression, components[index].get("valueQuantity"), spec)
            if found is None:
                continue
            value, unit = found
            for problem in check_value(spec, value, unit, component=component):
                self.add(f"{expression}.value", problem)
            values.append(value)
        if len(values) != len(spec.components):
            return None
        for problem in check_blood_pressure(values[0], values[1]):
            self.add("Observation.component", problem)
        return values[0], values[1], spec.unit.code

    @staticmethod
    def _component_index(components: list, component: ComponentSpec) -> int | None:
        for index, candidate in enumerate(components):
            if isinstance(candidate, dict) and _has_coding(
                candidate.get("code"), LOINC_SYSTEMS, frozenset({component.loinc})
            ):
                return index
        return None

    def moment(self, spec: MeasureSpec) -> GlucoseMoment | None:
        if not spec.needs_moment:
            return None
        for index, extension in enumerate(self.resource.get("extension") or []):
            if not isinstance(extension, dict) or extension.get("url") != MOMENT_EXTENSION:
                continue
            concept = extension.get("valueCodeableConcept") or {}
            for coding in concept.get("coding") or []:
                if coding.get("system") in _MOMENT_SYSTEMS and coding.get("code") in GLUCOSE_MOMENT_CODES:
                    return glucose_moment_for(coding["code"], concept.get("text") or "")
            self.add(
                f"Observation.extension[{index}].valueCodeableConcept",
                _("Moment de la mesure inconnu : attendu un code du jeu de valeurs JDV_J157-MomentGlucose-ENS."),
            )
            return None
        self.add(
            "Observation.extension",
            _("Le moment de la mesure (à jeun, avant ou après le repas…) est obligatoire pour une glycémie (%(url)s).")
            % {"url": MOMENT_EXTENSION},
        )
        return None


def validate_observation(
    resource: Any,
    *,
    citizen: Citizen,
    kind: str | None = None,
    subject_identifiers: frozenset[tuple[str, str]] = frozenset(),
    allow_computed: bool = False,
    now: datetime | None = None,
) -> ParsedObservation:
    """Check ``resource`` for ``citizen``'s space; raise ``ObservationError`` with every issue found.

    ``kind`` is the measure expected (a page of the citizen); without it, the measure is the one whose profile is
    in ``meta.profile`` (the API). ``subject_identifiers`` are the patient identifiers accepted besides the
    matricule INS (an app's idPe for this person). The returned resource names the patient by the INS.
    """
    if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
        raise ObservationError([ObservationIssue("Observation", _("La ressource doit être une Observation FHIR."))])
    try:
        parsed = Observation.model_validate(resource)
    except ValidationError as error:
        raise ObservationError(_structure_issues(error)) from None
    checker = _Checker(resource, citizen=citizen, subject_identifiers=subject_identifiers, now=now or timezone.now())
    spec = checker.spec(kind, allow_computed=allow_computed)
    if spec is None:
        raise ObservationError(checker.issues)
    checker.status()
    checker.category()
    checker.code(spec)
    checker.subject()
    effective = checker.effective(parsed)
    found = checker.value(spec)
    moment = checker.moment(spec)
    if checker.issues or effective is None or found is None:
        raise ObservationError(checker.issues)
    value, value_secondary, unit = found
    normalised = dict(resource)
    normalised["subject"] = subject_reference(citizen)
    if spec.kind == MeasureKind.PAIN and isinstance(normalised.get("valueQuantity"), dict):
        normalised["valueQuantity"] = {**normalised["valueQuantity"], "code": unit}
    return ParsedObservation(
        spec=spec,
        effective_at=effective,
        value=value,
        value_secondary=value_secondary,
        unit=unit,
        glucose_moment=moment.code if moment else "",
        resource=normalised,
    )


def observation_moment(resource: dict) -> GlucoseMoment | None:
    """The moment of measurement written in a stored glucose Observation."""
    for extension in resource.get("extension") or []:
        if extension.get("url") != MOMENT_EXTENSION:
            continue
        concept = extension.get("valueCodeableConcept") or {}
        for coding in concept.get("coding") or []:
            moment = glucose_moment_for(coding.get("code", ""), concept.get("text") or "")
            if moment is not None:
                return moment
    return None
