"""The editor's other steps: abandoning a request, answering the commission's adjournment, and a new request on a
published service (a new major version or a renewal) that copies the sheet and leaves the catalogue entry alone."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage

from catalogue.models import DataExchange
from convergence.models import Procedure
from mes.acces.models import JournalEntry
from referencement.models import DossierKind, Event, Purpose, RequestedExchange, State
from referencement.services.dossiers import (
    SHEET_FIELDS,
    dossier_abandon,
    dossier_adjournment_answer,
    dossier_create,
    dossier_redeclare,
)
from referencement.workflow import TransitionRefused
from tests.referencement.conftest import dossier_in_state, make_ready_product, png_bytes

# --- Abandon ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state", [State.DRAFT, State.COMPLETION, State.ADJOURNED], ids=["draft", "completion", "adjourned"]
)
def test_the_editor_abandons_a_request_with_an_optional_reason(ready_product, editor, state):
    dossier = dossier_in_state(ready_product, state, editor=editor)
    dossier_abandon(actor=editor, dossier=dossier, reason="  Le produit est arrêté.  ")
    dossier.refresh_from_db()
    assert dossier.state == State.ABANDONED
    event = Event.objects.get(dossier=dossier)
    assert (event.transition, event.comment) == ("abandon", "Le produit est arrêté.")
    assert JournalEntry.objects.filter(action="referencement.dossier.abandon").count() == 1


@pytest.mark.parametrize(
    "state", [State.SUBMITTED, State.COMMISSION, State.PUBLISHED], ids=["submitted", "commission", "published"]
)
def test_a_request_under_review_cannot_be_abandoned(ready_product, editor, state):
    dossier = dossier_in_state(ready_product, state, editor=editor)
    with pytest.raises(TransitionRefused, match="n’est pas possible"):
        dossier_abandon(actor=editor, dossier=dossier)
    dossier.refresh_from_db()
    assert dossier.state == state


def test_an_abandon_reason_is_limited(draft_dossier, editor):
    with pytest.raises(ValidationError) as error:
        dossier_abandon(actor=editor, dossier=draft_dossier, reason="x" * 1001)
    assert "limité à 1\u00a0000 caractères" in error.value.message_dict["reason"][0]


@pytest.mark.parametrize("actor_name", ["outsider", "commission_member"], ids=["outsider", "member"])
def test_only_the_organisation_abandons(request, draft_dossier, actor_name):
    with pytest.raises(PermissionDenied):
        dossier_abandon(actor=request.getfixturevalue(actor_name), dossier=draft_dossier)


# --- Answer to an adjournment -----------------------------------------------------------------------------------------


def test_the_answer_sends_the_dossier_back_to_the_commission_for_a_new_round(ready_product, editor):
    dossier = dossier_in_state(ready_product, State.ADJOURNED, editor=editor)
    assert (dossier.commission_round, dossier.response_deadline is not None) == (1, True)
    dossier_adjournment_answer(actor=editor, dossier=dossier, answer="Voici l’étude clinique demandée.\r\n")
    dossier.refresh_from_db()
    assert (dossier.state, dossier.commission_round, dossier.response_deadline) == (State.COMMISSION, 2, None)
    event = Event.objects.get(dossier=dossier)
    assert (event.transition, event.comment) == ("answer_adjournment", "Voici l’étude clinique demandée.")
    assert JournalEntry.objects.filter(action="referencement.dossier.answer_adjournment").count() == 1


@pytest.mark.parametrize(
    ("answer", "message"),
    [("  ", "Rédigez votre réponse"), ("x" * 4001, "limitée à 4\u00a0000 caractères (vous en avez saisi 4\u00a0001)")],
    ids=["empty", "too-long"],
)
def test_an_empty_or_too_long_answer_is_refused(ready_product, editor, answer, message):
    dossier = dossier_in_state(ready_product, State.ADJOURNED, editor=editor)
    with pytest.raises(ValidationError) as error:
        dossier_adjournment_answer(actor=editor, dossier=dossier, answer=answer)
    assert message in error.value.message_dict["answer"][0]
    dossier.refresh_from_db()
    assert (dossier.state, dossier.commission_round) == (State.ADJOURNED, 1)


def test_no_answer_is_expected_outside_an_adjournment(ready_product, editor):
    dossier = dossier_in_state(ready_product, State.COMMISSION, editor=editor)
    with pytest.raises(TransitionRefused):
        dossier_adjournment_answer(actor=editor, dossier=dossier, answer="Réponse.")
    dossier.refresh_from_db()
    assert dossier.commission_round == 1


def test_a_commission_member_cannot_answer_for_the_editor(ready_product, editor, commission_member):
    dossier = dossier_in_state(ready_product, State.ADJOURNED, editor=editor)
    with pytest.raises(PermissionDenied):
        dossier_adjournment_answer(actor=commission_member, dossier=dossier, answer="Réponse.")


# --- A new request on a published service -----------------------------------------------------------------------------


@pytest.fixture
def published(ready_product, editor):
    return dossier_in_state(ready_product, State.PUBLISHED, editor=editor)


def _with_screenshot(dossier):
    """A screenshot on a dossier that is no longer editable (as if added while it was a draft)."""
    from django.core.files.base import ContentFile

    from catalogue.images import SCREENSHOT, image_prepare
    from referencement.models import DossierScreenshot

    prepared = image_prepare(png_bytes(300, 500), SCREENSHOT)
    shot = DossierScreenshot(
        dossier=dossier,
        alt_text="Écran d’accueil",
        sha256=prepared.sha256,
        width=prepared.width,
        height=prepared.height,
    )
    shot.image.save("capture.png", ContentFile(prepared.content), save=False)
    shot.save()
    return shot


def test_a_renewal_copies_the_published_sheet_into_a_new_draft(published, editor, ready_product):
    shot = _with_screenshot(published)
    renewal = dossier_redeclare(actor=editor, dossier=published, kind=DossierKind.RENEWAL)
    renewal.refresh_from_db()
    assert (renewal.state, renewal.kind, renewal.previous, renewal.product) == (
        State.DRAFT,
        DossierKind.RENEWAL,
        published,
        ready_product,
    )
    assert renewal.reference != published.reference
    for name in SHEET_FIELDS:
        assert getattr(renewal, name) == getattr(published, name), name
    assert (renewal.purpose, renewal.oid, renewal.redirect_uris) == (
        published.purpose,
        published.oid,
        published.redirect_uris,
    )
    assert sorted(RequestedExchange.objects.filter(dossier=renewal).values_list("exchange", flat=True)) == sorted(
        RequestedExchange.objects.filter(dossier=published).values_list("exchange", flat=True)
    )
    # The images are copies: the new draft may replace them without touching the published ones.
    assert renewal.logo.name != published.logo.name
    assert renewal.logo_sha256 == published.logo_sha256
    assert default_storage.exists(renewal.logo.name)
    copy = renewal.screenshots.get()
    assert (copy.alt_text, copy.sha256) == (shot.alt_text, shot.sha256)
    assert copy.image.name != shot.image.name
    assert default_storage.exists(copy.image.name)
    # The published dossier is untouched: its catalogue entry stays until the decision on the renewal.
    published.refresh_from_db()
    assert published.state == State.PUBLISHED
    row = JournalEntry.objects.get(action="referencement.dossier.redeclare")
    assert (row.details["previous"], row.details["kind"]) == (published.reference, DossierKind.RENEWAL)


def test_a_major_version_is_another_ready_product(published, editor, organisation):
    version_4 = make_ready_product(editor, organisation, name="Suivi Tension", version="4.0")
    new = dossier_redeclare(actor=editor, dossier=published, kind=DossierKind.MAJOR_VERSION, product=version_4)
    assert (new.kind, new.product, new.previous, new.procedure) == (
        DossierKind.MAJOR_VERSION,
        version_4,
        published,
        Procedure.AVEC_ECHANGE,
    )
    assert new.requested_exchanges.count() == published.requested_exchanges.count()


def test_a_major_version_evaluated_without_exchange_gets_the_simple_procedure(published, editor, organisation):
    version_4 = make_ready_product(editor, organisation, name="Suivi Tension", version="4.0", procedure="sans_echange")
    new = dossier_redeclare(actor=editor, dossier=published, kind=DossierKind.MAJOR_VERSION, product=version_4)
    assert (new.procedure, new.oid, new.redirect_uris) == (Procedure.SANS_ECHANGE, "", [])
    assert not new.requested_exchanges.exists()
    assert new.purpose == Purpose.CARE


@pytest.mark.parametrize(
    ("product", "field", "message"),
    [
        ("none", "product", "Choisissez le produit Convergence de la nouvelle version."),
        ("same", "product", "se déclare comme un nouveau produit dans Convergence"),
        ("other-organisation", "product", "Choisissez un produit de l’organisation éditrice de ce service."),
    ],
    ids=["none", "same", "other-organisation"],
)
def test_the_product_of_a_major_version_is_checked(published, editor, outsider, product, field, message):
    if product == "none":
        chosen = None
    elif product == "same":
        chosen = published.product
    else:
        from mes.comptes.models import Membership

        other_organisation = Membership.objects.get(user=outsider).organisation
        chosen = make_ready_product(outsider, other_organisation, name="Autre")
    with pytest.raises(ValidationError) as error:
        dossier_redeclare(actor=editor, dossier=published, kind=DossierKind.MAJOR_VERSION, product=chosen)
    assert message in error.value.message_dict[field][0]
    assert not published.updates.exists()


def test_only_one_update_at_a_time(published, editor):
    first = dossier_redeclare(actor=editor, dossier=published, kind=DossierKind.RENEWAL)
    with pytest.raises(ValidationError) as error:
        dossier_redeclare(actor=editor, dossier=published, kind=DossierKind.RENEWAL)
    assert first.reference in error.value.message_dict["kind"][0]


def test_a_major_version_not_ready_is_refused(published, editor, organisation):
    from convergence.services import product_declare

    draft = product_declare(
        actor=editor,
        organisation=organisation,
        name="Suivi Tension",
        version="5.0",
        product_type="application_mobile",
        platforms=["ios"],
        procedure="avec_echange",
    )
    with pytest.raises(ValidationError, match="n’est pas prêt"):
        dossier_redeclare(actor=editor, dossier=published, kind=DossierKind.MAJOR_VERSION, product=draft)


@pytest.mark.parametrize(
    "state", [State.DRAFT, State.SUSPENDED, State.WITHDRAWN], ids=["draft", "suspended", "withdrawn"]
)
def test_only_a_published_service_is_redeclared(ready_product, editor, state):
    dossier = dossier_in_state(ready_product, state, editor=editor)
    with pytest.raises(ValidationError, match="Seul un service publié"):
        dossier_redeclare(actor=editor, dossier=dossier, kind=DossierKind.RENEWAL)


def test_the_kind_must_be_an_update(published, editor):
    with pytest.raises(ValidationError) as error:
        dossier_redeclare(actor=editor, dossier=published, kind=DossierKind.INITIAL)
    assert "nouvelle version majeure ou renouvellement" in error.value.message_dict["kind"][0]


def test_an_outsider_cannot_redeclare(published, outsider):
    with pytest.raises(PermissionDenied):
        dossier_redeclare(actor=outsider, dossier=published, kind=DossierKind.RENEWAL)


def test_after_a_renewal_is_abandoned_a_new_one_may_start(published, editor):
    renewal = dossier_redeclare(actor=editor, dossier=published, kind=DossierKind.RENEWAL)
    dossier_abandon(actor=editor, dossier=renewal)
    again = dossier_redeclare(actor=editor, dossier=published, kind=DossierKind.RENEWAL)
    assert again.state == State.DRAFT


def test_a_fresh_dossier_for_the_same_product_is_refused_while_published(published, editor, ready_product):
    with pytest.raises(ValidationError, match="renouvellement"):
        dossier_create(actor=editor, product=ready_product, procedure=Procedure.AVEC_ECHANGE)
    assert DataExchange.MEASURES_WRITE in published.requested_exchanges.values_list("exchange", flat=True)
