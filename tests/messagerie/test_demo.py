"""The demo citizen's inbox, created by ``manage.py demo`` through the ingestion service."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from dossier.uploads import inspect_bytes
from mes.acces.models import JournalEntry
from mes.comptes.demo import DEMO_DOMAIN
from mes.comptes.models import Citizen
from messagerie.models import Attachment, AttachmentFormat, Conversation, Correspondent, Message
from messagerie.services.ingest import MESSAGE_RECEIVED

pytestmark = pytest.mark.django_db

MODELS = (Correspondent, Conversation, Message, Attachment)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_demo_fills_camilles_inbox_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", stdout=StringIO())
    counts = [model.objects.count() for model in MODELS]
    journal = JournalEntry.objects.filter(action=MESSAGE_RECEIVED).count()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo", stdout=StringIO())
    assert [model.objects.count() for model in MODELS] == counts
    assert JournalEntry.objects.filter(action=MESSAGE_RECEIVED).count() == journal == 5

    camille = Citizen.objects.get(user__email=f"camille.durand@{DEMO_DOMAIN}")
    conversations = Conversation.objects.filter(citizen=camille)
    assert conversations.count() == 4
    assert all(correspondent.address.endswith(".mssante.fr") for correspondent in Correspondent.objects.all())
    # The general practitioner's thread: her report, then her follow-up in reply to it.
    thread = conversations.get(correspondent__address="sophie.lefebvre@medecin.mssante.fr")
    report, follow_up = thread.messages.order_by("received_at")
    assert follow_up.in_reply_to == report.message_id and report.attachments.get().format == AttachmentFormat.PDF
    # The attachments are real: PDFs that pass the dossier's checker, an appointment ahead in an iCalendar file.
    attachments = Attachment.objects.filter(citizen=camille)
    assert not attachments.exclude(blocked_reason="").exists()
    pdfs = attachments.filter(format=AttachmentFormat.PDF)
    assert pdfs.count() == 2
    for pdf in pdfs:
        with pdf.file.open("rb") as stream:
            inspect_bytes(stream.read(), max_bytes=10 * 1024**2)
    ics = attachments.get(format=AttachmentFormat.ICS)
    with ics.file.open("rb") as stream:
        calendar = stream.read().decode()
    assert "BEGIN:VEVENT" in calendar and "SUMMARY:Consultation de cardiologie" in calendar
    start = next(line for line in calendar.splitlines() if line.startswith("DTSTART:"))
    assert start[8:16] > timezone.now().strftime("%Y%m%d")
    # Dated in the past, newest activity last: the pharmacist's message of yesterday.
    newest = conversations.order_by("-last_message_at").first()
    assert newest.correspondent.address == "thomas.girard@pharmacien.mssante.fr"
    assert newest.last_message_at < timezone.now()
