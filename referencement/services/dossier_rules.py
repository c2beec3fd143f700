"""The rules of a référencement dossier, section by section, in one place: what each section requires, the catalogue's
consistency, the OID and the redirect URIs. ``referencement.services.dossiers`` saves a section only when these rules
find nothing, and runs them over the stored dossier at submission (``dossier_problems``), so that what is missing at
submission is exactly what the editor saw section by section. Pure functions: nothing here writes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalogue.models import (
    AccessibilityCompliance,
    Category,
    DataExchange,
    MedicalDeviceClass,
    PriceModel,
    Service,
    ServiceKind,
)
from convergence.models import Procedure, Product
from mes.text import single_line
from referencement.models import EXCHANGE_PURPOSES, OID_REGEX, Dossier, Purpose

__all__ = [
    "SECTION_EXCHANGES",
    "SECTION_IMAGES",
    "SECTION_PROCEDURE",
    "SECTION_SHEET",
    "SECTION_TITLES",
    "SHEET_FIELDS",
    "DossierIncomplete",
    "Problem",
    "dossier_problems",
    "dossier_section_errors",
    "french_number",
    "justification_key",
    "procedure_errors",
    "redirect_uris_parse",
    "section_clean",
]

# The sections of the dossier, as they appear in its URLs.
SECTION_PROCEDURE = "procedure"
SECTION_EXCHANGES = "echanges"
SECTION_SHEET = "fiche"
SECTION_IMAGES = "images"
SECTION_TITLES = {
    SECTION_PROCEDURE: gettext_lazy("Procédure et finalité"),
    SECTION_EXCHANGES: gettext_lazy("Données échangées"),
    SECTION_SHEET: gettext_lazy("Fiche du catalogue"),
    SECTION_IMAGES: gettext_lazy("Logo et captures d’écran"),
}
SHEET_FIELDS = (
    "name",
    "short_description",
    "long_description",
    "category",
    "service_kind",
    "website_url",
    "app_store_url",
    "google_play_url",
    "price_model",
    "price_details",
    "medical_device",
    "medical_device_class",
    "connected_objects",
    "connected_objects_details",
    "support_email",
    "support_phone",
    "support_url",
    "accessibility_compliance",
    "accessibility_url",
)
SHEET_TEXT_FIELDS = ("long_description",)
SHEET_BOOLEAN_FIELDS = ("medical_device", "connected_objects")
PROCEDURE_FIELDS = ("procedure", "purpose", "purpose_details")
# Copied into a new dossier when a published service is re-declared (with the requested exchanges and the images).
COPIED_FIELDS = ("purpose", "purpose_details", "oid", "redirect_uris", *SHEET_FIELDS)

MAX_REDIRECT_URIS = 5
REDIRECT_URI_MAX_LENGTH = 500
DEVELOPMENT_HOSTS = ("localhost", "127.0.0.1")
JUSTIFICATION_MAX_LENGTH = 1000
PURPOSE_DETAILS_MAX_LENGTH = 2000
REASON_MAX_LENGTH = 1000
ANSWER_MAX_LENGTH = 4000
ALT_TEXT_MAX_LENGTH = 200
# Price models whose price must be spelled out on the sheet.
PRICED_MODELS = (PriceModel.SUBSCRIPTION, PriceModel.PAID)


class DossierIncomplete(ValidationError):
    """The dossier cannot be submitted: ``problems`` says what is missing, section by section."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__([problem.message for problem in problems], code="incomplete")
        self.problems = problems


@dataclass(frozen=True)
class Problem:
    """A point to correct before submitting: its section (``SECTION_*``), the field (empty for the whole section)."""

    section: str
    field: str
    message: str

    @property
    def section_title(self) -> str:
        return str(SECTION_TITLES[self.section])


def french_number(number: int) -> str:
    """A French number with a non-breaking space between thousands (« 4 000 »)."""
    return f"{number:,}".replace(",", "\u00a0")


# --- The rules of each section ----------------------------------------------------------------------------------------


def justification_key(code: str) -> str:
    """The name under which the justification of the exchange ``code`` travels (forms, errors)."""
    return "justification_" + code.replace("-", "_")


def _add(errors: dict[str, list[str]], field: str, message: str) -> None:
    errors.setdefault(field, []).append(str(message))


def procedure_errors(product: Product, values: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    procedure, purpose = values.get("procedure") or "", values.get("purpose") or ""
    if procedure not in Procedure.values:
        _add(errors, "procedure", _("Choisissez la procédure : simple ou avec échange de données."))
    elif procedure == Procedure.AVEC_ECHANGE and product.procedure != Procedure.AVEC_ECHANGE:
        _add(
            errors,
            "procedure",
            _(
                "La procédure avec échange de données demande un produit évalué dans Convergence pour la démarche "
                "« avec échange de données » : changez la démarche du produit dans Convergence, ou choisissez la "
                "procédure simple."
            ),
        )
    if not purpose:
        _add(errors, "purpose", _("Choisissez la finalité du service."))
    elif purpose not in Purpose.values:
        _add(errors, "purpose", _("Choisissez une finalité de la liste."))
    elif procedure == Procedure.AVEC_ECHANGE and purpose not in EXCHANGE_PURPOSES:
        _add(
            errors,
            "purpose",
            _(
                "L’échange de données n’est ouvert qu’aux finalités de prévention, de diagnostic, de soins ou de "
                "suivi social ou médico-social."
            ),
        )
    details = values.get("purpose_details") or ""
    if not details:
        _add(errors, "purpose_details", _("Décrivez en quelques phrases la finalité du service et à qui il s’adresse."))
    elif len(details) > PURPOSE_DETAILS_MAX_LENGTH:
        _add(
            errors,
            "purpose_details",
            _("La description de la finalité est limitée à %(limit)s caractères (vous en avez saisi %(count)s).")
            % {"limit": french_number(PURPOSE_DETAILS_MAX_LENGTH), "count": french_number(len(details))},
        )
    return errors


def redirect_uris_parse(text: str) -> list[str]:
    """The URIs typed one per line: blanks around them and empty lines left out."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _redirect_uri_error(uri: str) -> str | None:
    if len(uri) > REDIRECT_URI_MAX_LENGTH:
        return _("« %(uri)s » dépasse %(limit)s caractères.") % {
            "uri": uri[:60] + "…",
            "limit": REDIRECT_URI_MAX_LENGTH,
        }
    if any(character.isspace() for character in uri):
        return _("« %(uri)s » ne doit pas contenir d’espace.") % {"uri": uri}
    if "*" in uri:
        return _("« %(uri)s » doit être exacte : les jokers (*) ne sont pas admis.") % {"uri": uri}
    try:
        parts = urlsplit(uri)
        hostname = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return _("« %(uri)s » n’est pas une adresse valide.") % {"uri": uri}
    if parts.scheme.lower() not in ("https", "http") or not hostname:
        return _("« %(uri)s » n’est pas une adresse complète, par exemple https://exemple.fr/oauth/retour.") % {
            "uri": uri
        }
    if parts.scheme.lower() == "http" and hostname not in DEVELOPMENT_HOSTS:
        return _(
            "« %(uri)s » doit commencer par https:// (http:// n’est admis que pour localhost ou 127.0.0.1, en "
            "développement)."
        ) % {"uri": uri}
    if parts.username is not None or parts.password is not None:
        return _("« %(uri)s » ne doit contenir ni identifiant ni mot de passe.") % {"uri": uri}
    if parts.fragment or uri.endswith("#"):
        return _("« %(uri)s » ne doit pas contenir de fragment (#…).") % {"uri": uri}
    return None


def _exchanges_errors(values: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    exchanges: dict[str, str] = values.get("exchanges") or {}
    if not exchanges:
        _add(errors, "exchanges", _("Cochez au moins une donnée que le service doit échanger avec Mon espace santé."))
    for code, justification in exchanges.items():
        if code not in DataExchange.values:
            _add(errors, "exchanges", _("La donnée « %(code)s » n’existe pas.") % {"code": code})
            continue
        label = DataExchange(code).label
        if not (justification or "").strip():
            _add(
                errors,
                justification_key(code),
                _("Justifiez le besoin de la donnée « %(label)s » pour le service rendu.") % {"label": label},
            )
        elif len(justification) > JUSTIFICATION_MAX_LENGTH:
            _add(
                errors,
                justification_key(code),
                _("La justification est limitée à %(limit)s caractères.")
                % {"limit": french_number(JUSTIFICATION_MAX_LENGTH)},
            )
    oid = values.get("oid") or ""
    if not oid:
        _add(errors, "oid", _("Indiquez l’OID de votre organisation, attribué par l’AFNOR."))
    elif len(oid) > 64 or not _oid_valid(oid):
        _add(
            errors,
            "oid",
            _(
                "L’OID s’écrit en nombres séparés par des points, sans zéro en tête ni espace, par exemple "
                "1.2.250.1.999."
            ),
        )
    uris: list[str] = values.get("redirect_uris") or []
    if not uris:
        _add(errors, "redirect_uris", _("Indiquez au moins une URI de redirection de votre application."))
    if len(uris) > MAX_REDIRECT_URIS:
        _add(
            errors,
            "redirect_uris",
            _("Indiquez au plus %(limit)s URI de redirection (vous en avez indiqué %(count)s).")
            % {"limit": MAX_REDIRECT_URIS, "count": len(uris)},
        )
    seen: set[str] = set()
    for uri in uris:
        message = _redirect_uri_error(uri)
        if message is None and uri in seen:
            message = _("« %(uri)s » est indiquée deux fois.") % {"uri": uri}
        seen.add(uri)
        if message:
            _add(errors, "redirect_uris", message)
    return errors


def _oid_valid(oid: str) -> bool:
    return re.fullmatch(OID_REGEX, oid) is not None


def _sheet_clean(values: dict) -> tuple[dict, dict[str, list[str]]]:
    """The sheet's values tidied (texts trimmed, single lines folded) and the errors found in them."""
    cleaned: dict = {}
    for name in SHEET_FIELDS:
        value = values.get(name)
        if name in SHEET_BOOLEAN_FIELDS:
            cleaned[name] = bool(value)
        elif name in SHEET_TEXT_FIELDS:
            cleaned[name] = (value or "").replace("\r\n", "\n").strip()
        else:
            cleaned[name] = single_line(value)
    if not cleaned["accessibility_compliance"]:
        cleaned["accessibility_compliance"] = AccessibilityCompliance.NOT_ASSESSED
    return cleaned, _sheet_errors(cleaned)


def _sheet_errors(values: dict) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    required = {
        "name": _("Indiquez le nom du service tel qu’il apparaîtra dans le catalogue."),
        "short_description": _("Rédigez la description courte, affichée dans la liste du catalogue."),
        "long_description": _("Rédigez la description longue, affichée sur la page du service."),
        "category": _("Choisissez la catégorie du catalogue."),
        "service_kind": _("Choisissez le type de service."),
        "price_model": _("Choisissez le modèle économique."),
    }
    for name, message in required.items():
        if not values.get(name):
            _add(errors, name, message)
    choices = {
        "category": Category.values,
        "service_kind": ServiceKind.values,
        "price_model": PriceModel.values,
        "medical_device_class": MedicalDeviceClass.values,
        "accessibility_compliance": AccessibilityCompliance.values,
    }
    for name, allowed in choices.items():
        if values.get(name) and values[name] not in allowed:
            _add(errors, name, _("Choisissez une valeur de la liste."))
    # Lengths and formats (addresses, e-mail, telephone), with the messages of the model's validators.
    for name in SHEET_FIELDS:
        if name in errors or name in SHEET_BOOLEAN_FIELDS or name in choices or not values.get(name):
            continue
        try:
            Dossier._meta.get_field(name).clean(values[name], None)
        except ValidationError as error:
            _add(errors, name, error.messages[0])
    # The catalogue's own rules, with its messages: what is published must be consistent.
    service = Service(
        kind=values.get("service_kind") or "",
        website_url=values.get("website_url") or "",
        app_store_url=values.get("app_store_url") or "",
        google_play_url=values.get("google_play_url") or "",
        medical_device=values.get("medical_device", False),
        medical_device_class=values.get("medical_device_class") or "",
        connected_objects=values.get("connected_objects", False),
        connected_objects_details=values.get("connected_objects_details") or "",
        support_email=values.get("support_email") or "",
        support_phone=values.get("support_phone") or "",
        support_url=values.get("support_url") or "",
        data_exchanges=[],
    )
    try:
        service.clean()
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            if name not in errors:
                for message in messages:
                    _add(errors, name, message)
    if values.get("price_model") in PRICED_MODELS and not values.get("price_details") and "price_details" not in errors:
        _add(
            errors,
            "price_details",
            _("Précisez le prix, par exemple « 4,99 € par mois après un essai gratuit de 14 jours »."),
        )
    compliance = values.get("accessibility_compliance")
    if (
        compliance
        and compliance != AccessibilityCompliance.NOT_ASSESSED
        and not values.get("accessibility_url")
        and "accessibility_url" not in errors
    ):
        _add(errors, "accessibility_url", _("Indiquez l’adresse de la déclaration d’accessibilité du service."))
    return errors


def _stored_exchanges(dossier: Dossier) -> dict[str, str]:
    return {row.exchange: row.justification for row in dossier.requested_exchanges.all()}


def dossier_problems(dossier: Dossier) -> list[Problem]:
    """Everything that keeps ``dossier`` from being submitted, in the order of its sections (empty when complete)."""
    problems: list[Problem] = []

    def collect(section: str, errors: dict[str, list[str]]) -> None:
        problems.extend(Problem(section, field, message) for field, messages in errors.items() for message in messages)

    collect(
        SECTION_PROCEDURE,
        procedure_errors(dossier.product, {name: getattr(dossier, name) for name in PROCEDURE_FIELDS}),
    )
    if dossier.with_data_exchange:
        values = {"exchanges": _stored_exchanges(dossier), "oid": dossier.oid, "redirect_uris": dossier.redirect_uris}
        collect(SECTION_EXCHANGES, _exchanges_errors(values))
    collect(SECTION_SHEET, _sheet_errors({name: getattr(dossier, name) for name in SHEET_FIELDS}))
    if not dossier.logo:
        problems.append(Problem(SECTION_IMAGES, "logo", _("Ajoutez le logo du service.")))
    return problems


# --- Sections, as a whole ---------------------------------------------------------------------------------------------


def section_clean(dossier: Dossier, section: str, values: dict) -> tuple[dict, dict[str, list[str]]]:
    """The section's values tidied, and what is wrong with them (field → messages)."""
    if section == SECTION_PROCEDURE:
        cleaned = {
            "procedure": values.get("procedure") or "",
            "purpose": values.get("purpose") or "",
            "purpose_details": (values.get("purpose_details") or "").replace("\r\n", "\n").strip(),
        }
        return cleaned, procedure_errors(dossier.product, cleaned)
    if section == SECTION_EXCHANGES:
        if not dossier.with_data_exchange:
            raise ValidationError(
                _("La procédure simple n’échange aucune donnée : choisissez d’abord la procédure avec échange."),
                code="procedure",
            )
        cleaned = {
            "exchanges": {
                code: (justification or "").replace("\r\n", "\n").strip()
                for code, justification in (values.get("exchanges") or {}).items()
            },
            "oid": single_line(values.get("oid")),
            "redirect_uris": [uri.strip() for uri in values.get("redirect_uris") or [] if uri.strip()],
        }
        return cleaned, _exchanges_errors(cleaned)
    if section == SECTION_SHEET:
        return _sheet_clean(values)
    raise ValidationError(_("Cette partie du dossier n’existe pas."), code="section")


def dossier_section_errors(*, dossier: Dossier, section: str, values: dict) -> dict[str, list[str]]:
    """What is wrong with ``values`` for one section, without saving anything: the pages use it to report every error
    at once when the form itself already found some."""
    return section_clean(dossier, section, values)[1]
