"""Fixtures of the dossier's tests: the accesses of the personas, and a minor child managed by the citizen."""

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from mes.acces.policy import citizen_access
from tests.factories import CitizenFactory


@pytest.fixture
def access(citizen):
    """The citizen in their own space."""
    return citizen_access(citizen.user, citizen)


@pytest.fixture
def other_access(other_citizen):
    return citizen_access(other_citizen.user, other_citizen)


@pytest.fixture
def child(citizen):
    """Léa, 8, whose legal representative is the citizen."""
    lea = CitizenFactory(
        user=None, first_names="Léa Anne", birth_name="DURAND", birth_date=timezone.localdate() - relativedelta(years=8)
    )
    lea.legal_representatives.add(citizen.user)
    return lea


@pytest.fixture
def child_access(citizen, child):
    return citizen_access(citizen.user, child)
