"""The scopes a referenced app may ask for, in the SMART App Launch v2 form (``patient/<Resource>.<cruds>``).

A scope names a FHIR resource type and some of the five interactions, always in the order ``c r u d s`` (create,
read, update, delete, search). Référencement approves some scopes for an app; the app asks for some of them; the
citizen consents to some of those. Permissions are compared letter by letter: ``patient/Appointment.cruds``
covers ``patient/Appointment.rs``. ``openid`` asks for the id_token (the pseudonymous idPe, nothing else).

The plain-French wording of each (resource, interactions) pair is what the citizen reads on the consent page and
on « Mes services connectés ».
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from django.utils.translation import gettext_lazy as _

from mes.acces.models import Scope

OPENID = "openid"
INTERACTIONS = "cruds"
_SMART = re.compile(r"^patient/([A-Z][A-Za-z]+)\.(c?r?u?d?s?)$")

# The resource types the API serves, each with the part of the space it belongs to (the parts of ``Scope``, and
# the agenda and the contact data, which only apps are given as separate parts).
AGENDA = "agenda"
CONTACT = "contact"
RESOURCE_PARTS: dict[str, str] = {
    "Observation": Scope.MEASURES,
    "DocumentReference": Scope.DOCUMENTS,
    "Appointment": AGENDA,
    "Immunization": Scope.IMMUNIZATIONS,
    "Patient": CONTACT,
}
# The interactions each resource type offers through the API.
RESOURCE_INTERACTIONS: dict[str, str] = {
    "Observation": "crs",
    "DocumentReference": "crs",
    "Appointment": "cruds",
    "Immunization": "c",
    "Patient": "r",
}

# What the citizen reads for each group of interactions of a resource type.
_READ = "rs"
_WRITE = "cud"
LABELS: dict[tuple[str, str], str] = {
    ("Observation", _READ): _("Lire vos mesures de santé (poids, tension, glycémie, pas…)"),
    ("Observation", _WRITE): _("Ajouter des mesures de santé à votre espace"),
    ("DocumentReference", _READ): _(
        "Lire vos documents de santé, y compris ceux que vous avez masqués aux professionnels"
    ),
    ("DocumentReference", _WRITE): _("Ajouter des documents à votre dossier médical"),
    ("Appointment", _READ): _("Lire tous les rendez-vous de votre agenda"),
    ("Appointment", _WRITE): _("Ajouter des rendez-vous à votre agenda, modifier et supprimer ceux qu’il a ajoutés"),
    ("Immunization", _WRITE): _("Ajouter des vaccinations à votre carnet"),
    ("Patient", _READ): _("Lire vos coordonnées (téléphone et adresse électronique)"),
}
OPENID_LABEL = _("Vous reconnaître quand vous revenez (un identifiant propre à ce service, sans votre identité)")


@dataclass(frozen=True)
class SmartScope:
    resource: str
    interactions: str

    def __str__(self) -> str:
        return f"patient/{self.resource}.{self.interactions}"


def parse(scope: str) -> SmartScope | None:
    """A SMART scope of a resource the API serves, with interactions it offers; ``None`` for anything else."""
    match = _SMART.match(scope)
    if match is None or not match.group(2):
        return None
    resource, interactions = match.groups()
    if resource not in RESOURCE_INTERACTIONS or not set(interactions) <= set(RESOURCE_INTERACTIONS[resource]):
        return None
    return SmartScope(resource, interactions)


def is_known(scope: str) -> bool:
    return scope == OPENID or parse(scope) is not None


def permissions(scopes) -> frozenset[str]:
    """The permissions given by scopes, one string per resource and interaction (``"Observation.c"``)."""
    return _permissions(tuple(scopes))


# Every API call intersects three scope lists (token, consent, habilitation), drawn from a handful of combinations.
@lru_cache(maxsize=1024)
def _permissions(scopes: tuple[str, ...]) -> frozenset[str]:
    granted = set()
    for scope in scopes:
        parsed = parse(scope)
        if parsed is not None:
            granted.update(f"{parsed.resource}.{letter}" for letter in parsed.interactions)
    return frozenset(granted)


def covered(scope: str, by) -> bool:
    """Whether ``scope`` asks for nothing beyond the scopes ``by``."""
    if scope == OPENID:
        return OPENID in by
    parsed = parse(scope)
    return parsed is not None and permissions([scope]) <= permissions(by)


def parts(permissions_: frozenset[str], letters: str) -> frozenset[str]:
    """The parts of the space (``Scope`` values, ``agenda``, ``contact``) that some of ``letters`` open."""
    return frozenset(
        RESOURCE_PARTS[resource]
        for resource in RESOURCE_PARTS
        if any(f"{resource}.{letter}" in permissions_ for letter in letters)
    )


@dataclass(frozen=True)
class ScopeItem:
    """One line of the consent page: a scope to tick, and what it means."""

    scope: str
    label: str


def consent_items(scopes) -> list[ScopeItem]:
    """The scopes as the citizen reads them: each asked scope split into its read part and its write part, in the
    order of ``RESOURCE_PARTS``; ``openid`` first."""
    items = [ScopeItem(OPENID, str(OPENID_LABEL))] if OPENID in scopes else []
    granted = permissions(scopes)
    for resource in RESOURCE_PARTS:
        for group in (_READ, _WRITE):
            letters = "".join(
                letter for letter in INTERACTIONS if letter in group and f"{resource}.{letter}" in granted
            )
            if letters:
                items.append(ScopeItem(f"patient/{resource}.{letters}", str(LABELS[(resource, group)])))
    return items


def normalise(scopes) -> list[str]:
    """The same permissions as few scope strings, one per resource, in a stable order (what is stored)."""
    granted = permissions(scopes)
    result = [OPENID] if OPENID in scopes else []
    for resource in RESOURCE_PARTS:
        letters = "".join(letter for letter in INTERACTIONS if f"{resource}.{letter}" in granted)
        if letters:
            result.append(f"patient/{resource}.{letters}")
    return result


def all_scopes() -> dict[str, str]:
    """Every scope the server knows, with its wording (the OAuth2 server's catalogue of scopes)."""
    catalogue = {OPENID: str(OPENID_LABEL)}
    for resource, offered in RESOURCE_INTERACTIONS.items():
        for group in (_READ, _WRITE):
            letters = "".join(letter for letter in INTERACTIONS if letter in group and letter in offered)
            if letters:
                catalogue[f"patient/{resource}.{letters}"] = str(LABELS[(resource, group)])
        catalogue[f"patient/{resource}.{offered}"] = " ; ".join(
            str(LABELS[(resource, group)]) for group in (_READ, _WRITE) if set(group) & set(offered)
        )
    return catalogue
