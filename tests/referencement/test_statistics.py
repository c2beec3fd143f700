"""The référencement statistics: the pipeline by state and the time spent per step, computed from the timeline."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from convergence.models import Procedure, ProductType
from convergence.services import product_declare
from referencement.models import Dossier, Event, State
from referencement.selectors_commission import commission_statistics, days_label, pipeline_sentence
from tests.referencement.conftest import dossier_in_state

T0 = timezone.make_aware(datetime(2026, 3, 2, 9, 0))


def _bare_product(editor, organisation, name):
    return product_declare(
        actor=editor,
        organisation=organisation,
        name=name,
        version="1.0",
        product_type=ProductType.WEBSITE,
        platforms=["web"],
        procedure=Procedure.SANS_ECHANGE,
    )


def _timeline(dossier, *steps):
    """Record ``steps`` — (days after T0, from state, to state) — and the dossier's creation at T0."""
    Dossier.objects.filter(pk=dossier.pk).update(created_at=T0)
    for days, from_state, to_state in steps:
        event = Event.objects.create(
            dossier=dossier, transition="etape", from_state=from_state, to_state=to_state, actor_label="Test"
        )
        Event.objects.filter(pk=event.pk).update(created_at=T0 + timedelta(days=days))


@pytest.fixture
def known_set(referential, editor, organisation, ready_product, ready_product_simple):
    """Three dossiers with a known history:

    - A: draft 2 days, submitted 3 days, instruction 10 days, now before the commission;
    - B: draft 4 days, submitted 1 day, returned for completion 6 days, submitted again 2 days, now in instruction;
    - C: draft 1 day, still submitted.
    """
    third = _bare_product(editor, organisation, "Troisième")
    a = dossier_in_state(ready_product, State.COMMISSION, editor=editor)
    b = dossier_in_state(ready_product_simple, State.INSTRUCTION, editor=editor)
    c = dossier_in_state(third, State.SUBMITTED, editor=editor)
    _timeline(
        a,
        (2, State.DRAFT, State.SUBMITTED),
        (5, State.SUBMITTED, State.INSTRUCTION),
        (15, State.INSTRUCTION, State.COMMISSION),
    )
    _timeline(
        b,
        (4, State.DRAFT, State.SUBMITTED),
        (5, State.SUBMITTED, State.COMPLETION),
        (11, State.COMPLETION, State.SUBMITTED),
        (13, State.SUBMITTED, State.INSTRUCTION),
    )
    _timeline(c, (1, State.DRAFT, State.SUBMITTED))
    return a, b, c


def test_the_pipeline_counts_the_dossiers_by_state(known_set):
    statistics = commission_statistics()
    counts = {row.state: row.count for row in statistics.pipeline}
    assert counts[State.COMMISSION] == 1
    assert counts[State.INSTRUCTION] == 1
    assert counts[State.SUBMITTED] == 1
    assert counts[State.PUBLISHED] == 0
    assert [row.state for row in statistics.pipeline] == list(State.values)
    assert statistics.under_instruction == 2
    assert statistics.awaiting_admissibility == 1
    assert statistics.submitted == 3
    assert statistics.products_declared == 3
    assert pipeline_sentence(statistics) == "2 demandes complètes en cours d’instruction"


def test_the_time_spent_per_step_is_averaged_over_the_passages_that_ended(known_set):
    durations = {row.state: row for row in commission_statistics().durations}
    # Draft: 2, 4 and 1 days.
    assert (durations[State.DRAFT].passages, durations[State.DRAFT].dossiers) == (3, 3)
    assert durations[State.DRAFT].average_days == Decimal("2.3")
    assert durations[State.DRAFT].median_days == Decimal("2.0")
    # Submitted: 3 days (A), then 1 and 2 days (B, twice); C is still there and not measured.
    assert (durations[State.SUBMITTED].passages, durations[State.SUBMITTED].dossiers) == (3, 2)
    assert durations[State.SUBMITTED].average_days == Decimal("2.0")
    assert durations[State.COMPLETION].average_days == Decimal("6.0")
    # Instruction: only A left it, after 10 days; B is still in instruction.
    assert (durations[State.INSTRUCTION].passages, durations[State.INSTRUCTION].average_days) == (1, Decimal("10.0"))
    # Nobody has left the commission yet: no duration.
    assert State.COMMISSION not in durations
    # In the workflow's order.
    assert [row.state for row in commission_statistics().durations] == [
        State.DRAFT,
        State.SUBMITTED,
        State.COMPLETION,
        State.INSTRUCTION,
    ]


def test_the_statistics_run_a_constant_number_of_queries(known_set, referential, editor, organisation):
    with CaptureQueriesContext(connection) as few:
        commission_statistics()
    more = _bare_product(editor, organisation, "Quatrième")
    _timeline(dossier_in_state(more, State.INSTRUCTION, editor=editor), (3, State.DRAFT, State.SUBMITTED))
    with CaptureQueriesContext(connection) as many:
        commission_statistics()
    assert len(few) == len(many) == 3


def test_without_any_event_there_is_no_duration(db):
    statistics = commission_statistics()
    assert statistics.durations == []
    assert statistics.under_instruction == 0


@pytest.mark.parametrize(
    ("days", "label"),
    [(Decimal("0.5"), "0,5 jour"), (Decimal("1.9"), "1,9 jour"), (Decimal("2.0"), "2,0 jours")],
    ids=["half", "under-two", "two"],
)
def test_durations_read_in_french(days, label):
    assert days_label(days) == label
