"""Fixtures of the référencement tests: a ready Convergence product, and dossiers placed in any state.

``dossier_in_state`` builds a dossier directly in a state of the workflow (with what that state implies: a frozen
extract once submitted, a decision from the convention on...), so that each step can be tested on its own; the
journey tests go through every step with the services and the pages instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from catalogue.images import LOGO, image_prepare
from catalogue.models import AccessibilityCompliance, Category, DataExchange, PriceModel, ServiceKind
from convergence.demo import _answer, _criteria
from convergence.exports import export_data
from convergence.models import Platform, Procedure, ProductType
from convergence.referential import referential_load
from convergence.services import product_declare
from mes.comptes.models import Membership
from referencement.models import (
    Dossier,
    DossierKind,
    Purpose,
    RequestedExchange,
    State,
    dossier_reference_next,
)
from tests.factories import CommissionMemberFactory, MembershipFactory

VALID_REFERENTIAL = Path(__file__).parent.parent / "convergence" / "referentiels" / "valide" / "2026.1"


def png_bytes(width: int = 64, height: int = 64, colour=(0, 0, 145)) -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def referential(db):
    return referential_load(VALID_REFERENTIAL)


@pytest.fixture
def organisation(editor):
    return editor.memberships.get().organisation


@pytest.fixture
def colleague(organisation):
    """Another member of the editor's organisation."""
    return MembershipFactory(organisation=organisation, level=Membership.Level.MEMBER, user__first_name="Basile").user


@pytest.fixture
def outsider(db):
    """An editor of another organisation."""
    return MembershipFactory(user__first_name="Oscar").user


@pytest.fixture
def other_member(db):
    """A second commission member."""
    return CommissionMemberFactory(user__first_name="Inès").user


def make_ready_product(editor, organisation, *, procedure=Procedure.AVEC_ECHANGE, name="Suivi Tension", **fields):
    """A Convergence product of ``organisation`` answering every criterion of its procedure at the expected level."""
    values = {
        "name": name,
        "version": "3.2",
        "product_type": ProductType.MOBILE_APP,
        "platforms": [Platform.ANDROID, Platform.IOS],
        "procedure": procedure,
    }
    product = product_declare(actor=editor, organisation=organisation, **(values | fields))
    for criterion in _criteria(product):
        _answer(editor, product, criterion)
    return product


@pytest.fixture
def ready_product(referential, editor, organisation):
    return make_ready_product(editor, organisation)


@pytest.fixture
def ready_product_simple(referential, editor, organisation):
    return make_ready_product(editor, organisation, procedure=Procedure.SANS_ECHANGE, name="Info Santé Ado")


SHEET = {
    "name": "Suivi Tension",
    "short_description": "Suivez votre tension artérielle et partagez vos mesures.",
    "long_description": "Suivi Tension enregistre les mesures de votre tensiomètre connecté.\n\nVos mesures vont "
    "dans votre espace santé si vous le souhaitez.",
    "category": Category.CONDITIONS,
    "service_kind": ServiceKind.MOBILE,
    "app_store_url": "https://apps.apple.com/fr/app/suivi-tension/id1234567890",
    "google_play_url": "https://play.google.com/store/apps/details?id=fr.exemple.suivitension",
    "price_model": PriceModel.FREE,
    "support_email": "support@suivi-tension.example.fr",
    "accessibility_compliance": AccessibilityCompliance.PARTIAL,
    "accessibility_url": "https://suivi-tension.example.fr/accessibilite",
    "connected_objects": True,
    "connected_objects_details": "Tensiomètre connecté",
}
EXCHANGES = {
    DataExchange.MEASURES_WRITE: "Les mesures du tensiomètre sont ajoutées à l’espace santé de la personne.",
    DataExchange.MEASURES_READ: "L’application affiche l’historique des mesures de tension de la personne.",
    DataExchange.DOCUMENTS_WRITE: "L’application dépose le bilan mensuel de tension au format PDF.",
}


def dossier_in_state(product, state: str = State.DRAFT, *, editor=None, **fields) -> Dossier:
    """A complete dossier of ``product`` placed directly in ``state`` (no timeline: tests of one step)."""
    now = timezone.now()
    exchange = product.procedure == Procedure.AVEC_ECHANGE
    values = {
        "reference": dossier_reference_next(now),
        "organisation": product.organisation,
        "product": product,
        "kind": DossierKind.INITIAL,
        "state": state,
        "procedure": product.procedure,
        "purpose": Purpose.CARE,
        "purpose_details": "Suivi de l’hypertension artérielle entre deux consultations.",
        "oid": "1.2.250.1.999.1" if exchange else "",
        "redirect_uris": ["https://suivi-tension.example.fr/oauth/retour"] if exchange else [],
        "created_by": editor,
        **SHEET,
        **({"name": product.name} if product.name != SHEET["name"] else {}),
    }
    if state != State.DRAFT:
        extract = export_data(product, now=now)
        values |= {"extract": extract, "extract_checksum": extract["checksum"], "submitted_at": now}
    if state in (State.COMPLETION, State.ADJOURNED):
        values["response_deadline"] = now + timezone.timedelta(days=30)
    if state in (State.COMMISSION, State.ADJOURNED, State.OPINION):
        values["commission_round"] = 1
    values |= fields
    dossier = Dossier.objects.create(**values)
    logo = image_prepare(png_bytes(256, 256), LOGO)
    dossier.logo.save("logo.png", ContentFile(logo.content), save=False)
    dossier.logo_sha256 = logo.sha256
    dossier.save(update_fields=["logo", "logo_sha256"])
    if exchange:
        RequestedExchange.objects.bulk_create(
            RequestedExchange(dossier=dossier, exchange=code, justification=text) for code, text in EXCHANGES.items()
        )
    return dossier


@pytest.fixture
def draft_dossier(ready_product, editor):
    return dossier_in_state(ready_product, State.DRAFT, editor=editor)
