"""Reads of the documents: what each actor sees, filters, accent-insensitive search, keyset pagination."""

import base64
from dataclasses import replace
from datetime import date, timedelta

import pytest

from dossier.models import Document
from dossier.selectors.documents import (
    cursor_decode,
    document_page,
    documents_visible,
    fold,
)
from mes.keyset import InvalidCursor
from tests.dossier.documents_samples import document_row, make_document


def titles(page) -> list[str]:
    return [document.title for document in page.documents]


def test_the_citizen_sees_their_documents_hidden_ones_included_and_nobody_else_s(access, citizen, other_citizen):
    mine = make_document(citizen, title="À moi")
    hidden = make_document(citizen, title="Masqué", hidden_from_professionals=True)
    make_document(other_citizen, title="À Bruno")
    assert set(documents_visible(access)) == {mine, hidden}


def test_an_actor_who_does_not_see_hidden_documents_does_not_get_them(access, citizen):
    make_document(citizen, title="Visible")
    make_document(citizen, title="Masqué", hidden_from_professionals=True)
    professional_like = replace(access, sees_hidden_documents=False)
    assert [document.title for document in documents_visible(professional_like)] == ["Visible"]
    assert titles(document_page(professional_like)) == ["Visible"]


def test_the_list_is_newest_act_first_then_newest_added(access, citizen):
    older = make_document(citizen, title="Ancien", act_date=date(2023, 1, 1))
    first = make_document(citizen, title="Même jour 1", act_date=date(2024, 6, 1))
    second = make_document(citizen, title="Même jour 2", act_date=date(2024, 6, 1))
    assert document_page(access).documents == [second, first, older]


def test_filters_by_category_and_date_range(access, citizen):
    make_document(citizen, title="Ordonnance", category="ordonnances_soins", act_date=date(2024, 3, 1))
    make_document(citizen, title="Radio", category="imagerie", act_date=date(2024, 3, 10))
    make_document(citizen, title="Radio ancienne", category="imagerie", act_date=date(2020, 1, 1))
    assert titles(document_page(access, category="imagerie")) == ["Radio", "Radio ancienne"]
    assert titles(document_page(access, date_from=date(2024, 3, 5))) == ["Radio"]
    assert titles(document_page(access, date_to=date(2024, 3, 5))) == ["Ordonnance", "Radio ancienne"]
    assert titles(
        document_page(access, category="imagerie", date_from=date(2021, 1, 1), date_to=date(2024, 12, 31))
    ) == ["Radio"]
    assert titles(document_page(access, category="inconnue")) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("echographie", ["Échographie du cœur"]),
        ("ÉCHOGRAPHIE", ["Échographie du cœur"]),
        ("coeur", ["Échographie du cœur"]),
        ("CŒUR", ["Échographie du cœur"]),
        ("d'hopital", ["Lettre d’hôpital"]),
        ("lettre hopital", ["Lettre d’hôpital"]),
        ("hopital lettre", ["Lettre d’hôpital"]),
        ("100%", ["Remboursé à 100% _ALD"]),
        ("_ald", ["Remboursé à 100% _ALD"]),
        ("_", ["Remboursé à 100% _ALD"]),
        ("introuvable", []),
    ],
)
def test_title_search_ignores_case_and_accents(access, citizen, query, expected):
    make_document(citizen, title="Échographie du cœur")
    make_document(citizen, title="Lettre d’hôpital")
    make_document(citizen, title="Remboursé à 100% _ALD")
    assert titles(document_page(access, query=query)) == expected


def test_fold_matches_what_people_type():
    assert fold("Ça, c’est l’ŒUVRE d’Ægir à Łódź") == "ca, c'est l'oeuvre d'aegir a lodz"


def test_keyset_pagination_walks_forward_and_back_without_gaps_or_repeats(access, citizen):
    start = date(2024, 1, 1)
    made = [
        make_document(citizen, title=f"Document {n:02d}", act_date=start + timedelta(days=n // 2)) for n in range(23)
    ]
    expected = [document.title for document in sorted(made, key=lambda d: (d.act_date, d.pk), reverse=True)]

    first = document_page(access, size=10)
    assert first.newer_cursor is None and first.older_cursor
    second = document_page(access, size=10, cursor=first.older_cursor)
    third = document_page(access, size=10, cursor=second.older_cursor)
    assert third.older_cursor is None
    assert titles(first) + titles(second) + titles(third) == expected

    back = document_page(access, size=10, cursor=third.newer_cursor)
    assert titles(back) == titles(second)
    back_again = document_page(access, size=10, cursor=back.newer_cursor)
    assert titles(back_again) == titles(first)
    assert back_again.newer_cursor is None


def test_pagination_keeps_the_filters(access, citizen):
    for n in range(5):
        make_document(citizen, title=f"Radio {n}", category="imagerie", act_date=date(2024, 1, n + 1))
        make_document(citizen, title=f"Ordonnance {n}", category="ordonnances_soins", act_date=date(2024, 1, n + 1))
    first = document_page(access, category="imagerie", size=3)
    second = document_page(access, category="imagerie", size=3, cursor=first.older_cursor)
    assert titles(first) + titles(second) == [f"Radio {n}" for n in range(4, -1, -1)]


@pytest.mark.parametrize(
    "cursor",
    [
        "pas-un-curseur",
        "====",
        base64.urlsafe_b64encode(b"o:2024-13-45:12").decode(),
        base64.urlsafe_b64encode(b"x:2024-01-01:12").decode(),
        base64.urlsafe_b64encode(b"o:2024-01-01:99999999999999999999").decode(),
        base64.urlsafe_b64encode(b"o:2024-01-01:12; DROP TABLE").decode(),
        base64.urlsafe_b64encode("o:2024-01-01:١٢".encode()).decode(),
    ],
)
def test_a_tampered_cursor_is_refused(access, cursor):
    with pytest.raises(InvalidCursor):
        cursor_decode(cursor)
    with pytest.raises(InvalidCursor):
        document_page(access, cursor=cursor)


def test_another_citizen_s_cursor_reveals_nothing(access, other_access, citizen, other_citizen):
    for n in range(4):
        make_document(other_citizen, title=f"Bruno {n}", act_date=date(2024, 1, n + 1))
    make_document(citizen, title="Camille", act_date=date(2023, 1, 1))
    cursor = document_page(other_access, size=2).older_cursor
    assert titles(document_page(access, cursor=cursor)) == ["Camille"]


@pytest.mark.parametrize("count", [5, 60])
def test_one_query_per_page_whatever_the_number_of_documents(access, citizen, count, django_assert_num_queries):
    Document.objects.bulk_create([document_row(citizen, n) for n in range(count)])
    with django_assert_num_queries(1):
        page = document_page(access, query="compte", category="comptes_rendus", date_from=date(2000, 1, 1))
    assert len(page.documents) == min(count, 20)
