"""The private subscription feed: a secret token that only ever shows its own citizen's agenda, only what they chose
(titles only by default), stops at once when regenerated or deleted or when the space closes, and a journal that
records the reads at most once an hour."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import vobject
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from icalendar import Calendar

from agenda import services
from agenda.models import Feed, PreventionDate, PreventionStatus
from agenda.prevention import programme_get
from agenda.services import feed as feed_services
from agenda.services.feed import (
    FEED_CREATED,
    FEED_DELETED,
    FEED_READ,
    FEED_REGENERATED,
    feed_create_or_regenerate,
    feed_delete,
    feed_render,
    feed_settings_update,
    feed_urls,
    token_hash,
)
from mes.acces.models import CareTeamMember, JournalEntry
from mes.acces.policy import citizen_access
from mes.comptes.models import CitizenStatus

PARIS = ZoneInfo("Europe/Paris")
BREAST = "depistage-cancer-sein"

pytestmark = pytest.mark.django_db


@pytest.fixture
def access(citizen):
    return citizen_access(citizen.user, citizen)


@pytest.fixture
def other_access(other_citizen):
    return citizen_access(other_citizen.user, other_citizen)


@pytest.fixture
def agenda(access, citizen):
    services.event_create(
        access=access,
        title="Cardiologue",
        starts_at=datetime(2027, 3, 12, 9, 30, tzinfo=PARIS),
        location="Hôpital Nord, bâtiment C",
        professional="Dr Cœur",
        note="Apporter l’ECG.",
    )
    services.task_create(access=access, title="Acheter le tensiomètre", note="Modèle validé.")
    PreventionDate.objects.create(
        citizen=citizen,
        programme=BREAST,
        occurrence="50",
        due_from=date(2027, 5, 17),
        due_until=date(2029, 5, 16),
        table_version="2026.1",
    )
    # A programme that has left the table: nothing to call it by, so it is left out.
    PreventionDate.objects.create(
        citizen=citizen, programme="programme-retire", occurrence="1", due_from=date(2027, 6, 1), table_version="2020.1"
    )
    PreventionDate.objects.create(
        citizen=citizen,
        programme="vaccination-grippe",
        occurrence="2027",
        due_from=date(2027, 10, 15),
        status=PreventionStatus.DISMISSED,
        table_version="2026.1",
    )


def components(body: bytes, name: str) -> list:
    return Calendar.from_ical(body).walk(name)


def test_only_a_keyed_hash_of_the_token_is_stored(access, citizen):
    token = feed_create_or_regenerate(access=access)
    assert len(token) >= 43
    feed = Feed.objects.get(citizen=citizen)
    assert feed.token_hash == token_hash(token) != token
    assert len(feed.token_hash) == 64 and token not in feed.token_hash
    assert (feed.titles_only, feed.include_tasks, feed.include_prevention) == (True, False, True)
    assert JournalEntry.objects.filter(citizen=citizen, action=FEED_CREATED).count() == 1


def test_default_feed_carries_titles_and_times_only(access, agenda):
    body = feed_render(feed_create_or_regenerate(access=access))
    events = components(body, "VEVENT")
    assert sorted(str(event["SUMMARY"]) for event in events) == ["Cardiologue", programme_get(BREAST).label]
    for event in events:
        for name in ("LOCATION", "DESCRIPTION", "CONTACT", "CATEGORIES"):
            assert name not in event
    for secret in ("Hôpital Nord", "Dr Cœur", "ECG", "tensiomètre", "Modèle validé"):
        assert secret.encode() not in body
    assert components(body, "VTODO") == []
    calendar = Calendar.from_ical(body)
    assert calendar["REFRESH-INTERVAL"].to_ical() == b"PT1H"
    # The prevention date: an all-day event on its first day, marked as ours.
    prevention = next(event for event in events if "X-MES-SOURCE" in event)
    assert prevention.start == date(2027, 5, 17) and str(prevention["TRANSP"]) == "TRANSPARENT"
    # The independent parser reads it too.
    parsed = vobject.readOne(body.decode())
    assert len(parsed.vevent_list) == 2


def test_full_feed_with_tasks_and_without_prevention(access, agenda):
    token = feed_create_or_regenerate(access=access, titles_only=False, include_tasks=True, include_prevention=False)
    body = feed_render(token)
    events = components(body, "VEVENT")
    assert [str(event["SUMMARY"]) for event in events] == ["Cardiologue"]
    assert str(events[0]["LOCATION"]) == "Hôpital Nord, bâtiment C"
    assert "Dr Cœur" in str(events[0]["DESCRIPTION"])
    assert [str(todo["DESCRIPTION"]) for todo in components(body, "VTODO")] == ["Modèle validé."]


def test_settings_update_keeps_the_url(access, agenda, citizen):
    token = feed_create_or_regenerate(access=access)
    feed_settings_update(access=access, titles_only=False, include_tasks=True, include_prevention=True)
    body = feed_render(token)
    assert b"H\xc3\xb4pital Nord" in body and components(body, "VTODO")
    summaries = [str(event["SUMMARY"]) for event in components(body, "VEVENT")]
    assert summaries == ["Cardiologue", programme_get(BREAST).label]
    prevention = components(body, "VEVENT")[1]
    assert programme_get(BREAST).link in str(prevention["DESCRIPTION"])
    assert "À faire avant le 16/05/2029." in str(prevention["DESCRIPTION"])


def test_a_token_only_ever_shows_its_own_citizens_agenda(access, other_access, agenda):
    services.event_create(access=other_access, title="Ostéopathe", starts_at=datetime(2027, 3, 1, 9, tzinfo=PARIS))
    mine = feed_create_or_regenerate(access=access)
    theirs = feed_create_or_regenerate(access=other_access)
    assert {str(event["SUMMARY"]) for event in components(feed_render(theirs), "VEVENT")} == {"Ostéopathe"}
    assert b"Ost\xc3\xa9opathe" not in feed_render(mine)
    assert b"Cardiologue" not in feed_render(theirs)
    # A made-up token, or one close to a real one, finds nothing.
    assert feed_render(mine[:-1] + ("A" if mine[-1] != "A" else "B")) is None
    assert feed_render("") is None
    assert feed_render("x" * 500) is None


def test_regenerating_invalidates_the_old_token_at_once(access, agenda, citizen):
    old = feed_create_or_regenerate(access=access, titles_only=False)
    assert feed_render(old) is not None
    new = feed_create_or_regenerate(access=access, titles_only=True)
    assert new != old
    assert feed_render(old) is None
    assert feed_render(new) is not None
    assert Feed.objects.filter(citizen=citizen).count() == 1
    assert JournalEntry.objects.filter(citizen=citizen, action=FEED_REGENERATED).count() == 1


def test_deleted_feed_and_closed_space_answer_nothing(access, agenda, citizen):
    token = feed_create_or_regenerate(access=access)
    assert feed_delete(access=access) is True
    assert feed_render(token) is None
    assert feed_delete(access=access) is False
    assert JournalEntry.objects.filter(citizen=citizen, action=FEED_DELETED).count() == 1

    token = feed_create_or_regenerate(access=access)
    citizen.status, citizen.closed_at = CitizenStatus.CLOSED, timezone.now()
    citizen.save(update_fields=["status", "closed_at"])
    assert feed_render(token) is None


def test_reads_are_journaled_at_most_once_an_hour(access, agenda, citizen):
    token = feed_create_or_regenerate(access=access)
    feed = Feed.objects.get(citizen=citizen)
    assert feed.last_fetched_at is None
    for _poll in range(4):  # a phone polling every 15 minutes
        assert feed_render(token) is not None
    rows = JournalEntry.objects.filter(citizen=citizen, action=FEED_READ)
    assert rows.count() == 1
    row = rows.get()
    assert row.actor is None and row.actor_label == "Application de calendrier (abonnement)"
    first_fetch = Feed.objects.get(citizen=citizen).last_fetched_at
    assert first_fetch is not None
    # An hour later (the marker has expired), the next read is journaled again.
    cache.clear()
    feed_render(token)
    assert rows.count() == 2
    assert Feed.objects.get(citizen=citizen).last_fetched_at > first_fetch
    # Another feed's reads are counted apart.
    cache.clear()
    other = feed_create_or_regenerate(access=access)
    feed_render(other)
    assert rows.count() == 3


def test_only_the_person_side_manages_the_feed(citizen, professional):
    CareTeamMember.objects.create(citizen=citizen, professional=professional.user, is_treating_doctor=True)
    pro = citizen_access(professional.user, citizen)
    with pytest.raises(PermissionDenied):
        feed_create_or_regenerate(access=pro)
    with pytest.raises(PermissionDenied):
        feed_delete(access=pro)
    assert feed_services.feed_get(pro) is None
    assert not Feed.objects.exists()


def test_urls_are_absolute_https_and_webcal(settings):
    settings.PUBLIC_BASE_URL = "https://sante.example.fr"
    urls = feed_urls("abc_DEF-123")
    assert urls == {
        "https": "https://sante.example.fr/agenda/flux/abc_DEF-123.ics",
        "webcal": "webcal://sante.example.fr/agenda/flux/abc_DEF-123.ics",
    }


def test_a_parents_feed_of_a_child_stops_when_the_child_comes_of_age(citizen):
    from dateutil.relativedelta import relativedelta

    from tests.factories import CitizenFactory

    child = CitizenFactory(first_names="Léa", birth_date=timezone.localdate() - relativedelta(years=12))
    child.legal_representatives.add(citizen.user)
    parent = citizen_access(citizen.user, child)
    assert parent.kind == "representative"
    services.event_create(access=parent, title="Orthodontiste", starts_at=datetime(2027, 3, 1, 9, tzinfo=PARIS))
    token = feed_create_or_regenerate(access=parent)
    assert b"Orthodontiste" in feed_render(token)
    child.birth_date = timezone.localdate() - relativedelta(years=18)
    child.save(update_fields=["birth_date"])
    assert feed_render(token) is None
    # The child, now of age, may subscribe themselves.
    own = feed_create_or_regenerate(access=citizen_access(child.user, child))
    assert b"Orthodontiste" in feed_render(own)
    assert feed_render(token) is None


def test_a_feed_stops_when_its_creators_account_is_deactivated(access, citizen):
    token = feed_create_or_regenerate(access=access)
    assert feed_render(token) is not None
    citizen.user.is_active = False
    citizen.user.save(update_fields=["is_active"])
    assert feed_render(token) is None
