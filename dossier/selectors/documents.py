"""Reads of the documents of the dossier, always through the access of the actor.

``documents_visible`` is the only way to the documents: the citizen's own, without the hidden ones when the actor
does not see them. ``document_page`` serves the list in one query whatever the number of documents: keyset
pagination on (act date, id), newest first, with filters on category and dates and a title search that ignores
case and accents (PostgreSQL's ``unaccent`` is not installed: the title is folded by ``translate``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import F, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import Lower

from dossier.models.documents import Document, DocumentCategory
from mes import keyset
from mes.acces.models import Scope
from mes.acces.policy import CitizenAccess

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_SEARCH_WORDS = 8
MAX_WORD_LENGTH = 100


def documents_visible(access: CitizenAccess) -> QuerySet[Document]:
    """The documents ``access.actor`` may see in ``access.citizen``'s dossier."""
    if not access.can_read(Scope.DOCUMENTS):
        return Document.objects.none()
    documents = Document.objects.filter(citizen=access.citizen)
    if access.document_categories is not None:
        documents = documents.filter(category__in=access.document_categories)
    if not access.sees_hidden_documents:
        documents = documents.filter(hidden_from_professionals=False)
    return documents


# --- Case- and accent-insensitive title search ----------------------------------------------------------------

# Letters folded to two letters (translate maps one character to one).
_LIGATURES = (("œ", "oe"), ("Œ", "oe"), ("æ", "ae"), ("Æ", "ae"), ("ß", "ss"))
# Letters without a canonical decomposition, and typographic apostrophes written as the keyboard's one.
_EXTRA_FOLDS = {"ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ł": "l", "Ł": "l", "ı": "i", "ħ": "h", "Ħ": "h",
                "ŧ": "t", "Ŧ": "t", "’": "'", "‘": "'", "ʼ": "'"}  # fmt: skip


def _fold_table() -> dict[str, str]:
    table = {}
    for code in range(0xC0, 0x250):  # Latin-1 Supplement, Latin Extended-A and B
        char = chr(code)
        decomposed = unicodedata.normalize("NFD", char)
        base = decomposed[0]
        if len(decomposed) > 1 and base.isascii() and base.isalpha():
            table[char] = base.lower()
    table.update(_EXTRA_FOLDS)
    return table


_FOLD = _fold_table()
_FOLD_FROM = "".join(_FOLD)
_FOLD_TO = "".join(_FOLD.values())
_FOLD_TRANSLATION = str.maketrans(_FOLD)


def fold(text: str) -> str:
    """The search form of a text: ligatures spelt out, accents removed, lower case (the SQL side does the same)."""
    text = unicodedata.normalize("NFC", text)
    for ligature, letters in _LIGATURES:
        text = text.replace(ligature, letters)
    return text.translate(_FOLD_TRANSLATION).lower()


def folded(expression) -> Func:
    """The SQL twin of ``fold``: ``lower(translate(replace(...)))``, with the character tables as parameters.
    ``translate`` comes before ``lower``, so that accented capitals fold even under the C collation."""
    for ligature, letters in _LIGATURES:
        expression = Func(expression, Value(ligature), Value(letters), function="replace", output_field=TextField())
    expression = Func(expression, Value(_FOLD_FROM), Value(_FOLD_TO), function="translate", output_field=TextField())
    return Lower(expression)


def search_words(query: str) -> list[str]:
    words = [fold(word)[:MAX_WORD_LENGTH] for word in (query or "").split()]
    return [word for word in words if word][:MAX_SEARCH_WORDS]


# --- Keyset pagination ----------------------------------------------------------------------------------------


def cursor_encode(direction: str, document: Document) -> str:
    return keyset.cursor_encode(direction, document.act_date.isoformat(), document.pk)


def cursor_decode(cursor: str) -> tuple[str, date, int]:
    return keyset.cursor_decode(cursor, key_pattern=r"\d{4}-\d{2}-\d{2}", parse=date.fromisoformat)


@dataclass(frozen=True)
class DocumentPage:
    documents: list[Document]
    older_cursor: str | None  # « Documents plus anciens »
    newer_cursor: str | None  # « Documents plus récents »


def document_page(
    access: CitizenAccess,
    *,
    category: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    query: str = "",
    cursor: str | None = None,
    size: int = PAGE_SIZE,
) -> DocumentPage:
    """One page of the list, newest act first (then newest added), in one query. Raises ``InvalidCursor``."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    documents = documents_visible(access)
    if category:
        if category not in DocumentCategory.values:
            return DocumentPage([], None, None)
        documents = documents.filter(category=category)
    if date_from:
        documents = documents.filter(act_date__gte=date_from)
    if date_to:
        documents = documents.filter(act_date__lte=date_to)
    words = search_words(query)
    if words:
        documents = documents.alias(title_folded=folded(F("title")))
        for word in words:
            documents = documents.filter(title_folded__contains=word)

    rows, older, newer = keyset.keyset_page(
        documents, field="act_date", cursor=cursor, size=size, decode=cursor_decode, encode=cursor_encode
    )
    return DocumentPage(rows, older, newer)


# --- The FHIR API of the paired apps --------------------------------------------------------------------------


def document_get(access: CitizenAccess, public_id) -> Document | None:
    """One document the actor may see, by its public identifier; ``None`` when it is not (or not visible)."""
    return documents_visible(access).select_related("author_user").filter(public_id=public_id).first()


@dataclass(frozen=True)
class DocumentSearch:
    """The filters of a search: LOINC types (any of), the date of the act and the date the document was added,
    each as a half-open interval ``[from, until)`` (``None``: unbounded)."""

    type_codes: frozenset[str] = frozenset()
    act_from: date | None = None
    act_until: date | None = None
    added_from: datetime | None = None
    added_until: datetime | None = None


def documents_search(
    access: CitizenAccess, search: DocumentSearch, *, after: tuple[date, int] | None = None, limit: int = PAGE_SIZE
) -> list[Document]:
    """At most ``limit`` documents matching ``search``, newest act first (then newest added), strictly after the
    keyset position ``after`` = (act date, id) of the last one already seen. One query whatever ``limit``: the
    author's account (shown for documents a legal representative added) comes in the same query."""
    documents = documents_visible(access).select_related("author_user")
    if search.type_codes:
        documents = documents.filter(type_code__in=search.type_codes)
    if search.act_from is not None:
        documents = documents.filter(act_date__gte=search.act_from)
    if search.act_until is not None:
        documents = documents.filter(act_date__lt=search.act_until)
    if search.added_from is not None:
        documents = documents.filter(created_at__gte=search.added_from)
    if search.added_until is not None:
        documents = documents.filter(created_at__lt=search.added_until)
    if after is not None:
        act_date, pk = after
        documents = documents.filter(Q(act_date__lt=act_date) | Q(act_date=act_date, pk__lt=pk))
    return list(documents.order_by("-act_date", "-pk")[: max(0, limit)])
