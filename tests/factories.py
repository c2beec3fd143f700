"""Factories for the test personas."""

from datetime import date

import factory
from allauth.mfa.totp.internal.auth import TOTP
from django.utils import timezone

from mes.comptes.demo import make_ins
from mes.comptes.identifiers import luhn_complete
from mes.comptes.models import (
    Citizen,
    CitizenStatus,
    CommissionMember,
    CommissionSeat,
    Membership,
    Organisation,
    Profession,
    ProfessionalProfile,
    Role,
    Sex,
    User,
    mss_address_for,
)

PASSWORD = "Un-mot-de-passe-de-test-42"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"personne{n}@exemple.fr")
    first_name = "Alice"
    last_name = "Test"
    role = Role.CITIZEN

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])

    @factory.post_generation
    def totp(self, create, extracted, **kwargs):
        """``totp=True`` enrols the user's second factor with ``TOTP_SECRET``."""
        if create and extracted:
            TOTP.activate(self, TOTP_SECRET)


class CitizenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Citizen

    user = factory.SubFactory(UserFactory, role=Role.CITIZEN)
    birth_name = "TEST"
    first_names = "Alice Marie"
    birth_date = date(1980, 5, 17)
    sex = Sex.FEMALE
    birthplace_code = "75056"
    ins = factory.Sequence(
        lambda n: make_ins(sex=Sex.FEMALE, birth=date(1980, 5, 17), department="75", commune="056", order=n % 999 + 1)
    )
    department = "75"
    status = CitizenStatus.ACTIVATED
    activated_at = factory.LazyFunction(timezone.now)
    mss_address = factory.LazyAttribute(lambda citizen: mss_address_for(citizen.ins))


class ProfessionalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProfessionalProfile

    user = factory.SubFactory(UserFactory, role=Role.PROFESSIONAL, first_name="Jean", last_name="Docteur")
    rpps = factory.Sequence(lambda n: luhn_complete(f"1999{n:06d}"))
    profession = Profession.DOCTOR


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Éditeur {n}")
    siret = factory.Sequence(lambda n: luhn_complete(f"9{n:012d}"))


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory, role=Role.EDITOR, totp=True)
    organisation = factory.SubFactory(OrganisationFactory)
    level = Membership.Level.MANAGER


class CommissionMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CommissionMember

    user = factory.SubFactory(UserFactory, role=Role.COMMISSION, totp=True)
    seat = CommissionSeat.EXPERT_MEDICAL
