"""The search of the catalogue: French words with or without accents, plurals, ranking, the beginning of the last
word, the web syntax, and input that tries to break the query."""

import pytest
from django.db import connection

from catalogue.models import Category, Service
from catalogue.selectors import catalogue_search, search_query
from catalogue.services import service_suspend
from tests.catalogue.helpers import make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(db):
    return {
        "vacci": make_service(
            name="VacciRappel",
            slug="vaccirappel",
            short_description="Les vaccins de toute la famille.",
            long_description="Elle rappelle aussi les dépistages organisés des cancers.",
        ),
        "sommeil": make_service(
            name="Sommeil Clair",
            slug="sommeil-clair",
            editor_name="Nuits Calmes",
            long_description="Relaxation et méditation guidée chaque soir.",
            category=Category.PREVENTION,
        ),
        "tension": make_service(
            name="TensioCarnet",
            slug="tensiocarnet",
            short_description="Mesurez votre tension artérielle à domicile.",
            category=Category.CONDITIONS,
        ),
        # "Tension" in the long description only: ranked after the one whose short description says it.
        "coeur": make_service(
            name="Cœur Léger",
            slug="coeur-leger",
            short_description="Un carnet pour votre cœur.",
            long_description="Notez vos symptômes. Vous pouvez aussi noter votre tension.",
            category=Category.CONDITIONS,
        ),
        "horizon": make_service(
            name="Rendez-vous Horizon",
            slug="rendez-vous-horizon",
            short_description="Prenez rendez-vous chez un médecin.",
            category=Category.CARE_ACCESS,
        ),
    }


def _names(text: str, **kwargs) -> list[str]:
    return [service.name for service in catalogue_search(text=text, **kwargs).services]


def test_the_fold_function_removes_french_accents():
    with connection.cursor() as cursor:
        cursor.execute("SELECT catalogue_fold(%s)", ["Dépistage à l'hôpital : œil, cœur, façade, Noël, ÉTÉ"])
        assert cursor.fetchone()[0].lower() == "depistage a l'hopital : oeil, coeur, facade, noel, ete"


@pytest.mark.parametrize("text", ["dépistage", "depistage", "depistages", "DÉPISTAGES", "Dépistages"])
def test_accents_and_plurals(catalogue, text):
    assert _names(text) == ["VacciRappel"]


def test_an_accented_letter_typed_without_its_accent_finds_the_name(catalogue):
    assert _names("coeur leger") == ["Cœur Léger"]
    assert _names("cœur") == ["Cœur Léger"]


def test_a_match_in_the_name_ranks_before_one_in_the_long_description(catalogue):
    make_service(
        name="Tension Zen",
        slug="tension-zen",
        short_description="Un carnet.",
        long_description="Rien d’autre.",
        category=Category.CONDITIONS,
    )
    names = _names("tension")
    assert names[0] == "Tension Zen"
    assert names.index("TensioCarnet") < names.index("Cœur Léger")  # short description (B) before long (C)
    assert set(names) == {"Tension Zen", "TensioCarnet", "Cœur Léger"}
    ranks = [service.rank for service in catalogue_search(text="tension").services]
    assert ranks == sorted(ranks, reverse=True)


def test_the_editor_is_searched(catalogue):
    assert _names("nuits calmes") == ["Sommeil Clair"]


@pytest.mark.parametrize("text", ["médita", "meditat", "vaccin", "rendez-vous hori", "dépist"])
def test_the_last_word_is_also_a_beginning(catalogue, text):
    assert _names(text)


def test_the_beginning_matches_the_right_services(catalogue):
    assert _names("meditat") == ["Sommeil Clair"]
    assert _names("rendez-vous hori") == ["Rendez-vous Horizon"]
    # Only the last word is a beginning: « medit » then a complete word must both be there.
    assert _names("sommeil relax") == ["Sommeil Clair"]
    assert _names("vacci relax") == []


def test_short_beginnings_and_stop_words_find_nothing_by_themselves(catalogue):
    assert _names("de la") == []
    assert _names("vou") == []


def test_web_syntax(catalogue):
    assert _names('"prenez rendez-vous"') == ["Rendez-vous Horizon"]
    assert _names("tension -artérielle") == ["Cœur Léger"]
    assert set(_names("sommeil or vaccins")) == {"Sommeil Clair", "VacciRappel"}


def test_search_within_a_category(catalogue):
    assert _names("tension", category=Category.PREVENTION) == []
    assert _names("carnet", category=Category.CONDITIONS) == ["Cœur Léger"]


def test_counts_by_category_follow_the_search(catalogue):
    results = catalogue_search(text="tension", category=Category.PREVENTION)
    assert results.category_counts[Category.CONDITIONS] == 2
    assert results.category_counts[Category.PREVENTION] == 0
    assert results.total == 2


def test_no_text_lists_every_published_service_by_name(catalogue, administrator):
    service_suspend(actor=administrator, service=catalogue["coeur"], reason="Audit")
    make_service(name="Brouillon", slug="brouillon", publish=False)
    results = catalogue_search()
    assert not results.searched
    assert [service.name for service in results.services] == [
        "Rendez-vous Horizon",
        "Sommeil Clair",
        "TensioCarnet",
        "VacciRappel",
    ]
    assert _names("cœur") == []
    assert _names("brouillon") == []


@pytest.mark.parametrize("text", ["", "   ", "!!!", "« » … —", "'", '"', "-", "&|!"])
def test_text_without_words_makes_no_query(text):
    assert search_query(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "x' | ! & ( ) : * <->",
        "'; DROP TABLE catalogue_service; --",
        "tension:* | vacc:*",
        "a:B & b:*A",
        "\\' OR 1=1 --",
        "tension\x00",
        '"non fermé',
        "((((((((((",
        "ŉ ½ ǅ ﬁ",
        "medit" * 20,
    ],
)
def test_injection_like_input_is_only_text(catalogue, text):
    results = catalogue_search(text=text)
    list(results.services)  # runs the query: no syntax error whatever the input
    assert Service.objects.count() == 5


def test_tsquery_operators_typed_are_not_operators(catalogue):
    # Passed to to_tsquery as is, this would look for either beginning; here it is two words that no service has.
    assert _names("tension:* | vacc:*") == []
