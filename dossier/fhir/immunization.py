"""Vaccinations as FHIR R4 Immunization: building the resource from a form, validating one from anywhere.

Validation is two-staged: ``fhir.resources`` (its R4B models, the nearest to R4) checks the structure and the data
types, then the rules of Mon espace santé check the content: a vaccination that was done (status ``completed``), a
vaccine of the referential coded in ATC (``dossier.vaccines``), a full date that is neither in the future nor before
the person's birth, a dose number from 1 to 10, a sane lot number, a short performer. Every problem is reported in
French with the FHIR path of the element, so that the API can answer an OperationOutcome and a form can show the
message next to its field.

The same field rules serve the HTML forms (``*_problem`` functions), so a form and the API refuse the same values
with the same words.
"""

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pydantic
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from fhir.resources.R4B.immunization import Immunization as FhirImmunization

from dossier.vaccines import ATC_SYSTEM, Vaccine, vaccine_by_code
from mes.comptes.models import Citizen

INS_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"  # matricule INS (NIR-based), DOMAIN.md §3
IMMUNIZATION_ORIGIN_SYSTEM = "http://terminology.hl7.org/CodeSystem/immunization-origin"
PARIS = ZoneInfo("Europe/Paris")

DOSE_MIN, DOSE_MAX = 1, 10
LOT_NUMBER_MAX = 40
PERFORMER_MAX = 200
# Lot numbers are printed on the vaccine's label: letters, digits and a few separators, nothing that could be markup.
LOT_NUMBER_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 ./_-]*[A-Za-z0-9])?$")
# A generous bound on the stored JSON: a vaccination is a few hundred bytes, a larger body is not one.
RESOURCE_MAX_BYTES = 32 * 1024
OLDEST_DATE = date(1900, 1, 1)
_DOSE_RANGE = gettext_noop("Le numéro de dose doit être un nombre entier de %(min)s à %(max)s.")


@dataclass(frozen=True)
class FhirIssue:
    message: str  # in French, for a person
    expression: str  # FHIRPath of the element, e.g. "Immunization.occurrenceDateTime"


class ImmunizationInvalid(Exception):
    """The resource breaks a FHIR or a Mon espace santé rule; ``issues`` says which, where."""

    def __init__(self, issues: list[FhirIssue]):
        self.issues = issues
        super().__init__(" ".join(f"{issue.expression} : {issue.message}" for issue in issues))

    @property
    def messages(self) -> list[str]:
        return [issue.message for issue in self.issues]


@dataclass(frozen=True)
class ValidatedImmunization:
    """A resource that passed every rule, normalised, with the values of the indexed columns."""

    resource: dict
    vaccine: Vaccine
    occurrence_date: date
    dose_number: int | None
    lot_number: str
    performer: str


# --- Field rules, shared by the forms and the resource validation ---


def occurrence_date_problem(value: date, *, birth_date: date, today: date) -> str | None:
    if value > today:
        return _("La date de vaccination ne peut pas être dans le futur.")
    if value < birth_date:
        return _("La date de vaccination ne peut pas être antérieure à la date de naissance (%(date)s).") % {
            "date": birth_date.strftime("%d/%m/%Y")
        }
    if value < OLDEST_DATE:
        return _("Saisissez une date postérieure au 1er janvier 1900.")
    return None


def dose_number_problem(value: int) -> str | None:
    if not DOSE_MIN <= value <= DOSE_MAX:
        return _(_DOSE_RANGE) % {"min": DOSE_MIN, "max": DOSE_MAX}
    return None


def lot_number_problem(value: str) -> str | None:
    if len(value) > LOT_NUMBER_MAX:
        return _("Le numéro de lot ne peut pas dépasser %(max)s caractères.") % {"max": LOT_NUMBER_MAX}
    if value and not LOT_NUMBER_PATTERN.match(value):
        return _(
            "Le numéro de lot ne peut contenir que des lettres sans accent, des chiffres, des espaces et les "
            "signes . / _ - (par exemple AB1234 ou X12-345)."
        )
    return None


def performer_problem(value: str) -> str | None:
    if len(value) > PERFORMER_MAX:
        return _("Le nom de la personne ou du lieu de vaccination ne peut pas dépasser %(max)s caractères.") % {
            "max": PERFORMER_MAX
        }
    if any(ord(character) < 32 for character in value):
        return _("Le nom de la personne ou du lieu de vaccination ne peut pas contenir de caractère de contrôle.")
    return None


# --- Building ---


def immunization_build(
    *,
    citizen: Citizen,
    vaccine_code: str,
    occurrence_date: date,
    dose_number: int | None = None,
    lot_number: str = "",
    performer: str = "",
    resource_id: str | None = None,
) -> dict:
    """The Immunization a citizen (or their legal representative) declares: not a primary source, recalled by them."""
    vaccine = vaccine_by_code(vaccine_code)
    coding = {"system": ATC_SYSTEM, "code": vaccine_code}
    if vaccine is not None:
        coding["display"] = vaccine.label
    resource: dict = {"resourceType": "Immunization"}
    if resource_id:
        resource["id"] = resource_id
    resource |= {
        "status": "completed",
        "vaccineCode": {
            "coding": [coding],
            "text": vaccine.label if vaccine else vaccine_code,
        },
        "patient": _patient(citizen),
        "occurrenceDateTime": occurrence_date.isoformat(),
        "primarySource": False,
        "reportOrigin": {
            "coding": [
                {"system": IMMUNIZATION_ORIGIN_SYSTEM, "code": "recall", "display": "Parent/Guardian/Patient Recall"}
            ],
            "text": "Déclarée par la personne ou son représentant légal",
        },
    }
    if lot_number:
        resource["lotNumber"] = lot_number
    if performer:
        resource["performer"] = [{"actor": {"display": performer}}]
    if dose_number is not None:
        resource["protocolApplied"] = [{"doseNumberPositiveInt": dose_number}]
    return resource


def _patient(citizen: Citizen) -> dict:
    return {"identifier": {"system": INS_SYSTEM, "value": citizen.ins}}


# --- Validation ---


def immunization_validate(
    resource: object, *, citizen: Citizen, resource_id: str | None = None, today: date | None = None
) -> ValidatedImmunization:
    """Check ``resource`` for ``citizen``'s dossier; raise ``ImmunizationInvalid`` with every problem found.

    The stored resource is the validated one, normalised: its ``id`` is ours (``resource_id``), and its patient is
    the dossier's holder identified by the matricule INS, whatever identifier of the same person the sender used.
    """
    today = today or datetime.now(PARIS).date()
    if not isinstance(resource, dict):
        raise ImmunizationInvalid([FhirIssue(_("La ressource doit être un objet JSON FHIR."), "Immunization")])
    if resource.get("resourceType") != "Immunization":
        raise ImmunizationInvalid(
            [FhirIssue(_("La ressource doit être de type « Immunization »."), "Immunization.resourceType")]
        )
    try:
        size = len(json.dumps(resource, ensure_ascii=False).encode())
    except (TypeError, ValueError):
        raise ImmunizationInvalid([FhirIssue(_("La ressource n’est pas un JSON valide."), "Immunization")]) from None
    if size > RESOURCE_MAX_BYTES:
        raise ImmunizationInvalid(
            [FhirIssue(_("La ressource dépasse %(size)s Ko.") % {"size": RESOURCE_MAX_BYTES // 1024}, "Immunization")]
        )
    issues = _raw_type_issues(resource)
    try:
        model = FhirImmunization.model_validate(resource)
    except pydantic.ValidationError as error:
        issues += [_pydantic_issue(detail) for detail in error.errors()]
        raise ImmunizationInvalid(_unique(issues)) from None
    if issues:
        raise ImmunizationInvalid(issues)

    data = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    vaccine = _check_vaccine(data, issues)
    occurrence = _check_occurrence(model, citizen=citizen, today=today, issues=issues)
    dose_number = _check_dose(data, issues)
    lot_number = _check_lot(data, issues)
    performer = _check_performer(data, issues)
    if not data.get("status"):
        issues.append(FhirIssue(_("Le statut est obligatoire (« completed »)."), "Immunization.status"))
    elif data["status"] != "completed":
        issues.append(
            FhirIssue(
                _("Seule une vaccination réalisée peut être enregistrée (statut « completed »)."), "Immunization.status"
            )
        )
    _check_patient(data, citizen, issues)
    if issues:
        raise ImmunizationInvalid(issues)

    if resource_id:
        data["id"] = resource_id
    else:
        data.pop("id", None)
    data["patient"] = _patient(citizen)
    return ValidatedImmunization(
        resource=data,
        vaccine=vaccine,
        occurrence_date=occurrence,
        dose_number=dose_number,
        lot_number=lot_number,
        performer=performer,
    )


def _raw_type_issues(resource: dict) -> list[FhirIssue]:
    """JSON types that pydantic's lax mode would coerce ("3" or true as a dose number), but FHIR JSON forbids."""
    issues = []
    protocols = resource.get("protocolApplied")
    if isinstance(protocols, list):
        for index, protocol in enumerate(protocols):
            if isinstance(protocol, dict) and "doseNumberPositiveInt" in protocol:
                value = protocol["doseNumberPositiveInt"]
                if isinstance(value, bool) or not isinstance(value, int):
                    issues.append(
                        FhirIssue(
                            _("Le numéro de dose doit être un nombre entier JSON."),
                            f"Immunization.protocolApplied[{index}].doseNumberPositiveInt",
                        )
                    )
    return issues


def _check_vaccine(data: dict, issues: list[FhirIssue]) -> Vaccine | None:
    codings = [coding for coding in data["vaccineCode"].get("coding", []) if coding.get("system") == ATC_SYSTEM]
    if not codings:
        issues.append(
            FhirIssue(
                _("Le vaccin doit être codé dans la classification ATC (système %(system)s).") % {"system": ATC_SYSTEM},
                "Immunization.vaccineCode.coding",
            )
        )
        return None
    for coding in codings:
        vaccine = vaccine_by_code(coding.get("code", ""))
        if vaccine is not None:
            return vaccine
    issues.append(
        FhirIssue(
            _("Code ATC « %(code)s » absent du référentiel des vaccins de Mon espace santé.")
            % {"code": codings[0].get("code", "")},
            "Immunization.vaccineCode.coding.code",
        )
    )
    return None


def _check_occurrence(model, *, citizen: Citizen, today: date, issues: list[FhirIssue]) -> date | None:
    path = "Immunization.occurrenceDateTime"
    value = model.occurrenceDateTime
    if value is None:
        issues.append(FhirIssue(_("Une date de vaccination précise est attendue (occurrenceDateTime)."), path))
        return None
    if isinstance(value, datetime):
        # A time says which day it was where the person lives.
        value = value.astimezone(PARIS).date() if value.tzinfo else value.date()
    elif not isinstance(value, date):
        issues.append(FhirIssue(_("La date de vaccination doit être complète : jour, mois et année."), path))
        return None
    problem = occurrence_date_problem(value, birth_date=citizen.birth_date, today=today)
    if problem:
        issues.append(FhirIssue(problem, path))
        return None
    return value


def _check_dose(data: dict, issues: list[FhirIssue]) -> int | None:
    protocols = data.get("protocolApplied") or []
    if len(protocols) > 1:
        issues.append(FhirIssue(_("Une seule dose peut être décrite par vaccination."), "Immunization.protocolApplied"))
        return None
    if not protocols:
        return None
    path = "Immunization.protocolApplied[0]"
    if "doseNumberPositiveInt" not in protocols[0]:
        issues.append(
            FhirIssue(
                _(_DOSE_RANGE) % {"min": DOSE_MIN, "max": DOSE_MAX} + " (doseNumberPositiveInt)",
                f"{path}.doseNumber[x]",
            )
        )
        return None
    dose = protocols[0]["doseNumberPositiveInt"]
    problem = dose_number_problem(dose)
    if problem:
        issues.append(FhirIssue(problem, f"{path}.doseNumberPositiveInt"))
        return None
    return dose


def _check_lot(data: dict, issues: list[FhirIssue]) -> str:
    lot_number = data.get("lotNumber", "")
    problem = lot_number_problem(lot_number)
    if problem:
        issues.append(FhirIssue(problem, "Immunization.lotNumber"))
        return ""
    return lot_number


def _check_performer(data: dict, issues: list[FhirIssue]) -> str:
    names = []
    for index, performer in enumerate(data.get("performer") or []):
        display = performer.get("actor", {}).get("display", "")
        problem = performer_problem(display)
        if problem:
            issues.append(FhirIssue(problem, f"Immunization.performer[{index}].actor.display"))
        elif display:
            names.append(display.strip())
    return names[0] if names else ""


def _check_patient(data: dict, citizen: Citizen, issues: list[FhirIssue]) -> None:
    identifier = data["patient"].get("identifier") or {}
    if identifier.get("system") == INS_SYSTEM and identifier.get("value") != citizen.ins:
        issues.append(FhirIssue(_("Le patient ne correspond pas au titulaire du dossier."), "Immunization.patient"))


_CHOICE_FIELDS = re.compile(r"\[([^\]]*)\]")


def _pydantic_issue(detail: dict) -> FhirIssue:
    expression = _fhir_path(detail.get("loc", ()))
    kind = detail.get("type", "")
    if kind == "missing" or kind.endswith(".missing"):
        return FhirIssue(_("Élément obligatoire absent."), expression)
    if kind == "extra_forbidden":
        return FhirIssue(_("Élément inconnu dans une ressource FHIR R4."), expression)
    if kind == "value_error":
        message = str(detail.get("msg", ""))
        match = _CHOICE_FIELDS.search(message)
        if match:
            fields = ", ".join(name.strip(" '\"") for name in match.group(1).split(","))
            if "multiple" in message:
                return FhirIssue(_("Un seul de ces éléments est permis : %(fields)s.") % {"fields": fields}, expression)
            return FhirIssue(_("L’un de ces éléments est obligatoire : %(fields)s.") % {"fields": fields}, expression)
        if "date" in message.lower() or expression.endswith(("DateTime", "Date", "recorded")):
            return FhirIssue(_("Date invalide (format attendu : AAAA-MM-JJ)."), expression)
        return FhirIssue(_("Valeur invalide."), expression)
    if "date" in kind or "time" in kind:
        return FhirIssue(_("Date invalide (format attendu : AAAA-MM-JJ)."), expression)
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return FhirIssue(_("Type de valeur invalide pour cet élément."), expression)
    if kind in {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}:
        return FhirIssue(_("Valeur hors des bornes permises."), expression)
    if kind in {"string_too_long", "string_too_short", "too_long", "too_short"}:
        return FhirIssue(_("Longueur invalide."), expression)
    if kind == "string_pattern_mismatch":
        return FhirIssue(_("Format invalide pour cet élément."), expression)
    return FhirIssue(_("Valeur invalide."), expression)


def _fhir_path(loc: tuple) -> str:
    path = "Immunization"
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in {"__root__", "resource_type"}:
            path += f".{part}"
    return path


def _unique(issues: list[FhirIssue]) -> list[FhirIssue]:
    return list(dict.fromkeys(issues))
