"""What the tests of the citizen's space pages share: a notified person holding a known letter code."""

import re
from datetime import date, timedelta

from django.utils import timezone

from mes.comptes.codes import code_hash
from mes.comptes.demo import make_ins
from mes.comptes.models import CitizenStatus, Sex
from tests.factories import CitizenFactory

CODE = "AB12CD34EF"
WRONG_CODE = "ZZ99ZZ99ZZ"
GENERIC_ERROR = "Ces informations ne correspondent pas à un courrier en cours de validité"
# Words that would betray health content in an e-mail.
HEALTH_WORDS = ("document", "ordonnance", "diagnostic", "traitement", "résultat", "médical", "analyse")


def notified_citizen(**overrides):
    """A person notified by a campaign, without an account, holding the code ``CODE``."""
    now = timezone.now()
    fields = {
        "user": None,
        "status": CitizenStatus.NOTIFIED,
        "activated_at": None,
        "mss_address": "",
        "notified_at": now - timedelta(days=3),
        "deadline": now + timedelta(days=37),
        "code_hash": code_hash(CODE),
        "contact_email": "camille.durand@exemple.fr",
        "first_names": "Camille Hélène",
        "birth_name": "DURAND",
        **overrides,
    }
    # Keep the row consistent with the database's lifecycle constraints whatever state a test asks for.
    if fields["status"] in (CitizenStatus.ACTIVATED, CitizenStatus.CREATED_AUTOMATICALLY) and not fields["mss_address"]:
        fields["mss_address"] = "pour-les-tests@patient.mssante.fr"
    if fields["status"] == CitizenStatus.CLOSED:
        fields.setdefault("closed_at", now - timedelta(days=1))
    return CitizenFactory(**fields)


def unknown_ins() -> str:
    return make_ins(sex=Sex.MALE, birth=date(1961, 2, 3), department="80", commune="021", order=998)


def by_ins(citizen, code=CODE) -> dict:
    return {"ins": citizen.ins, "code": code}


def by_traits(citizen, code=CODE, **overrides) -> dict:
    return {
        "birth_name": citizen.birth_name,
        "first_name": citizen.first_names.split(" ")[0],
        "birth_date": citizen.birth_date.isoformat(),
        "birthplace_code": citizen.birthplace_code,
        "code": code,
        **overrides,
    }


_VALUES = re.compile(rb' value="[^"]*"')


def without_echoed_values(response) -> bytes:
    """The page without the values of its inputs (the CSRF token and what the person typed)."""
    return _VALUES.sub(b"", response.content)
