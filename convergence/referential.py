"""Loading a version of the Convergence referential from its files, with every error named by file, line and reason.

A version is a directory ``<root>/<version>/`` holding ``referentiel.yaml`` and one file per questionnaire (format in
docs/convergence.md). The files are parsed with PyYAML through a loader that keeps the line of every mapping, key and
list item, then validated as a whole: every problem found is collected and reported at once, in French, as
« securite.yaml, ligne 212 : critère SEC-14 : … ». Loading is atomic (all rows or none) and idempotent (the same
version with the same content is a no-op); a version already loaded with another content is refused, since a
published version never changes.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy

from convergence.models import (
    Criterion,
    CriterionType,
    EvidenceRule,
    Procedure,
    Questionnaire,
    QuestionnaireMode,
    Referential,
    Requirement,
    Section,
)
from mes.acces.journal import register_action
from mes.acces.services import journal_append

__all__ = [
    "REFERENTIAL_FILE",
    "RESERVED_CODES",
    "ReferentialError",
    "ReferentialIssue",
    "referential_load",
    "referential_make_current",
    "referential_parse",
    "referentials_load_all",
    "shipped_referentials_root",
    "version_sort_key",
]

REFERENTIAL_LOADED = "convergence.referentiel.charge"
REFERENTIAL_MADE_CURRENT = "convergence.referentiel.en_vigueur"
register_action(REFERENTIAL_LOADED, gettext_lazy("Chargement d’une version du référentiel Convergence"))
register_action(REFERENTIAL_MADE_CURRENT, gettext_lazy("Mise en vigueur d’une version du référentiel Convergence"))

REFERENTIAL_FILE = "referentiel.yaml"
CODE_RE = re.compile(r"^[a-z_]+$")
CRITERION_ID_RE = re.compile(r"^[A-Z]{2,5}-[0-9]{2,3}$")
CHOICE_VALUE_RE = re.compile(r"^[a-z0-9_]+$")
FILE_NAME_RE = re.compile(r"^[a-z0-9_]+\.yaml$")
# Literal path segments of the editors' Convergence routes (convergence/urls.py, convergence/urls_exports.py): a
# questionnaire or section code equal to one of them would give a section page the address of another page
# (« <produit>/<questionnaire>/modele/ » is the template's page, « <produit>/reponses/<critère>/ » the autosave
# endpoint). tests/convergence/test_referential_reserved_codes.py checks the list against the URL conf.
RESERVED_CODES = frozenset({"dupliquer", "export", "modele", "modifier", "nouveau", "preuves", "reponses"})
MIN_CHOICES, MAX_CHOICES = 2, 12
MAX_NUMBER = Decimal("9999999999")  # Criterion.min_value / max_value: 14 digits, 4 decimals

REFERENTIAL_KEYS = {"version", "title", "published_on", "questionnaires"}
QUESTIONNAIRE_KEYS = {"code", "title", "description", "mode", "procedures", "profiles", "sections"}
SECTION_KEYS = {"code", "title", "criteria"}
CRITERION_KEYS = {"id", "wording", "help", "type", "requirement", "expected", "evidence"}
CRITERION_OPTIONAL_KEYS = {
    "choices": {CriterionType.CHOICE},
    "unit": {CriterionType.NUMBER},
    "min": {CriterionType.NUMBER},
    "max": {CriterionType.NUMBER},
    "not_applicable_allowed": {CriterionType.YES_NO_NA},
}
EXPECTED_WORDS = {CriterionType.TEXT: "renseigne", CriterionType.EVIDENCE: "fournie"}


def shipped_referentials_root() -> Path:
    return Path(settings.BASE_DIR) / "convergence" / "referentiels"


# --- Errors ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferentialIssue:
    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.file}, ligne {self.line} : {self.reason}" if self.line else f"{self.file} : {self.reason}"


class ReferentialError(Exception):
    """The referential cannot be loaded; ``issues`` lists every problem found, each with its file and line."""

    def __init__(self, issues: list[ReferentialIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))


# --- A YAML loader that remembers lines -----------------------------------------------------------------------


class _Mapping(dict):
    line: int
    key_lines: dict


class _Sequence(list):
    line: int
    item_lines: list


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings and lists carry the (1-based) line of themselves, of each key and of each item,
    and which reports duplicate keys instead of silently keeping the last one."""

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, str]] = []


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    result = _Mapping()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            key = str(key)
        if key in result:
            loader.duplicates.append((line, key))
            continue
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _Sequence:
    result = _Sequence(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


class _FileReader:
    """Validation state of one file: its name (as shown in messages) and the issues found in it."""

    def __init__(self, name: str, issues: list[ReferentialIssue]) -> None:
        self.name = name
        self.issues = issues

    def error(self, line: int | None, reason: str, *, prefix: str = "") -> None:
        self.issues.append(ReferentialIssue(self.name, line, f"{prefix}{reason}"))

    def parse(self, path: Path):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            self.error(None, "le fichier n’est pas encodé en UTF-8")
            return None
        loader = _LineLoader(text)
        try:
            data = loader.get_single_data()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            self.error(mark.line + 1 if mark else None, f"YAML invalide : {exc.problem or exc.context}")
            return None
        except yaml.YAMLError as exc:
            self.error(None, f"YAML invalide : {exc}")
            return None
        finally:
            loader.dispose()
        for line, key in loader.duplicates:
            self.error(line, f"clé « {key} » répétée")
        if not isinstance(data, _Mapping):
            self.error(1, "le fichier doit décrire un dictionnaire de clés")
            return None
        return data

    def keys(
        self, mapping: _Mapping, required: set[str], optional: set[str] = frozenset(), *, prefix: str = ""
    ) -> None:
        for key in mapping:
            if key not in required and key not in optional:
                self.error(mapping.key_lines[key], f"clé inconnue « {key} »", prefix=prefix)
        for key in sorted(required - set(mapping)):
            self.error(mapping.line, f"clé « {key} » manquante", prefix=prefix)

    def text(self, mapping: _Mapping, key: str, *, prefix: str = "", allow_empty: bool = False) -> str | None:
        if key not in mapping:
            return None
        value = mapping[key]
        if not isinstance(value, str):
            self.error(mapping.key_lines[key], f"« {key} » doit être un texte", prefix=prefix)
            return None
        if not allow_empty and not value.strip():
            self.error(mapping.key_lines[key], f"« {key} » ne doit pas être vide", prefix=prefix)
            return None
        return value.strip()

    def code(self, mapping: _Mapping, key: str, *, prefix: str = "") -> str | None:
        value = self.text(mapping, key, prefix=prefix)
        if value is not None and not CODE_RE.match(value):
            self.error(mapping.key_lines[key], f"« {key} » doit être fait de minuscules et de « _ »", prefix=prefix)
            return None
        if value in RESERVED_CODES:
            reserved = ", ".join(sorted(RESERVED_CODES))
            self.error(
                mapping.key_lines[key],
                f"« {key} » ne peut pas valoir « {value} » : ce mot sert déjà dans les adresses du portail "
                f"({reserved}) ; choisissez un autre code",
                prefix=prefix,
            )
            return None
        return value

    def choice(self, mapping: _Mapping, key: str, allowed, *, prefix: str = "") -> str | None:
        if key not in mapping:
            return None
        value = mapping[key]
        if value not in list(allowed):
            listed = ", ".join(str(item) for item in allowed)
            self.error(mapping.key_lines[key], f"« {key} » doit être l’une des valeurs : {listed}", prefix=prefix)
            return None
        return value

    def sequence(self, mapping: _Mapping, key: str, *, prefix: str = "", allow_empty: bool = False) -> _Sequence | None:
        if key not in mapping:
            return None
        value = mapping[key]
        if not isinstance(value, _Sequence):
            self.error(mapping.key_lines[key], f"« {key} » doit être une liste", prefix=prefix)
            return None
        if not value and not allow_empty:
            self.error(mapping.key_lines[key], f"« {key} » ne doit pas être vide", prefix=prefix)
            return None
        return value


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- Parsing a version -----------------------------------------------------------------------------------------


def referential_parse(path: Path) -> dict:
    """The validated content of the version directory ``path``, as plain data; raises ``ReferentialError``."""
    path = Path(path)
    issues: list[ReferentialIssue] = []
    root = _FileReader(REFERENTIAL_FILE, issues)
    if not path.is_dir():
        raise ReferentialError([ReferentialIssue(str(path), None, "dossier introuvable")])
    if not (path / REFERENTIAL_FILE).is_file():
        raise ReferentialError([ReferentialIssue(REFERENTIAL_FILE, None, f"fichier absent du dossier {path}")])
    data = root.parse(path / REFERENTIAL_FILE)
    if data is None:
        raise ReferentialError(issues)
    root.keys(data, REFERENTIAL_KEYS)
    version = data.get("version")
    if "version" in data:
        if not isinstance(version, str) or not version.strip():
            root.error(data.key_lines["version"], '« version » doit être un texte entre guillemets, par ex. "2026.1"')
        elif version != path.name:
            root.error(
                data.key_lines["version"],
                f"la version « {version} » doit être le nom du dossier (« {path.name} »)",
            )
        elif len(version) > Referential._meta.get_field("version").max_length:
            root.error(data.key_lines["version"], "« version » est trop longue")
    title = root.text(data, "title")
    published_on = data.get("published_on")
    if "published_on" in data and not isinstance(published_on, date):
        root.error(data.key_lines["published_on"], "« published_on » doit être une date AAAA-MM-JJ")
    files = root.sequence(data, "questionnaires") or []
    result = {
        "version": version,
        "title": title,
        "published_on": published_on.isoformat() if isinstance(published_on, date) else None,
        "questionnaires": [],
    }
    seen_files: set[str] = set()
    questionnaire_codes: dict[str, str] = {}
    criterion_ids: dict[str, str] = {}
    for line, name in zip(files.item_lines, files, strict=True) if files else ():
        if not isinstance(name, str) or not FILE_NAME_RE.match(name):
            root.error(line, f"« {name} » n’est pas un nom de fichier de questionnaire (minuscules, « .yaml »)")
            continue
        if name in seen_files:
            root.error(line, f"fichier « {name} » cité deux fois")
            continue
        seen_files.add(name)
        if not (path / name).is_file():
            root.error(line, f"fichier « {name} » introuvable dans le dossier")
            continue
        questionnaire = _questionnaire_parse(path / name, _FileReader(name, issues), questionnaire_codes, criterion_ids)
        if questionnaire is not None:
            result["questionnaires"].append(questionnaire)
    if issues:
        raise ReferentialError(issues)
    return result


def _questionnaire_parse(
    path: Path, reader: _FileReader, codes: dict[str, str], criterion_ids: dict[str, str]
) -> dict | None:
    data = reader.parse(path)
    if data is None:
        return None
    reader.keys(data, QUESTIONNAIRE_KEYS)
    code = reader.code(data, "code")
    if code is not None:
        if code in codes:
            reader.error(data.key_lines["code"], f"questionnaire « {code} » déjà défini dans {codes[code]}")
        codes[code] = reader.name
    title = reader.text(data, "title")
    description = reader.text(data, "description", allow_empty=True)
    mode = reader.choice(data, "mode", QuestionnaireMode.values)
    procedures = reader.sequence(data, "procedures") or []
    for line, procedure in zip(procedures.item_lines, procedures, strict=True) if procedures else ():
        if procedure not in Procedure.values:
            reader.error(line, f"démarche « {procedure} » inconnue ({', '.join(Procedure.values)})")
    if procedures and len(set(map(str, procedures))) != len(procedures):
        reader.error(procedures.line, "« procedures » cite deux fois la même démarche")
    profiles = reader.sequence(data, "profiles", allow_empty=True) or []
    for line, profile in zip(profiles.item_lines, profiles, strict=True) if profiles else ():
        if not isinstance(profile, str) or not profile.strip():
            reader.error(line, "chaque profil doit être un texte non vide")
    sections = []
    section_codes: set[str] = set()
    for line, section in _items(reader, data, "sections"):
        if not isinstance(section, _Mapping):
            reader.error(line, "chaque section doit être un dictionnaire (code, title, criteria)")
            continue
        section_code = reader.code(section, "code", prefix="section : ")
        prefix = f"section {section_code} : " if section_code else "section : "
        reader.keys(section, SECTION_KEYS, prefix=prefix)
        if section_code is not None:
            if section_code in section_codes:
                reader.error(
                    section.key_lines["code"], "code de section déjà utilisé dans ce questionnaire", prefix=prefix
                )
            section_codes.add(section_code)
        criteria = []
        for criterion_line, criterion in _items(reader, section, "criteria", prefix=prefix):
            parsed = _criterion_parse(reader, criterion, criterion_line, criterion_ids)
            if parsed is not None:
                criteria.append(parsed)
        sections.append(
            {"code": section_code, "title": reader.text(section, "title", prefix=prefix), "criteria": criteria}
        )
    return {
        "code": code,
        "title": title,
        "description": description or "",
        "mode": mode,
        "procedures": [str(item) for item in procedures],
        "profiles": [str(item).strip() for item in profiles],
        "sections": sections,
    }


def _items(reader: _FileReader, mapping: _Mapping, key: str, *, prefix: str = ""):
    items = reader.sequence(mapping, key, prefix=prefix)
    if not items:
        return []
    return zip(items.item_lines, items, strict=True)


def _criterion_parse(reader: _FileReader, data, line: int, criterion_ids: dict[str, str]) -> dict | None:
    if not isinstance(data, _Mapping):
        reader.error(line, "chaque critère doit être un dictionnaire de clés")
        return None
    raw_id = data.get("id")
    criterion_id = raw_id if isinstance(raw_id, str) else None
    prefix = f"critère {criterion_id} : " if criterion_id else "critère : "
    if "id" in data:
        if criterion_id is None or not CRITERION_ID_RE.match(criterion_id):
            reader.error(
                data.key_lines["id"],
                f"identifiant « {raw_id} » invalide (forme attendue : URB-01)",
                prefix="critère : ",
            )
            criterion_id = None
        elif criterion_id in criterion_ids:
            reader.error(
                data.key_lines["id"], f"identifiant déjà utilisé ({criterion_ids[criterion_id]})", prefix=prefix
            )
        else:
            criterion_ids[criterion_id] = f"{reader.name}, ligne {data.key_lines['id']}"
    criterion_type = reader.choice(data, "type", CriterionType.values, prefix=prefix)
    optional = set(CRITERION_OPTIONAL_KEYS)
    reader.keys(data, CRITERION_KEYS, optional, prefix=prefix)
    if criterion_type is not None:
        for key, types in CRITERION_OPTIONAL_KEYS.items():
            if key in data and criterion_type not in types:
                reader.error(
                    data.key_lines[key], f"« {key} » n’a de sens que pour le type {', '.join(types)}", prefix=prefix
                )
    wording = reader.text(data, "wording", prefix=prefix)
    help_text = reader.text(data, "help", prefix=prefix, allow_empty=True)
    requirement = reader.choice(data, "requirement", Requirement.values, prefix=prefix)
    evidence = reader.choice(data, "evidence", EvidenceRule.values, prefix=prefix)
    if criterion_type == CriterionType.EVIDENCE and evidence not in (None, EvidenceRule.REQUIRED):
        reader.error(
            data.key_lines["evidence"], "un critère de type preuve demande « evidence: requise »", prefix=prefix
        )
    choices = _choices_parse(reader, data, criterion_type, prefix)
    bounds = _bounds_parse(reader, data, prefix) if criterion_type == CriterionType.NUMBER else (None, None)
    na_allowed = data.get("not_applicable_allowed", False)
    if not isinstance(na_allowed, bool):
        reader.error(
            data.key_lines["not_applicable_allowed"],
            "« not_applicable_allowed » doit valoir true ou false",
            prefix=prefix,
        )
        na_allowed = False
    expected = _expected_parse(reader, data, criterion_type, choices, bounds, prefix)
    unit = data.get("unit", "")
    if not isinstance(unit, str) or len(unit) > Criterion._meta.get_field("unit").max_length:
        reader.error(data.key_lines["unit"], "« unit » doit être un texte court", prefix=prefix)
        unit = ""
    return {
        "id": criterion_id,
        "wording": wording,
        "help": help_text or "",
        "type": criterion_type,
        "requirement": requirement,
        "expected": expected,
        "evidence": evidence,
        "choices": choices or [],
        "unit": unit,
        "min": bounds[0],
        "max": bounds[1],
        "not_applicable_allowed": na_allowed,
    }


def _choices_parse(reader: _FileReader, data: _Mapping, criterion_type: str | None, prefix: str) -> list[dict] | None:
    if criterion_type != CriterionType.CHOICE:
        return None
    if "choices" not in data:
        reader.error(data.line, "un critère de type choix demande « choices »", prefix=prefix)
        return None
    items = reader.sequence(data, "choices", prefix=prefix)
    if items is None:
        return None
    if not MIN_CHOICES <= len(items) <= MAX_CHOICES:
        reader.error(items.line, f"« choices » doit proposer de {MIN_CHOICES} à {MAX_CHOICES} choix", prefix=prefix)
    choices: list[dict] = []
    for line, item in zip(items.item_lines, items, strict=True):
        if not isinstance(item, _Mapping) or set(item) != {"value", "label"}:
            reader.error(line, "chaque choix doit avoir exactement « value » et « label »", prefix=prefix)
            continue
        value, label = item["value"], item["label"]
        if not isinstance(value, str) or not CHOICE_VALUE_RE.match(value):
            reader.error(line, f"valeur de choix « {value} » invalide (minuscules, chiffres, « _ »)", prefix=prefix)
            continue
        if any(choice["value"] == value for choice in choices):
            reader.error(line, f"valeur de choix « {value} » répétée", prefix=prefix)
            continue
        if not isinstance(label, str) or not label.strip():
            reader.error(line, f"le choix « {value} » doit avoir un libellé", prefix=prefix)
            continue
        choices.append({"value": value, "label": label.strip()})
    return choices


def _bounds_parse(reader: _FileReader, data: _Mapping, prefix: str) -> tuple[str | None, str | None]:
    bounds: list[str | None] = []
    for key in ("min", "max"):
        value = data.get(key)
        if value is None:
            if key in data:
                reader.error(data.key_lines[key], f"« {key} » doit être un nombre", prefix=prefix)
            bounds.append(None)
        elif not _is_number(value) or abs(Decimal(str(value))) > MAX_NUMBER:
            reader.error(data.key_lines[key], f"« {key} » doit être un nombre", prefix=prefix)
            bounds.append(None)
        else:
            bounds.append(str(value))
    low, high = bounds
    if low is not None and high is not None and Decimal(low) > Decimal(high):
        reader.error(data.key_lines["min"], "« min » doit être inférieur ou égal à « max »", prefix=prefix)
    return low, high


def _expected_parse(reader, data: _Mapping, criterion_type, choices, bounds, prefix: str):
    if "expected" not in data or criterion_type is None:
        return None
    expected = data["expected"]
    line = data.key_lines["expected"]
    if criterion_type == CriterionType.YES_NO_NA:
        if expected not in ("oui", "non"):
            reader.error(line, '« expected » doit valoir oui ou non (entre guillemets en YAML : "oui")', prefix=prefix)
            return None
        return expected
    if criterion_type in EXPECTED_WORDS:
        word = EXPECTED_WORDS[criterion_type]
        if expected != word:
            reader.error(line, f"« expected » doit valoir {word} pour le type {criterion_type}", prefix=prefix)
            return None
        return expected
    if criterion_type == CriterionType.CHOICE:
        values = [choice["value"] for choice in choices or []]
        if not isinstance(expected, _Sequence) or not expected:
            reader.error(line, "« expected » doit être la liste des valeurs acceptables", prefix=prefix)
            return None
        if any(item not in values for item in expected):
            reader.error(line, "« expected » doit être l’une des valeurs de « choices »", prefix=prefix)
            return None
        if len(set(expected)) != len(expected):
            reader.error(line, "« expected » cite deux fois la même valeur", prefix=prefix)
            return None
        return list(expected)
    # nombre: {min: x} and/or {max: y}, within the bounds of the answer
    if not isinstance(expected, _Mapping) or not expected or set(expected) - {"min", "max"}:
        reader.error(line, "« expected » doit être {min: X} et/ou {max: Y}", prefix=prefix)
        return None
    result = {}
    for key in ("min", "max"):
        if key in expected:
            value = expected[key]
            if not _is_number(value):
                reader.error(line, f"« expected.{key} » doit être un nombre", prefix=prefix)
                return None
            result[key] = value
    if "min" in result and "max" in result and result["min"] > result["max"]:
        reader.error(line, "« expected.min » doit être inférieur ou égal à « expected.max »", prefix=prefix)
        return None
    low, high = bounds
    for value in result.values():
        if (low is not None and Decimal(str(value)) < Decimal(low)) or (
            high is not None and Decimal(str(value)) > Decimal(high)
        ):
            reader.error(line, "« expected » sort des bornes « min » / « max » de la réponse", prefix=prefix)
            return None
    return result


def _content_sha256(content: dict) -> str:
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- Loading -------------------------------------------------------------------------------------------------------


def version_sort_key(version: str) -> tuple:
    """« 2026.10 » after « 2026.9 »: numeric parts compare as numbers."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"[.\-]", version))


@transaction.atomic
def referential_make_current(referential: Referential) -> Referential:
    """Make ``referential`` the version in force for new products (exactly one version is current)."""
    if referential.is_current:
        return referential
    # Lock every version row so two concurrent switches serialise instead of failing on the unique constraint.
    list(Referential.objects.select_for_update().values_list("pk", flat=True))
    Referential.objects.filter(is_current=True).update(is_current=False)
    Referential.objects.filter(pk=referential.pk).update(is_current=True)
    referential.is_current = True
    journal_append(
        actor=None,
        actor_label="Plateforme Convergence",
        action=REFERENTIAL_MADE_CURRENT,
        obj=referential,
        details={"version": referential.version},
    )
    return referential


@transaction.atomic
def referential_load(path: Path, *, make_current: bool = True) -> Referential:
    """Load the version directory ``path`` and return its ``Referential``.

    Raises ``ReferentialError`` (nothing written) when a file is malformed, or when the version was already loaded
    with another content. The same content loaded again changes nothing. The version becomes current when
    ``make_current`` is true, or when no version is current yet.
    """
    content = referential_parse(Path(path))
    digest = _content_sha256(content)
    existing = Referential.objects.select_for_update().filter(version=content["version"]).first()
    if existing is not None:
        if existing.content_sha256 != digest:
            raise ReferentialError(
                [
                    ReferentialIssue(
                        REFERENTIAL_FILE,
                        None,
                        f"la version « {existing.version} » est déjà chargée avec un autre contenu : une version "
                        "publiée ne change jamais, publiez une nouvelle version",
                    )
                ]
            )
    else:
        existing = _referential_create(content, digest)
    if make_current or not Referential.objects.filter(is_current=True).exists():
        referential_make_current(existing)
    return existing


def _referential_create(content: dict, digest: str) -> Referential:
    try:
        with transaction.atomic():
            referential = Referential.objects.create(
                version=content["version"],
                title=content["title"],
                published_on=date.fromisoformat(content["published_on"]),
                content_sha256=digest,
            )
    except IntegrityError as exc:  # loaded by a concurrent command in the meantime
        raise ReferentialError(
            [
                ReferentialIssue(
                    REFERENTIAL_FILE, None, f"la version « {content['version']} » est en cours de chargement"
                )
            ]
        ) from exc
    questionnaires = Questionnaire.objects.bulk_create(
        Questionnaire(
            referential=referential,
            code=item["code"],
            title=item["title"],
            description=item["description"],
            mode=item["mode"],
            procedures=item["procedures"],
            profiles=item["profiles"],
            position=position,
        )
        for position, item in enumerate(content["questionnaires"], start=1)
    )
    sections: list[tuple[Section, dict]] = []
    for questionnaire, item in zip(questionnaires, content["questionnaires"], strict=True):
        for position, section in enumerate(item["sections"], start=1):
            sections.append(
                (
                    Section(
                        questionnaire=questionnaire, code=section["code"], title=section["title"], position=position
                    ),
                    section,
                )
            )
    Section.objects.bulk_create([section for section, _data in sections])
    criteria = []
    for section, data in sections:
        for position, item in enumerate(data["criteria"], start=1):
            criteria.append(
                Criterion(
                    section=section,
                    questionnaire=section.questionnaire,
                    referential=referential,
                    criterion_id=item["id"],
                    wording=item["wording"],
                    help=item["help"],
                    type=item["type"],
                    requirement=item["requirement"],
                    expected=item["expected"],
                    evidence=item["evidence"],
                    choices=item["choices"],
                    unit=item["unit"],
                    min_value=Decimal(item["min"]) if item["min"] is not None else None,
                    max_value=Decimal(item["max"]) if item["max"] is not None else None,
                    not_applicable_allowed=item["not_applicable_allowed"],
                    position=position,
                )
            )
    Criterion.objects.bulk_create(criteria)
    journal_append(
        actor=None,
        actor_label="Plateforme Convergence",
        action=REFERENTIAL_LOADED,
        obj=referential,
        details={
            "version": referential.version,
            "questionnaires": len(questionnaires),
            "criteres": len(criteria),
            "sha256": digest,
        },
    )
    return referential


def referential_directories(root: Path) -> list[Path]:
    """The version directories under ``root`` (those holding a referentiel.yaml), lowest version first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [child for child in root.iterdir() if child.is_dir() and (child / REFERENTIAL_FILE).is_file()]
    return sorted(found, key=lambda child: version_sort_key(child.name))


@transaction.atomic
def referentials_load_all(root: Path | None = None) -> list[Referential]:
    """Load every version under ``root`` (default: the shipped ones); the highest version becomes current."""
    directories = referential_directories(root or shipped_referentials_root())
    loaded: list[Referential] = []
    issues: list[ReferentialIssue] = []
    for directory in directories:
        try:
            loaded.append(referential_load(directory, make_current=False))
        except ReferentialError as exc:
            issues.extend(
                ReferentialIssue(f"{directory.name}/{issue.file}", issue.line, issue.reason) for issue in exc.issues
            )
    if issues:
        raise ReferentialError(issues)
    if loaded:
        referential_make_current(loaded[-1])
    return loaded
