"""The access policy for a citizen's space: the person, a parent for a minor child, nobody else; fails closed."""

from dateutil.relativedelta import relativedelta
from django.utils import timezone

from mes.acces.policy import ACCESS_CITIZEN, ACCESS_REPRESENTATIVE, citizen_access
from mes.comptes.models import CitizenStatus
from tests.factories import CitizenFactory


def test_the_person_has_full_access_to_their_own_space(citizen):
    access = citizen_access(citizen.user, citizen)
    assert access.kind == ACCESS_CITIZEN and access.is_citizen_side
    assert access.may_write and access.sees_hidden_documents
    assert access.citizen == citizen and access.actor == citizen.user


def test_another_citizen_gets_nothing(citizen, other_citizen):
    assert citizen_access(other_citizen.user, citizen) is None


def test_other_roles_and_visitors_get_nothing(citizen, professional, editor, administrator):
    from django.contrib.auth.models import AnonymousUser

    for actor in (professional.user, editor, administrator, AnonymousUser(), None):
        assert citizen_access(actor, citizen) is None


def test_a_parent_acts_for_a_minor_child_until_majority(citizen):
    child = CitizenFactory(user=None, birth_date=timezone.localdate() - relativedelta(years=8))
    child.legal_representatives.add(citizen.user)
    access = citizen_access(citizen.user, child)
    assert access.kind == ACCESS_REPRESENTATIVE and access.may_write

    child.birth_date = timezone.localdate() - relativedelta(years=18)
    child.save(update_fields=["birth_date"])
    assert citizen_access(citizen.user, child) is None


def test_a_space_that_does_not_exist_gives_no_access(citizen):
    for status in (CitizenStatus.OPPOSED, CitizenStatus.CLOSED, CitizenStatus.NOTIFIED):
        citizen.status = status
        assert citizen_access(citizen.user, citizen) is None
    assert citizen_access(citizen.user, None) is None


def test_an_inactive_account_gets_nothing(citizen):
    citizen.user.is_active = False
    assert citizen_access(citizen.user, citizen) is None
