"""The shipped Convergence referential (version 2026.1) follows the referential file format.

Read with plain PyYAML on purpose: these tests check the data files themselves, independently of the loader.
"""

import datetime
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

VERSION = "2026.1"
REFERENTIAL_DIR = Path(__file__).resolve().parents[2] / "convergence" / "referentiels" / VERSION

QUESTIONNAIRE_FILES = [
    "urbanisation.yaml",
    "interoperabilite.yaml",
    "securite.yaml",
    "ethique.yaml",
    "rgpd.yaml",
    "echanges.yaml",
]
MODES = {
    "urbanisation": "en_ligne",
    "interoperabilite": "en_ligne",
    "securite": "en_ligne",
    "ethique": "en_ligne",
    "rgpd": "modele",
    "echanges": "modele",
}
ID_PREFIXES = {
    "urbanisation": "URB",
    "interoperabilite": "INT",
    "securite": "SEC",
    "ethique": "ETH",
    "rgpd": "RGPD",
    "echanges": "ECH",
}
PROCEDURES = {"sans_echange", "avec_echange"}

CODE_RE = re.compile(r"^[a-z_]+$")
ID_RE = re.compile(r"^[A-Z]{2,5}-[0-9]{2,3}$")
CHOICE_VALUE_RE = re.compile(r"^[a-z0-9_]+$")

ROOT_KEYS = {"version", "title", "published_on", "questionnaires"}
QUESTIONNAIRE_KEYS = {"code", "title", "description", "mode", "procedures", "profiles", "sections"}
SECTION_KEYS = {"code", "title", "criteria"}
CRITERION_KEYS = {"id", "wording", "help", "type", "requirement", "expected", "evidence"}
OPTIONAL_KEYS_BY_TYPE = {
    "oui_non_na": {"not_applicable_allowed"},
    "choix": {"choices"},
    "nombre": {"unit", "min", "max"},
    "texte": set(),
    "preuve": set(),
}


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps the last one)."""


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"clé en double : {key!r}", key_node.start_mark)
        seen[key] = True
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load(path):
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass


@pytest.fixture(scope="module")
def root():
    return _load(REFERENTIAL_DIR / "referentiel.yaml")


@pytest.fixture(scope="module")
def questionnaires():
    return {name: _load(REFERENTIAL_DIR / name) for name in QUESTIONNAIRE_FILES}


def _criteria(questionnaire):
    return [criterion for section in questionnaire["sections"] for criterion in section["criteria"]]


def _all_criteria(questionnaires):
    return [(q["code"], c) for q in questionnaires.values() for c in _criteria(q)]


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _french_texts(questionnaire):
    yield questionnaire["title"]
    yield questionnaire["description"]
    yield from questionnaire["profiles"]
    for section in questionnaire["sections"]:
        yield section["title"]
        for criterion in section["criteria"]:
            yield criterion["wording"]
            yield criterion["help"]
            for choice in criterion.get("choices", []):
                yield choice["label"]


def test_root_file_follows_the_format(root):
    assert set(root) == ROOT_KEYS
    assert root["version"] == REFERENTIAL_DIR.name == VERSION
    assert isinstance(root["title"], str) and root["title"].strip()
    assert isinstance(root["published_on"], datetime.date)
    assert root["questionnaires"] == QUESTIONNAIRE_FILES


def test_every_listed_file_exists_and_parses(root):
    for name in root["questionnaires"]:
        path = REFERENTIAL_DIR / name
        assert path.is_file(), name
        assert isinstance(_load(path), dict), name


def test_no_file_outside_the_list(root):
    shipped = {path.name for path in REFERENTIAL_DIR.iterdir() if path.suffix in {".yaml", ".yml", ".json"}}
    assert shipped == {"referentiel.yaml", *root["questionnaires"]}


def test_questionnaires_follow_the_format(questionnaires):
    codes = []
    for name, questionnaire in questionnaires.items():
        assert set(questionnaire) == QUESTIONNAIRE_KEYS, name
        code = questionnaire["code"]
        codes.append(code)
        assert CODE_RE.match(code), name
        assert name == f"{code}.yaml"
        assert questionnaire["mode"] == MODES[code], name
        assert questionnaire["title"].strip() and questionnaire["description"].strip(), name
        procedures = questionnaire["procedures"]
        assert procedures and set(procedures) <= PROCEDURES and len(set(procedures)) == len(procedures), name
        profiles = questionnaire["profiles"]
        assert profiles and all(isinstance(p, str) and p.strip() for p in profiles), name
        assert questionnaire["sections"], name
    assert sorted(codes) == sorted(MODES)


def test_procedures_per_questionnaire(questionnaires):
    by_code = {q["code"]: q for q in questionnaires.values()}
    assert by_code["echanges"]["procedures"] == ["avec_echange"]
    for code in ("urbanisation", "interoperabilite", "securite", "ethique", "rgpd"):
        assert set(by_code[code]["procedures"]) == PROCEDURES, code


def test_sections_follow_the_format(questionnaires):
    for questionnaire in questionnaires.values():
        section_codes = []
        for section in questionnaire["sections"]:
            assert set(section) == SECTION_KEYS, (questionnaire["code"], section.get("code"))
            assert CODE_RE.match(section["code"]), section["code"]
            assert section["title"].strip()
            assert section["criteria"], section["code"]
            section_codes.append(section["code"])
        duplicates = [code for code, n in Counter(section_codes).items() if n > 1]
        assert not duplicates, (questionnaire["code"], duplicates)


def test_criteria_keys_per_type(questionnaires):
    for code, criterion in _all_criteria(questionnaires):
        kind = criterion.get("type")
        assert kind in OPTIONAL_KEYS_BY_TYPE, (code, criterion.get("id"), kind)
        keys = set(criterion)
        assert keys >= CRITERION_KEYS, (criterion["id"], CRITERION_KEYS - keys)
        assert keys - CRITERION_KEYS <= OPTIONAL_KEYS_BY_TYPE[kind], (criterion["id"], keys - CRITERION_KEYS)
        assert criterion["requirement"] in {"obligatoire", "optionnel"}, criterion["id"]
        assert criterion["evidence"] in {"aucune", "facultative", "requise"}, criterion["id"]
        assert isinstance(criterion["wording"], str) and criterion["wording"].strip(), criterion["id"]
        assert isinstance(criterion["help"], str), criterion["id"]


def test_ids_match_pattern_prefix_order_and_are_unique(questionnaires):
    ids = [criterion["id"] for _, criterion in _all_criteria(questionnaires)]
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicates
    for questionnaire in questionnaires.values():
        prefix = ID_PREFIXES[questionnaire["code"]]
        numbers = []
        for criterion in _criteria(questionnaire):
            assert ID_RE.match(criterion["id"]), criterion["id"]
            id_prefix, number = criterion["id"].split("-")
            assert id_prefix == prefix, criterion["id"]
            numbers.append(int(number))
        assert numbers == list(range(1, len(numbers) + 1)), questionnaire["code"]


def test_expected_is_consistent_with_type(questionnaires):
    for _, criterion in _all_criteria(questionnaires):
        cid, kind, expected = criterion["id"], criterion["type"], criterion["expected"]
        if kind == "oui_non_na":
            assert expected in {"oui", "non"}, cid
            if "not_applicable_allowed" in criterion:
                assert criterion["not_applicable_allowed"] is True, cid
        elif kind == "choix":
            choices = criterion["choices"]
            assert 2 <= len(choices) <= 12, cid
            values = []
            for choice in choices:
                assert set(choice) == {"value", "label"}, cid
                assert isinstance(choice["value"], str) and CHOICE_VALUE_RE.match(choice["value"]), cid
                assert isinstance(choice["label"], str) and choice["label"].strip(), cid
                values.append(choice["value"])
            assert len(set(values)) == len(values), cid
            assert isinstance(expected, list) and expected, cid
            assert len(set(expected)) == len(expected), cid
            assert set(expected) <= set(values), (cid, set(expected) - set(values))
            assert set(expected) != set(values), f"{cid} : toutes les réponses seraient conformes"
        elif kind == "nombre":
            assert isinstance(expected, dict) and expected and set(expected) <= {"min", "max"}, cid
            assert all(_is_number(v) for v in expected.values()), cid
            if "unit" in criterion:
                assert isinstance(criterion["unit"], str) and criterion["unit"].strip(), cid
            for bound in ("min", "max"):
                if bound in criterion:
                    assert _is_number(criterion[bound]), cid
            if "min" in criterion and "max" in criterion:
                assert criterion["min"] <= criterion["max"], cid
            low = expected.get("min", criterion.get("min"))
            high = expected.get("max", criterion.get("max"))
            if low is not None and high is not None:
                assert low <= high, cid
            for value in expected.values():
                assert criterion.get("min", value) <= value <= criterion.get("max", value), cid
        elif kind == "texte":
            assert expected == "renseigne", cid
        elif kind == "preuve":
            assert expected == "fournie", cid
            assert criterion["evidence"] == "requise", cid


def _counts(questionnaire):
    criteria = _criteria(questionnaire)
    mandatory = [c for c in criteria if c["requirement"] == "obligatoire"]
    return len(criteria), len(mandatory)


def test_counts_follow_the_doctrine(questionnaires):
    by_code = {q["code"]: q for q in questionnaires.values()}
    assert _counts(by_code["urbanisation"]) == (17, 14)
    total, mandatory = _counts(by_code["securite"])
    assert total >= 50 and mandatory >= 40
    total, mandatory = _counts(by_code["interoperabilite"])
    assert total >= 50 and mandatory == 4
    assert _counts(by_code["echanges"])[0] == 15
    total, _ = _counts(by_code["ethique"])
    assert 25 <= total <= 35
    total, _ = _counts(by_code["rgpd"])
    assert 20 <= total <= 30


def test_section_counts(questionnaires):
    by_code = {q["code"]: q for q in questionnaires.values()}
    assert 3 <= len(by_code["urbanisation"]["sections"]) <= 5
    assert 5 <= len(by_code["interoperabilite"]["sections"]) <= 7
    assert 6 <= len(by_code["securite"]["sections"]) <= 8


def test_interoperability_offers_several_choice_criteria(questionnaires):
    by_code = {q["code"]: q for q in questionnaires.values()}
    assert sum(c["type"] == "choix" for c in _criteria(by_code["interoperabilite"])) >= 3


def test_security_and_exchange_require_evidence(questionnaires):
    by_code = {q["code"]: q for q in questionnaires.values()}
    for code in ("securite", "echanges", "ethique", "rgpd"):
        assert any(c["evidence"] == "requise" for c in _criteria(by_code[code])), code


def test_ethics_has_rgaa_rate_and_eco_score(questionnaires):
    criteria = _criteria(next(q for q in questionnaires.values() if q["code"] == "ethique"))
    rgaa = [c for c in criteria if c["type"] == "nombre" and "RGAA" in c["wording"]]
    assert len(rgaa) == 1
    assert rgaa[0]["requirement"] == "obligatoire"
    assert rgaa[0]["unit"] == "%" and rgaa[0]["expected"] == {"min": 50}
    eco = [c for c in criteria if "éco-score" in c["wording"]]
    assert len(eco) == 1
    assert eco[0]["type"] == "choix"
    assert [choice["value"] for choice in eco[0]["choices"]] == ["a", "b", "c", "d", "e"]


def test_some_criteria_expect_no_and_some_allow_not_applicable(questionnaires):
    criteria = [c for _, c in _all_criteria(questionnaires)]
    assert any(c["type"] == "oui_non_na" and c["expected"] == "non" for c in criteria)
    assert any(c.get("not_applicable_allowed") for c in criteria)


@pytest.mark.parametrize("name", QUESTIONNAIRE_FILES)
def test_french_text_uses_typographic_apostrophes(questionnaires, name):
    for text in _french_texts(questionnaires[name]):
        assert "'" not in text, text
        assert text == text.strip(), text
