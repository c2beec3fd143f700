"""The administrators' instruction: admissibility, completion requests, referral to the commission, the decision."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from oauth2_provider.models import get_application_model

from catalogue.models import DataExchange
from mes.acces.models import JournalEntry
from mes.acces.services.pairings import habilitation_grant
from referencement.models import (
    Convention,
    Decision,
    DecisionResult,
    Event,
    Opinion,
    OpinionResult,
    State,
)
from referencement.selectors_sandbox import Checklist, ChecklistItem
from referencement.services import instruction
from referencement.services.instruction import (
    decision_take,
    dossier_admissible,
    dossier_completion_request,
    dossier_refer_to_commission,
)
from referencement.workflow import TransitionRefused
from tests.referencement.conftest import EXCHANGES, dossier_in_state

Application = get_application_model()


def _today():
    return timezone.localdate()


def _with_opinion(dossier, result=OpinionResult.FAVOURABLE, member=None):
    Opinion.objects.create(
        dossier=dossier, round=dossier.commission_round, result=result, reasons="Motifs de l’avis.", adopted_by=member
    )
    return dossier


# --- Admissibility ------------------------------------------------------------------------------------------------


def test_an_administrator_declares_a_submitted_dossier_admissible(ready_product, editor, administrator):
    dossier = dossier_in_state(ready_product, State.SUBMITTED, editor=editor)
    dossier_admissible(actor=administrator, dossier=dossier, comment="Dossier complet.")
    dossier.refresh_from_db()
    assert dossier.state == State.INSTRUCTION
    event = Event.objects.get(dossier=dossier)
    assert (event.transition, event.actor, event.comment) == ("declare_admissible", administrator, "Dossier complet.")
    assert JournalEntry.objects.filter(action="referencement.dossier.declare_admissible").count() == 1


@pytest.mark.parametrize("actor_name", ["commission_member", "editor"], ids=["member", "editor"])
def test_only_an_administrator_declares_admissibility(request, ready_product, editor, actor_name):
    dossier = dossier_in_state(ready_product, State.SUBMITTED, editor=editor)
    with pytest.raises(PermissionDenied, match="administrateur"):
        dossier_admissible(actor=request.getfixturevalue(actor_name), dossier=dossier)
    dossier.refresh_from_db()
    assert dossier.state == State.SUBMITTED


def test_admissibility_is_refused_once_the_instruction_has_started(ready_product, editor, administrator):
    dossier = dossier_in_state(ready_product, State.INSTRUCTION, editor=editor)
    with pytest.raises(TransitionRefused, match="n’est pas possible"):
        dossier_admissible(actor=administrator, dossier=dossier)
    assert not Event.objects.exists()


# --- Completion requests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [State.SUBMITTED, State.INSTRUCTION], ids=["submitted", "instruction"])
def test_a_completion_request_returns_the_dossier_with_its_deadline_and_emails_the_editor(
    ready_product, editor, administrator, django_capture_on_commit_callbacks, state
):
    dossier = dossier_in_state(ready_product, state, editor=editor)
    deadline = _today() + timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        dossier_completion_request(
            actor=administrator, dossier=dossier, requests="Joignez l’analyse d’impact.", deadline=deadline
        )
    dossier.refresh_from_db()
    assert dossier.state == State.COMPLETION
    local = timezone.localtime(dossier.response_deadline)
    assert (local.date(), local.hour, local.minute) == (deadline, 23, 59)
    event = Event.objects.get(dossier=dossier)
    assert event.comment == "Joignez l’analyse d’impact."
    assert event.details == {"deadline": deadline.isoformat()}
    assert len(mail.outbox) == 1
    assert "Joignez l’analyse d’impact." in mail.outbox[0].body
    assert deadline.strftime("%d/%m/%Y") in mail.outbox[0].body


@pytest.mark.parametrize(
    ("requests", "days", "field", "message"),
    [
        ("", 30, "requests", "Indiquez les compléments"),
        ("   ", 30, "requests", "Indiquez les compléments"),
        ("Une pièce manque.", 0, "deadline", "postérieure à aujourd’hui"),
        ("Une pièce manque.", -3, "deadline", "postérieure à aujourd’hui"),
        ("Une pièce manque.", 91, "deadline", "ne peut pas dépasser 90 jours"),
        ("Une pièce manque.", None, "deadline", "Indiquez la date limite"),
    ],
    ids=["empty", "blank", "today", "past", "too-far", "missing-date"],
)
def test_a_completion_request_needs_its_text_and_a_deadline_within_90_days(
    ready_product, editor, administrator, requests, days, field, message
):
    dossier = dossier_in_state(ready_product, State.SUBMITTED, editor=editor)
    deadline = None if days is None else _today() + timedelta(days=days)
    with pytest.raises(ValidationError) as refused:
        dossier_completion_request(actor=administrator, dossier=dossier, requests=requests, deadline=deadline)
    assert message in " ".join(refused.value.message_dict[field])
    dossier.refresh_from_db()
    assert (dossier.state, dossier.response_deadline) == (State.SUBMITTED, None)
    assert not Event.objects.exists()


def test_the_last_day_allowed_for_a_completion_is_the_ninetieth(ready_product, editor, administrator):
    dossier = dossier_in_state(ready_product, State.SUBMITTED, editor=editor)
    dossier_completion_request(
        actor=administrator, dossier=dossier, requests="Complétez.", deadline=_today() + timedelta(days=90)
    )
    dossier.refresh_from_db()
    assert dossier.state == State.COMPLETION


def test_no_completion_is_asked_once_the_commission_has_the_dossier(ready_product, editor, administrator):
    dossier = dossier_in_state(ready_product, State.COMMISSION, editor=editor)
    with pytest.raises(TransitionRefused):
        dossier_completion_request(
            actor=administrator, dossier=dossier, requests="Complétez.", deadline=_today() + timedelta(days=10)
        )


# --- Referral to the commission -----------------------------------------------------------------------------------


def test_a_simple_procedure_goes_from_instruction_to_the_commission_in_a_new_round(
    ready_product_simple, editor, administrator
):
    dossier = dossier_in_state(ready_product_simple, State.INSTRUCTION, editor=editor)
    dossier_refer_to_commission(actor=administrator, dossier=dossier)
    dossier.refresh_from_db()
    assert (dossier.state, dossier.commission_round) == (State.COMMISSION, 1)
    assert Event.objects.get(dossier=dossier).details == {"round": 1}


def test_a_dossier_with_data_exchange_cannot_skip_the_technical_tests(ready_product, editor, administrator):
    dossier = dossier_in_state(ready_product, State.INSTRUCTION, editor=editor)
    with pytest.raises(ValidationError, match="tests d’accrochage"):
        dossier_refer_to_commission(actor=administrator, dossier=dossier)
    dossier.refresh_from_db()
    assert (dossier.state, dossier.commission_round) == (State.INSTRUCTION, 0)


def _checklist(*done: bool) -> Checklist:
    labels = ["Appariement de l’usager de test", "Écriture d’une mesure", "Réaction au retrait du consentement"]
    now = timezone.now()
    return Checklist(
        items=tuple(
            ChecklistItem(code=f"etape-{i}", label=label, done=flag, done_at=now if flag else None, help="")
            for i, (label, flag) in enumerate(zip(labels, done, strict=True))
        )
    )


def test_the_technical_tests_must_all_pass_before_the_commission(monkeypatch, ready_product, editor, administrator):
    dossier = dossier_in_state(ready_product, State.TECHNICAL_TESTS, editor=editor)
    monkeypatch.setattr(instruction, "sandbox_checklist", lambda dossier: _checklist(True, False, False))
    with pytest.raises(ValidationError) as refused:
        dossier_refer_to_commission(actor=administrator, dossier=dossier)
    message = " ".join(refused.value.messages)
    assert "« Écriture d’une mesure »" in message
    assert "« Réaction au retrait du consentement »" in message
    assert "Appariement" not in message
    dossier.refresh_from_db()
    assert dossier.state == State.TECHNICAL_TESTS


def test_a_dossier_without_any_sandbox_traffic_is_not_referred(ready_product, editor, administrator):
    # The real checklist: no sandbox app at all, so nothing is done.
    dossier = dossier_in_state(ready_product, State.TECHNICAL_TESTS, editor=editor)
    with pytest.raises(ValidationError, match="pas tous réussis"):
        dossier_refer_to_commission(actor=administrator, dossier=dossier)


def test_green_technical_tests_let_the_dossier_reach_the_commission(monkeypatch, ready_product, editor, administrator):
    dossier = dossier_in_state(ready_product, State.TECHNICAL_TESTS, editor=editor, commission_round=1)
    monkeypatch.setattr(instruction, "sandbox_checklist", lambda dossier: _checklist(True, True, True))
    dossier_refer_to_commission(actor=administrator, dossier=dossier, comment="Tests réussis.")
    dossier.refresh_from_db()
    assert (dossier.state, dossier.commission_round) == (State.COMMISSION, 2)


def test_a_commission_member_cannot_refer_a_dossier(ready_product_simple, editor, commission_member):
    dossier = dossier_in_state(ready_product_simple, State.INSTRUCTION, editor=editor)
    with pytest.raises(PermissionDenied):
        dossier_refer_to_commission(actor=commission_member, dossier=dossier)


# --- Decision -----------------------------------------------------------------------------------------------------


def test_a_grant_may_give_fewer_exchanges_than_requested_and_generates_the_convention(
    ready_product, editor, administrator, django_capture_on_commit_callbacks
):
    dossier = _with_opinion(dossier_in_state(ready_product, State.OPINION, editor=editor))
    with django_capture_on_commit_callbacks(execute=True):
        decision = decision_take(
            actor=administrator,
            dossier=dossier,
            result=DecisionResult.GRANTED,
            granted_exchanges=[DataExchange.MEASURES_WRITE, DataExchange.MEASURES_READ],
            reasons="Conforme à l’avis favorable ; l’écriture de documents n’est pas justifiée.",
        )
    dossier.refresh_from_db()
    assert dossier.state == State.CONVENTION
    assert dossier.granted_exchanges == [DataExchange.MEASURES_READ, DataExchange.MEASURES_WRITE]
    assert decision.granted_exchanges == [DataExchange.MEASURES_READ, DataExchange.MEASURES_WRITE]
    assert (decision.result, decision.decided_by) == (DecisionResult.GRANTED, administrator)
    convention = Convention.objects.get(dossier=dossier)
    assert len(convention.sha256) == 64 and not convention.is_signed
    event = Event.objects.get(dossier=dossier)
    assert event.transition == "grant"
    assert event.details["opinion"] == OpinionResult.FAVOURABLE
    assert "l’écriture de documents n’est pas justifiée" in mail.outbox[0].body


def test_a_refusal_grants_nothing_and_generates_no_convention(ready_product, editor, administrator):
    dossier = _with_opinion(dossier_in_state(ready_product, State.OPINION, editor=editor), OpinionResult.UNFAVOURABLE)
    decision_take(
        actor=administrator,
        dossier=dossier,
        result=DecisionResult.REFUSED,
        granted_exchanges=[],
        reasons="Suit l’avis défavorable.",
    )
    dossier.refresh_from_db()
    assert (dossier.state, dossier.granted_exchanges) == (State.REFUSED, [])
    assert Decision.objects.get(dossier=dossier).result == DecisionResult.REFUSED
    assert not Convention.objects.exists()


def test_an_unfavourable_opinion_may_still_be_followed_by_a_grant_with_reasons(ready_product, editor, administrator):
    dossier = _with_opinion(dossier_in_state(ready_product, State.OPINION, editor=editor), OpinionResult.UNFAVOURABLE)
    decision_take(
        actor=administrator,
        dossier=dossier,
        result=DecisionResult.GRANTED,
        granted_exchanges=[DataExchange.MEASURES_WRITE],
        reasons="Les réserves de sécurité ont été levées depuis l’avis.",
    )
    dossier.refresh_from_db()
    assert dossier.state == State.CONVENTION


def test_a_simple_procedure_is_granted_without_any_exchange(ready_product_simple, editor, administrator):
    dossier = _with_opinion(dossier_in_state(ready_product_simple, State.OPINION, editor=editor))
    decision_take(
        actor=administrator, dossier=dossier, result=DecisionResult.GRANTED, granted_exchanges=[], reasons="Conforme."
    )
    dossier.refresh_from_db()
    assert (dossier.state, dossier.granted_exchanges) == (State.CONVENTION, [])
    assert Convention.objects.filter(dossier=dossier).exists()


@pytest.mark.parametrize(
    ("procedure", "result", "granted", "reasons", "field", "message"),
    [
        ("exchange", "accorde", ["agenda-lecture"], "Motifs.", "granted_exchanges", "« Agenda — lecture »"),
        ("exchange", "accorde", [], "Motifs.", "granted_exchanges", "Accordez au moins l’une des données"),
        ("exchange", "accorde", ["inconnue"], "Motifs.", "granted_exchanges", "Donnée inconnue"),
        ("exchange", "refuse", ["mesures-lecture"], "Motifs.", "granted_exchanges", "Un refus n’accorde aucune"),
        ("exchange", "accorde", ["mesures-lecture"], "  ", "reasons", "Indiquez les motifs"),
        ("exchange", "peut-etre", [], "Motifs.", "result", "accorder ou de refuser"),
        ("simple", "accorde", ["mesures-lecture"], "Motifs.", "granted_exchanges", "procédure simple"),
    ],
    ids=["not-requested", "none-granted", "unknown", "refused-with-grants", "no-reasons", "bad-result", "simple"],
)
def test_a_decision_is_refused_field_by_field_and_writes_nothing(
    request, editor, administrator, procedure, result, granted, reasons, field, message
):
    product = request.getfixturevalue("ready_product" if procedure == "exchange" else "ready_product_simple")
    dossier = _with_opinion(dossier_in_state(product, State.OPINION, editor=editor))
    with pytest.raises(ValidationError) as refused:
        decision_take(actor=administrator, dossier=dossier, result=result, granted_exchanges=granted, reasons=reasons)
    assert message in " ".join(refused.value.message_dict[field])
    dossier.refresh_from_db()
    assert (dossier.state, dossier.granted_exchanges) == (State.OPINION, [])
    assert not Decision.objects.exists()
    assert not Convention.objects.exists()
    assert not Event.objects.exists()


def test_no_decision_before_the_commission_has_given_its_opinion(ready_product, editor, administrator):
    dossier = dossier_in_state(ready_product, State.COMMISSION, editor=editor)
    with pytest.raises(TransitionRefused, match="Examen par la commission"):
        decision_take(
            actor=administrator,
            dossier=dossier,
            result=DecisionResult.GRANTED,
            granted_exchanges=list(EXCHANGES),
            reasons="Motifs.",
        )
    assert not Decision.objects.exists()


def test_a_commission_member_cannot_take_the_decision(ready_product, editor, commission_member):
    dossier = _with_opinion(dossier_in_state(ready_product, State.OPINION, editor=editor))
    with pytest.raises(PermissionDenied):
        decision_take(
            actor=commission_member,
            dossier=dossier,
            result=DecisionResult.GRANTED,
            granted_exchanges=[DataExchange.MEASURES_WRITE],
            reasons="Motifs.",
        )
    assert not Decision.objects.exists()


def test_a_convention_that_cannot_be_generated_undoes_the_whole_decision(ready_product, editor, administrator):
    # Another production app already carries the organisation's OID: the convention refuses, nothing stays.
    dossier = _with_opinion(dossier_in_state(ready_product, State.OPINION, editor=editor))
    application = Application.objects.create(
        name="Autre application",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="https://autre.example.fr/retour",
    )
    habilitation_grant(
        actor=None,
        application=application,
        name="Autre application",
        editor_name="Autre éditeur",
        oid=dossier.oid,
        approved_scopes=[],
    )
    with pytest.raises(ValidationError, match="OID"):
        decision_take(
            actor=administrator,
            dossier=dossier,
            result=DecisionResult.GRANTED,
            granted_exchanges=[DataExchange.MEASURES_WRITE],
            reasons="Motifs.",
        )
    dossier.refresh_from_db()
    assert (dossier.state, dossier.granted_exchanges) == (State.OPINION, [])
    assert not Decision.objects.exists()
    assert not Event.objects.exists()
