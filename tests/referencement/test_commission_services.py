"""The commission's services: conflicts of interest, comments, votes (one per member and round) and the opinion."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from mes.acces.models import JournalEntry
from referencement.models import CommissionComment, ConflictOfInterest, Event, Opinion, OpinionResult, State, Vote
from referencement.services.commission import (
    comment_add,
    conflict_declare,
    opinion_adopt,
    vote_cast,
    votes_tally,
)
from tests.factories import CommissionMemberFactory
from tests.referencement.conftest import dossier_in_state


@pytest.fixture
def third_member(db):
    return CommissionMemberFactory(user__first_name="Jeanne").user


@pytest.fixture
def in_commission(ready_product, editor):
    return dossier_in_state(ready_product, State.COMMISSION, editor=editor)


def _vote_all(dossier, members, choice=OpinionResult.FAVOURABLE):
    for member in members:
        vote_cast(actor=member, dossier=dossier, choice=choice, reason="" if choice == "favorable" else "Motif.")


# --- Conflicts of interest ----------------------------------------------------------------------------------------


def test_a_member_declares_a_conflict_and_can_no_longer_vote(in_commission, commission_member):
    conflict_declare(actor=commission_member, dossier=in_commission, reason="J’ai conseillé cet éditeur en 2024.")
    conflict = ConflictOfInterest.objects.get(dossier=in_commission)
    assert (conflict.member, conflict.reason) == (commission_member, "J’ai conseillé cet éditeur en 2024.")
    assert JournalEntry.objects.filter(action="referencement.commission.conflit_declare").count() == 1
    with pytest.raises(ValidationError, match="conflit d’intérêts"):
        vote_cast(actor=commission_member, dossier=in_commission, choice=OpinionResult.FAVOURABLE)
    assert not Vote.objects.exists()


def test_a_vote_cast_before_the_declaration_is_withdrawn(in_commission, commission_member, other_member):
    vote_cast(actor=commission_member, dossier=in_commission, choice=OpinionResult.FAVOURABLE)
    vote_cast(actor=other_member, dossier=in_commission, choice=OpinionResult.FAVOURABLE)
    conflict_declare(actor=commission_member, dossier=in_commission, reason="Actionnaire de l’éditeur.")
    assert list(Vote.objects.values_list("member", flat=True)) == [other_member.pk]
    row = JournalEntry.objects.get(action="referencement.commission.conflit_declare")
    assert row.details["vote_withdrawn"] is True


def test_a_member_with_a_conflict_cannot_adopt_the_opinion(
    settings, in_commission, commission_member, other_member, third_member
):
    settings.REFERENCEMENT_COMMISSION_QUORUM = 2
    _vote_all(in_commission, [other_member, third_member])
    conflict_declare(actor=commission_member, dossier=in_commission, reason="Ancien salarié.")
    with pytest.raises(ValidationError, match="conflit d’intérêts"):
        opinion_adopt(
            actor=commission_member, dossier=in_commission, result=OpinionResult.FAVOURABLE, reasons="Conforme."
        )
    assert not Opinion.objects.exists()


@pytest.mark.parametrize(
    ("reason", "message"),
    [("", "Décrivez la nature"), ("  ", "Décrivez la nature"), ("x" * 1001, "1000 au plus")],
    ids=["empty", "blank", "too-long"],
)
def test_a_conflict_needs_its_reason(in_commission, commission_member, reason, message):
    with pytest.raises(ValidationError) as refused:
        conflict_declare(actor=commission_member, dossier=in_commission, reason=reason)
    assert message in " ".join(refused.value.message_dict["reason"])
    assert not ConflictOfInterest.objects.exists()


def test_a_conflict_is_declared_once(in_commission, commission_member):
    conflict_declare(actor=commission_member, dossier=in_commission, reason="Lien familial.")
    with pytest.raises(ValidationError, match="déjà déclaré"):
        conflict_declare(actor=commission_member, dossier=in_commission, reason="Encore.")
    assert ConflictOfInterest.objects.count() == 1


@pytest.mark.parametrize("actor_name", ["administrator", "editor"], ids=["admin", "editor"])
def test_only_members_declare_conflicts(request, in_commission, actor_name):
    with pytest.raises(PermissionDenied):
        conflict_declare(actor=request.getfixturevalue(actor_name), dossier=in_commission, reason="Lien.")


# --- Comments -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("actor_name", ["commission_member", "administrator"], ids=["member", "admin"])
def test_members_and_administrators_comment(request, in_commission, actor_name):
    actor = request.getfixturevalue(actor_name)
    comment_add(actor=actor, dossier=in_commission, body="  Le score de sécurité est juste au seuil.  ")
    comment = CommissionComment.objects.get()
    assert (comment.author, comment.body) == (actor, "Le score de sécurité est juste au seuil.")
    assert JournalEntry.objects.filter(action="referencement.commission.commentaire").count() == 1


def test_an_editor_cannot_comment_for_the_commission(in_commission, editor):
    with pytest.raises(PermissionDenied):
        comment_add(actor=editor, dossier=in_commission, body="Bonjour.")
    assert not CommissionComment.objects.exists()


def test_an_empty_comment_is_refused(in_commission, commission_member):
    with pytest.raises(ValidationError) as refused:
        comment_add(actor=commission_member, dossier=in_commission, body="   ")
    assert refused.value.message_dict == {"body": ["Écrivez votre commentaire."]}


def test_a_draft_is_not_commented(draft_dossier, commission_member):
    with pytest.raises(PermissionDenied, match="pas encore été déposé"):
        comment_add(actor=commission_member, dossier=draft_dossier, body="Trop tôt.")


# --- Votes --------------------------------------------------------------------------------------------------------


def test_a_member_votes_once_per_round_and_may_change_the_vote(in_commission, commission_member):
    vote_cast(actor=commission_member, dossier=in_commission, choice=OpinionResult.FAVOURABLE)
    vote_cast(
        actor=commission_member,
        dossier=in_commission,
        choice=OpinionResult.RESERVATIONS,
        reason="L’hébergement doit être certifié HDS.",
    )
    vote = Vote.objects.get()
    assert (vote.round, vote.choice, vote.reason) == (
        1,
        OpinionResult.RESERVATIONS,
        "L’hébergement doit être certifié HDS.",
    )
    rows = list(JournalEntry.objects.filter(action="referencement.commission.vote").order_by("seq"))
    assert [row.details["changed"] for row in rows] == [False, True]
    assert votes_tally(in_commission) == {OpinionResult.RESERVATIONS: 1}


@pytest.mark.parametrize(
    "choice", [OpinionResult.RESERVATIONS, OpinionResult.UNFAVOURABLE, OpinionResult.ADJOURNED], ids=str
)
def test_anything_but_a_favourable_vote_gives_its_reason(in_commission, commission_member, choice):
    with pytest.raises(ValidationError) as refused:
        vote_cast(actor=commission_member, dossier=in_commission, choice=choice, reason=" ")
    assert "Motivez votre vote" in refused.value.message_dict["reason"][0]
    assert not Vote.objects.exists()


def test_an_unknown_vote_is_refused(in_commission, commission_member):
    with pytest.raises(ValidationError) as refused:
        vote_cast(actor=commission_member, dossier=in_commission, choice="abstention")
    assert refused.value.message_dict == {"choice": ["Choisissez votre vote."]}


@pytest.mark.parametrize("actor_name", ["administrator", "editor"], ids=["admin", "editor"])
def test_administrators_and_editors_never_vote(request, in_commission, actor_name):
    with pytest.raises(PermissionDenied, match="Seuls les membres"):
        vote_cast(actor=request.getfixturevalue(actor_name), dossier=in_commission, choice=OpinionResult.FAVOURABLE)
    assert not Vote.objects.exists()


@pytest.mark.parametrize("state", [State.INSTRUCTION, State.OPINION, State.ADJOURNED], ids=str)
def test_votes_are_open_only_while_the_commission_examines_the_dossier(ready_product, editor, commission_member, state):
    dossier = dossier_in_state(ready_product, state, editor=editor)
    with pytest.raises(ValidationError, match="Le vote n’est ouvert"):
        vote_cast(actor=commission_member, dossier=dossier, choice=OpinionResult.FAVOURABLE)


def test_votes_belong_to_the_round(ready_product, editor, commission_member):
    dossier = dossier_in_state(ready_product, State.COMMISSION, editor=editor, commission_round=2)
    Vote.objects.create(dossier=dossier, round=1, member=commission_member, choice=OpinionResult.ADJOURNED)
    vote_cast(actor=commission_member, dossier=dossier, choice=OpinionResult.FAVOURABLE)
    assert sorted(Vote.objects.values_list("round", "choice")) == [(1, "ajourne"), (2, "favorable")]
    assert votes_tally(dossier) == {"favorable": 1}


# --- Opinion ------------------------------------------------------------------------------------------------------


def test_the_opinion_needs_the_quorum(in_commission, commission_member, other_member):
    _vote_all(in_commission, [commission_member, other_member])
    with pytest.raises(ValidationError) as refused:
        opinion_adopt(
            actor=commission_member, dossier=in_commission, result=OpinionResult.FAVOURABLE, reasons="Conforme."
        )
    assert "Le quorum n’est pas atteint : 2 vote(s) exprimé(s) sur les 3 nécessaires" in refused.value.messages[0]
    in_commission.refresh_from_db()
    assert in_commission.state == State.COMMISSION
    assert not Opinion.objects.exists()


def test_the_adopted_opinion_stores_the_tally_and_moves_the_dossier_to_the_decision(
    in_commission, editor, commission_member, other_member, third_member, django_capture_on_commit_callbacks
):
    _vote_all(in_commission, [commission_member, other_member])
    vote_cast(actor=third_member, dossier=in_commission, choice=OpinionResult.UNFAVOURABLE, reason="Trop de données.")
    with django_capture_on_commit_callbacks(execute=True):
        opinion = opinion_adopt(
            actor=commission_member,
            dossier=in_commission,
            result=OpinionResult.FAVOURABLE,
            reasons="Service utile, évaluation Convergence complète.",
        )
    assert (opinion.round, opinion.result, opinion.adopted_by) == (1, OpinionResult.FAVOURABLE, commission_member)
    assert opinion.tally == {"favorable": 2, "defavorable": 1}
    in_commission.refresh_from_db()
    assert in_commission.state == State.OPINION
    event = Event.objects.get(dossier=in_commission)
    assert (event.transition, event.details["result"]) == ("adopt_opinion", "favorable")
    assert mail.outbox and editor.email in mail.outbox[0].to
    # Once adopted, the votes of the round are closed.
    with pytest.raises(ValidationError):
        vote_cast(actor=other_member, dossier=in_commission, choice=OpinionResult.UNFAVOURABLE, reason="Revu.")


def test_the_commission_may_adopt_another_result_than_the_majority(
    settings, in_commission, commission_member, other_member
):
    settings.REFERENCEMENT_COMMISSION_QUORUM = 2
    _vote_all(in_commission, [commission_member, other_member])
    opinion = opinion_adopt(
        actor=commission_member,
        dossier=in_commission,
        result=OpinionResult.RESERVATIONS,
        reasons="Favorable après débat.",
        reservations="Chiffrer les sauvegardes.",
    )
    assert (opinion.result, opinion.reservations, opinion.tally) == (
        OpinionResult.RESERVATIONS,
        "Chiffrer les sauvegardes.",
        {"favorable": 2},
    )


def test_an_adjournment_returns_the_dossier_to_the_editor_with_the_question_and_a_deadline(
    settings, in_commission, editor, commission_member, other_member, django_capture_on_commit_callbacks
):
    settings.REFERENCEMENT_COMMISSION_QUORUM = 2
    _vote_all(in_commission, [commission_member, other_member], OpinionResult.ADJOURNED)
    deadline = timezone.localdate() + timedelta(days=60)
    with django_capture_on_commit_callbacks(execute=True):
        opinion_adopt(
            actor=commission_member,
            dossier=in_commission,
            result=OpinionResult.ADJOURNED,
            reasons="Informations manquantes sur l’hébergement.",
            questions="Quel hébergeur certifié HDS utilisez-vous ?",
            deadline=deadline,
        )
    in_commission.refresh_from_db()
    assert in_commission.state == State.ADJOURNED
    assert timezone.localtime(in_commission.response_deadline).date() == deadline
    event = Event.objects.get(dossier=in_commission)
    assert (event.transition, event.comment) == ("adjourn", "Quel hébergeur certifié HDS utilisez-vous ?")
    assert "Quel hébergeur certifié HDS utilisez-vous ?" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"result": "favorable", "reasons": ""}, {"reasons": "Indiquez les motifs"}),
        ({"result": "reserves", "reasons": "Motifs.", "reservations": ""}, {"reservations": "énonce ses réserves"}),
        ({"result": "favorable", "reasons": "Motifs.", "reservations": "Une."}, {"reservations": "Seul un avis"}),
        ({"result": "ajourne", "reasons": "Motifs.", "days": 30}, {"questions": "Indiquez les informations"}),
        ({"result": "ajourne", "reasons": "Motifs.", "questions": "Q ?"}, {"deadline": "Indiquez la date limite"}),
        ({"result": "ajourne", "reasons": "Motifs.", "questions": "Q ?", "days": 61}, {"deadline": "60 jours"}),
        ({"result": "ajourne", "reasons": "Motifs.", "questions": "Q ?", "days": 0}, {"deadline": "postérieure"}),
        ({"result": "sans-avis", "reasons": "Motifs."}, {"result": "Choisissez l’avis"}),
    ],
    ids=[
        "no-reasons",
        "reservations-missing",
        "reservations-not-allowed",
        "adjourned-no-question",
        "adjourned-no-deadline",
        "adjourned-too-far",
        "adjourned-today",
        "bad-result",
    ],
)
def test_an_opinion_is_refused_field_by_field(settings, in_commission, commission_member, other_member, fields, errors):
    settings.REFERENCEMENT_COMMISSION_QUORUM = 2
    _vote_all(in_commission, [commission_member, other_member])
    fields = dict(fields)
    days = fields.pop("days", None)
    deadline = None if days is None else timezone.localdate() + timedelta(days=days)
    with pytest.raises(ValidationError) as refused:
        opinion_adopt(actor=commission_member, dossier=in_commission, deadline=deadline, **fields)
    for field, message in errors.items():
        assert message in " ".join(refused.value.message_dict[field])
    in_commission.refresh_from_db()
    assert in_commission.state == State.COMMISSION
    assert not Opinion.objects.exists()


def test_an_administrator_does_not_adopt_the_opinion(settings, in_commission, administrator, commission_member):
    settings.REFERENCEMENT_COMMISSION_QUORUM = 1
    _vote_all(in_commission, [commission_member])
    with pytest.raises(PermissionDenied):
        opinion_adopt(actor=administrator, dossier=in_commission, result="favorable", reasons="Conforme.")
