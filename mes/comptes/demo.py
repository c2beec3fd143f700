"""A fictional but realistic population for demonstrations and browser tests.

Everything is created with get-or-create on natural keys (e-mail, INS, RPPS, SIRET) and existing rows are never
modified, so running it again changes nothing.
"""

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.db import transaction

from mes.comptes.identifiers import ins_key, luhn_complete
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

DEMO_PASSWORD = "MonEspaceSante-demo-2026"  # noqa: S105 - fictional accounts, printed on purpose
DEMO_DOMAIN = "demo.monespacesante.localhost"
ACTIVATION_DATE = datetime(2022, 2, 3, 9, 30, tzinfo=UTC)


def demo_totp_secret(email: str) -> str:
    """A stable TOTP secret per demo account, so the demo logins can be printed and reused."""
    return base64.b32encode(hashlib.sha256(f"mes-demo-totp:{email}".encode()).digest()[:20]).decode()


def make_ins(*, sex: str, birth: date, department: str, commune: str, order: int) -> str:
    nir = f"{1 if sex == Sex.MALE else 2}{birth:%y}{birth:%m}{department}{commune}{order:03d}"
    return nir + ins_key(nir)


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    totp_secret: str | None


# (first names, birth name, sex, birth date, département, commune, order, e-mail local part or None for a minor)
_CITIZENS = [
    ("Camille Marie", "DURAND", Sex.FEMALE, date(1984, 3, 12), "31", "555", 42, "camille.durand"),
    ("Lucas Pierre", "MARTIN", Sex.MALE, date(1956, 11, 2), "44", "109", 117, "lucas.martin"),
    ("Inès Fatima", "BENALI", Sex.FEMALE, date(1997, 7, 23), "80", "021", 9, "ines.benali"),
    ("Paul Antoine", "ORSINI", Sex.MALE, date(1971, 1, 30), "2A", "004", 56, "paul.orsini"),
]
# Children of Camille Durand (first entry above).
_CHILDREN = [
    ("Léa Anne", "DURAND", Sex.FEMALE, date(2014, 9, 5), "31", "555", 311),
    ("Hugo Jean", "DURAND", Sex.MALE, date(2018, 4, 17), "31", "555", 502),
]
_PROFESSIONALS = [
    (
        "Sophie",
        "LEFEBVRE",
        Profession.DOCTOR,
        "Médecine générale",
        "Cabinet médical des Carmes, Toulouse",
        "sophie.lefebvre",
    ),
    ("Karim", "HADDAD", Profession.DOCTOR, "Cardiologie", "CHU de Nantes", "karim.haddad"),
    ("Julie", "MOREAU", Profession.NURSE, "", "Centre de soins infirmiers, Amiens", "julie.moreau"),
    ("Thomas", "GIRARD", Profession.PHARMACIST, "", "Pharmacie du Capitole, Toulouse", "thomas.girard"),
    ("Nadia", "ROUSSEL", Profession.MIDWIFE, "", "Maternité de Saint-Nazaire", "nadia.roussel"),
]
_ORGANISATIONS = [
    (
        "Santé Connectée SAS",
        "7325184900014",
        [
            ("Claire", "BERNARD", "claire.bernard", Membership.Level.MANAGER),
            ("Marc", "PETIT", "marc.petit", Membership.Level.MEMBER),
        ],
    ),
    ("Mutuelle Numérique Solidaire", "4410269830001", [("Élodie", "FAURE", "elodie.faure", Membership.Level.MANAGER)]),
]
_COMMISSION = [
    ("Hélène", "VIDAL", CommissionSeat.CO_CHAIR_DNS, "helene.vidal"),
    ("Bernard", "LAMBERT", CommissionSeat.CO_CHAIR_CNAM, "bernard.lambert"),
    ("Amandine", "ROUX", CommissionSeat.CITIZEN, "amandine.roux"),
    ("Jean-Michel", "COLIN", CommissionSeat.CITIZEN, "jeanmichel.colin"),
    ("Fabienne", "GARNIER", CommissionSeat.USERS_REPRESENTATIVE, "fabienne.garnier"),
    ("Olivier", "CHEVALIER", CommissionSeat.EXPERT_MEDICAL, "olivier.chevalier"),
    ("Sarah", "LEMAIRE", CommissionSeat.EXPERT_ETHICS, "sarah.lemaire"),
    ("Yann", "LE GALL", CommissionSeat.EXPERT_SECURITY, "yann.legall"),
    ("Agnès", "FONTAINE", CommissionSeat.EXPERT_INDUSTRY, "agnes.fontaine"),
]


def _user(local: str, role: str, first: str, last: str) -> tuple[User, bool]:
    email = f"{local}@{DEMO_DOMAIN}"
    user = User.objects.filter(email=email).first()
    if user:
        return user, False
    user = User.objects.create_user(
        email=email, password=DEMO_PASSWORD, role=role, first_name=first, last_name=last.title()
    )
    if role in (Role.EDITOR, Role.COMMISSION, Role.ADMIN):
        TOTP.activate(user, demo_totp_secret(email))
    return user, True


def _space(ins: str, department: str) -> dict:
    return {
        "department": department,
        "status": CitizenStatus.ACTIVATED,
        "activated_at": ACTIVATION_DATE,
        "mss_address": mss_address_for(ins),
    }


@transaction.atomic
def demo_population_create() -> list[DemoLogin]:
    """Create the demo population (idempotent) and return one login per role."""
    parent_user = None
    for index, (first, last, sex, birth, dept, commune, order, local) in enumerate(_CITIZENS):
        user, _ = _user(local, Role.CITIZEN, first.split(" ")[0], last)
        ins = make_ins(sex=sex, birth=birth, department=dept, commune=commune, order=order)
        Citizen.objects.get_or_create(
            ins=ins,
            defaults={
                "user": user,
                "birth_name": last,
                "first_names": first,
                "birth_date": birth,
                "sex": sex,
                "birthplace_code": f"{dept}{commune}",
                "contact_email": user.email,
                **_space(ins, dept),
            },
        )
        if index == 0:
            parent_user = user
    for first, last, sex, birth, dept, commune, order in _CHILDREN:
        ins = make_ins(sex=sex, birth=birth, department=dept, commune=commune, order=order)
        child, created = Citizen.objects.get_or_create(
            ins=ins,
            defaults={
                "birth_name": last,
                "first_names": first,
                "birth_date": birth,
                "sex": sex,
                "birthplace_code": f"{dept}{commune}",
                **_space(ins, dept),
            },
        )
        if created:
            child.legal_representatives.add(parent_user)
    for index, (first, last, profession, specialty, place, local) in enumerate(_PROFESSIONALS):
        user, created = _user(local, Role.PROFESSIONAL, first, last)
        if created:
            ProfessionalProfile.objects.create(
                user=user,
                rpps=luhn_complete(f"1000{index + 1:06d}"),
                profession=profession,
                specialty=specialty,
                practice_place=place,
            )
    for name, siren_nic, members in _ORGANISATIONS:
        organisation, _ = Organisation.objects.get_or_create(siret=luhn_complete(siren_nic), defaults={"name": name})
        for first, last, local, level in members:
            user, created = _user(local, Role.EDITOR, first, last)
            if created:
                Membership.objects.create(user=user, organisation=organisation, level=level)
    for first, last, seat, local in _COMMISSION:
        user, created = _user(local, Role.COMMISSION, first, last)
        if created:
            CommissionMember.objects.create(user=user, seat=seat)
    _user("admin", Role.ADMIN, "Alex", "ADMINISTRATEUR")
    return demo_logins()


def demo_logins() -> list[DemoLogin]:
    picks = [
        (Role.CITIZEN, "camille.durand"),
        (Role.PROFESSIONAL, "sophie.lefebvre"),
        (Role.EDITOR, "claire.bernard"),
        (Role.COMMISSION, "amandine.roux"),
        (Role.ADMIN, "admin"),
    ]
    logins = []
    for role, local in picks:
        email = f"{local}@{DEMO_DOMAIN}"
        has_totp = Authenticator.objects.filter(user__email=email, type=Authenticator.Type.TOTP).exists()
        logins.append(DemoLogin(role, email, DEMO_PASSWORD, demo_totp_secret(email) if has_totp else None))
    return logins
