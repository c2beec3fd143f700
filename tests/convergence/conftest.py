"""Personas and a small referential for the Convergence core tests."""

from pathlib import Path

import pytest

from convergence.models import Criterion, Platform, Procedure, ProductType
from convergence.referential import referential_load
from convergence.services import product_declare
from mes.comptes.models import Membership
from tests.factories import MembershipFactory

REFERENTIALS = Path(__file__).parent / "referentiels"
VALID = REFERENTIALS / "valide" / "2026.1"
VALID_NEXT = REFERENTIALS / "valide" / "2026.2"
MALFORMED = REFERENTIALS / "malforme" / "2026.1"


@pytest.fixture
def referential(db):
    return referential_load(VALID)


@pytest.fixture
def organisation(editor):
    return editor.memberships.get().organisation


@pytest.fixture
def colleague(organisation):
    """Another member of the editor's organisation, working on the same products."""
    return MembershipFactory(organisation=organisation, level=Membership.Level.MEMBER, user__first_name="Basile").user


@pytest.fixture
def outsider(db):
    """An editor of another organisation."""
    return MembershipFactory(user__first_name="Oscar").user


def declare(editor, organisation, **fields):
    values = {
        "name": "Suivi Tension",
        "version": "3.2",
        "product_type": ProductType.MOBILE_APP,
        "platforms": [Platform.ANDROID, Platform.IOS],
        "procedure": Procedure.AVEC_ECHANGE,
    }
    return product_declare(actor=editor, organisation=organisation, **(values | fields))


@pytest.fixture
def product(referential, editor, organisation):
    """A product answering once for all its platforms."""
    return declare(editor, organisation)


@pytest.fixture
def product_per_platform(referential, editor, organisation):
    return declare(editor, organisation, name="Agenda Santé", answers_per_platform=True)


def criterion(code: str, version: str = "2026.1") -> Criterion:
    return Criterion.objects.select_related("questionnaire").get(criterion_id=code, referential__version=version)
