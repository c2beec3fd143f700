"""Loading the referential: malformed files are refused with the file, the line and the reason, all errors at once;
loading is atomic and idempotent; a new version becomes current while answers to the old one stay readable."""

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from convergence.models import Answer, Criterion, Questionnaire, Referential, Section
from convergence.referential import (
    ReferentialError,
    referential_load,
    referential_parse,
    referentials_load_all,
    version_sort_key,
)
from convergence.services import answer_save
from mes.acces.models import JournalEntry
from tests.convergence.conftest import MALFORMED, VALID, VALID_NEXT, criterion


def _copy(tmp_path: Path, source: Path = VALID) -> Path:
    target = tmp_path / source.name
    shutil.copytree(source, target)
    return target


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _line_of(path: Path, fragment: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), start=1) if fragment in line)


def _issues(directory: Path) -> list[str]:
    with pytest.raises(ReferentialError) as caught:
        referential_parse(directory)
    return [str(issue) for issue in caught.value.issues]


def test_the_valid_referential_parses():
    content = referential_parse(VALID)
    assert content["version"] == "2026.1"
    assert [q["code"] for q in content["questionnaires"]] == ["urbanisation", "ethique", "echanges"]
    urb05 = content["questionnaires"][0]["sections"][1]["criteria"][1]
    assert urb05["id"] == "URB-05" and urb05["expected"] == {"min": 50} and urb05["unit"] == "%"


def test_the_malformed_fixture_reports_every_error_with_file_line_and_reason():
    issues = _issues(MALFORMED)
    assert issues == [
        "urbanisation.yaml, ligne 16 : critère URB-01 : « expected » doit être l’une des valeurs de « choices »",
        "urbanisation.yaml, ligne 21 : critère : identifiant « URB-1 » invalide (forme attendue : URB-01)",
        "urbanisation.yaml, ligne 35 : critère URB-02 : clé inconnue « couleur »",
        "urbanisation.yaml, ligne 34 : critère URB-02 : un critère de type preuve demande « evidence: requise »",
        "urbanisation.yaml, ligne 36 : critère URB-01 : identifiant déjà utilisé (urbanisation.yaml, ligne 11)",
        "referentiel.yaml, ligne 6 : fichier « absent.yaml » introuvable dans le dossier",
    ]


@pytest.mark.parametrize(
    ("file", "old", "new", "line_fragment", "reason"),
    [
        ("referentiel.yaml", 'version: "2026.1"', 'version: "2025.9"', "version:", "doit être le nom du dossier"),
        ("referentiel.yaml", 'version: "2026.1"', "version: 2026.1", "version:", "texte entre guillemets"),
        ("referentiel.yaml", "published_on: 2026-01-15", "published_on: demain", "published_on", "date AAAA-MM-JJ"),
        ("referentiel.yaml", "title:", "titre:", "titre:", "clé inconnue « titre »"),
        ("urbanisation.yaml", "mode: en_ligne", "mode: papier", "mode:", "« mode » doit être l’une des valeurs"),
        ("urbanisation.yaml", "[sans_echange, avec_echange]", "[sans_echange, partiel]", "procedures:", "« partiel »"),
        ("urbanisation.yaml", "code: urbanisation", "code: Urbanisation", "code: Urbanisation", "minuscules"),
        ("urbanisation.yaml", "code: hebergement", "code: identification", 33, "déjà utilisé"),
        ("urbanisation.yaml", "type: texte", "type: date", "type: date", "critère URB-06 : « type »"),
        ("urbanisation.yaml", "requirement: optionnel", "requirement: conseille", "conseille", "« requirement »"),
        ("urbanisation.yaml", "expected: {min: 50}", "expected: {min: 150}", "min: 150", "sort des bornes"),
        ("urbanisation.yaml", "expected: {min: 50}", "expected: beaucoup", "beaucoup", "{min: X} et/ou {max: Y}"),
        ("urbanisation.yaml", "expected: renseigne", "expected: oui", "expected: oui", "doit valoir renseigne"),
        ("urbanisation.yaml", 'expected: "non"', "expected: peut-être", "peut-être", "doit valoir oui ou non"),
        (
            "urbanisation.yaml",
            "        not_applicable_allowed: true",
            "        not_applicable_allowed: souvent",
            "souvent",
            "true ou false",
        ),
        (
            "urbanisation.yaml",
            '        unit: "%"',
            '        unit: "%"\n        choices: []',
            "choices: []",
            "« choices » n’a de sens que pour le type choix",
        ),
        (
            "urbanisation.yaml",
            '          - {value: autre, label: "Autre"}',
            '          - {value: Autre!, label: "Autre"}',
            "Autre!",
            "valeur de choix « Autre! » invalide",
        ),
        (
            "urbanisation.yaml",
            '          - {value: autre, label: "Autre"}',
            '          - {value: interne, label: "Bis"}',
            "Bis",
            "répétée",
        ),
        (
            "urbanisation.yaml",
            'wording: "La solution propose-t-elle FranceConnect ?"',
            'wording: ""',
            'wording: ""',
            "« wording » ne doit pas être vide",
        ),
        ("urbanisation.yaml", '        help: "Un compte par personne."\n', "", "id: URB-01", "clé « help » manquante"),
        (
            "urbanisation.yaml",
            "description:",
            'description: "x"\ndescription:',
            4,
            "« description » répétée",
        ),
        ("urbanisation.yaml", "sections:", "sections: [", 8, "YAML invalide"),  # where the parser finds the fault
        (
            "ethique.yaml",
            "id: ETH-01",
            "id: URB-01",
            "id: URB-01",
            "identifiant déjà utilisé (urbanisation.yaml, ligne",
        ),
        ("ethique.yaml", "code: ethique", "code: urbanisation", "code: urbanisation", "déjà défini dans urbanisation"),
        ("echanges.yaml", "procedures: [avec_echange]", "procedures: []", "procedures:", "ne doit pas être vide"),
    ],
)
def test_each_malformed_case_names_file_line_and_reason(tmp_path, file, old, new, line_fragment, reason):
    directory = _copy(tmp_path)
    _edit(directory / file, old, new)
    line = line_fragment if isinstance(line_fragment, int) else _line_of(directory / file, line_fragment)
    issues = _issues(directory)
    assert any(issue.startswith(f"{file}, ligne ") and reason in issue for issue in issues), issues
    matching = [issue for issue in issues if reason in issue]
    # The line named is the line of the faulty key (for a missing key, the first line of the mapping lacking it).
    assert any(f"ligne {line} " in issue for issue in matching), (line, matching)


def test_a_listed_file_that_is_missing_and_a_choice_count_out_of_range(tmp_path):
    directory = _copy(tmp_path)
    _edit(directory / "referentiel.yaml", "echanges.yaml]", "echanges.yaml, absent.yaml]")
    _edit(directory / "urbanisation.yaml", '          - {value: interne, label: "Hébergement interne"}\n', "")
    _edit(directory / "urbanisation.yaml", '          - {value: autre, label: "Autre"}\n', "")
    issues = _issues(directory)
    assert "referentiel.yaml, ligne 4 : fichier « absent.yaml » introuvable dans le dossier" in issues
    assert any("critère URB-04 : « choices » doit proposer de 2 à 12 choix" in issue for issue in issues)


@pytest.mark.django_db
def test_a_malformed_referential_writes_nothing(tmp_path):
    with pytest.raises(ReferentialError):
        referential_load(MALFORMED)
    assert not Referential.objects.exists()
    assert not Criterion.objects.exists()


@pytest.mark.django_db
def test_loading_is_atomic_when_the_database_refuses_a_row(tmp_path, monkeypatch):
    from convergence import referential as module

    def failing_journal(**kwargs):
        raise RuntimeError("panne")

    monkeypatch.setattr(module, "journal_append", failing_journal)
    with pytest.raises(RuntimeError):
        referential_load(VALID)
    assert (Referential.objects.count(), Questionnaire.objects.count(), Section.objects.count()) == (0, 0, 0)
    assert not Criterion.objects.exists()


@pytest.mark.django_db
def test_loading_creates_rows_journal_and_current_version(django_assert_max_num_queries):
    with django_assert_max_num_queries(20):  # bulk inserts: the count does not grow with the criteria
        referential = referential_load(VALID)
    assert referential.is_current
    assert referential.questionnaires.count() == 3
    assert Section.objects.filter(questionnaire__referential=referential).count() == 4
    urb04 = criterion("URB-04")
    assert urb04.questionnaire.code == "urbanisation" and urb04.section.code == "hebergement"
    assert urb04.choices[0] == {"value": "hds_certifie", "label": "Hébergeur certifié HDS"}
    assert urb04.expected == ["hds_certifie"]
    urb05 = criterion("URB-05")
    assert (urb05.min_value, urb05.max_value, urb05.unit) == (0, 100, "%")
    assert Questionnaire.objects.get(code="echanges").procedures == ["avec_echange"]
    assert JournalEntry.objects.filter(action="convergence.referentiel.charge").count() == 1


@pytest.mark.django_db
def test_loading_the_same_version_again_is_a_no_op():
    first = referential_load(VALID)
    again = referential_load(VALID)
    assert again.pk == first.pk
    assert Criterion.objects.count() == 10
    assert JournalEntry.objects.filter(action="convergence.referentiel.charge").count() == 1


@pytest.mark.django_db
def test_a_loaded_version_with_changed_content_is_refused(tmp_path):
    referential_load(VALID)
    directory = _copy(tmp_path)
    _edit(directory / "urbanisation.yaml", "Un compte par personne.", "Un compte par personne, vérifié.")
    with pytest.raises(ReferentialError, match="déjà chargée avec un autre contenu"):
        referential_load(directory)
    assert criterion("URB-01").help == "Un compte par personne."


@pytest.mark.django_db
def test_a_second_version_becomes_current_and_answers_to_the_first_stay_readable(editor, organisation):
    from tests.convergence.conftest import declare

    first = referential_load(VALID)
    product = declare(editor, organisation)
    answer = answer_save(
        actor=editor, product=product, criterion=criterion("URB-01"), value="oui", comment="", expected_revision=0
    )
    second = referential_load(VALID_NEXT)
    first.refresh_from_db()
    assert second.is_current and not first.is_current
    assert Referential.objects.filter(is_current=True).count() == 1
    # The product keeps its version; its answer still points at the criterion of 2026.1, unchanged.
    product.refresh_from_db()
    assert product.referential == first
    stored = Answer.objects.select_related("criterion__referential").get(pk=answer.pk)
    assert stored.value == "oui" and stored.criterion.referential.version == "2026.1"
    assert criterion("URB-07", "2026.2").wording.startswith("La solution est-elle supervisée")
    # A product declared now is assessed against 2026.2.
    assert declare(editor, organisation, name="Autre").referential == second


@pytest.mark.django_db
def test_loading_an_older_version_without_make_current_keeps_the_current_one():
    second = referential_load(VALID_NEXT)
    first = referential_load(VALID, make_current=False)
    second.refresh_from_db()
    assert second.is_current and not first.is_current


@pytest.mark.django_db
def test_load_all_makes_the_highest_version_current():
    loaded = referentials_load_all(VALID.parent)
    assert [referential.version for referential in loaded] == ["2026.1", "2026.2"]
    assert Referential.objects.get(is_current=True).version == "2026.2"


def test_versions_sort_numerically():
    assert sorted(["2026.10", "2026.9", "2025.1"], key=version_sort_key) == ["2025.1", "2026.9", "2026.10"]


@pytest.mark.django_db
def test_the_command_loads_and_reports_in_french():
    out = StringIO()
    call_command("convergence_load", str(VALID.parent), stdout=out)
    assert "Référentiel 2026.1 chargé : 3 questionnaires, 10 critères." in out.getvalue()
    assert "Référentiel 2026.2 chargé : 3 questionnaires, 11 critères — en vigueur." in out.getvalue()


@pytest.mark.django_db
def test_the_command_with_one_version_and_current():
    referential_load(VALID_NEXT)
    out = StringIO()
    call_command("convergence_load", str(VALID), "--current", stdout=out)
    assert "2026.1 chargé" in out.getvalue() and "en vigueur" in out.getvalue()
    assert Referential.objects.get(is_current=True).version == "2026.1"


@pytest.mark.django_db
def test_the_command_fails_with_every_error():
    with pytest.raises(CommandError) as caught:
        call_command("convergence_load", str(MALFORMED))
    message = str(caught.value)
    assert message.startswith("Référentiel refusé (6 erreurs) :")
    assert "urbanisation.yaml, ligne 16 : critère URB-01" in message
    assert not Referential.objects.exists()


@pytest.mark.django_db
def test_the_command_fails_on_a_missing_directory(tmp_path):
    with pytest.raises(CommandError, match="Dossier introuvable"):
        call_command("convergence_load", str(tmp_path / "nulle-part"))


@pytest.mark.django_db
def test_the_command_without_argument_loads_the_shipped_referential_and_demo_is_idempotent():
    from django.apps import apps

    out = StringIO()
    call_command("convergence_load", stdout=out)
    current = Referential.objects.get(is_current=True)
    assert f"Référentiel {current.version} chargé" in out.getvalue()
    assert set(current.questionnaires.values_list("code", flat=True)) >= {
        "urbanisation",
        "interoperabilite",
        "securite",
        "ethique",
        "rgpd",
        "echanges",
    }
    count = Criterion.objects.count()
    apps.get_app_config("convergence").demo_create()
    assert Criterion.objects.count() == count
