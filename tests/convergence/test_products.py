"""Products: declaration, public reference, membership rules on every service and selector."""

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from convergence.models import Platform, Procedure, Product
from convergence.selectors import product_for_actor, products_for_actor
from convergence.services import (
    answer_save,
    answers_duplicate,
    evidence_add,
    evidence_remove,
    product_declare,
    product_update,
)
from mes.acces.models import JournalEntry
from tests.convergence.conftest import criterion, declare
from tests.dossier.documents_samples import pdf_bytes, upload


def test_declaration_gives_a_stable_public_reference_and_a_journal_row(product, editor, referential):
    year = product.created_at.year
    assert re.fullmatch(rf"CONV-{year}-[0-9]{{6}}", product.reference)
    assert product.referential == referential
    assert product.platforms == ["android", "ios"] and not product.answers_per_platform
    entry = JournalEntry.objects.get(action="convergence.produit.declare")
    assert entry.actor == editor and entry.citizen is None
    assert entry.details["reference"] == product.reference


def test_references_are_unique_and_never_reused(referential, editor, organisation):
    first = declare(editor, organisation)
    with pytest.raises(ValidationError), transaction.atomic():
        declare(editor, organisation, name="")  # refused before drawing a number
    try:
        with transaction.atomic():
            declare(editor, organisation, name="Annulé")
            raise RuntimeError("rollback")
    except RuntimeError:
        pass
    second = declare(editor, organisation, name="Deuxième")
    first_number, second_number = (int(p.reference.rsplit("-", 1)[1]) for p in (first, second))
    assert second_number == first_number + 2  # the rolled-back declaration's number is not handed out again
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=second.pk).update(reference=first.reference)


def test_the_database_refuses_a_malformed_reference_and_empty_platforms(product):
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(reference="CONV-26-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(platforms=[])
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(platforms=["windows"])


def test_declaration_fields_are_validated_in_french(referential, editor, organisation):
    with pytest.raises(ValidationError) as caught:
        declare(editor, organisation, name=" ", version="", platforms=["windows"], procedure="autre", product_type="x")
    errors = caught.value.message_dict
    assert set(errors) == {"name", "version", "platforms", "procedure", "product_type"}
    assert errors["platforms"] == ["Choisissez au moins une plateforme parmi Web, Android et iOS."]


def test_platforms_are_kept_in_order_without_repetition_and_one_platform_answers_in_common(
    referential, editor, organisation
):
    product = declare(editor, organisation, platforms=["ios", "web", "ios"], answers_per_platform=True)
    assert product.platforms == ["web", "ios"] and product.answers_per_platform
    single = declare(editor, organisation, platforms=["web"], answers_per_platform=True)
    assert not single.answers_per_platform


def test_declaration_needs_a_current_referential(db, editor, organisation):
    with pytest.raises(ValidationError, match="Aucun référentiel"):
        declare(editor, organisation)


def test_a_colleague_may_update_and_the_update_is_journaled(product, colleague):
    product_update(actor=colleague, product=product, version="3.3", platforms=["web", "android", "ios"])
    product.refresh_from_db()
    assert product.version == "3.3" and product.platforms == ["web", "android", "ios"]
    entry = JournalEntry.objects.get(action="convergence.produit.modifie")
    assert entry.details["version"] == "3.3" and entry.actor == colleague


def test_update_cannot_drop_an_answered_platform_or_switch_the_answering_mode(product_per_platform, editor):
    answer_save(
        actor=editor,
        product=product_per_platform,
        criterion=criterion("URB-01"),
        platform="ios",
        value="oui",
        expected_revision=0,
    )
    with pytest.raises(ValidationError, match="iOS"):
        product_update(actor=editor, product=product_per_platform, platforms=["web", "android"])
    with pytest.raises(ValidationError, match="ne peut plus"):
        product_update(actor=editor, product=product_per_platform, answers_per_platform=False)
    product_update(actor=editor, product=product_per_platform, procedure=Procedure.SANS_ECHANGE)


def test_an_editor_of_another_organisation_is_refused_by_every_service(product_per_platform, outsider, editor):
    product = product_per_platform
    urb01 = criterion("URB-01")
    answer = answer_save(
        actor=editor, product=product, criterion=urb01, platform="ios", value="oui", expected_revision=0
    )
    link = evidence_add(actor=editor, product=product, answer=answer, upload=upload(pdf_bytes()))
    calls = [
        lambda: product_declare(
            actor=outsider,
            organisation=product.organisation,
            name="Intrus",
            version="1",
            product_type="site_web",
            platforms=["web"],
            procedure="sans_echange",
        ),
        lambda: product_update(actor=outsider, product=product, name="Renommé"),
        lambda: answer_save(
            actor=outsider, product=product, criterion=urb01, platform="ios", value="non", expected_revision=1
        ),
        lambda: evidence_add(actor=outsider, product=product, answer=answer, upload=upload(pdf_bytes())),
        lambda: evidence_remove(actor=outsider, product=product, answer=answer, evidence=link.evidence),
        lambda: answers_duplicate(
            actor=outsider, product=product, source_platform=Platform.IOS, target_platform=Platform.ANDROID
        ),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    answer.refresh_from_db()
    product.refresh_from_db()
    assert answer.value == "oui" and answer.revision == 1 and product.name == "Agenda Santé"


def test_other_roles_are_refused_even_if_they_hold_a_membership(product, citizen):
    from mes.comptes.models import Membership

    Membership.objects.create(user=citizen.user, organisation=product.organisation)
    with pytest.raises(PermissionDenied):
        product_update(actor=citizen.user, product=product, name="X")


def test_selectors_never_return_another_organisations_products(product, editor, colleague, outsider, administrator):
    declare(outsider, outsider.memberships.get().organisation, name="Produit de l’autre")
    assert list(products_for_actor(editor)) == [product]
    assert list(products_for_actor(colleague)) == [product]
    assert [p.name for p in products_for_actor(outsider)] == ["Produit de l’autre"]
    assert list(products_for_actor(administrator)) == []
    assert product_for_actor(colleague, product.public_id) == product
    with pytest.raises(Product.DoesNotExist):
        product_for_actor(outsider, product.public_id)
