"""Reads of the editors' référencement pages: the eligibility diagnosis, the dossiers of an editor, the timeline as the
editor sees it, the products a dossier may be created for, and the summary of a frozen Convergence extract.

Which dossier an actor may see is decided in ``referencement.access``; these functions shape what the pages show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from convergence.exports import export_checksum_verify
from convergence.models import Procedure, Product
from convergence.scoring import Readiness
from convergence.selectors import products_for_actor, products_readiness
from mes.comptes.models import Role, User
from referencement.access import dossiers_for_editor
from referencement.models import (
    EXCHANGE_PURPOSES,
    FINAL_STATES,
    AuditState,
    Dossier,
    Event,
    Purpose,
    State,
)
from referencement.workflow import TRANSITIONS

__all__ = [
    "EligibilityOutcome",
    "ExtractSummary",
    "ProductChoice",
    "dossier_open_update",
    "dossier_timeline",
    "editor_dossiers",
    "eligibility_assess",
    "extract_summary",
    "product_choices",
    "state_badge",
]

# --- The eligibility diagnosis (DOMAIN.md §10.1–2) --------------------------------------------------------------------

YES, NO = "oui", "non"
OTHER_PURPOSE = "autre"

ELIGIBLE_SIMPLE = "simple"
ELIGIBLE_EXCHANGE = "echange"
NOT_ELIGIBLE = "non_eligible"


@dataclass(frozen=True)
class EligibilityOutcome:
    verdict: str  # ELIGIBLE_SIMPLE, ELIGIBLE_EXCHANGE or NOT_ELIGIBLE
    title: str
    reasons: list[str]
    # Whether the organisation still has to obtain an OID from AFNOR before the dossier (data exchange only).
    oid_needed: bool = False

    @property
    def eligible(self) -> bool:
        return self.verdict != NOT_ELIGIBLE

    @property
    def procedure(self) -> str:
        return Procedure.AVEC_ECHANGE if self.verdict == ELIGIBLE_EXCHANGE else Procedure.SANS_ECHANGE


def eligibility_assess(
    *, citizens: str, sector: str, exchange: str, purpose: str = "", oid: str = ""
) -> EligibilityOutcome:
    """The outcome of the two questions of the G_NIUS diagnosis and of the procedure advice, from valid answers."""
    if citizens != YES:
        return EligibilityOutcome(
            NOT_ELIGIBLE,
            _("Non éligible"),
            [
                _(
                    "Le catalogue de Mon espace santé ne référence que des services destinés aux usagers (patients, "
                    "citoyens) : un logiciel réservé aux professionnels n’est pas éligible."
                )
            ],
        )
    if sector != YES:
        return EligibilityOutcome(
            NOT_ELIGIBLE,
            _("Non éligible"),
            [
                _(
                    "Seuls les services du secteur sanitaire (santé et bien-être), médico-social ou social peuvent "
                    "être référencés."
                )
            ],
        )
    if exchange != YES:
        return EligibilityOutcome(
            ELIGIBLE_SIMPLE,
            _("Éligible — procédure simple"),
            [_("Votre service peut être présenté dans le catalogue sans échanger de données avec Mon espace santé.")],
        )
    if purpose not in EXCHANGE_PURPOSES:
        return EligibilityOutcome(
            ELIGIBLE_SIMPLE,
            _("Éligible — procédure simple"),
            [
                _(
                    "L’échange de données avec Mon espace santé n’est ouvert qu’aux finalités de prévention, de "
                    "diagnostic, de soins ou de suivi social ou médico-social : votre service peut être référencé, "
                    "mais sans échange de données."
                )
            ],
        )
    reasons = [
        _(
            "Votre service peut échanger des données avec Mon espace santé pour sa finalité « %(purpose)s », avec le "
            "consentement de chaque usager."
        )
        % {"purpose": Purpose(purpose).label}
    ]
    if oid != YES:
        reasons.append(
            _(
                "Il vous faut un OID (identifiant d’objet) pour votre organisation : demandez un OID numérique à "
                "l’AFNOR (enregistrement@afnor.org) ; la demande est traitée en une semaine environ."
            )
        )
    return EligibilityOutcome(
        ELIGIBLE_EXCHANGE, _("Éligible — procédure avec échange de données"), reasons, oid_needed=oid != YES
    )


# --- State badges -----------------------------------------------------------------------------------------------------

_BADGES = {
    State.COMPLETION: "warning",
    State.ADJOURNED: "warning",
    State.CONVENTION: "warning",
    State.TECHNICAL_TESTS: "warning",
    State.SUBMITTED: "info",
    State.INSTRUCTION: "info",
    State.COMMISSION: "info",
    State.OPINION: "info",
    State.PUBLISHED: "success",
    State.SUSPENDED: "error",
    State.WITHDRAWN: "error",
    State.REFUSED: "error",
}


def state_badge(state: str) -> str:
    """The DSFR badge class of a state: « warning » when the editor has something to do, « info » while others work
    on it, « success » once published, « error » when it ended badly, plain otherwise (draft, abandoned…)."""
    variant = _BADGES.get(state)
    return f"fr-badge--{variant}" if variant else ""


def _with_badge(dossier: Dossier) -> Dossier:
    dossier.badge_class = state_badge(dossier.state)
    return dossier


# --- Dossiers ---------------------------------------------------------------------------------------------------------


def editor_dossiers(actor: User, *, limit: int | None = None) -> list[Dossier]:
    """The dossiers of the actor's organisations, the most recently moved first, each with its ``badge_class``."""
    queryset: QuerySet[Dossier] = dossiers_for_editor(actor).order_by("-state_changed_at", "-id")
    if limit is not None:
        queryset = queryset[:limit]
    return [_with_badge(dossier) for dossier in queryset]


def dossier_open_update(dossier: Dossier) -> Dossier | None:
    """The request in progress that updates the published ``dossier`` (a new major version or a renewal), if any."""
    return (
        Dossier.objects.filter(previous=dossier)
        .exclude(state__in=[*FINAL_STATES, State.PUBLISHED, State.SUSPENDED])
        .order_by("-created_at")
        .first()
    )


def dossier_open_audits(dossier: Dossier):
    return dossier.audits.filter(state=AuditState.OPEN).order_by("deadline")


# --- The products a dossier may be created for ------------------------------------------------------------------------


@dataclass
class ProductChoice:
    product: Product
    readiness: Readiness
    open_dossier: Dossier | None = None
    published_dossier: Dossier | None = None
    gap_count: int = field(init=False)

    def __post_init__(self) -> None:
        self.gap_count = len(self.readiness.gaps)

    @property
    def available(self) -> bool:
        return self.readiness.ready and self.open_dossier is None and self.published_dossier is None

    @property
    def with_exchange(self) -> bool:
        return self.product.procedure == Procedure.AVEC_ECHANGE


def product_choices(actor: User, *, exclude: Product | None = None) -> list[ProductChoice]:
    """The Convergence products of the actor's organisations, with what keeps each one from a new dossier: its
    readiness, a request already in progress, a référencement already granted (constant number of queries)."""
    products = list(products_for_actor(actor))
    if exclude is not None:
        products = [product for product in products if product.pk != exclude.pk]
    readiness = products_readiness(products)
    dossiers = Dossier.objects.filter(product__in=products).exclude(state__in=FINAL_STATES).order_by("-created_at")
    open_by_product: dict[int, Dossier] = {}
    published_by_product: dict[int, Dossier] = {}
    for dossier in dossiers:
        target = published_by_product if dossier.state in (State.PUBLISHED, State.SUSPENDED) else open_by_product
        target.setdefault(dossier.product_id, dossier)
    return [
        ProductChoice(
            product=product,
            readiness=readiness[product.pk],
            open_dossier=open_by_product.get(product.pk),
            published_dossier=published_by_product.get(product.pk),
        )
        for product in products
    ]


# --- The timeline -----------------------------------------------------------------------------------------------------

COMMISSION_LABEL = gettext_lazy("La commission")
ADMINISTRATION_LABEL = gettext_lazy("L’administration")
PLATFORM_LABEL = gettext_lazy("Mon espace santé")
# The steps after which the editor has a deadline to answer.
DEADLINE_TRANSITIONS = ("request_completion", "adjourn")


def _deadline(event: Event, dossier: Dossier, is_last: bool) -> datetime | None:
    for key in ("deadline", "response_deadline"):
        value = event.details.get(key) if isinstance(event.details, dict) else None
        if not isinstance(value, str):
            continue
        try:
            if len(value) == len("2031-12-31") and (day := parse_date(value)):
                # A deadline given as a day lasts until the end of that day, in France.
                return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))
            if moment := parse_datetime(value):
                return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
        except ValueError:
            continue
    # The current request: its deadline is the dossier's (the step may not have recorded it in its details).
    if is_last and dossier.state == event.to_state and dossier.state in (State.COMPLETION, State.ADJOURNED):
        return dossier.response_deadline
    return None


def _public_actor(event: Event) -> str:
    """Who made the step, as the editor reads it: their own organisation's members by name, the commission and the
    administration as bodies (no member's name), the platform's own steps as « Mon espace santé »."""
    actor = event.actor
    if actor is None:
        return str(event.actor_label or PLATFORM_LABEL)
    if actor.role == Role.EDITOR:
        return event.actor_label or actor.display_name
    if actor.role == Role.COMMISSION:
        return str(COMMISSION_LABEL)
    return str(ADMINISTRATION_LABEL)


def dossier_timeline(dossier: Dossier, *, for_editor: bool) -> list[Event]:
    """The steps of ``dossier``, oldest first, ready for ``templates/referencement/_timeline.html``: each Event gets
    ``label`` (the step's title), ``shown_actor`` (for the editor, the commission and the administration are named as
    bodies) and ``deadline`` (for a request for completion or an adjournment)."""
    events = list(dossier.events.select_related("actor").order_by("created_at", "id"))
    for index, event in enumerate(events):
        spec = TRANSITIONS.get(event.transition)
        event.label = str(spec.label) if spec else event.get_to_state_display()
        event.shown_actor = _public_actor(event) if for_editor else (event.actor_label or str(PLATFORM_LABEL))
        event.deadline = (
            _deadline(event, dossier, index == len(events) - 1) if event.transition in DEADLINE_TRANSITIONS else None
        )
    return events


# --- The frozen Convergence extract -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtractBlock:
    title: str
    platform_label: str
    share: Decimal
    mandatory_met: int
    mandatory: int
    answered: int
    total: int
    ready: bool
    gaps: int


@dataclass(frozen=True)
class ExtractSummary:
    product_reference: str
    product_label: str
    referential: str
    generated_at: datetime | None
    checksum: str
    verified: bool
    ready: bool
    blocking_gaps: int
    blocks: list[ExtractBlock]


def extract_summary(dossier: Dossier) -> ExtractSummary | None:
    """The scores per questionnaire of the extract frozen at submission, and whether its checksum still verifies (the
    JSON carries the SHA-256 of its own content, and the dossier keeps a copy of it)."""
    data = dossier.extract
    if not isinstance(data, dict) or "questionnaires" not in data:
        return None
    verified = export_checksum_verify(data) and data.get("checksum") == dossier.extract_checksum
    blocks = []
    for block in data.get("questionnaires", []):
        score = block.get("score", {})
        blocks.append(
            ExtractBlock(
                title=block.get("title", ""),
                platform_label=block.get("platform_label", "") if block.get("platform") else "",
                share=Decimal(str(score.get("share", "0"))),
                mandatory_met=score.get("mandatory_met", 0),
                mandatory=score.get("mandatory", 0),
                answered=score.get("answered", 0),
                total=score.get("total", 0),
                ready=bool(score.get("ready")),
                gaps=len(block.get("gaps", [])),
            )
        )
    product = data.get("product", {})
    referential = data.get("referential", {})
    readiness = data.get("readiness", {})
    return ExtractSummary(
        product_reference=product.get("reference", ""),
        product_label=f"{product.get('name', '')} {product.get('version', '')}".strip(),
        referential=f"{referential.get('title', '')} ({referential.get('version', '')})",
        generated_at=parse_datetime(data.get("generated_at", "") or ""),
        checksum=data.get("checksum", ""),
        verified=verified,
        ready=bool(readiness.get("ready")),
        blocking_gaps=int(readiness.get("blocking_gaps", 0)),
        blocks=blocks,
    )
