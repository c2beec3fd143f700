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
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

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
    Wave,
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
                # The cardiologist of the CHU also works in its emergency department.
                emergency_role=local == "karim.haddad",
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
    _care_team_create()
    pilot_wave_create()
    return demo_logins()


def _care_team_create() -> None:
    """Camille Durand's médecin traitant (Dr Lefebvre), also her children's, and her pharmacist in her care team."""
    from mes.acces.models import CareTeamMember

    camille = Citizen.objects.filter(user__email=f"camille.durand@{DEMO_DOMAIN}").first()
    if camille is None:
        return
    spaces = [camille, *Citizen.objects.filter(legal_representatives=camille.user)]
    team = [("sophie.lefebvre", True), ("thomas.girard", False)]
    for space in spaces:
        for local, treating in team:
            user = User.objects.filter(email=f"{local}@{DEMO_DOMAIN}").first()
            if user is not None and not CareTeamMember.objects.filter(citizen=space, professional=user).exists():
                CareTeamMember.objects.create(
                    citizen=space, professional=user, is_treating_doctor=treating, added_by=camille.user
                )


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


# --- The pilot wave: fictional notified people, so that the statistics page has something to show ---

PILOT_WAVE_NAME = "Vague pilote"
PILOT_DEPARTMENTS = ("31", "44", "80")
PILOT_PEOPLE = 10_000
# The pilot's figures (DOMAIN.md §4): 3.63 % activated, 0.41 % opposed, exactly, out of PILOT_PEOPLE.
PILOT_ACTIVATED = 363
PILOT_OPPOSED = 41
# Days between the first letters of each département and today: the first two have passed their deadline
# (their silent people are created automatically), the last one is still within it (pending).
PILOT_STARTS_DAYS_AGO = {"31": 75, "44": 55, "80": 25}

# One statement for the whole wave. Person n (0-based) lives in département n % 3; a multiplication by 7919 (prime
# to 10,000) permutes 0..9,999, so "activated" and "opposed" get exactly their share, spread over the départements.
# Matricules INS: communes 700-733 and orders 001-100, which no other demo person uses; the key is computed here.
_PILOT_SQL = """
WITH people AS (
    SELECT n, n / 3 AS k, (%(departments)s::text[])[1 + n %% 3] AS dept,
           (n * 7919) %% %(people)s AS draw,
           (%(starts)s::int[])[1 + n %% 3] AS start_days_ago
    FROM generate_series(0, %(people)s - 1) n
),
identities AS (
    SELECT p.*,
           (1 + n %% 2)::text || lpad((40 + n %% 60)::text, 2, '0') || lpad((1 + n %% 12)::text, 2, '0') || dept
             || lpad((700 + k / 100)::text, 3, '0') || lpad((1 + k %% 100)::text, 3, '0') AS nir,
           %(today)s::timestamptz - make_interval(days => start_days_ago - (k %% 5)) + interval '9 hours' AS notified_at
    FROM people p
),
lifecycle AS (
    SELECT i.*,
           i.nir || comptes_ins_key(i.nir) AS ins,
           notified_at + make_interval(months => %(months)s, days => %(days)s) AS deadline,
           -- Most people answer in the first days: a quadratic spread over 0-18 days.
           notified_at + make_interval(days => ((n * 37) %% 20) * ((n * 37) %% 20) / 20, hours => (n %% 9))
             AS answered_at,
           CASE WHEN draw < %(activated)s THEN 'activated'
                WHEN draw < %(activated)s + %(opposed)s THEN 'opposed'
                WHEN notified_at + make_interval(months => %(months)s, days => %(days)s) <= %(today)s::timestamptz
                THEN 'created_automatically'
                ELSE 'notified' END AS status
    FROM identities i
)
INSERT INTO comptes_citizen (
    public_id, user_id, ins, birth_name, first_names, used_first_name, birth_date, sex, birthplace_code,
    contact_email, contact_phone, status, department, wave_id, notification_channel, notified_at, deadline,
    activated_at, opposed_at, auto_created_at, closed_at, closure_reason, content_deletion_due_at,
    content_deleted_at, mss_address, code_hash, code_expires_at, code_failures
)
SELECT md5('mes-demo-pilote-' || n)::uuid, NULL,
       ins,
       (ARRAY['MARTIN','BERNARD','THOMAS','PETIT','ROBERT','RICHARD','DUBOIS','MOREAU','LAURENT','SIMON',
              'MICHEL','GARCIA','DAVID','BERTRAND','ROUX','VINCENT','FOURNIER','MOREL','GIRARD','ANDRE'])[1 + n %% 20],
       CASE WHEN n %% 2 = 0
            THEN (ARRAY['Jean','Michel','Pierre','Nicolas','Thomas','Karim','Louis','Yannick'])[1 + n / 2 %% 8]
            ELSE (ARRAY['Marie','Nathalie','Isabelle','Sandrine','Aïcha','Sophie','Julie','Maëlle'])[1 + n / 2 %% 8]
       END,
       '',
       make_date(1940 + n %% 60, 1 + n %% 12, 1 + n %% 28),
       CASE WHEN n %% 2 = 0 THEN 'M' ELSE 'F' END,
       dept || lpad((700 + k / 100)::text, 3, '0'),
       CASE WHEN n %% 10 < 6 THEN 'pilote' || n || '@' || %(domain)s ELSE '' END, '',
       status, dept, %(wave)s,
       CASE WHEN n %% 10 < 6 THEN 'email' ELSE 'letter' END,
       notified_at, deadline,
       CASE WHEN status = 'activated' THEN answered_at END,
       CASE WHEN status = 'opposed' THEN answered_at END,
       CASE WHEN status = 'created_automatically' THEN deadline END,
       NULL, '', NULL, NULL,
       CASE WHEN status IN ('activated', 'created_automatically')
            THEN ins || '@' || %(mss_domain)s ELSE '' END,
       '', NULL, 0
FROM lifecycle
ON CONFLICT (ins) DO NOTHING
"""


def pilot_wave_create() -> Wave:
    """The « Vague pilote » over départements 31, 44 and 80, with its people, created once (one INSERT)."""
    existing = Wave.objects.filter(name=PILOT_WAVE_NAME).first()
    if existing is not None:
        return existing
    today = timezone.localdate()
    wave = Wave.objects.create(
        name=PILOT_WAVE_NAME,
        departments=list(PILOT_DEPARTMENTS),
        status=Wave.Status.NOTIFIED,
        source_filename="pilote-31-44-80.csv",
        total_lines=PILOT_PEOPLE,
        processed_lines=PILOT_PEOPLE,
        imported_count=PILOT_PEOPLE,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _PILOT_SQL,
            {
                "departments": list(PILOT_DEPARTMENTS),
                "starts": [PILOT_STARTS_DAYS_AGO[d] for d in PILOT_DEPARTMENTS],
                "people": PILOT_PEOPLE,
                "activated": PILOT_ACTIVATED,
                "opposed": PILOT_OPPOSED,
                "today": timezone.make_aware(datetime.combine(today, datetime.min.time())),
                "months": settings.OPTOUT_DELAY_MONTHS,
                "days": settings.OPTOUT_DELAY_DAYS,
                "domain": DEMO_DOMAIN,
                "mss_domain": settings.MSS_PATIENT_DOMAIN,
                "wave": wave.pk,
            },
        )
    bounds = Citizen.objects.filter(wave=wave).aggregate(first=Min("notified_at"), last=Max("deadline"))
    wave.notified_at, wave.deadline = bounds["first"], bounds["last"]
    wave.save(update_fields=["notified_at", "deadline"])
    return wave
