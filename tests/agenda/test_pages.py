"""The citizen's agenda pages: who may open them, what they show (upcoming list, month grid, day, detail of an
occurrence), the forms and their errors, and that nobody reaches another person's items."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from agenda import selectors, services
from agenda.models import Event, Source, Task
from mes.acces.policy import citizen_access

PARIS = ZoneInfo("Europe/Paris")

pytestmark = pytest.mark.django_db


def paris(year, month, day, hour=0, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def text_of(response) -> str:
    """The page's text, tags removed and blanks folded, to assert on what a person reads."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&nbsp;", " ").split())


def main_of(response) -> str:
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


@pytest.fixture
def access(citizen):
    return citizen_access(citizen.user, citizen)


@pytest.fixture
def other_access(other_citizen):
    return citizen_access(other_citizen.user, other_citizen)


@pytest.fixture
def signed_in(client, citizen):
    client.force_login(citizen.user)
    return client


@pytest.fixture
def series(access):
    """A weekly physiotherapy session on Mondays at 09:00 from 1 March 2027, with a reminder one hour before."""
    return services.event_create(
        access=access,
        title="Kinésithérapie",
        starts_at=paris(2027, 3, 1, 9),
        ends_at=paris(2027, 3, 1, 9, 45),
        rrule="FREQ=WEEKLY",
        location="Cabinet du Parc",
        professional="M. Petit",
        reminder_minutes=60,
    )


@pytest.fixture
def task(access):
    return services.task_create(access=access, title="Renouveler l’ordonnance", due_date=date(2027, 3, 10))


def _routes(event, task):
    key = "20270308T080000Z"
    return {
        "agenda_home": (reverse("agenda_home"), "get"),
        "agenda_month": (reverse("agenda_month", kwargs={"year": 2027, "month": 3}), "get"),
        "agenda_day": (reverse("agenda_day", kwargs={"year": 2027, "month": 3, "day": 8}), "get"),
        "event_new": (reverse("event_new"), "get"),
        "event_detail": (reverse("event_detail", kwargs={"event_id": event.public_id}) + f"?occurrence={key}", "get"),
        "event_edit": (reverse("event_edit", kwargs={"event_id": event.public_id}), "get"),
        "event_delete": (reverse("event_delete", kwargs={"event_id": event.public_id}), "get"),
        "event_occurrence_delete": (
            reverse("event_occurrence_delete", kwargs={"event_id": event.public_id}) + f"?occurrence={key}",
            "get",
        ),
        "task_list": (reverse("task_list"), "get"),
        "task_new": (reverse("task_new"), "get"),
        "task_edit": (reverse("task_edit", kwargs={"task_id": task.public_id}), "get"),
        "task_toggle": (reverse("task_toggle", kwargs={"task_id": task.public_id}), "post"),
        "task_delete": (reverse("task_delete", kwargs={"task_id": task.public_id}), "get"),
    }


ROUTE_NAMES = [
    "agenda_home",
    "agenda_month",
    "agenda_day",
    "event_new",
    "event_detail",
    "event_edit",
    "event_delete",
    "event_occurrence_delete",
    "task_list",
    "task_new",
    "task_edit",
    "task_toggle",
    "task_delete",
]


# --- Who may open the pages ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ROUTE_NAMES)
def test_every_route_asks_visitors_to_sign_in_refuses_other_roles_and_opens_to_the_citizen(
    client, persona_users, series, task, name
):
    url, method = _routes(series, task)[name]
    data = {"done": "1"} if method == "post" else None
    response = getattr(client, method)(url, data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    for role in ("professional", "editor", "commission", "admin"):
        client.force_login(persona_users[role])
        assert getattr(client, method)(url, data).status_code == 403, role
    client.force_login(persona_users["citizen"])
    response = getattr(client, method)(url, data)
    assert response.status_code == (302 if method == "post" else 200)
    Task.objects.filter(pk=task.pk).update(done_at=None)
    assert Event.objects.filter(pk=series.pk, title="Kinésithérapie", exdates=[]).exists()


@pytest.mark.parametrize("name", [name for name in ROUTE_NAMES if "event" in name or "task_" in name])
def test_another_citizens_items_answer_404_and_a_post_changes_nothing(client, other_citizen, series, task, name):
    if name in ("event_new", "task_new", "task_list"):
        return
    client.force_login(other_citizen.user)
    url, method = _routes(series, task)[name]
    if method == "get":
        assert client.get(url).status_code == 404
    post_data = {
        "title": "Piraté",
        "kind": "autre",
        "date": "2027-03-01",
        "start_time": "10:00",
        "done": "1",
        "occurrence": "20270308T080000Z",
    }
    # The detail page answers GET only; every page that takes a POST looks the item up first.
    assert client.post(url.split("?")[0], post_data).status_code == (405 if name == "event_detail" else 404)
    series.refresh_from_db()
    task.refresh_from_db()
    assert series.title == "Kinésithérapie" and series.exdates == [] and series.sequence == 0
    assert task.title == "Renouveler l’ordonnance" and not task.is_done


def test_other_citizen_sees_an_empty_agenda(client, other_citizen, series, task):
    client.force_login(other_citizen.user)
    for url in (reverse("agenda_home"), reverse("agenda_month", args=[2027, 3]), reverse("task_list")):
        page = text_of(client.get(url))
        assert "Kinésithérapie" not in page and "Renouveler" not in page


def test_get_never_changes_anything_and_toggle_refuses_get(signed_in, series, task):
    assert signed_in.get(reverse("event_delete", args=[series.public_id])).status_code == 200
    assert signed_in.get(reverse("task_delete", args=[task.public_id])).status_code == 200
    assert signed_in.get(reverse("task_toggle", args=[task.public_id])).status_code == 405
    assert (
        signed_in.get(
            reverse("event_occurrence_delete", args=[series.public_id]) + "?occurrence=20270308T080000Z"
        ).status_code
        == 200
    )
    series.refresh_from_db()
    assert Event.objects.count() == 1 and Task.objects.count() == 1 and series.exdates == []
    assert not Task.objects.get().is_done


def test_posts_need_the_csrf_token(citizen, series, task):
    client = Client(enforce_csrf_checks=True)
    client.force_login(citizen.user)
    assert client.post(reverse("event_delete", args=[series.public_id])).status_code == 403
    assert client.post(reverse("task_toggle", args=[task.public_id]), {"done": "1"}).status_code == 403
    assert client.post(reverse("task_new"), {"title": "Sans jeton"}).status_code == 403
    assert Event.objects.count() == 1 and Task.objects.count() == 1 and not Task.objects.get().is_done


# --- The upcoming list --------------------------------------------------------------------------------------------


def test_home_lists_upcoming_occurrences_by_day_with_their_source_and_repetition(signed_in, access, citizen):
    today = timezone.localdate()
    soon = today + timedelta(days=3)
    services.event_create(
        access=access,
        title="Dentiste",
        starts_at=datetime.combine(soon, time(9, 30), tzinfo=PARIS),
        ends_at=datetime.combine(soon, time(10, 15), tzinfo=PARIS),
        location="Cabinet dentaire, 3 rue des Lilas",
        professional="Dr Martin",
    )
    services.event_create(
        access=access,
        title="Bilan sanguin",
        kind="examen",
        starts_at=datetime.combine(soon, time(0), tzinfo=PARIS),
        all_day=True,
        source=Source.IMPORT,
    )
    services.event_create(
        access=access,
        title="Consultation proposée",
        starts_at=datetime.combine(soon + timedelta(days=1), time(14), tzinfo=PARIS),
        source=Source.MESSAGE,
    )
    services.event_create(
        access=access,
        title="Kiné hebdomadaire",
        starts_at=datetime.combine(today + timedelta(days=1), time(18), tzinfo=PARIS),
        rrule="FREQ=WEEKLY;COUNT=4",
    )
    Event.objects.create(
        citizen=citizen,
        uid="app-1@kine.example",
        title="Séance de rééducation",
        starts_at=datetime.combine(soon + timedelta(days=2), time(11), tzinfo=PARIS),
        ends_at=datetime.combine(soon + timedelta(days=2), time(12), tzinfo=PARIS),
        source=Source.APP,
        source_label="Kiné Connect",
    )
    Event.objects.create(
        citizen=citizen,
        uid="prev-1@mes",
        title="Dépistage du cancer colorectal",
        kind="examen",
        starts_at=datetime.combine(soon + timedelta(days=5), time(0), tzinfo=PARIS),
        ends_at=datetime.combine(soon + timedelta(days=6), time(0), tzinfo=PARIS),
        all_day=True,
        source=Source.PREVENTION,
    )
    Event.objects.create(
        citizen=citizen,
        uid="far@mes",
        title="Trop loin",
        starts_at=timezone.now() + timedelta(days=120),
        ends_at=timezone.now() + timedelta(days=120, hours=1),
    )
    response = signed_in.get(reverse("agenda_home"))
    assert response.status_code == 200
    page = text_of(response)
    assert "Mon espace Agenda" in page  # breadcrumbs
    day_heading = f"{soon.day} "
    assert day_heading in page
    assert "09:30 – 10:15 Dentiste Rendez-vous" in page
    assert "Lieu : Cabinet dentaire, 3 rue des Lilas" in page and "Avec : Dr Martin" in page
    assert "Toute la journée Bilan sanguin Examen" in page
    for label in (
        "Ajouté par vous",
        "Fichier importé",
        "Message reçu",
        "Service connecté : Kiné Connect",
        "Campagne de prévention",
    ):
        assert label in page
    assert "Toutes les semaines, 4 fois" in page
    assert page.index("Kiné hebdomadaire") < page.index("Dentiste") < page.index("Consultation proposée")
    assert "Trop loin" not in page
    # The weekly series shows each of its dates in the period, each linking to its occurrence.
    assert page.count("Kiné hebdomadaire") == 4
    html = response.content.decode()
    assert html.count("?occurrence=") == 4
    assert reverse("agenda_month", args=[today.year, today.month]) in html
    assert reverse("agenda_day", args=[today.year, today.month, today.day]) in html
    assert "Ajouter un rendez-vous" in page and "Ajouter une tâche" in page


def test_home_empty_state_and_tasks_to_do(signed_in, access):
    response = signed_in.get(reverse("agenda_home"))
    page = text_of(response)
    assert "Rien de prévu pour l’instant" in page
    assert "Aucune tâche à faire." in page
    assert "Aucune date clé de prévention en attente." in page
    done = services.task_create(access=access, title="Déjà fait", done=True)
    todo = services.task_create(
        access=access, title="Prendre rendez-vous chez l’ophtalmologiste", due_date=date(2027, 1, 5)
    )
    page_html = signed_in.get(reverse("agenda_home")).content.decode()
    assert "Prendre rendez-vous chez l’ophtalmologiste" in page_html and "Déjà fait" not in page_html
    assert "À faire avant le 5 janvier 2027" in page_html
    assert f'action="{reverse("task_toggle", args=[todo.public_id])}"' in page_html
    assert f'action="{reverse("task_toggle", args=[done.public_id])}"' not in page_html
    # Ticking it from the home page comes back to the home page.
    response = signed_in.post(
        reverse("task_toggle", args=[todo.public_id]), {"done": "1", "next": reverse("agenda_home")}
    )
    assert response.status_code == 302 and response["Location"] == reverse("agenda_home")
    todo.refresh_from_db()
    assert todo.is_done


def test_home_shows_pending_prevention_dates(signed_in, citizen):
    from agenda.models import PreventionDate, PreventionStatus

    for index, (programme, status) in enumerate(
        [
            ("depistage-cancer-sein", PreventionStatus.PENDING),
            ("inconnu-b", PreventionStatus.DONE),
            ("inconnu-c", PreventionStatus.PENDING),
            ("inconnu-d", PreventionStatus.PENDING),
            ("inconnu-e", PreventionStatus.PENDING),
        ]
    ):
        PreventionDate.objects.create(
            citizen=citizen,
            programme=programme,
            occurrence="1",
            due_from=date(2027, 1, 1) + timedelta(days=index),
            status=status,
            table_version="test",
        )
    response = signed_in.get(reverse("agenda_home"))
    page = text_of(response)
    # The programme's label from the table; a programme that left the table shows its code. Three pending dates at
    # most, the soonest first, and a link to the prevention page.
    assert "Dépistage organisé du cancer du sein À partir du 1 janvier 2027" in page
    assert "inconnu-c" in page and "inconnu-d" in page
    assert "inconnu-b" not in page and "inconnu-e" not in page
    assert f'href="{reverse("prevention_list")}"' in main_of(response)


# --- Month and day ------------------------------------------------------------------------------------------------


def test_month_grid(signed_in, access, series, task):
    services.event_create(
        access=access,
        title="Hospitalisation",
        kind="hospitalisation",
        starts_at=paris(2027, 3, 30),
        ends_at=paris(2027, 4, 3),
        all_day=True,
    )
    services.event_create(
        access=access, title="Garde de nuit", starts_at=paris(2027, 3, 17, 22), ends_at=paris(2027, 3, 18, 2)
    )
    response = signed_in.get(reverse("agenda_month", args=[2027, 3]))
    assert response.status_code == 200
    html = main_of(response)
    assert "<caption>Mars 2027 : rendez-vous et tâches, jour par jour</caption>" in html
    assert re.findall(r'<th scope="col">(\w+)</th>', html) == [
        "Lundi",
        "Mardi",
        "Mercredi",
        "Jeudi",
        "Vendredi",
        "Samedi",
        "Dimanche",
    ]
    # Monday 1 March 2027 opens the grid; 5 weeks.
    assert html.count("<tr>") == 6
    cells = re.findall(r"<td class=\"mes-agenda-month__cell[^\"]*\">(.*?)</td>", html, flags=re.S)
    assert len(cells) == 35
    by_day = {}
    for cell in cells:
        label = re.search(r'mes-agenda-month__label">([^<]+)<', cell)
        if label:
            by_day[label.group(1)] = cell
    assert len(by_day) == 31
    mondays = [1, 8, 15, 22, 29]
    for day in range(1, 32):
        label = next(key for key in by_day if key.split(" ")[1] == str(day))
        assert ("Kinésithérapie" in by_day[label]) == (day in mondays), day
        assert ("Hospitalisation" in by_day[label]) == (day in (30, 31)), day
        assert ("Garde de nuit" in by_day[label]) == (day in (17, 18)), day
    assert "09:00" in by_day["Lundi 8 mars 2027"]
    assert "22:00" in by_day["Mercredi 17 mars 2027"] and "suite" in by_day["Jeudi 18 mars 2027"]
    assert "Tâche : Renouveler l’ordonnance" in " ".join(
        re.sub(r"<[^>]+>", " ", by_day["Mercredi 10 mars 2027"]).split()
    )
    assert reverse("task_edit", args=[task.public_id]) in by_day["Mercredi 10 mars 2027"]
    assert "?occurrence=20270308T080000Z" in by_day["Lundi 8 mars 2027"]
    assert reverse("agenda_day", args=[2027, 3, 8]) in by_day["Lundi 8 mars 2027"]
    assert reverse("agenda_month", args=[2027, 2]) in html and reverse("agenda_month", args=[2027, 4]) in html
    assert 'aria-current="date"' not in html
    # April shows the end of the hospitalisation.
    april = main_of(signed_in.get(reverse("agenda_month", args=[2027, 4])))
    assert april.count("Hospitalisation") == 2


def test_month_marks_today(signed_in):
    today = timezone.localdate()
    html = main_of(signed_in.get(reverse("agenda_month", args=[today.year, today.month])))
    assert html.count('aria-current="date"') == 1
    link = re.search(r'<a [^>]*aria-current="date"[^>]*>', html).group(0)
    assert reverse("agenda_day", args=[today.year, today.month, today.day]) in link
    assert "Rien de prévu en" in html


@pytest.mark.parametrize(("year", "month"), [(1899, 12), (2201, 1), (2027, 13), (2027, 0)])
def test_month_outside_the_calendar_answers_404(signed_in, year, month):
    assert signed_in.get(f"/agenda/mois/{year}/{month}/").status_code == 404


def test_first_and_last_months_have_no_link_beyond(signed_in):
    first = main_of(signed_in.get(reverse("agenda_month", args=[1900, 1])))
    assert "/agenda/mois/1899/" not in first and reverse("agenda_month", args=[1900, 2]) in first
    last = main_of(signed_in.get(reverse("agenda_month", args=[2200, 12])))
    assert "/agenda/mois/2201/" not in last and reverse("agenda_month", args=[2200, 11]) in last


def test_day_view(signed_in, access, series, task):
    services.event_create(
        access=access, title="Prise de sang", kind="examen", starts_at=paris(2027, 3, 8, 7, 30), ends_at=None
    )
    response = signed_in.get(reverse("agenda_day", args=[2027, 3, 8]))
    assert response.status_code == 200
    page = text_of(response)
    assert "Lundi 8 mars 2027" in page
    assert "Mon espace Agenda Mars 2027 Lundi 8 mars 2027" in page
    assert page.index("07:30 – 08:30 Prise de sang") < page.index("09:00 – 09:45 Kinésithérapie")
    assert "Toutes les semaines" in page and "Aucune tâche n’arrive à échéance ce jour-là." in page
    html = main_of(response)
    assert reverse("agenda_day", args=[2027, 3, 7]) in html and reverse("agenda_day", args=[2027, 3, 9]) in html
    assert reverse("event_new") + "?date=2027-03-08" in html
    due = text_of(signed_in.get(reverse("agenda_day", args=[2027, 3, 10])))
    assert "Renouveler l’ordonnance" in due and "Rien de prévu ce jour-là." in due


@pytest.mark.parametrize("path", ["/agenda/jour/2027-2-30/", "/agenda/jour/2027-13-1/", "/agenda/jour/1899-12-31/"])
def test_impossible_days_answer_404(signed_in, path):
    assert signed_in.get(path).status_code == 404


# --- Event form ---------------------------------------------------------------------------------------------------


def _event_post(**overrides):
    data = {
        "title": "Kiné",
        "kind": "rendez-vous",
        "date": "2027-03-01",
        "start_time": "09:00",
        "end_time": "09:45",
        "end_date": "",
        "location": "",
        "professional": "",
        "note": "",
        "reminder": "",
        "repeat": "",
        "repeat_end": "never",
        "repeat_until": "",
        "repeat_count": "",
    }
    data.update(overrides)
    return data


def test_new_event_prefills_the_date(signed_in):
    html = signed_in.get(reverse("event_new") + "?date=2027-03-12").content.decode()
    assert 'name="date" value="2027-03-12"' in html
    assert signed_in.get(reverse("event_new") + "?date=n-importe").status_code == 200


def test_create_a_weekly_appointment_until_a_date_with_a_reminder(signed_in, citizen):
    response = signed_in.post(
        reverse("event_new"),
        _event_post(
            title="Kinésithérapie",
            location="Cabinet du Parc",
            professional="M. Petit",
            reminder="60",
            repeat="weekly",
            repeat_end="until",
            repeat_until="2027-06-28",
        ),
    )
    event = Event.objects.get(citizen=citizen)
    assert response.status_code == 302 and response["Location"] == reverse("event_detail", args=[event.public_id])
    assert event.starts_at == paris(2027, 3, 1, 9) and event.ends_at == paris(2027, 3, 1, 9, 45)
    assert event.reminder_minutes == 60 and event.location == "Cabinet du Parc"
    # The end of 28 June in Paris (summer time), in UTC.
    assert event.rrule == "FREQ=WEEKLY;UNTIL=20270628T215959Z"
    access = citizen_access(citizen.user, citizen)
    last = selectors.occurrences_between(access, paris(2027, 6, 1), paris(2027, 12, 1))
    assert [item.local_start().date() for item in last] == [date(2027, 6, d) for d in (7, 14, 21, 28)]
    page = text_of(signed_in.get(response["Location"]))
    assert "« Kinésithérapie » a été ajouté à votre agenda pour le 1 mars 2027 à 09:00." in page
    assert "Toutes les semaines, jusqu’au 28/06/2027" in page and "1 heure avant" in page


@pytest.mark.parametrize(
    ("repeat", "end", "until", "count", "rule"),
    [
        ("daily", "count", "", "10", "FREQ=DAILY;COUNT=10"),
        ("biweekly", "never", "", "", "FREQ=WEEKLY;INTERVAL=2"),
        ("monthly", "count", "", "6", "FREQ=MONTHLY;COUNT=6"),
        ("yearly", "until", "2030-01-15", "", "FREQ=YEARLY;UNTIL=20300115T225959Z"),
        ("", "count", "", "6", ""),
    ],
)
def test_the_form_writes_the_rule(signed_in, citizen, repeat, end, until, count, rule):
    signed_in.post(
        reverse("event_new"), _event_post(repeat=repeat, repeat_end=end, repeat_until=until, repeat_count=count)
    )
    assert Event.objects.get(citizen=citizen).rrule == rule


def test_all_day_event_over_several_days(signed_in, citizen):
    signed_in.post(
        reverse("event_new"),
        _event_post(
            title="Hospitalisation", kind="hospitalisation", all_day="on", end_date="2027-03-03", start_time=""
        ),
    )
    event = Event.objects.get(citizen=citizen)
    assert event.all_day and (event.starts_at, event.ends_at) == (paris(2027, 3, 1), paris(2027, 3, 4))
    page = text_of(signed_in.get(reverse("event_detail", args=[event.public_id])))
    assert "Toute la journée, jusqu’au 3 mars 2027" in page


def test_an_overnight_event_with_an_end_date(signed_in, citizen):
    signed_in.post(reverse("event_new"), _event_post(start_time="22:00", end_time="02:00", end_date="2027-03-02"))
    event = Event.objects.get(citizen=citizen)
    assert (event.starts_at, event.ends_at) == (paris(2027, 3, 1, 22), paris(2027, 3, 2, 2))


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "Indiquez le titre de l’événement."),
        ({"title": "\x07\x08"}, "title", "Ce champ est obligatoire."),  # the services' check, on the field
        ({"date": ""}, "date", "Indiquez la date de l’événement."),
        ({"date": "31/02/2027"}, "date", "Saisissez une date valide, par exemple 14/03/2027."),
        ({"date": "1850-01-01"}, "date", "Indiquez une date comprise entre 1900 et 2200."),
        ({"start_time": ""}, "start_time", "Indiquez l’heure de début, ou cochez « Toute la journée »."),
        ({"start_time": "25:00"}, "start_time", "Saisissez une heure valide, par exemple 09:30."),
        ({"end_time": "08:00"}, "end_time", "L’heure de fin doit être après l’heure de début."),
        ({"end_date": "2027-02-28"}, "end_date", "La date de fin ne peut pas précéder la date de début."),
        ({"end_date": "2028-06-01", "end_time": "10:00"}, "end_time", "Un événement ne peut pas durer plus d’un an."),
        ({"end_date": "2027-03-02", "end_time": ""}, "end_time", "Indiquez l’heure de fin de l’événement."),
        ({"kind": "fete"}, "kind", "Choisissez un type d’événement dans la liste."),
        ({"reminder": "7"}, "reminder", "Choisissez un rappel dans la liste."),
        ({"repeat": "hourly"}, "repeat", "Choisissez une répétition dans la liste."),
        ({"repeat": "weekly", "repeat_end": "until"}, "repeat_until", "Indiquez le dernier jour de la répétition."),
        (
            {"repeat": "weekly", "repeat_end": "until", "repeat_until": "2027-02-01"},
            "repeat_until",
            "Le dernier jour de la répétition ne peut pas précéder le premier.",
        ),
        ({"repeat": "weekly", "repeat_end": "count"}, "repeat_count", "Indiquez combien de fois l’événement a lieu."),
        ({"repeat": "weekly", "repeat_end": "count", "repeat_count": "1"}, "repeat_count", "Indiquez au moins 2 fois."),
        (
            {"date": "2027-03-28", "start_time": "02:30", "end_time": "04:00"},
            "start_time",
            "Cette heure n’existe pas ce jour-là : les horloges avancent d’une heure (passage à l’heure d’été).",
        ),
        ({"location": "x" * 301}, "location", "Le lieu ne doit pas dépasser 300 caractères."),
    ],
)
def test_event_form_errors_land_on_their_field(signed_in, overrides, field, message):
    response = signed_in.post(reverse("event_new"), _event_post(**overrides))
    assert response.status_code == 200
    assert not Event.objects.exists()
    html = main_of(response)
    error = re.search(rf'<p class="fr-error-text" id="id_{field}-erreur">(.*?)</p>', html, flags=re.S)
    assert error is not None, f"pas d’erreur sur {field}"
    assert message in error.group(1).replace("&#x27;", "'")
    control = re.search(rf'<(input|select|textarea)\b[^>]*\bid="id_{field}"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in control and f"id_{field}-erreur" in control
    assert "Le rendez-vous n’a pas été ajouté" in html


def test_a_time_that_happens_twice_in_october_is_the_first_one(signed_in, citizen):
    signed_in.post(reverse("event_new"), _event_post(date="2027-10-31", start_time="02:30", end_time="02:45"))
    event = Event.objects.get(citizen=citizen)
    assert event.starts_at.astimezone(UTC) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def test_edit_an_event(signed_in, series):
    html = signed_in.get(reverse("event_edit", args=[series.public_id])).content.decode()
    assert 'value="Kinésithérapie"' in html and 'name="start_time" value="09:00"' in html
    assert '<option value="weekly" selected>' in html and '<option value="60" selected>' in html
    response = signed_in.post(
        reverse("event_edit", args=[series.public_id]),
        _event_post(title="Kiné du lundi", start_time="09:00", end_time="10:00", repeat="weekly", reminder="60"),
    )
    assert response.status_code == 302
    series.refresh_from_db()
    assert series.title == "Kiné du lundi" and series.ends_at == paris(2027, 3, 1, 10) and series.sequence == 1
    assert series.rrule == "FREQ=WEEKLY"
    assert "« Kiné du lundi » a été modifié." in text_of(signed_in.get(response["Location"]))


def test_a_rule_the_form_cannot_express_is_kept_unless_another_is_chosen(signed_in, access):
    event = services.event_create(
        access=access,
        title="Infirmière",
        starts_at=paris(2027, 3, 1, 8),
        rrule="FREQ=MONTHLY;BYDAY=1MO",
        source=Source.IMPORT,
    )
    services.event_occurrence_delete(access=access, event=event, occurrence_start=paris(2027, 4, 5, 8))
    html = signed_in.get(reverse("event_edit", args=[event.public_id])).content.decode()
    assert re.search(r'<option value="custom" selected>Répétition personnalisée : [^<]*BYDAY=1MO', html)
    signed_in.post(
        reverse("event_edit", args=[event.public_id]),
        _event_post(title="Infirmière à domicile", start_time="08:00", end_time="09:00", repeat="custom"),
    )
    event.refresh_from_db()
    assert event.title == "Infirmière à domicile" and event.rrule == "FREQ=MONTHLY;BYDAY=1MO"
    assert len(event.exdates) == 1  # same start, same rule: the removed date stays removed
    signed_in.post(reverse("event_edit", args=[event.public_id]), _event_post(start_time="08:00", repeat="monthly"))
    event.refresh_from_db()
    assert event.rrule == "FREQ=MONTHLY"


def test_an_equivalent_imported_rule_is_kept_as_written(signed_in, access):
    event = services.event_create(
        access=access, title="Kiné", starts_at=paris(2027, 3, 1, 9), rrule="FREQ=WEEKLY;INTERVAL=1;COUNT=8"
    )
    services.event_occurrence_delete(access=access, event=event, occurrence_start=paris(2027, 3, 8, 9))
    html = signed_in.get(reverse("event_edit", args=[event.public_id])).content.decode()
    assert '<option value="weekly" selected>' in html and 'name="repeat_count" value="8"' in html
    signed_in.post(
        reverse("event_edit", args=[event.public_id]),
        _event_post(start_time="09:00", end_time="10:00", repeat="weekly", repeat_end="count", repeat_count="8"),
    )
    event.refresh_from_db()
    assert event.rrule == "FREQ=WEEKLY;INTERVAL=1;COUNT=8" and len(event.exdates) == 1


def test_an_apps_event_is_read_only_but_may_be_deleted(signed_in, citizen):
    event = Event.objects.create(
        citizen=citizen,
        uid="app@kine.example",
        title="Séance",
        starts_at=paris(2027, 3, 1, 9),
        ends_at=paris(2027, 3, 1, 10),
        rrule="FREQ=WEEKLY",
        source=Source.APP,
        source_label="Kiné Connect",
    )
    page = text_of(signed_in.get(reverse("event_detail", args=[event.public_id]) + "?occurrence=20270308T080000Z"))
    assert "lecture seule" in page and "Service connecté : Kiné Connect" in page
    html = main_of(signed_in.get(reverse("event_detail", args=[event.public_id])))
    assert reverse("event_edit", args=[event.public_id]) not in html
    assert reverse("event_occurrence_delete", args=[event.public_id]) not in html
    assert reverse("event_delete", args=[event.public_id]) in html
    assert signed_in.get(reverse("event_edit", args=[event.public_id])).status_code == 403
    assert signed_in.post(reverse("event_edit", args=[event.public_id]), _event_post()).status_code == 403
    response = signed_in.post(
        reverse("event_occurrence_delete", args=[event.public_id]), {"occurrence": "20270308T080000Z"}
    )
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.title == "Séance" and event.exdates == []
    assert signed_in.post(reverse("event_delete", args=[event.public_id])).status_code == 302
    assert not Event.objects.exists()


# --- Detail and deletion ------------------------------------------------------------------------------------------


def test_detail_of_an_occurrence_and_of_the_series(signed_in, series):
    url = reverse("event_detail", args=[series.public_id])
    response = signed_in.get(url + "?occurrence=20270315T080000Z")
    page = text_of(response)
    assert "Lundi 15 mars 2027, 09:00 – 09:45" in page
    assert "Cette date fait partie d’une série : Toutes les semaines." in page
    assert "Cabinet du Parc" in page and "M. Petit" in page and "1 heure avant" in page and "Ajouté par vous" in page
    assert "Mon espace Agenda Mars 2027 Kinésithérapie" in page
    html = main_of(response)
    assert reverse("event_occurrence_delete", args=[series.public_id]) + "?occurrence=20270315T080000Z" in html
    assert reverse("event_edit", args=[series.public_id]) in html
    series_page = text_of(signed_in.get(url))
    assert "Première date Lundi 1 mars 2027, 09:00 – 09:45" in series_page
    assert "Supprimer toute la série" in series_page and "Supprimer cette date seulement" not in series_page
    for key in ("20270316T080000Z", "20270222T080000Z", "nimportequoi", ""):
        assert signed_in.get(url + f"?occurrence={key}").status_code == 404, key


def test_delete_one_occurrence(signed_in, series):
    url = reverse("event_occurrence_delete", args=[series.public_id])
    page = text_of(signed_in.get(url + "?occurrence=20270315T080000Z"))
    assert "Lundi 15 mars 2027, 09:00 – 09:45" in page and "Les autres dates de la série" in page
    assert signed_in.get(url + "?occurrence=20270316T080000Z").status_code == 404
    assert signed_in.post(url, {"occurrence": "20270316T080000Z"}).status_code == 404
    response = signed_in.post(url, {"occurrence": "20270315T080000Z"})
    assert response.status_code == 302 and response["Location"] == reverse("event_detail", args=[series.public_id])
    series.refresh_from_db()
    assert series.exdates == [datetime(2027, 3, 15, 8, tzinfo=UTC)]
    assert "La date du Lundi 15 mars 2027, 09:00 – 09:45 a été retirée" in text_of(signed_in.get(response["Location"]))
    assert (
        signed_in.get(reverse("event_detail", args=[series.public_id]) + "?occurrence=20270315T080000Z").status_code
        == 404
    )


def test_a_single_event_has_no_occurrence_page(signed_in, access):
    event = services.event_create(access=access, title="Dentiste", starts_at=paris(2027, 3, 12, 9))
    url = reverse("event_occurrence_delete", args=[event.public_id])
    assert signed_in.get(url + "?occurrence=20270312T080000Z").status_code == 404
    # Its own date opens its page.
    assert (
        signed_in.get(reverse("event_detail", args=[event.public_id]) + "?occurrence=20270312T080000Z").status_code
        == 200
    )


def test_delete_the_whole_event(signed_in, series):
    page = text_of(signed_in.get(reverse("event_delete", args=[series.public_id])))
    assert "Supprimer « Kinésithérapie » ?" in page and "Toutes les dates de la série" in page
    response = signed_in.post(reverse("event_delete", args=[series.public_id]))
    assert response.status_code == 302 and response["Location"] == reverse("agenda_home")
    assert not Event.objects.exists()
    assert "« Kinésithérapie » a été supprimé de votre agenda." in text_of(signed_in.get(response["Location"]))


# --- Tasks --------------------------------------------------------------------------------------------------------


def test_task_pages(signed_in, access, citizen):
    response = signed_in.post(reverse("task_new"), {"title": "", "due_date": "32/01/2027", "note": ""})
    html = main_of(response)
    assert "Indiquez ce qu’il faut faire." in html and "Saisissez une date valide" in html
    assert signed_in.post(reverse("task_new"), {"title": "Vieux", "due_date": "1850-01-01"}).status_code == 200
    response = signed_in.post(
        reverse("task_new"), {"title": "Prise de sang", "due_date": "2027-03-10", "note": "À jeun"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("task_list")
    first = Task.objects.get(citizen=citizen)
    assert (first.title, first.due_date, first.note) == ("Prise de sang", date(2027, 3, 10), "À jeun")
    services.task_create(access=access, title="Sans date")
    services.task_create(access=access, title="Déjà faite", done=True)
    page = text_of(signed_in.get(reverse("task_list")))
    assert "La tâche « Prise de sang » a été ajoutée." in page
    assert page.index("Prise de sang") < page.index("Sans date") < page.index("Faites") < page.index("Déjà faite")
    assert "À faire avant le 10 mars 2027" in page and "Sans échéance" in page
    assert (
        'name="due_date" value="2027-03-10"'
        in signed_in.get(reverse("task_edit", args=[first.public_id])).content.decode()
    )
    assert (
        'name="due_date" value="2027-04-02"' in signed_in.get(reverse("task_new") + "?date=2027-04-02").content.decode()
    )
    response = signed_in.post(
        reverse("task_edit", args=[first.public_id]), {"title": "Prise de sang à jeun", "due_date": ""}
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.title == "Prise de sang à jeun" and first.due_date is None and first.sequence == 1


def test_task_toggle_goes_back_only_to_a_local_page(signed_in, task):
    url = reverse("task_toggle", args=[task.public_id])
    day = reverse("agenda_day", args=[2027, 3, 10])
    response = signed_in.post(url, {"done": "1", "next": day})
    assert response["Location"] == day
    task.refresh_from_db()
    assert task.is_done
    for unsafe in ("https://evil.example/", "//evil.example/agenda/", "javascript:alert(1)"):
        response = signed_in.post(url, {"done": "0", "next": unsafe})
        assert response["Location"] == reverse("task_list"), unsafe
    task.refresh_from_db()
    assert not task.is_done
    assert signed_in.post(url, {"done": "peut-être"}).status_code == 400
    assert "est de nouveau à faire" in text_of(signed_in.get(reverse("task_list")))


def test_an_apps_task_can_be_ticked_and_deleted_not_edited(signed_in, citizen):
    task = Task.objects.create(
        citizen=citizen, uid="t@app", title="Questionnaire", source=Source.APP, source_label="Suivi+"
    )
    assert "Service connecté : Suivi+" in text_of(signed_in.get(reverse("task_list")))
    assert reverse("task_edit", args=[task.public_id]) not in main_of(signed_in.get(reverse("task_list")))
    assert signed_in.get(reverse("task_edit", args=[task.public_id])).status_code == 403
    assert signed_in.post(reverse("task_edit", args=[task.public_id]), {"title": "Changé"}).status_code == 403
    signed_in.post(reverse("task_toggle", args=[task.public_id]), {"done": "1"})
    task.refresh_from_db()
    assert task.is_done and task.title == "Questionnaire"
    assert signed_in.post(reverse("task_delete", args=[task.public_id])).status_code == 302
    assert not Task.objects.exists()


def test_delete_a_task(signed_in, task):
    page = text_of(signed_in.get(reverse("task_delete", args=[task.public_id])))
    assert "Supprimer « Renouveler l’ordonnance » ?" in page and "10 mars 2027" in page
    response = signed_in.post(reverse("task_delete", args=[task.public_id]))
    assert response["Location"] == reverse("task_list")
    assert not Task.objects.exists()
    assert "La tâche « Renouveler l’ordonnance » a été supprimée." in text_of(signed_in.get(reverse("task_list")))


def test_a_representative_manages_the_childs_agenda(client, citizen):
    from dateutil.relativedelta import relativedelta

    from mes.comptes.selectors.profiles import ACTIVE_PROFILE_SESSION_KEY
    from tests.factories import CitizenFactory

    child = CitizenFactory(
        user=None, first_names="Léa", birth_name="DURAND", birth_date=timezone.localdate() - relativedelta(years=8)
    )
    child.legal_representatives.add(citizen.user)
    client.force_login(citizen.user)
    session = client.session
    session[ACTIVE_PROFILE_SESSION_KEY] = str(child.public_id)
    session.save()
    page = text_of(client.get(reverse("agenda_home")))
    assert "Agenda de Léa DURAND — vous agissez en tant que représentant légal." in page
    client.post(reverse("event_new"), _event_post(title="Vaccin de Léa"))
    assert Event.objects.get().citizen == child


def test_editing_an_all_day_event_shows_its_days_and_keeps_them(signed_in, access):
    event = services.event_create(
        access=access,
        title="Hospitalisation",
        kind="hospitalisation",
        starts_at=paris(2027, 3, 1),
        ends_at=paris(2027, 3, 4),
        all_day=True,
    )
    html = signed_in.get(reverse("event_edit", args=[event.public_id])).content.decode()
    assert re.search(r'<input type="checkbox" name="all_day"[^>]*checked', html)
    assert 'name="date" value="2027-03-01"' in html and 'name="end_date" value="2027-03-03"' in html
    response = signed_in.post(
        reverse("event_edit", args=[event.public_id]),
        _event_post(
            title="Hospitalisation",
            kind="hospitalisation",
            all_day="on",
            start_time="",
            end_time="",
            end_date="2027-03-03",
        ),
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.starts_at, event.ends_at, event.all_day) == (paris(2027, 3, 1), paris(2027, 3, 4), True)
