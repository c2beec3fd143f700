"""The versioned table of the national programmes: its content, and the clear errors of a broken file."""

from __future__ import annotations

import copy
from datetime import date

import pytest
import yaml

from agenda import prevention
from agenda.models import PreventionDate
from agenda.prevention import (
    DEFAULT_TABLE_PATH,
    AgeWindow,
    PreventionTableError,
    current_table,
    programme_get,
    table_check,
    table_load,
    table_parse,
)

EXPECTED_CODES = {
    "depistage-cancer-sein",
    "depistage-cancer-colorectal",
    "depistage-cancer-col-uterus",
    "mt-dents",
    "rappel-dtp",
    "vaccination-grippe",
    "mon-bilan-prevention",
}


def raw() -> dict:
    return yaml.safe_load(DEFAULT_TABLE_PATH.read_text(encoding="utf-8"))


def programme(data: dict, code: str) -> dict:
    return next(p for p in data["programmes"] if p["code"] == code)


def test_the_table_in_force_has_a_version_and_every_national_programme():
    table = current_table()
    assert table.version == "2026.1"
    assert table.published == date(2026, 1, 15)
    assert {p.code for p in table.programmes} == EXPECTED_CODES
    assert "programmes nationaux" in table.source
    for item in table.programmes:
        assert item.label and item.explanation and item.link_label and item.audience
        assert item.link.startswith("https://")
        assert item.sex in ("F", "M", "all")


def test_the_table_is_loaded_once():
    assert current_table() is current_table()


def test_programme_get_and_the_model_property():
    breast = programme_get("depistage-cancer-sein")
    assert breast.label == "Dépistage organisé du cancer du sein"
    assert breast.sex == "F" and breast.applies_to_sex("F") and not breast.applies_to_sex("I")
    assert programme_get("inconnu") is None
    row = PreventionDate(programme="depistage-cancer-colorectal", occurrence="50", due_from=date(2026, 1, 1))
    assert row.programme_info.code == "depistage-cancer-colorectal"
    assert row.programme_info.applies_to_sex("I")


def test_the_schedules_say_what_the_programmes_say():
    windows = {p.code: p.windows for p in current_table().programmes}
    assert [(w.opens, w.closes) for w in windows["depistage-cancer-sein"]] == [
        (a, min(a + 2, 75)) for a in range(50, 75, 2)
    ]
    assert windows["depistage-cancer-colorectal"] == tuple(
        AgeWindow(w.opens, w.closes, "Test de dépistage à domicile") for w in windows["depistage-cancer-sein"]
    )
    assert [(w.opens, w.closes) for w in windows["depistage-cancer-col-uterus"]] == [
        (25, 26),
        (26, 29),
        (29, 32),
        (32, 37),
        (37, 42),
        (42, 47),
        (47, 52),
        (52, 57),
        (57, 62),
        (62, 66),
    ]
    assert [w.opens for w in windows["mt-dents"]] == list(range(3, 25))
    assert [w.opens for w in windows["rappel-dtp"]][:6] == [25, 45, 65, 75, 85, 95]
    assert [(w.opens, w.closes) for w in windows["mon-bilan-prevention"]] == [(18, 26), (45, 51), (60, 66), (70, 76)]
    flu = programme_get("vaccination-grippe")
    assert (flu.season.from_age, flu.season.opens, flu.season.closes) == (65, (10, 15), (1, 31))
    assert flu.step_label("2026") == "Campagne de vaccination 2026-2027"
    assert programme_get("depistage-cancer-col-uterus").step_label("32") == "Test HPV"
    assert programme_get("depistage-cancer-col-uterus").step_label("26") == "Examen cytologique (frottis)"


def test_explanations_say_what_applies_for_cervical_screening():
    text = programme_get("depistage-cancer-col-uterus").explanation
    assert "examen cytologique" in text and "test HPV" in text and "tous les 5 ans" in text
    assert "Les dates affichées suivent ce calendrier depuis vos 25 ans" in text


def _broken(change) -> dict:
    data = copy.deepcopy(raw())
    change(data)
    return data


BROKEN = [
    ("unknown top key", lambda d: d.update(auteur="x"), "clé inconnue « auteur »"),
    ("missing version", lambda d: d.pop("version"), "clé obligatoire absente : « version »"),
    ("bad version", lambda d: d.update(version="v2"), "version"),
    ("unquoted version", lambda d: d.update(version=2026.1), "entre guillemets"),
    ("no programme", lambda d: d.update(programmes=[]), "au moins un programme"),
    (
        "unknown programme key",
        lambda d: programme(d, "mt-dents").update(frequence=3),
        "programme « mt-dents » : clé inconnue « frequence »",
    ),
    (
        "missing link",
        lambda d: programme(d, "mt-dents").pop("link"),
        "programme « mt-dents » : clé obligatoire absente : « link »",
    ),
    ("empty link", lambda d: programme(d, "mt-dents").update(link=""), "lien vers la page officielle est obligatoire"),
    (
        "unofficial link",
        lambda d: programme(d, "mt-dents").update(link="https://exemple.com/mt-dents"),
        "site officiel",
    ),
    ("plain http link", lambda d: programme(d, "mt-dents").update(link="http://www.ameli.fr/"), "https"),
    (
        "look-alike host",
        lambda d: programme(d, "mt-dents").update(link="https://faux-ameli.fr/"),
        "site officiel",
    ),
    ("bad sex", lambda d: programme(d, "mt-dents").update(sex="X"), "« F », « M » ou « all »"),
    ("bad code", lambda d: programme(d, "mt-dents").update(code="MT Dents"), "minuscules, chiffres et tirets"),
    (
        "duplicate code",
        lambda d: programme(d, "mt-dents").update(code="rappel-dtp"),
        "le code « rappel-dtp » est en double",
    ),
    (
        "one-sentence explanation",
        lambda d: programme(d, "mt-dents").update(explanation="Un rendez-vous chaque année."),
        "2 à 4 phrases",
    ),
    ("empty label", lambda d: programme(d, "mt-dents").update(label="  "), "texte non vide"),
    (
        "negative age",
        lambda d: programme(d, "mt-dents")["schedule"]["windows"][0].update({"from": -3}),
        "windows[0].from : l’âge -3 est hors de l’intervalle",
    ),
    (
        "age as text",
        lambda d: programme(d, "mt-dents")["schedule"]["windows"][0].update({"from": "3 ans"}),
        "un âge en années entières est attendu",
    ),
    (
        "age as boolean",
        lambda d: programme(d, "mt-dents")["schedule"].update(last_age=True),
        "un âge en années entières est attendu",
    ),
    (
        "too old",
        lambda d: programme(d, "rappel-dtp")["schedule"]["windows"][3].update({"to": 150}),
        "hors de l’intervalle 0 à 120",
    ),
    (
        "to before from",
        lambda d: programme(d, "mt-dents")["schedule"]["windows"][0].update({"to": 2}),
        "« to » (2) précède « from » (3)",
    ),
    (
        "zero rhythm",
        lambda d: programme(d, "mt-dents")["schedule"]["windows"][0].update({"every": 0}),
        "every : l’âge 0 est hors de l’intervalle 1 à 120",
    ),
    (
        "window after the programme",
        lambda d: programme(d, "depistage-cancer-sein")["schedule"].update(last_age=60),
        "s’ouvre après le dernier âge du programme",
    ),
    (
        "overlapping windows",
        lambda d: programme(d, "rappel-dtp")["schedule"]["windows"].insert(1, {"at": 30, "years": 5}),
        "se chevauchent",
    ),
    (
        "unknown window key",
        lambda d: programme(d, "mon-bilan-prevention")["schedule"]["windows"][0].update(jusqua=25),
        "clé inconnue « jusqua »",
    ),
    (
        "unknown schedule kind",
        lambda d: programme(d, "mt-dents")["schedule"].update(kind="annuel"),
        "« ages » ou « season »",
    ),
    (
        "impossible campaign day",
        lambda d: programme(d, "vaccination-grippe")["schedule"].update(opens="02-30"),
        "n’existe pas tous les ans",
    ),
    (
        "campaign day without month",
        lambda d: programme(d, "vaccination-grippe")["schedule"].update(closes="31"),
        "MM-JJ",
    ),
    ("published not a date", lambda d: d.update(published="bientôt"), "AAAA-MM-JJ"),
]


@pytest.mark.parametrize(("change", "message"), [(c[1], c[2]) for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_a_broken_table_is_refused_with_a_clear_message(change, message):
    with pytest.raises(PreventionTableError) as error:
        table_parse(_broken(change), origin="prevention.yaml")
    assert message in str(error.value)
    assert str(error.value).startswith("prevention.yaml, ")


def test_a_broken_file_is_refused_too(tmp_path):
    path = tmp_path / "prevention.yaml"
    path.write_text("version: [unclosed\n", encoding="utf-8")
    with pytest.raises(PreventionTableError, match="YAML invalide"):
        table_load(path)
    with pytest.raises(PreventionTableError, match="fichier illisible"):
        table_load(tmp_path / "absent.yaml")


def test_the_system_check_reports_a_broken_table(monkeypatch):
    assert table_check() == []

    def broken():
        raise PreventionTableError("prevention.yaml, version : une version de la forme « 2026.1 » est attendue.")

    monkeypatch.setattr(prevention, "current_table", broken)
    errors = table_check()
    assert [error.id for error in errors] == ["agenda.E001"]
    assert "version" in errors[0].msg


def test_a_second_table_version_loads_and_differs(tmp_path):
    data = raw()
    data["version"] = "2026.2"
    data["programmes"] = [p for p in data["programmes"] if p["code"] != "mt-dents"]
    path = tmp_path / "prevention-2026.2.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    table = table_load(path)
    assert table.version == "2026.2" and table.get("mt-dents") is None and table.get("rappel-dtp") is not None


def test_the_sql_lookup_gives_one_window_per_age_and_programme():
    rows = current_table().age_windows_rows()
    by_key = {(row[1], row[0]): row for row in rows}
    assert len(by_key) == len(rows)  # never two windows for one age of one programme
    # (age, programme, sex, occurrence, opening age, closing age, upcoming)
    assert by_key[("depistage-cancer-sein", 49)] == (49, "depistage-cancer-sein", "F", "50", 50, 52, True)
    assert by_key[("depistage-cancer-sein", 51)] == (51, "depistage-cancer-sein", "F", "50", 50, 52, False)
    assert by_key[("depistage-cancer-sein", 74)] == (74, "depistage-cancer-sein", "F", "74", 74, 75, False)
    assert ("depistage-cancer-sein", 48) not in by_key and ("depistage-cancer-sein", 75) not in by_key
    assert by_key[("depistage-cancer-col-uterus", 31)][3:] == ("29", 29, 32, False)
    assert by_key[("mon-bilan-prevention", 44)][3:] == ("45", 45, 51, True)
    assert ("mon-bilan-prevention", 30) not in by_key
    assert by_key[("rappel-dtp", 24)][3:] == ("25", 25, 45, True)
    assert by_key[("rappel-dtp", 101)][3:] == ("95", 95, 105, False)
    assert not [row for row in rows if row[1] == "vaccination-grippe"]  # a season, not birthday windows
