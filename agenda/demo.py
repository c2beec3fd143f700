"""The agenda of the demo citizen: what someone who follows their care in the space would have planned.

Everything goes through the services (validation, journal rows), dated from today so that the demo always shows
upcoming appointments. Nothing is added to an agenda that already has items, so running the demo again changes
nothing.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from agenda.models import Event, EventKind, Task
from agenda.services import event_create, task_create, task_set_done
from agenda.services.prevention import prevention_dates_refresh_citizen
from mes.acces.policy import citizen_access
from mes.comptes.models import Citizen

PARIS = ZoneInfo("Europe/Paris")


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)


def _next_weekday(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7 or 7)


def agenda_demo_create(*, citizen: Citizen, doctor_name: str, today: date | None = None) -> None:
    """Fill ``citizen``'s agenda (appointments, a series, a hospitalisation, tasks) unless it has items already."""
    if Event.objects.filter(citizen=citizen).exists() or Task.objects.filter(citizen=citizen).exists():
        return
    access = citizen_access(citizen.user, citizen)
    today = today or timezone.localdate()
    event_create(
        access=access,
        title="Consultation de suivi",
        kind=EventKind.APPOINTMENT,
        starts_at=_at(today + timedelta(days=9), 10, 30),
        ends_at=_at(today + timedelta(days=9), 11),
        location="Cabinet médical, 14 rue Paul-Bert, 69003 Lyon",
        professional=doctor_name,
        note="Apporter les résultats du bilan sanguin et la liste des traitements en cours.",
        reminder_minutes=24 * 60,
    )
    event_create(
        access=access,
        title="Bilan sanguin à jeun",
        kind=EventKind.EXAM,
        starts_at=_at(today + timedelta(days=4), 7, 45),
        ends_at=_at(today + timedelta(days=4), 8),
        location="Laboratoire de biologie médicale, 3 place Guichard, 69003 Lyon",
        note="Être à jeun depuis 12 heures ; l’ordonnance est dans le dossier médical.",
        reminder_minutes=12 * 60,
    )
    tuesday = _next_weekday(today, 1)
    event_create(
        access=access,
        title="Séance de kinésithérapie",
        kind=EventKind.APPOINTMENT,
        starts_at=_at(tuesday, 18),
        ends_at=_at(tuesday, 18, 45),
        rrule="FREQ=WEEKLY;COUNT=10",
        location="Cabinet de kinésithérapie, 27 cours Gambetta, 69007 Lyon",
        professional="Julien Moreau, masseur-kinésithérapeute",
        reminder_minutes=2 * 60,
    )
    hospital_day = today + timedelta(days=38)
    event_create(
        access=access,
        title="Hospitalisation de jour — bilan cardiologique",
        kind=EventKind.HOSPITALISATION,
        starts_at=_at(hospital_day, 0),
        ends_at=_at(hospital_day, 0),
        all_day=True,
        location="Hôpital de la Croix-Rousse, 103 grande rue de la Croix-Rousse, 69004 Lyon",
        note="Se présenter à 8 h au bureau des admissions avec la carte Vitale.",
    )
    event_create(
        access=access,
        title="Consultation dentaire",
        kind=EventKind.APPOINTMENT,
        starts_at=_at(today - timedelta(days=20), 14),
        ends_at=_at(today - timedelta(days=20), 14, 30),
        location="Cabinet dentaire, 8 rue Garibaldi, 69006 Lyon",
        professional="Dr Hélène Roux, chirurgien-dentiste",
    )
    task_create(access=access, title="Renouveler l’ordonnance de lévothyroxine", due_date=today + timedelta(days=14))
    task_create(
        access=access,
        title="Prendre rendez-vous chez l’ophtalmologiste",
        note="Contrôle de la vue tous les deux ans.",
    )
    done = task_create(access=access, title="Envoyer la feuille de soins à la mutuelle", due_date=today)
    task_set_done(access=access, task=done, done=True)
    prevention_dates_refresh_citizen(citizen=citizen, today=today)


def agenda_demos_create() -> None:
    """The agenda of Camille Durand, the demo citizen."""
    from mes.comptes.demo import DEMO_DOMAIN

    citizen = Citizen.objects.filter(user__email=f"camille.durand@{DEMO_DOMAIN}").first()
    if citizen is not None:
        with transaction.atomic():
            agenda_demo_create(citizen=citizen, doctor_name="Dr Sophie Lefebvre, médecin généraliste")
