"""Submitting a dossier: the whole dossier is checked (every missing point, by section), the product must still be
ready, and the Convergence extract is frozen with its checksum, untouched by later changes in Convergence."""

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from convergence.exports import export_checksum_verify
from convergence.models import Answer, Procedure
from mes.acces.models import JournalEntry
from referencement.models import Dossier, Event, State
from referencement.services.dossiers import (
    SECTION_EXCHANGES,
    SECTION_IMAGES,
    SECTION_PROCEDURE,
    SECTION_SHEET,
    DossierIncomplete,
    dossier_create,
    dossier_problems,
    dossier_submit,
)
from tests.referencement.conftest import dossier_in_state


def test_a_complete_draft_is_submitted_and_its_extract_frozen(
    draft_dossier, editor, colleague, django_capture_on_commit_callbacks
):
    assert dossier_problems(draft_dossier) == []
    with django_capture_on_commit_callbacks(execute=True):
        dossier_submit(actor=editor, dossier=draft_dossier)
    draft_dossier.refresh_from_db()
    assert draft_dossier.state == State.SUBMITTED
    assert draft_dossier.submitted_at is not None
    assert draft_dossier.extract["product"]["reference"] == draft_dossier.product.reference
    assert export_checksum_verify(draft_dossier.extract)
    assert draft_dossier.extract_checksum == draft_dossier.extract["checksum"]
    event = Event.objects.get(dossier=draft_dossier)
    assert (event.transition, event.from_state, event.to_state, event.actor) == (
        "submit",
        "brouillon",
        "soumis",
        editor,
    )
    row = JournalEntry.objects.get(action="referencement.dossier.submit")
    assert row.details["extract_checksum"] == draft_dossier.extract_checksum
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == sorted([editor.email, colleague.email])


def test_later_changes_in_convergence_leave_the_frozen_extract_as_it_was(draft_dossier, editor):
    dossier_submit(actor=editor, dossier=draft_dossier)
    draft_dossier.refresh_from_db()
    frozen, checksum = draft_dossier.extract, draft_dossier.extract_checksum
    # The editor changes an answer afterwards: the product's extract changes, the dossier's does not.
    Answer.objects.filter(product=draft_dossier.product).update(comment="Réponse modifiée après le dépôt.")
    draft_dossier.refresh_from_db()
    assert draft_dossier.extract == frozen
    assert draft_dossier.extract_checksum == checksum
    assert export_checksum_verify(draft_dossier.extract)
    from convergence.exports import export_data

    assert export_data(draft_dossier.product)["checksum"] != checksum


def test_a_tampered_extract_no_longer_verifies(draft_dossier, editor):
    dossier_submit(actor=editor, dossier=draft_dossier)
    draft_dossier.refresh_from_db()
    tampered = draft_dossier.extract
    tampered["readiness"]["blocking_gaps"] = 0
    tampered["questionnaires"][0]["score"]["share"] = "100.0"
    tampered["product"]["name"] = "Autre nom"
    assert not export_checksum_verify(tampered)


def test_an_incomplete_dossier_lists_every_missing_point_by_section(ready_product, editor):
    dossier = dossier_create(actor=editor, product=ready_product, procedure=Procedure.AVEC_ECHANGE)
    with pytest.raises(DossierIncomplete) as error:
        dossier_submit(actor=editor, dossier=dossier)
    found = {(problem.section, problem.field) for problem in error.value.problems}
    assert {
        (SECTION_PROCEDURE, "purpose"),
        (SECTION_PROCEDURE, "purpose_details"),
        (SECTION_EXCHANGES, "exchanges"),
        (SECTION_EXCHANGES, "oid"),
        (SECTION_EXCHANGES, "redirect_uris"),
        (SECTION_SHEET, "short_description"),
        (SECTION_SHEET, "long_description"),
        (SECTION_SHEET, "category"),
        (SECTION_SHEET, "service_kind"),
        (SECTION_SHEET, "price_model"),
        (SECTION_SHEET, "support_email"),
        (SECTION_IMAGES, "logo"),
    } <= found
    # The name comes from the Convergence product: it is not missing.
    assert (SECTION_SHEET, "name") not in found
    assert "Ajoutez le logo du service." in error.value.messages
    dossier.refresh_from_db()
    assert (dossier.state, dossier.extract, dossier.extract_checksum) == (State.DRAFT, None, "")
    assert not Event.objects.exists()


def test_the_simple_procedure_asks_nothing_of_the_exchange_part(ready_product_simple, editor):
    dossier = dossier_in_state(ready_product_simple, State.DRAFT, editor=editor)
    assert dossier_problems(dossier) == []
    dossier_submit(actor=editor, dossier=dossier)
    dossier.refresh_from_db()
    assert dossier.state == State.SUBMITTED


@pytest.mark.parametrize(
    ("fields", "section", "message"),
    [
        ({"logo": "", "logo_sha256": ""}, SECTION_IMAGES, "Ajoutez le logo du service."),
        ({"oid": ""}, SECTION_EXCHANGES, "Indiquez l’OID de votre organisation"),
        ({"redirect_uris": []}, SECTION_EXCHANGES, "Indiquez au moins une URI de redirection"),
        ({"purpose": "bien_etre"}, SECTION_PROCEDURE, "prévention, de diagnostic, de soins"),
        ({"accessibility_url": ""}, SECTION_SHEET, "déclaration d’accessibilité"),
    ],
    ids=["logo", "oid", "uris", "purpose", "accessibility"],
)
def test_one_missing_point_keeps_the_dossier_a_draft(ready_product, editor, fields, section, message):
    dossier = dossier_in_state(ready_product, State.DRAFT, editor=editor)
    Dossier.objects.filter(pk=dossier.pk).update(**fields)
    dossier.refresh_from_db()
    with pytest.raises(DossierIncomplete) as error:
        dossier_submit(actor=editor, dossier=dossier)
    assert [(problem.section, message in problem.message) for problem in error.value.problems] == [(section, True)]


def test_a_dossier_without_requested_exchange_is_incomplete(draft_dossier, editor):
    draft_dossier.requested_exchanges.all().delete()
    with pytest.raises(DossierIncomplete, match="Cochez au moins une donnée"):
        dossier_submit(actor=editor, dossier=draft_dossier)


def test_a_product_no_longer_ready_cannot_be_submitted(draft_dossier, editor):
    Answer.objects.filter(product=draft_dossier.product).delete()
    with pytest.raises(ValidationError) as error:
        dossier_submit(actor=editor, dossier=draft_dossier)
    assert "n’est pas prêt pour le référencement" in error.value.messages[0]
    draft_dossier.refresh_from_db()
    assert draft_dossier.state == State.DRAFT


def test_a_product_switched_to_the_simple_procedure_in_convergence_cannot_carry_an_exchange_dossier(
    draft_dossier, editor
):
    type(draft_dossier.product).objects.filter(pk=draft_dossier.product_id).update(procedure=Procedure.SANS_ECHANGE)
    draft_dossier.refresh_from_db()
    with pytest.raises(DossierIncomplete) as error:
        dossier_submit(actor=editor, dossier=draft_dossier)
    assert error.value.problems[0].section == SECTION_PROCEDURE


def test_a_dossier_returned_for_completion_is_submitted_again_with_a_new_extract(ready_product, editor):
    dossier = dossier_in_state(ready_product, State.COMPLETION, editor=editor)
    old = dossier.extract_checksum
    later = timezone.now() + timezone.timedelta(minutes=5)
    dossier_submit(actor=editor, dossier=dossier, now=later)
    dossier.refresh_from_db()
    assert dossier.state == State.SUBMITTED
    assert dossier.response_deadline is None
    assert dossier.extract_checksum != old
    assert export_checksum_verify(dossier.extract)


@pytest.mark.parametrize("state", [State.SUBMITTED, State.COMMISSION], ids=["submitted", "commission"])
def test_a_dossier_under_review_is_not_submitted_twice(ready_product, editor, state):
    dossier = dossier_in_state(ready_product, state, editor=editor)
    with pytest.raises(ValidationError, match="ne peut plus être modifié"):
        dossier_submit(actor=editor, dossier=dossier)


@pytest.mark.parametrize("actor_name", ["outsider", "administrator"], ids=["outsider", "admin"])
def test_only_the_organisation_submits(request, draft_dossier, actor_name):
    with pytest.raises(PermissionDenied):
        dossier_submit(actor=request.getfixturevalue(actor_name), dossier=draft_dossier)
