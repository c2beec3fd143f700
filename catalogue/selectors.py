"""Reads of the catalogue: published services, the search, the counts by category, the same-category suggestions.

The search is PostgreSQL's full-text search over the generated ``search_vector`` column (GIN index):
- the text typed is folded (accents removed) by the same SQL function as the indexed texts, then parsed by
  ``websearch_to_tsquery`` with the French configuration, so « depistages » finds « dépistage » and the usual web
  syntax works (« "prise de rendez-vous" », « -payant », « or »); the user's text only ever reaches PostgreSQL as a
  bound parameter of these functions, which cannot fail on any input;
- the last word is also looked up as the beginning of a word (« médita » finds « méditation »), unless the text uses
  that web syntax;
- results are ordered by ``ts_rank`` with the weights of the vector (name before editor and short description, before
  the long description), then by name.
"""

import re
import unicodedata
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import Count, DateTimeField, F, Func, OuterRef, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Lower
from django.urls import reverse

from catalogue.models import (
    FOLD_FUNCTION,
    IMAGE_KEY_LENGTH,
    PREFIX_CONFIG,
    SEARCH_CONFIG,
    Category,
    Screenshot,
    Service,
    ServiceStatus,
)
from mes.acces.models import Pairing
from mes.acces.selectors_apps import AppShowcase
from mes.comptes.models import Citizen

SEARCH_MAX_LENGTH = 100
PREFIX_MIN_LENGTH = 3
SUGGESTIONS = 3

_WORD = re.compile(r"[^\W_]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # PostgreSQL refuses NUL in text; the others mean nothing here
_WEB_SYNTAX = re.compile(r'"|(?:^|\s)-\w|(?:^|\s)or(?:\s|$)', re.IGNORECASE)
# Letters that Unicode does not decompose into a base letter and an accent.
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "đ": "d", "ł": "l", "ı": "i"})


def services_published() -> QuerySet[Service]:
    return Service.objects.filter(status=ServiceStatus.PUBLISHED)


def with_pairing(services: QuerySet[Service], citizen: Citizen | None) -> QuerySet[Service]:
    """Give each service ``paired_since``: when ``citizen`` connected its app to their space, ``None`` when it is
    not connected (« Synchronisé »). A subquery of the same SELECT, so a list costs no query more, whatever its
    length. An app whose habilitation is suspended exchanges nothing, so it does not count."""
    if citizen is None or not citizen.has_space:
        return services.annotate(paired_since=Value(None, output_field=DateTimeField()))
    pairings = Pairing.objects.filter(
        citizen=citizen,
        habilitation_id=OuterRef("habilitation_id"),
        habilitation__suspended_at__isnull=True,
        revoked_at__isnull=True,
    ).values("created_at")[:1]
    return services.annotate(paired_since=Subquery(pairings))


def service_published_get(slug: str, *, citizen: Citizen | None = None) -> Service | None:
    """The published service of that slug; ``None`` for an unknown, suspended, withdrawn or draft one. With
    ``citizen``: since when they connected it (``paired_since``), and that pairing (``pairing_public_id``), which
    the page links to on « Mes services connectés »."""
    services = with_pairing(services_published().prefetch_related("screenshots"), citizen)
    if citizen is not None and citizen.has_space:
        pairing = Pairing.objects.filter(
            citizen=citizen, habilitation_id=OuterRef("habilitation_id"), revoked_at__isnull=True
        ).values("public_id")[:1]
        services = services.annotate(pairing_public_id=Subquery(pairing))
    return services.filter(slug=slug).first()


def _folded(text: str) -> Func:
    return Func(Value(text), function=FOLD_FUNCTION, output_field=TextField())


def _prefix_term(word: str) -> str:
    """The beginning of a word as a ``to_tsquery`` operand: lower-case ASCII letters and digits only, so that no
    character of the user's text can be taken for tsquery syntax (quotes, operators, weights)."""
    decomposed = unicodedata.normalize("NFKD", word.lower().translate(_LIGATURES))
    return "".join(char for char in decomposed if char.isascii() and char.isalnum())


def search_query(text: str) -> SearchQuery | None:
    """The tsquery of what the citizen typed, or ``None`` when it holds no word.

    The whole text as complete words (stemmed), or else the words before the last one with the last one as the
    beginning of a word: « rendez-vous » and « dépistages » are found as words, « médita » as a beginning.
    """
    text = " ".join(_CONTROL.sub(" ", text).split())
    if not _WORD.search(text):
        return None
    query = SearchQuery(_folded(text), config=SEARCH_CONFIG, search_type="websearch")
    if _WEB_SYNTAX.search(text):
        return query
    last = list(_WORD.finditer(text))[-1]
    prefix = _prefix_term(last.group())
    if len(prefix) < PREFIX_MIN_LENGTH:
        return query
    # The unstemmed words of the vector, whose beginnings are what the person is typing.
    completion = SearchQuery(f"{prefix}:*", config=PREFIX_CONFIG, search_type="raw")
    head = text[: last.start()]
    if _WORD.search(head):
        completion = SearchQuery(_folded(head), config=SEARCH_CONFIG, search_type="websearch") & completion
    return query | completion


@dataclass(frozen=True)
class CatalogueResults:
    services: QuerySet[Service]
    searched: bool
    category_counts: dict[str, int]
    total: int


def catalogue_search(*, text: str = "", category: str = "", citizen: Citizen | None = None) -> CatalogueResults:
    """Published services matching ``text`` (ranked) in ``category`` (all when empty), and how many match in each
    category, for the filter (the counts ignore the chosen category, so that the other ones show what they hold).
    With ``citizen``, each service says whether they connected it (``paired_since``)."""
    services = services_published()
    query = search_query(text) if text else None
    if query is not None:
        services = services.filter(search_vector=query).annotate(rank=SearchRank(F("search_vector"), query))
    counts = {row["category"]: row["count"] for row in services.values("category").annotate(count=Count("id"))}
    if category:
        services = services.filter(category=category)
    order = ("-rank", Lower("name"), "id") if query is not None else (Lower("name"), "id")
    return CatalogueResults(
        services=with_pairing(services, citizen).order_by(*order),
        searched=query is not None,
        category_counts={value: counts.get(value, 0) for value in Category.values},
        total=sum(counts.values()),
    )


def service_suggestions(service: Service, *, limit: int = SUGGESTIONS, citizen: Citizen | None = None) -> list[Service]:
    """Other published services of the same category, the most recently published first."""
    return list(
        with_pairing(services_published(), citizen)
        .filter(category=service.category)
        .exclude(pk=service.pk)
        .order_by("-published_at", "id")[:limit]
    )


def service_image_name(slug: str, key: str, *, published_only: bool = True) -> str | None:
    """The stored file of a service's logo or screenshot named by ``key`` (the beginning of its SHA-256), or
    ``None``; of a published service only, unless told otherwise (the admin's previews)."""
    if not re.fullmatch(rf"[0-9a-f]{{{IMAGE_KEY_LENGTH}}}", key):
        return None
    services = services_published() if published_only else Service.objects.all()
    service = services.filter(slug=slug).values("pk", "logo", "logo_sha256").first()
    if service is None:
        return None
    if service["logo"] and service["logo_sha256"].startswith(key):
        return service["logo"]
    return (
        Screenshot.objects.filter(service_id=service["pk"], sha256__startswith=key)
        .values_list("image", flat=True)
        .first()
    )


def app_showcases(habilitation_ids: list[int]) -> dict[int, AppShowcase]:
    """The catalogue's page and logo of the apps of these habilitations, for « Mes services connectés » (one
    query). Only a published service is shown: the others have no page, and their images are not served."""
    rows = (
        services_published()
        .filter(habilitation_id__in=habilitation_ids)
        .values("habilitation_id", "slug", "logo_sha256")
    )
    return {
        row["habilitation_id"]: AppShowcase(
            url=reverse("catalogue_detail", args=[row["slug"]]),
            logo_url=reverse("catalogue_image", args=[row["slug"], row["logo_sha256"][:IMAGE_KEY_LENGTH]])
            if row["logo_sha256"]
            else "",
        )
        for row in rows
    }
