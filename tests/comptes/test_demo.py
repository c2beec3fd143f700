"""`manage.py demo`: a realistic population, created once; running it again changes nothing."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from mes.comptes.demo import PILOT_PEOPLE, PILOT_WAVE_NAME
from mes.comptes.identifiers import validate_ins, validate_rpps, validate_siret
from mes.comptes.models import Citizen, CommissionMember, Organisation, ProfessionalProfile, Role, User, Wave
from mes.comptes.selectors.stats import campaign_tables, campaign_timeline

TABLES = [
    "comptes_user",
    "comptes_citizen",
    "comptes_citizen_legal_representatives",
    "comptes_professionalprofile",
    "comptes_organisation",
    "comptes_membership",
    "comptes_commissionmember",
    "comptes_wave",
    "mfa_authenticator",
]


def _snapshot() -> dict:
    with connection.cursor() as cursor:
        snapshot = {}
        for table in TABLES:
            cursor.execute(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t")  # noqa: S608
            snapshot[table] = cursor.fetchone()[0]
        return snapshot


@pytest.mark.django_db
def test_demo_population_is_valid_and_idempotent():
    out = StringIO()
    call_command("demo", stdout=out)
    first = _snapshot()
    call_command("demo", stdout=StringIO())
    assert _snapshot() == first

    for role in Role.values:
        assert User.objects.filter(role=role).exists()
        assert "@demo.monespacesante.localhost" in out.getvalue()
    for citizen in Citizen.objects.all():
        validate_ins(citizen.ins)
    children = Citizen.objects.filter(user__isnull=True, wave__isnull=True)  # the pilot wave's people have no account
    assert children.count() >= 2
    assert all(child.legal_representatives.exists() for child in children)
    assert ProfessionalProfile.objects.values("profession").distinct().count() >= 3
    for profile in ProfessionalProfile.objects.all():
        validate_rpps(profile.rpps)
    assert Organisation.objects.count() == 2
    for organisation in Organisation.objects.all():
        validate_siret(organisation.siret)
        assert organisation.memberships.exists()
    assert CommissionMember.objects.count() >= 7
    assert "clé TOTP" in out.getvalue()


@pytest.mark.django_db
def test_demo_pilot_wave_shows_the_pilot_figures():
    call_command("demo", stdout=StringIO())
    wave = Wave.objects.get(name=PILOT_WAVE_NAME)
    assert wave.departments == ["31", "44", "80"]
    tables = campaign_tables()
    (pilot,) = [row for row in tables.waves if row.label == PILOT_WAVE_NAME]
    assert pilot.notified == PILOT_PEOPLE >= 2_000
    assert (pilot.activation_rate, pilot.opposition_rate) == (Decimal("3.63"), Decimal("0.41"))
    assert pilot.auto_created and pilot.pending  # one département past its deadline, one still within
    assert {row.key for row in tables.departments} >= {"31", "44", "80"}
    for citizen in Citizen.objects.filter(wave=wave).order_by("?")[:500]:
        validate_ins(citizen.ins)
        assert citizen.notified_at and citizen.deadline > citizen.notified_at
    assert len(campaign_timeline().points) > 10
