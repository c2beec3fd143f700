"""The demo citizen's dossier and care team, created by ``manage.py demo`` through the real services."""

from io import StringIO

import pytest
from django.core.management import call_command

from dossier.models import Document, Immunization, Measure, MeasureKind, ProfileEntry
from mes.acces.models import CareTeamMember
from mes.acces.policy import ACCESS_TREATING_DOCTOR, citizen_access
from mes.comptes.demo import DEMO_DOMAIN
from mes.comptes.models import Citizen, User

pytestmark = pytest.mark.django_db


def test_demo_fills_camilles_dossier_once():
    call_command("demo", stdout=StringIO())
    counts = [model.objects.count() for model in (Document, Measure, ProfileEntry, Immunization, CareTeamMember)]
    call_command("demo", stdout=StringIO())
    assert [model.objects.count() for model in (Document, Measure, ProfileEntry, Immunization, CareTeamMember)] == (
        counts
    )
    camille = Citizen.objects.get(user__email=f"camille.durand@{DEMO_DOMAIN}")
    doctor = User.objects.get(email=f"sophie.lefebvre@{DEMO_DOMAIN}")
    assert citizen_access(doctor, camille).kind == ACCESS_TREATING_DOCTOR
    documents = Document.objects.filter(citizen=camille)
    assert documents.filter(author_user=doctor).count() == 3
    assert documents.filter(hidden_from_professionals=True).count() == 1
    # The BMI was computed by the space from the weights and the height, never entered.
    assert Measure.objects.filter(citizen=camille, kind=MeasureKind.BMI).exists()
    assert Immunization.objects.filter(citizen=camille).count() == 2
