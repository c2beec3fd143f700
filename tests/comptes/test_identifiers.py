"""INS, RPPS and SIRET validation, with French messages naming the problem."""

import pytest
from django.core.exceptions import ValidationError

from mes.comptes.identifiers import ins_key, luhn_complete, validate_ins, validate_rpps, validate_siret


def test_ins_key_of_the_seed_example():
    # DOMAIN.md §3: "2 77 01 01 154 003 29"
    assert ins_key("2770101154003") == "29"
    assert validate_ins("2 77 01 01 154 003 29") == "277010115400329"


def test_ins_key_for_corsica_replaces_the_letters():
    nir_2a, nir_2b = "171012A004056", "171012B004056"
    assert ins_key(nir_2a) == f"{97 - 1710119004056 % 97:02d}"
    assert ins_key(nir_2b) == f"{97 - 1710118004056 % 97:02d}"
    assert validate_ins(nir_2a + ins_key(nir_2a)) == nir_2a + ins_key(nir_2a)
    assert validate_ins((nir_2b + ins_key(nir_2b)).lower()) == nir_2b + ins_key(nir_2b)


@pytest.mark.parametrize(
    ("value", "code", "words"),
    [
        ("27701011540032", "length", "15 caractères"),
        ("2770101154003299", "length", "15 caractères"),
        ("2770101154003X9", "characters", "chiffres"),
        ("5770101154003", "length", "15"),
        ("277010115400328", "key", "clé"),
        ("277130115400329", "month", "mois"),
        ("277000115400329", "month", "mois"),
        ("977010115400329", "sex", "sexe"),
    ],
)
def test_invalid_ins_gets_a_message_naming_the_problem(value, code, words):
    with pytest.raises(ValidationError) as error:
        validate_ins(value)
    assert error.value.code == code
    assert words in str(error.value.messages[0])


def test_rpps_and_siret_check_digits():
    rpps = luhn_complete("1000000001")
    assert validate_rpps(rpps) == rpps
    with pytest.raises(ValidationError, match="contrôle"):
        validate_rpps(rpps[:-1] + str((int(rpps[-1]) + 1) % 10))
    with pytest.raises(ValidationError, match="11 chiffres"):
        validate_rpps("12345")
    siret = luhn_complete("7328293200007")
    assert validate_siret(f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}") == siret
    with pytest.raises(ValidationError, match="clé"):
        validate_siret(siret[:-1] + str((int(siret[-1]) + 1) % 10))
    # La Poste's establishments: the sum of the digits is a multiple of 5 (and this one fails Luhn).
    assert validate_siret("35600000000010") == "35600000000010"
    with pytest.raises(ValidationError):
        validate_siret("35600000000011")


@pytest.mark.django_db
def test_one_account_per_ins_is_a_database_constraint():
    from django.db import IntegrityError

    from tests.factories import CitizenFactory

    first = CitizenFactory()
    with pytest.raises(IntegrityError):
        CitizenFactory(ins=first.ins)
