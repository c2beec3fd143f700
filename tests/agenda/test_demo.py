"""The demo citizen's agenda, created by ``manage.py demo`` through the real services."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from agenda import selectors
from agenda.models import Event, PreventionDate, Task
from mes.acces.policy import citizen_access
from mes.comptes.demo import DEMO_DOMAIN
from mes.comptes.models import Citizen

pytestmark = pytest.mark.django_db


def test_demo_fills_camilles_agenda_once_with_upcoming_appointments():
    call_command("demo", stdout=StringIO())
    counts = [model.objects.count() for model in (Event, Task, PreventionDate)]
    call_command("demo", stdout=StringIO())
    assert [model.objects.count() for model in (Event, Task, PreventionDate)] == counts
    camille = Citizen.objects.get(user__email=f"camille.durand@{DEMO_DOMAIN}")
    access = citizen_access(camille.user, camille)
    upcoming = selectors.upcoming(access)
    titles = {occurrence.event.title for occurrence in upcoming}
    assert {"Consultation de suivi", "Bilan sanguin à jeun", "Séance de kinésithérapie"} <= titles
    # The weekly series shows each of its coming dates; the past dental appointment is not « à venir ».
    assert sum(occurrence.event.title == "Séance de kinésithérapie" for occurrence in upcoming) >= 9
    assert "Consultation dentaire" not in titles
    assert all(occurrence.end > timezone.now() - timedelta(minutes=1) for occurrence in upcoming)
    assert selectors.tasks(access, done=False).count() == 2
    assert selectors.tasks(access, done=True).count() == 1
    assert PreventionDate.objects.filter(citizen=camille).exists()
