"""The state machine: allowed transitions, refused ones, who may make them, and what each step records."""

import pytest
from django.core import mail

from mes.acces.models import JournalEntry
from referencement.models import Event, State
from referencement.workflow import TRANSITIONS, TransitionRefused, dossier_transition, transition_allowed
from tests.referencement.conftest import dossier_in_state


def test_every_transition_leads_from_and_to_known_states():
    for transition in TRANSITIONS.values():
        assert transition.target in State.values
        assert transition.sources and set(transition.sources) <= set(State.values)
        assert transition.target not in transition.sources


@pytest.mark.django_db(transaction=True)
def test_a_transition_records_the_step_the_journal_row_and_emails_the_organisation(
    ready_product, editor, colleague, administrator
):
    dossier = dossier_in_state(ready_product, State.SUBMITTED, editor=editor)
    mail.outbox.clear()
    dossier_transition(actor=administrator, dossier=dossier, transition="declare_admissible", comment="Complet.")
    dossier.refresh_from_db()
    assert dossier.state == State.INSTRUCTION
    event = Event.objects.get(dossier=dossier)
    assert (event.from_state, event.to_state, event.actor, event.comment) == (
        State.SUBMITTED,
        State.INSTRUCTION,
        administrator,
        "Complet.",
    )
    row = JournalEntry.objects.get(action="referencement.dossier.declare_admissible")
    assert row.object_id == str(dossier.public_id)
    assert row.details["from"] == State.SUBMITTED
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == sorted([editor.email, colleague.email])
    assert dossier.reference in mail.outbox[0].subject
    assert "instruction commence" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("state", "transition"),
    [
        ("brouillon", "declare_admissible"),
        ("soumis", "grant"),
        ("commission", "sign_convention"),
        ("publie", "submit"),
        ("refuse", "reinstate"),
    ],
    ids=["draft-admissible", "submitted-grant", "commission-sign", "published-submit", "refused-reinstate"],
)
def test_a_transition_from_a_state_that_does_not_allow_it_is_refused_and_changes_nothing(
    ready_product, editor, administrator, state, transition
):
    dossier = dossier_in_state(ready_product, state, editor=editor)
    actor = editor if transition in ("sign_convention", "submit") else administrator
    with pytest.raises(TransitionRefused, match="n’est pas possible"):
        dossier_transition(actor=actor, dossier=dossier, transition=transition)
    dossier.refresh_from_db()
    assert dossier.state == state
    assert not Event.objects.exists()
    assert not JournalEntry.objects.filter(action__startswith="referencement.").exists()


def test_an_actor_of_the_wrong_role_cannot_make_the_step(ready_product, editor, commission_member):
    dossier = dossier_in_state(ready_product, State.SUBMITTED, editor=editor)
    assert not transition_allowed(dossier, "declare_admissible", editor)
    assert not transition_allowed(dossier, "declare_admissible", commission_member)
    for actor in (editor, commission_member, None):
        with pytest.raises(TransitionRefused):
            dossier_transition(actor=actor, dossier=dossier, transition="declare_admissible")
    dossier.refresh_from_db()
    assert dossier.state == State.SUBMITTED


def test_the_platform_itself_closes_an_expired_completion(ready_product, editor):
    dossier = dossier_in_state(ready_product, State.COMPLETION, editor=editor)
    dossier_transition(actor=None, dossier=dossier, transition="close_expired")
    dossier.refresh_from_db()
    assert dossier.state == State.CLOSED
    assert Event.objects.get(dossier=dossier).actor_label == "Mon espace santé"
