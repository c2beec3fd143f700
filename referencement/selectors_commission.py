"""Reads of the commission's pages: the queue of dossiers, one dossier under review, and the statistics.

Everything starts from ``referencement.access.dossiers_for_reviewer`` (commission members and administrators, every
dossier past the draft), so no page decides access on its own. The queue and the statistics run a constant number
of queries whatever the number of dossiers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy, ngettext

from catalogue.models import IMAGE_KEY_LENGTH
from convergence.exports import export_checksum_verify
from convergence.models import EvidenceFile, Product
from mes.comptes.models import User
from referencement.access import dossiers_for_reviewer, is_administrator, is_commission_member
from referencement.models import (
    CommissionComment,
    ConflictOfInterest,
    Decision,
    Dossier,
    Event,
    Opinion,
    OpinionResult,
    State,
    Vote,
)
from referencement.selectors_sandbox import sandbox_checklist

__all__ = [
    "PAGE_SIZE",
    "QUEUE_DEFAULT",
    "QueueFilters",
    "commission_queue",
    "commission_statistics",
    "dossier_image_name",
    "dossier_review",
    "extract_summary",
    "queue_state_choices",
    "reviewer_evidence",
]

PAGE_SIZE = 25

# The queue's state filter: a group of states, or one state (the default: the dossiers awaiting the commission).
QUEUE_DEFAULT = State.COMMISSION.value
QUEUE_ADMINISTRATION = "administration"
QUEUE_ALL = "tous"
QUEUE_GROUPS: dict[str, tuple[str, ...]] = {
    QUEUE_DEFAULT: (State.COMMISSION,),
    # What waits for an administrator: admissibility, instruction, tests, and the decision after the opinion.
    QUEUE_ADMINISTRATION: (State.SUBMITTED, State.INSTRUCTION, State.TECHNICAL_TESTS, State.OPINION),
}
QUEUE_GROUP_LABELS = {
    QUEUE_DEFAULT: gettext_lazy("En attente de la commission"),
    QUEUE_ADMINISTRATION: gettext_lazy("À traiter par l’administration"),
    QUEUE_ALL: gettext_lazy("Toutes les demandes déposées"),
}
# The states a reviewer may filter on, one by one (a draft is never shown to them).
REVIEW_STATES = [state for state in State if state not in (State.DRAFT, State.COMMISSION)]


def queue_state_choices(counts: dict[str, int] | None = None) -> list[tuple[str, str]]:
    """The options of the state filter, each with its count of dossiers when ``counts`` is given."""

    def label(text, states) -> str:
        if counts is None:
            return str(text)
        total = sum(counts.get(state, 0) for state in states)
        return f"{text} ({total})"

    every_state = [state.value for state in State if state != State.DRAFT]
    options = [
        (QUEUE_DEFAULT, label(QUEUE_GROUP_LABELS[QUEUE_DEFAULT], QUEUE_GROUPS[QUEUE_DEFAULT])),
        (QUEUE_ADMINISTRATION, label(QUEUE_GROUP_LABELS[QUEUE_ADMINISTRATION], QUEUE_GROUPS[QUEUE_ADMINISTRATION])),
        (QUEUE_ALL, label(QUEUE_GROUP_LABELS[QUEUE_ALL], every_state)),
    ]
    options += [(state.value, label(state.label, [state.value])) for state in REVIEW_STATES]
    return options


@dataclass(frozen=True)
class QueueFilters:
    state: str = QUEUE_DEFAULT
    procedure: str = ""
    category: str = ""
    text: str = ""

    def states(self) -> tuple[str, ...] | None:
        """The states kept, or ``None`` for every state the reviewer sees."""
        if self.state == QUEUE_ALL:
            return None
        return QUEUE_GROUPS.get(self.state, (self.state,))


@dataclass
class QueuePage:
    page: Page
    counts: dict[str, int]
    total: int

    @property
    def rows(self) -> list[Dossier]:
        return list(self.page.object_list)


def _filtered(actor: User, filters: QueueFilters) -> QuerySet[Dossier]:
    dossiers = dossiers_for_reviewer(actor)
    if filters.procedure:
        dossiers = dossiers.filter(procedure=filters.procedure)
    if filters.category:
        dossiers = dossiers.filter(category=filters.category)
    text = filters.text.strip()
    if text:
        dossiers = dossiers.filter(
            Q(reference__icontains=text)
            | Q(name__icontains=text)
            | Q(product__name__icontains=text)
            | Q(organisation__name__icontains=text)
        )
    return dossiers


def commission_queue(actor: User, filters: QueueFilters, *, page_number: int | str | None = 1) -> QueuePage:
    """One page of the dossiers the reviewer asked for, oldest in its state first, in three queries (the counts
    per state, the page's count and the page itself), each row annotated with the votes of its current round and,
    for a member, whether they voted or declared a conflict."""
    base = _filtered(actor, filters)
    counts = {row["state"]: row["total"] for row in base.order_by().values("state").annotate(total=Count("id"))}
    states = filters.states()
    dossiers = base if states is None else base.filter(state__in=states)
    current_votes = Vote.objects.filter(dossier=OuterRef("pk"), round=OuterRef("commission_round"))
    dossiers = dossiers.annotate(
        votes_count=Coalesce(
            Subquery(
                current_votes.order_by().values("dossier").annotate(total=Count("id")).values("total"),
                output_field=IntegerField(),
            ),
            Value(0),
        ),
        my_vote=Exists(current_votes.filter(member=actor)),
        my_conflict=Exists(ConflictOfInterest.objects.filter(dossier=OuterRef("pk"), member=actor)),
    ).order_by("state_changed_at", "id")
    total = sum(counts.values()) if states is None else sum(counts.get(state, 0) for state in states)
    paginator = Paginator(dossiers, PAGE_SIZE)
    # The total is already known from the counts: the paginator need not count again.
    paginator.count = total
    return QueuePage(page=paginator.get_page(page_number), counts=counts, total=total)


# --- One dossier --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtractEvidence:
    name: str
    sha256: str
    criteria: list[str]
    # The file in Convergence, when it is still there (None once the editor has removed it).
    file_id: str | None = None


@dataclass(frozen=True)
class ExtractBlock:
    code: str
    title: str
    platform_label: str | None
    score: dict
    gaps: list[dict]


@dataclass(frozen=True)
class ExtractSummary:
    product: dict
    referential: dict
    generated_at: datetime | None
    checksum: str
    checksum_ok: bool
    ready: bool
    blocking_gaps: int
    blocks: list[ExtractBlock]
    evidence: list[ExtractEvidence]


def _extract_evidence(extract: dict) -> dict[str, ExtractEvidence]:
    found: dict[str, dict] = {}
    for block in extract.get("questionnaires", []):
        for row in block.get("criteria", []):
            for item in row.get("evidence", []):
                entry = found.setdefault(item["sha256"], {"name": item["name"], "criteria": []})
                if row["id"] not in entry["criteria"]:
                    entry["criteria"].append(row["id"])
    return {
        sha256: ExtractEvidence(name=entry["name"], sha256=sha256, criteria=entry["criteria"])
        for sha256, entry in found.items()
    }


def _generated_at(value) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def extract_summary(dossier: Dossier) -> ExtractSummary | None:
    """The frozen Convergence extract of ``dossier`` as the commission reads it: scores per questionnaire, the
    blocking gaps with the criterion's wording, and the evidence files it names (linked when still stored)."""
    extract = dossier.extract
    if not isinstance(extract, dict):
        return None
    blocks = []
    for block in extract.get("questionnaires", []):
        wordings = {row["id"]: row["wording"] for row in block.get("criteria", [])}
        gaps = [{**gap, "wording": wordings.get(gap["id"], "")} for gap in block.get("gaps", [])]
        blocks.append(
            ExtractBlock(
                code=block["code"],
                title=block["title"],
                platform_label=block["platform_label"] if block.get("platform") else None,
                # The share as a number, so that the page writes it the French way (« 87,5 »).
                score={**block["score"], "share": Decimal(str(block["score"]["share"]))},
                gaps=gaps,
            )
        )
    evidence = _extract_evidence(extract)
    stored = dict(
        EvidenceFile.objects.filter(product_id=dossier.product_id, sha256__in=list(evidence))
        .order_by("-uploaded_at")
        .values_list("sha256", "public_id")
    )
    readiness = extract.get("readiness", {})
    return ExtractSummary(
        product=extract.get("product", {}),
        referential=extract.get("referential", {}),
        generated_at=_generated_at(extract.get("generated_at")),
        checksum=extract.get("checksum", ""),
        checksum_ok=export_checksum_verify(extract) and extract.get("checksum") == dossier.extract_checksum,
        ready=bool(readiness.get("ready")),
        blocking_gaps=int(readiness.get("blocking_gaps", 0)),
        blocks=blocks,
        evidence=[
            ExtractEvidence(
                name=item.name,
                sha256=item.sha256,
                criteria=item.criteria,
                file_id=str(stored[sha]) if sha in stored else None,
            )
            for sha, item in evidence.items()
        ],
    )


def reviewer_evidence(dossier: Dossier, evidence_id) -> EvidenceFile:
    """An evidence file of the dossier's product named by its frozen extract; ``EvidenceFile.DoesNotExist``
    for any other (another product's, or one the dossier did not hand over)."""
    named = list(_extract_evidence(dossier.extract)) if isinstance(dossier.extract, dict) else []
    return EvidenceFile.objects.get(product_id=dossier.product_id, public_id=evidence_id, sha256__in=named)


def dossier_image_name(dossier: Dossier, key: str) -> str | None:
    """The stored name of the dossier's logo or screenshot whose SHA-256 starts with ``key``."""
    if len(key) != IMAGE_KEY_LENGTH:
        return None
    if dossier.logo and dossier.logo_sha256[:IMAGE_KEY_LENGTH] == key:
        return dossier.logo.name
    screenshot = dossier.screenshots.filter(sha256__startswith=key).only("image").first()
    return screenshot.image.name if screenshot else None


def _tally_rows(tally: dict) -> list[tuple[str, int]]:
    """A tally in French and in the order of the choices: [(« Favorable », 4), ...]."""
    return [(OpinionResult(choice).label, tally[choice]) for choice in OpinionResult.values if tally.get(choice)]


@dataclass
class DossierReview:
    """What the dossier page shows a reviewer, and which of its actions the reviewer may take now."""

    dossier: Dossier
    events: list[Event]
    requested_exchanges: list
    screenshots: list
    extract: ExtractSummary | None
    checklist: object | None
    comments: list[CommissionComment]
    conflicts: list[ConflictOfInterest]
    votes: list[Vote]
    tally: dict[str, int]
    quorum: int
    opinions: list[Opinion]
    decision: Decision | None
    my_conflict: ConflictOfInterest | None
    my_vote: Vote | None
    actions: set[str] = field(default_factory=set)

    @property
    def current_opinion(self) -> Opinion | None:
        return next((o for o in self.opinions if o.round == self.dossier.commission_round), None)

    @property
    def tally_rows(self) -> list[tuple[str, int]]:
        return _tally_rows(self.tally)

    @property
    def opinion_rows(self) -> list[tuple[Opinion, list[tuple[str, int]]]]:
        return [(opinion, _tally_rows(opinion.tally)) for opinion in self.opinions]

    @property
    def quorum_reached(self) -> bool:
        return len(self.votes) >= self.quorum

    @property
    def majority(self) -> str:
        """The choice with strictly the most votes, or "" on a tie or without votes."""
        ranked = sorted(self.tally.items(), key=lambda item: item[1], reverse=True)
        if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
            return ""
        return ranked[0][0]


def _actions(actor: User, dossier: Dossier, *, my_conflict, round_adopted: bool, checklist) -> set[str]:
    actions: set[str] = set()
    state = dossier.state
    if is_administrator(actor):
        actions.add("comment")
        if state == State.SUBMITTED:
            actions.add("admissible")
        if state in (State.SUBMITTED, State.INSTRUCTION):
            actions.add("completion")
        if state == State.INSTRUCTION and dossier.with_data_exchange:
            actions.add("start_tests")
        if (state == State.INSTRUCTION and not dossier.with_data_exchange) or (
            state == State.TECHNICAL_TESTS and checklist is not None and checklist.complete
        ):
            actions.add("refer")
        if state == State.OPINION:
            actions.add("decide")
    elif is_commission_member(actor):
        actions.add("comment")
        if my_conflict is None:
            actions.add("declare_conflict")
            if state == State.COMMISSION and not round_adopted:
                actions |= {"vote", "adopt"}
    return actions


def dossier_review(actor: User, dossier: Dossier, *, quorum: int) -> DossierReview:
    """Everything of ``dossier`` the commission's page shows, in a bounded number of queries."""
    events = list(Event.objects.filter(dossier=dossier).select_related("actor").order_by("created_at", "id"))
    conflicts = list(ConflictOfInterest.objects.filter(dossier=dossier).select_related("member").order_by("id"))
    votes = list(
        Vote.objects.filter(dossier=dossier, round=dossier.commission_round)
        .select_related("member")
        .order_by("created_at", "id")
    )
    opinions = list(Opinion.objects.filter(dossier=dossier).select_related("adopted_by").order_by("round"))
    decision = Decision.objects.filter(dossier=dossier).select_related("decided_by").first()
    checklist = sandbox_checklist(dossier) if dossier.sandbox_habilitation_id else None
    my_conflict = next((conflict for conflict in conflicts if conflict.member_id == actor.pk), None)
    tally: dict[str, int] = {}
    for vote in votes:
        tally[vote.choice] = tally.get(vote.choice, 0) + 1
    tally = {choice: tally[choice] for choice in OpinionResult.values if choice in tally}
    round_adopted = any(opinion.round == dossier.commission_round for opinion in opinions)
    return DossierReview(
        dossier=dossier,
        events=events,
        requested_exchanges=list(dossier.requested_exchanges.order_by("id")),
        screenshots=list(dossier.screenshots.order_by("position", "id")),
        extract=extract_summary(dossier),
        checklist=checklist,
        comments=list(
            CommissionComment.objects.filter(dossier=dossier).select_related("author").order_by("created_at", "id")
        ),
        conflicts=conflicts,
        votes=votes,
        tally=tally,
        quorum=quorum,
        opinions=opinions,
        decision=decision,
        my_conflict=my_conflict,
        my_vote=next((vote for vote in votes if vote.member_id == actor.pk), None),
        actions=_actions(actor, dossier, my_conflict=my_conflict, round_adopted=round_adopted, checklist=checklist),
    )


# --- Statistics ---------------------------------------------------------------------------------------------------

# The states that make « les demandes complètes en cours d’instruction »: admissible, not yet decided.
UNDER_INSTRUCTION = (State.INSTRUCTION, State.TECHNICAL_TESTS, State.COMMISSION, State.ADJOURNED, State.OPINION)


@dataclass(frozen=True)
class PipelineRow:
    state: str
    label: str
    count: int


@dataclass(frozen=True)
class DurationRow:
    state: str
    label: str
    # Passages through the state that ended (a dossier may pass twice: completion, adjournment).
    passages: int
    dossiers: int
    average_days: Decimal
    median_days: Decimal


@dataclass(frozen=True)
class Statistics:
    products_declared: int
    pipeline: list[PipelineRow]
    durations: list[DurationRow]

    def count(self, *states: str) -> int:
        return sum(row.count for row in self.pipeline if row.state in states)

    @property
    def submitted(self) -> int:
        return sum(row.count for row in self.pipeline if row.state != State.DRAFT)

    @property
    def under_instruction(self) -> int:
        return self.count(*UNDER_INSTRUCTION)

    @property
    def awaiting_admissibility(self) -> int:
        return self.count(State.SUBMITTED)

    @property
    def published(self) -> int:
        return self.count(State.PUBLISHED)


# Time spent in each state, from the timeline: an event leaves its ``from_state``, which the dossier had entered at
# the previous event (or, for the first one, when the dossier was created as a draft). Only the passages that ended
# are measured: a dossier still in a state has no duration there yet.
_DURATIONS_SQL = """
WITH passages AS (
    SELECT e.dossier_id,
           e.from_state AS state,
           e.created_at - COALESCE(
               lag(e.created_at) OVER (PARTITION BY e.dossier_id ORDER BY e.created_at, e.id), d.created_at
           ) AS spent
    FROM referencement_event e
    JOIN referencement_dossier d ON d.id = e.dossier_id
)
SELECT state,
       count(*) AS passages,
       count(DISTINCT dossier_id) AS dossiers,
       avg(extract(epoch FROM spent)) AS average_seconds,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM spent)) AS median_seconds
FROM passages
GROUP BY state
"""

SECONDS_PER_DAY = Decimal(86400)


def _days(seconds) -> Decimal:
    return (Decimal(str(seconds or 0)) / SECONDS_PER_DAY).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def commission_statistics() -> Statistics:
    """The pipeline by state and the time spent per step, in three queries whatever the number of dossiers."""
    counts = dict(Dossier.objects.order_by().values_list("state").annotate(total=Count("id")))
    with connection.cursor() as cursor:
        cursor.execute(_DURATIONS_SQL)
        measured = {row[0]: row[1:] for row in cursor.fetchall()}
    durations = [
        DurationRow(
            state=state.value,
            label=state.label,
            passages=measured[state][0],
            dossiers=measured[state][1],
            average_days=_days(measured[state][2]),
            median_days=_days(measured[state][3]),
        )
        for state in State
        if state in measured
    ]
    return Statistics(
        products_declared=Product.objects.count(),
        pipeline=[PipelineRow(state=state.value, label=state.label, count=counts.get(state, 0)) for state in State],
        durations=durations,
    )


def days_label(days: Decimal) -> str:
    """« 0,5 jour », « 12,3 jours » (French decimal comma)."""
    text = format(days, "f").replace(".", ",")
    return ngettext("%(days)s jour", "%(days)s jours", 2 if days >= 2 else 1) % {"days": text}


def pipeline_sentence(statistics: Statistics) -> str:
    count = statistics.under_instruction
    return ngettext(
        "%(count)s demande complète en cours d’instruction",
        "%(count)s demandes complètes en cours d’instruction",
        count,
    ) % {"count": count}
