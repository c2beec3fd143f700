"""National identifiers: matricule INS (NIR + key), RPPS and SIRET, with their check digits.

Each validator raises a ``ValidationError`` whose French message names the problem, and each normaliser
returns the compact form stored in the database.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_SPACES = re.compile(r"[\s.\-]")


def normalize_ins(value: str) -> str:
    return _SPACES.sub("", value or "").upper()


def _nir_as_number(nir: str) -> int:
    # Corsica: the département letters are replaced before the modulo (2A → 19, 2B → 18).
    digits = nir.replace("2A", "19", 1) if nir[5:7] == "2A" else nir
    digits = digits.replace("2B", "18", 1) if nir[5:7] == "2B" else digits
    return int(digits)


def ins_key(nir: str) -> str:
    """The two-digit key of a 13-character NIR: 97 − (NIR mod 97)."""
    return f"{97 - _nir_as_number(nir) % 97:02d}"


def validate_ins(value: str) -> str:
    """Validate a matricule INS (15 characters) and return its compact form."""
    ins = normalize_ins(value)
    if len(ins) != 15:
        raise ValidationError(
            _("Le matricule INS doit comporter 15 caractères (13 pour le NIR et 2 pour la clé), %(n)s reçus."),
            code="length",
            params={"n": len(ins)},
        )
    nir, key = ins[:13], ins[13:]
    if not re.fullmatch(r"[0-9]{5}(?:[0-9]{2}|2A|2B)[0-9]{6}", nir) or not key.isdigit():
        raise ValidationError(
            _("Le matricule INS ne contient que des chiffres (et 2A ou 2B pour un département de Corse)."),
            code="characters",
        )
    if nir[0] not in "123478":
        raise ValidationError(_("Le premier chiffre du matricule INS (le sexe) doit valoir 1 ou 2."), code="sex")
    month = int(nir[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99):
        raise ValidationError(
            _("Le mois de naissance du matricule INS (%(month)s) est impossible."),
            code="month",
            params={"month": nir[3:5]},
        )
    if ins_key(nir) != key:
        raise ValidationError(_("La clé du matricule INS est fausse : vérifiez les 15 caractères saisis."), code="key")
    return ins


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        number = int(char)
        if position % 2 == 1:
            number *= 2
            if number > 9:
                number -= 9
        total += number
    return total % 10 == 0


def validate_rpps(value: str) -> str:
    """RPPS number: 11 digits whose last one is a Luhn check digit."""
    rpps = _SPACES.sub("", value or "")
    if not re.fullmatch(r"[0-9]{11}", rpps):
        raise ValidationError(_("Le numéro RPPS comporte exactement 11 chiffres."), code="format")
    if not _luhn_ok(rpps):
        raise ValidationError(_("Le numéro RPPS est invalide (chiffre de contrôle faux)."), code="key")
    return rpps


def validate_siret(value: str) -> str:
    """SIRET: 14 digits, Luhn checked (La Poste's establishments use a sum modulo 5 instead)."""
    siret = _SPACES.sub("", value or "")
    if not re.fullmatch(r"[0-9]{14}", siret):
        raise ValidationError(_("Le numéro SIRET comporte exactement 14 chiffres."), code="format")
    valid = sum(int(c) for c in siret) % 5 == 0 if siret.startswith("356000000") else _luhn_ok(siret)
    if not valid:
        raise ValidationError(_("Le numéro SIRET est invalide (clé de contrôle fausse)."), code="key")
    return siret


def luhn_complete(prefix: str) -> str:
    """Append the Luhn check digit to ``prefix`` (used to build demo RPPS and SIRET numbers)."""
    for digit in "0123456789":
        if _luhn_ok(prefix + digit):
            return prefix + digit
    raise AssertionError("unreachable")
