"""The lifecycle of a space: allowed and refused transitions, timestamps, MSS address, journal rows."""

from datetime import UTC, datetime

import pytest

from mes.acces.models import JournalEntry
from mes.comptes.models import CitizenStatus as S
from mes.comptes.models import ClosureReason
from mes.comptes.services.lifecycle import ALLOWED, TransitionRefused, citizen_transition, optout_deadline
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db


def _imported():
    return CitizenFactory(user=None, status=S.IMPORTED, activated_at=None, mss_address="")


def test_deadline_is_one_month_and_ten_days_on_calendar_months(settings):
    assert optout_deadline(datetime(2026, 1, 31, 10, tzinfo=UTC)) == datetime(2026, 3, 10, 10, tzinfo=UTC)
    assert optout_deadline(datetime(2026, 3, 15, 10, tzinfo=UTC)) == datetime(2026, 4, 25, 10, tzinfo=UTC)
    settings.OPTOUT_DELAY_MONTHS, settings.OPTOUT_DELAY_DAYS = 0, 42
    assert optout_deadline(datetime(2026, 3, 15, tzinfo=UTC)) == datetime(2026, 4, 26, tzinfo=UTC)


def test_notified_then_opposed_then_activated(persona_users):
    citizen = _imported()
    at = datetime(2026, 5, 4, 8, tzinfo=UTC)
    citizen = citizen_transition(citizen=citizen, to=S.NOTIFIED, actor=None, at=at)
    assert (citizen.status, citizen.notified_at, citizen.deadline) == (
        S.NOTIFIED,
        at,
        datetime(2026, 6, 14, 8, tzinfo=UTC),
    )
    assert citizen.mss_address == ""
    citizen = citizen_transition(citizen=citizen, to=S.OPPOSED, actor=None)
    assert citizen.opposed_at and citizen.mss_address == ""
    citizen = citizen_transition(citizen=citizen, to=S.ACTIVATED, actor=None)
    assert citizen.mss_address == f"{citizen.ins}@patient.mssante.fr"
    actions = list(JournalEntry.objects.filter(citizen=citizen).order_by("seq").values_list("action", "details"))
    assert actions == [
        ("compte.espace.notifie", {"from": "imported", "to": "notified"}),
        ("compte.espace.oppose", {"from": "notified", "to": "opposed"}),
        ("compte.espace.active", {"from": "opposed", "to": "activated"}),
    ]


@pytest.mark.parametrize("current", list(S.values))
@pytest.mark.parametrize("target", [s for s in S.values if s != S.IMPORTED])
def test_forbidden_transitions_are_refused_and_change_nothing(current, target):
    if target in ALLOWED[current]:
        return
    citizen = CitizenFactory(
        status=current,
        notified_at=datetime(2026, 1, 1, tzinfo=UTC),
        deadline=datetime(2026, 2, 11, tzinfo=UTC),
        closed_at=datetime(2026, 3, 1, tzinfo=UTC) if current == S.CLOSED else None,
    )
    with pytest.raises(TransitionRefused, match="Impossible de passer"):
        citizen_transition(citizen=citizen, to=target, actor=None, closure_reason=ClosureReason.PERSON)
    citizen.refresh_from_db()
    assert citizen.status == current
    assert not JournalEntry.objects.filter(citizen=citizen).exists()


def test_closure_by_the_person_and_on_death(settings):
    settings.SPACE_CLOSURE_GRACE_DAYS = 30
    at = datetime(2026, 1, 10, tzinfo=UTC)
    by_person = citizen_transition(citizen=CitizenFactory(), to=S.CLOSED, actor=None, at=at, closure_reason="person")
    assert by_person.content_deletion_due_at == datetime(2026, 2, 9, tzinfo=UTC)
    on_death = citizen_transition(citizen=CitizenFactory(), to=S.CLOSED, actor=None, at=at, closure_reason="death")
    assert on_death.content_deletion_due_at == datetime(2036, 1, 10, tzinfo=UTC)
    with pytest.raises(TransitionRefused, match="motif"):
        citizen_transition(citizen=CitizenFactory(), to=S.CLOSED, actor=None)


def test_automatic_creation_assigns_the_mss_address():
    citizen = citizen_transition(citizen=_imported(), to=S.NOTIFIED, actor=None)
    citizen = citizen_transition(citizen=citizen, to=S.CREATED_AUTOMATICALLY, actor=None)
    assert citizen.auto_created_at is not None
    assert citizen.mss_address == f"{citizen.ins}@patient.mssante.fr"
