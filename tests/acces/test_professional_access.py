"""The policy and the services of professionals' access: care team, temporary codes, blocks, emergency access."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from mes.acces.models import AccessDelegation, CodeEntryGuard, EmergencyAccess, JournalEntry, Scope
from mes.acces.policy import (
    ACCESS_CARE_TEAM,
    ACCESS_DELEGATION,
    ACCESS_EMERGENCY,
    ACCESS_TREATING_DOCTOR,
    ALL_SCOPES,
    citizen_access,
)
from mes.acces.services.care_team import (
    care_team_add,
    care_team_remove,
    emergency_preference_set,
    professional_block,
    professional_find,
    professional_unblock,
)
from mes.acces.services.delegations import CodeRefused, delegation_create, delegation_end, delegation_redeem
from mes.acces.services.emergency import EmergencyRefused, emergency_access_open, emergency_citizen_find
from mes.comptes.models import Notification, Profession
from tests.factories import ProfessionalFactory


@pytest.fixture
def own(citizen):
    return citizen_access(citizen.user, citizen)


@pytest.fixture
def doctor(db):
    return ProfessionalFactory(user__first_name="Sophie", user__last_name="Lefebvre").user


@pytest.fixture
def pharmacist(db):
    return ProfessionalFactory(profession=Profession.PHARMACIST, user__first_name="Thomas").user


@pytest.fixture
def urgentist(db):
    return ProfessionalFactory(emergency_role=True, user__first_name="Karim").user


def test_a_professional_without_link_gets_nothing(citizen, doctor):
    assert citizen_access(doctor, citizen) is None


def test_the_treating_doctor_sees_hidden_documents_the_care_team_does_not(own, citizen, doctor, pharmacist):
    care_team_add(access=own, professional=doctor, treating_doctor=True)
    care_team_add(access=own, professional=pharmacist)
    treating, member = citizen_access(doctor, citizen), citizen_access(pharmacist, citizen)
    assert (treating.kind, treating.sees_hidden_documents, treating.document_categories) == (
        ACCESS_TREATING_DOCTOR,
        True,
        None,
    )
    assert (member.kind, member.sees_hidden_documents) == (ACCESS_CARE_TEAM, False)
    assert member.read_scopes == ALL_SCOPES and member.write_scopes == {Scope.DOCUMENTS}
    # The matrix of the profession: a pharmacist sees no imaging.
    assert "imagerie" not in member.document_categories and "ordonnances_soins" in member.document_categories
    assert not member.is_citizen_side and member.is_professional


def test_only_a_doctor_is_treating_doctor_and_only_one(own, citizen, doctor, pharmacist):
    with pytest.raises(ValidationError):
        care_team_add(access=own, professional=pharmacist, treating_doctor=True)
    other_doctor = ProfessionalFactory().user
    care_team_add(access=own, professional=doctor, treating_doctor=True)
    care_team_add(access=own, professional=other_doctor, treating_doctor=True)
    assert citizen_access(doctor, citizen).kind == ACCESS_CARE_TEAM
    assert citizen_access(other_doctor, citizen).kind == ACCESS_TREATING_DOCTOR


def test_professional_find_by_rpps(doctor):
    assert professional_find(doctor.professional.rpps) == doctor
    assert professional_find("00000000000") is None


def test_care_team_is_managed_from_the_citizen_side_only(own, citizen, doctor, other_citizen):
    member = care_team_add(access=own, professional=doctor)
    with pytest.raises(PermissionDenied):
        care_team_add(access=citizen_access(doctor, citizen), professional=ProfessionalFactory().user)
    with pytest.raises(PermissionDenied):
        care_team_remove(access=citizen_access(other_citizen.user, other_citizen), member=member)
    care_team_remove(access=own, member=member)
    assert citizen_access(doctor, citizen) is None


def test_a_code_gives_its_scopes_to_the_first_professional_until_its_end(own, citizen, doctor):
    now = timezone.now()
    delegation, code = delegation_create(
        access=own, scopes=[Scope.MEASURES, Scope.DOCUMENTS], duration=timedelta(hours=4), now=now
    )
    assert len(code) == 10 and code not in delegation.code_hash
    assert delegation.scopes == [Scope.DOCUMENTS, Scope.MEASURES]
    redeemed = delegation_redeem(professional=doctor, code=f" {code[:5].lower()}-{code[5:]} ", now=now)
    assert redeemed.pk == delegation.pk
    access = citizen_access(doctor, citizen, now=now + timedelta(hours=3, minutes=59))
    assert access.kind == ACCESS_DELEGATION and access.read_scopes == {Scope.DOCUMENTS, Scope.MEASURES}
    assert not access.sees_hidden_documents and access.until == delegation.expires_at
    # Exactly at its end, the access is over.
    assert citizen_access(doctor, citizen, now=delegation.expires_at) is None


def test_a_code_is_single_use_and_notifies_once(own, citizen, doctor):
    _delegation, code = delegation_create(access=own, scopes=[Scope.PROFILE], duration=timedelta(hours=1))
    delegation_redeem(professional=doctor, code=code)
    assert Notification.objects.filter(user=citizen.user).count() == 1
    another = ProfessionalFactory().user
    with pytest.raises(CodeRefused):
        delegation_redeem(professional=another, code=code)
    with pytest.raises(CodeRefused):
        delegation_redeem(professional=doctor, code=code)
    assert Notification.objects.filter(user=citizen.user).count() == 1
    assert citizen_access(another, citizen) is None
    assert JournalEntry.objects.filter(action="acces.code.utilise", citizen=citizen).count() == 1


def test_the_use_is_e_mailed_after_commit(own, citizen, doctor, django_capture_on_commit_callbacks):
    _delegation, code = delegation_create(access=own, scopes=[Scope.PROFILE], duration=timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        delegation_redeem(professional=doctor, code=code)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [citizen.user.email]
    assert "code d’accès" in mail.outbox[0].body


def test_an_expired_unused_code_is_refused(own, doctor):
    now = timezone.now()
    _delegation, code = delegation_create(access=own, scopes=[Scope.PROFILE], duration=timedelta(hours=1), now=now)
    with pytest.raises(CodeRefused):
        delegation_redeem(professional=doctor, code=code, now=now + timedelta(hours=1))


def test_five_wrong_codes_lock_entry_for_fifteen_minutes(own, citizen, doctor):
    now = timezone.now()
    _delegation, code = delegation_create(access=own, scopes=[Scope.PROFILE], duration=timedelta(days=1), now=now)
    for attempt in range(5):
        with pytest.raises(CodeRefused) as refused:
            delegation_redeem(professional=doctor, code="ABCDE-FGHJK", now=now)
        assert (refused.value.locked_until is not None) == (attempt == 4)
    # Locked: even the right code is refused, and nothing is used.
    with pytest.raises(CodeRefused) as refused:
        delegation_redeem(professional=doctor, code=code, now=now + timedelta(minutes=14, seconds=59))
    assert "bloquée" in refused.value.message
    assert AccessDelegation.objects.get(code_hash__isnull=False).used_at is None
    # After the lock, the right code works and the count starts again.
    delegation_redeem(professional=doctor, code=code, now=now + timedelta(minutes=15))
    assert CodeEntryGuard.objects.get(professional=doctor).consecutive_failures == 0
    # Another professional was never locked.
    assert not CodeEntryGuard.objects.filter(locked_until__isnull=False).exclude(professional=doctor).exists()


def test_a_right_code_resets_the_count_of_wrong_ones(own, doctor):
    for _attempt in range(4):
        with pytest.raises(CodeRefused):
            delegation_redeem(professional=doctor, code="ZZZZZZZZZZ")
    _delegation, code = delegation_create(access=own, scopes=[Scope.PROFILE], duration=timedelta(hours=1))
    delegation_redeem(professional=doctor, code=code)
    with pytest.raises(CodeRefused) as refused:
        delegation_redeem(professional=doctor, code="ZZZZZZZZZZ")
    assert refused.value.locked_until is None


def test_ending_a_delegation_takes_effect_at_once(own, citizen, doctor, other_citizen):
    delegation, code = delegation_create(access=own, scopes=[Scope.DOCUMENTS], duration=timedelta(days=2))
    delegation_redeem(professional=doctor, code=code)
    with pytest.raises(PermissionDenied):
        delegation_end(access=citizen_access(other_citizen.user, other_citizen), delegation=delegation)
    delegation_end(access=own, delegation=delegation)
    assert citizen_access(doctor, citizen) is None


def test_delegation_inputs_are_checked(own):
    with pytest.raises(ValidationError):
        delegation_create(access=own, scopes=[], duration=timedelta(hours=1))
    with pytest.raises(ValidationError):
        delegation_create(access=own, scopes=["agenda"], duration=timedelta(hours=1))
    with pytest.raises(ValidationError):
        delegation_create(access=own, scopes=[Scope.PROFILE], duration=timedelta(minutes=30))
    with pytest.raises(ValidationError):
        delegation_create(access=own, scopes=[Scope.PROFILE], duration=timedelta(days=31))
    assert not AccessDelegation.objects.exists()


def test_a_blocked_professional_sees_nothing_with_care_team_code_or_emergency(own, citizen, urgentist):
    care_team_add(access=own, professional=urgentist)
    _delegation, code = delegation_create(access=own, scopes=list(Scope.values), duration=timedelta(days=1))
    delegation_redeem(professional=urgentist, code=code)
    emergency_access_open(professional=urgentist, citizen=citizen, reason="Malaise sur la voie publique")
    block = professional_block(access=own, professional=urgentist)
    assert citizen_access(urgentist, citizen) is None
    assert not AccessDelegation.objects.filter(ended_at__isnull=True).exists()
    assert not EmergencyAccess.objects.filter(ended_at__isnull=True).exists()
    with pytest.raises(EmergencyRefused):
        emergency_access_open(professional=urgentist, citizen=citizen, reason="Malaise sur la voie publique")
    _delegation, code = delegation_create(access=own, scopes=[Scope.PROFILE], duration=timedelta(days=1))
    with pytest.raises(CodeRefused):
        delegation_redeem(professional=urgentist, code=code)
    with pytest.raises(ValidationError):
        care_team_add(access=own, professional=urgentist)
    professional_unblock(access=own, block=block)
    assert citizen_access(urgentist, citizen).kind == ACCESS_CARE_TEAM


def test_emergency_access_needs_the_role_and_a_reason_and_lasts_24_hours(citizen, doctor, urgentist):
    with pytest.raises(PermissionDenied):
        emergency_access_open(professional=doctor, citizen=citizen, reason="Arrêt cardiaque au domicile")
    with pytest.raises(ValidationError):
        emergency_access_open(professional=urgentist, citizen=citizen, reason="urgence")
    now = timezone.now()
    emergency = emergency_access_open(
        professional=urgentist, citizen=citizen, reason="Arrêt cardiaque au domicile", now=now
    )
    assert emergency.expires_at == now + timedelta(hours=24)
    access = citizen_access(urgentist, citizen, now=now + timedelta(hours=23))
    assert access.kind == ACCESS_EMERGENCY and not access.sees_hidden_documents
    assert citizen_access(urgentist, citizen, now=now + timedelta(hours=24)) is None
    notification = Notification.objects.get(user=citizen.user)
    assert "Arrêt cardiaque au domicile" in notification.body
    entry = JournalEntry.objects.get(action="acces.urgence.ouvert")
    assert entry.details["motif"] == "Arrêt cardiaque au domicile" and entry.actor == urgentist


def test_a_citizen_may_refuse_emergency_access(own, citizen, urgentist):
    emergency_access_open(professional=urgentist, citizen=citizen, reason="Accident de la route, inconscient")
    emergency_preference_set(access=own, refused=True)
    citizen.refresh_from_db()
    assert citizen.emergency_access_refused
    assert citizen_access(urgentist, citizen) is None
    with pytest.raises(EmergencyRefused):
        emergency_access_open(professional=urgentist, citizen=citizen, reason="Accident de la route, inconscient")


def test_emergency_finds_the_space_by_ins_and_birth_date_only(citizen, other_citizen):
    assert emergency_citizen_find(ins=citizen.ins, birth_date=citizen.birth_date) == citizen
    assert emergency_citizen_find(ins=citizen.ins, birth_date=citizen.birth_date - timedelta(days=1)) is None
