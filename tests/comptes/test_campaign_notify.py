"""Campaign notification: codes stored hashed, deadline, journal rows, e-mails without health data, PDF letters."""

import io
import re
import uuid
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.utils import timezone
from pypdf import PdfReader

from mes.acces.models import JournalEntry
from mes.comptes.codes import code_matches
from mes.comptes.models import Citizen, CitizenStatus, NotificationChannel, Wave
from mes.comptes.services.campaigns import CampaignError
from mes.comptes.services.lifecycle import JOURNAL_ACTIONS, optout_deadline
from mes.comptes.services.notification import wave_notify_run, wave_notify_start
from mes.comptes.tasks.campaigns import campaign_notify
from tests.comptes.test_campaign_import import HEADER, line, run_import

CODE_RE = re.compile(r"\b([0-9A-HJKMNP-TV-Z]{5})-([0-9A-HJKMNP-TV-Z]{5})\b")
HEALTH_WORDS = ("diagnostic", "traitement", "ordonnance", "maladie chronique", "résultat", "analyse", "vaccin")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.CAMPAIGN_LETTER_BATCH_SIZE = 2
    settings.CAMPAIGN_NOTIFY_CHUNK = 2
    settings.CAMPAIGN_EMAIL_BATCH_SIZE = 2
    settings.PUBLIC_BASE_URL = "https://mes.exemple.fr"


@pytest.fixture
def wave(db, administrator):
    lines = [HEADER] + [line(n, email=f"personne{n}@exemple.fr") for n in range(1, 4)] + [line(n) for n in range(4, 9)]
    return run_import("\n".join(lines) + "\n", actor=administrator)


def notify(wave, actor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        wave_notify_start(wave=wave, actor=actor)
        campaign_notify.delay(wave.pk, actor.pk)
    wave.refresh_from_db()
    return wave


def test_everyone_is_notified_with_a_hashed_code_expiring_at_the_deadline(
    wave, administrator, django_capture_on_commit_callbacks
):
    before = timezone.now()
    wave = notify(wave, administrator, django_capture_on_commit_callbacks)

    assert wave.status == Wave.Status.NOTIFIED
    people = list(Citizen.objects.filter(wave=wave))
    assert {p.status for p in people} == {CitizenStatus.NOTIFIED}
    for person in people:
        assert before <= person.notified_at <= timezone.now()
        assert person.deadline == optout_deadline(person.notified_at)
        assert person.code_expires_at == person.deadline
        assert len(person.code_hash) == 64 and person.code_failures == 0
    channels = sorted(p.notification_channel for p in people)
    assert channels == [NotificationChannel.EMAIL] * 3 + [NotificationChannel.LETTER] * 5
    assert len({p.code_hash for p in people}) == 8
    rows = JournalEntry.objects.filter(action=JOURNAL_ACTIONS[CitizenStatus.NOTIFIED])
    assert rows.count() == 8
    assert set(rows.values_list("citizen_id", flat=True)) == {p.pk for p in people}
    assert {r.actor_id for r in rows} == {administrator.pk}


def test_deadline_is_one_month_and_ten_days_on_calendar_months(settings):
    sent = datetime(2025, 1, 31, 9, 0, tzinfo=UTC)
    assert optout_deadline(sent) == datetime(2025, 3, 10, 9, 0, tzinfo=UTC)  # 28 February + 10 days
    settings.OPTOUT_DELAY_MONTHS, settings.OPTOUT_DELAY_DAYS = 1, 14
    assert optout_deadline(datetime(2025, 4, 20, tzinfo=UTC)) == datetime(2025, 6, 3, tzinfo=UTC)


def test_emails_carry_the_code_and_the_two_ways_and_no_health_data(
    wave, administrator, django_capture_on_commit_callbacks
):
    wave = notify(wave, administrator, django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 3
    for message in mail.outbox:
        [address] = message.to
        person = Citizen.objects.get(contact_email=address)
        code = "".join(CODE_RE.search(message.body).groups())
        assert code_matches(code, person.code_hash)
        assert "https://mes.exemple.fr/activer/" in message.body
        assert "https://mes.exemple.fr/opposition/" in message.body
        assert person.birth_name in message.body
        text = (message.subject + message.body).lower()
        assert not any(word in text for word in HEALTH_WORDS)
        assert person.ins not in message.body
        assert not getattr(message, "alternatives", None) and not message.attachments


def test_letters_are_pdf_batches_with_one_page_per_person_without_email(
    wave, administrator, django_capture_on_commit_callbacks
):
    wave = notify(wave, administrator, django_capture_on_commit_callbacks)

    batches = list(wave.letter_batches.order_by("number"))
    assert [b.people_count for b in batches] == [2, 2, 1]
    pages = []
    for batch in batches:
        with batch.file.open("rb") as handle:
            reader = PdfReader(io.BytesIO(handle.read()))
        assert len(reader.pages) == batch.people_count
        pages += [page.extract_text() for page in reader.pages]
    assert len(pages) == Citizen.objects.filter(wave=wave, contact_email="").count() == 5
    for text in pages:
        code = "".join(CODE_RE.search(text).groups())
        person = next(p for p in Citizen.objects.filter(wave=wave, contact_email="") if p.birth_name in text)
        assert code_matches(code, person.code_hash)
        assert "/activer/" in text and "/opposition/" in text
        assert person.address_line in text and "31000 Toulouse" in text


def test_a_letter_prints_the_recipient_block_in_the_envelope_window(db):
    from reportlab.lib.units import mm

    from mes.comptes.services.notification import Notice, _letter_pdf

    notice = Notice(
        public_id=uuid.uuid4(),
        first_names="Lucas Pierre",
        birth_name="MARTIN",
        email="",
        code="ABCDE12345",
        deadline=timezone.now(),
        address_line="8 allée des Tilleuls",
        address_complement="Bâtiment B, appartement 12",
        postal_code="44000",
        city="Nantes",
    )
    page = PdfReader(io.BytesIO(_letter_pdf([notice]))).pages[0]
    positions = {}

    def visit(text, _cm, tm, _font, _size):
        if text.strip():
            positions.setdefault(text.strip(), (tm[4] / mm, (float(page.mediabox.height) - tm[5]) / mm))

    text = page.extract_text(visitor_text=visit)

    block = ["Lucas Pierre MARTIN", "8 allée des Tilleuls", "Bâtiment B, appartement 12", "44000 Nantes"]
    assert "\n".join(block) in text
    for printed in block:
        left, top = positions[printed]
        assert 95 <= left <= 105 and 40 <= top <= 75, (printed, left, top)
    assert 45 <= positions[block[0]][1] <= 50
    # The body stays on the left, below the window.
    left, top = positions["Madame, Monsieur,"]
    assert left < 30 and top > positions[block[-1]][1]


def test_an_interrupted_notification_resumes_without_notifying_twice(wave, administrator):
    wave_notify_start(wave=wave, actor=administrator)

    done = wave_notify_run(wave_id=wave.pk, actor=administrator, time_budget=0)
    assert done is False
    first = set(Citizen.objects.filter(wave=wave, status=CitizenStatus.NOTIFIED).values_list("pk", "code_hash"))
    assert len(first) == 2

    while not wave_notify_run(wave_id=wave.pk, actor=administrator, time_budget=0):
        pass

    after = set(Citizen.objects.filter(wave=wave, status=CitizenStatus.NOTIFIED).values_list("pk", "code_hash"))
    assert first <= after and len(after) == 8
    assert JournalEntry.objects.filter(action=JOURNAL_ACTIONS[CitizenStatus.NOTIFIED]).count() == 8
    wave.refresh_from_db()
    assert wave.status == Wave.Status.NOTIFIED


def test_a_wave_is_notified_once_only(wave, administrator, django_capture_on_commit_callbacks):
    notify(wave, administrator, django_capture_on_commit_callbacks)

    with pytest.raises(CampaignError):
        wave_notify_start(wave=wave, actor=administrator)
    assert wave_notify_run(wave_id=wave.pk, actor=administrator) is True
    assert JournalEntry.objects.filter(action=JOURNAL_ACTIONS[CitizenStatus.NOTIFIED]).count() == 8
