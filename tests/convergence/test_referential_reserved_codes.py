"""Questionnaire and section codes become path segments of the section pages (« <produit>/<questionnaire>/<section>/ »):
the loader refuses a code that is also a fixed segment of the editors' Convergence routes, with the file, the line
and the reason, and the reserved list follows the URL conf."""

import shutil
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, resolve, reverse

from convergence import urls as convergence_urls
from convergence.referential import RESERVED_CODES, ReferentialError, referential_parse
from tests.convergence.conftest import VALID


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / VALID.name
    shutil.copytree(VALID, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _issues(directory: Path) -> list[str]:
    with pytest.raises(ReferentialError) as caught:
        referential_parse(directory)
    return [str(issue) for issue in caught.value.issues]


def _literal_segments(patterns) -> set[str]:
    """The fixed words of the routes (« modele » of « <slug:questionnaire>/modele.xlsx »), includes followed."""
    words: set[str] = set()
    for entry in patterns:
        route = str(entry.pattern)
        for part in route.split("/"):
            if part and not part.startswith("<"):
                words.add(part.split(".")[0])
        if isinstance(entry, URLResolver):
            words |= _literal_segments(entry.url_patterns)
        else:
            assert isinstance(entry, URLPattern)
    return words


def test_every_fixed_segment_of_the_convergence_routes_is_reserved():
    segments = _literal_segments(convergence_urls.urlpatterns)
    assert {"modele", "preuves", "export", "reponses", "dupliquer"} <= segments
    assert segments <= RESERVED_CODES, sorted(segments - RESERVED_CODES)


@pytest.mark.parametrize("word", ["modele", "preuves", "export", "reponses", "nouveau"])
def test_a_reserved_section_code_is_refused_with_file_line_and_reason(tmp_path, word):
    directory = _copy(tmp_path)
    _edit(directory / "urbanisation.yaml", "  - code: hebergement", f"  - code: {word}")
    issues = _issues(directory)
    assert issues == [
        f"urbanisation.yaml, ligne 33 : section : « code » ne peut pas valoir « {word} » : ce mot sert déjà dans "
        "les adresses du portail (dupliquer, export, modele, modifier, nouveau, preuves, reponses) ; choisissez "
        "un autre code"
    ]


def test_a_reserved_questionnaire_code_is_refused_among_the_other_errors(tmp_path):
    directory = _copy(tmp_path)
    _edit(directory / "ethique.yaml", "code: ethique", "code: reponses")
    _edit(directory / "ethique.yaml", "  - code: transparence", "  - code: modele")
    _edit(directory / "urbanisation.yaml", "  - code: hebergement", "  - code: Hebergement")
    issues = _issues(directory)
    assert len(issues) == 3, issues
    assert issues[0] == "urbanisation.yaml, ligne 33 : section : « code » doit être fait de minuscules et de « _ »"
    assert issues[1].startswith("ethique.yaml, ligne 1 : « code » ne peut pas valoir « reponses » : ")
    assert issues[2].startswith("ethique.yaml, ligne 8 : section : « code » ne peut pas valoir « modele » : ")


def test_why_the_section_modele_would_be_unreachable():
    """« <produit>/<questionnaire>/modele/ » is the template's page, whatever sections a questionnaire has."""
    path = reverse(
        "convergence_section",
        kwargs={"product_id": "4c2f1b8e-9a7d-4e3c-8b1a-2d5e6f708192", "questionnaire": "rgpd", "section": "modele"},
    )
    assert resolve(path).url_name == "convergence_template_upload"
    path = reverse(
        "convergence_section",
        kwargs={"product_id": "4c2f1b8e-9a7d-4e3c-8b1a-2d5e6f708192", "questionnaire": "reponses", "section": "acces"},
    )
    assert resolve(path).url_name == "convergence_answer"
