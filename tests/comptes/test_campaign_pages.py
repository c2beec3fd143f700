"""Campaign pages: administrators only, upload with size limits, progress endpoint, downloads."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from mes.comptes.models import Citizen, Wave
from mes.comptes.services.campaigns import progress_set
from tests.comptes.test_campaign_import import HEADER, line, run_import

ROLES = ["citizen", "professional", "editor", "commission", "admin"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.CAMPAIGN_LETTER_BATCH_SIZE = 10


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """A POST whose on-commit callbacks (the inline Celery task) run, as they would outside the test transaction."""

    def send(client, url, data=None, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data or {}, **extra)

    return send


@pytest.fixture
def upload(post):
    def send(client, content: bytes, *, name="vague.csv", departments="31", **extra):
        data = {"name": "Vague pilote", "departments": departments, "file": SimpleUploadedFile(name, content)}
        return post(client, reverse("campaign_new"), data, **extra)

    return send


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def test_an_administrator_imports_a_file_and_sees_the_result(client, administrator, upload):
    client.force_login(administrator)

    response = upload(client, csv_bytes(line(1, email="a@exemple.fr"), line(2), "bad;line"))

    wave = Wave.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("campaign_detail", args=[wave.public_id])
    assert wave.status == Wave.Status.IMPORTED  # Celery runs inline without a broker
    assert (wave.imported_count, wave.rejected_count) == (2, 1)
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Personnes importées" in html and "<progress" in html
    assert reverse("campaign_rejects", args=[wave.public_id]) in html
    assert reverse("campaign_notify", args=[wave.public_id]) in html
    report = client.get(reverse("campaign_rejects", args=[wave.public_id]))
    assert report.status_code == 200
    assert report["Content-Type"].startswith("text/csv")
    assert "Nombre de colonnes incorrect" in b"".join(report.streaming_content).decode("utf-8-sig")
    assert client.get(reverse("campaign_list")).content.decode().count("Vague pilote") == 1


def test_the_notification_asks_for_confirmation_then_offers_the_letters(client, administrator, upload, post):
    client.force_login(administrator)
    upload(client, csv_bytes(line(1, email="a@exemple.fr"), line(2), line(3)))
    wave = Wave.objects.get()
    url = reverse("campaign_notify", args=[wave.public_id])

    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Confirmer la notification" in confirm.content.decode()
    assert Wave.objects.get().status == Wave.Status.IMPORTED

    response = post(client, url)
    wave.refresh_from_db()
    assert response.status_code == 302
    assert wave.status == Wave.Status.NOTIFIED
    batch = wave.letter_batches.get()
    assert batch.people_count == 2
    letters = client.get(reverse("campaign_letters", args=[wave.public_id, batch.number]))
    assert letters.status_code == 200 and letters["Content-Type"] == "application/pdf"
    assert b"".join(letters.streaming_content).startswith(b"%PDF")
    assert post(client, url).status_code == 302  # a second time: refused with a message, nothing resent
    assert Citizen.objects.filter(wave=wave, status="notified").count() == 3


def test_a_two_gigabyte_upload_is_refused_on_its_announced_size_without_reading_it(client, administrator, upload):
    client.force_login(administrator)

    response = upload(client, csv_bytes(line(1)), CONTENT_LENGTH=str(2 * 1024**3))

    assert response.status_code == 413
    assert "taille maximale" in response.content.decode()
    assert not Wave.objects.exists()


def test_an_upload_growing_past_the_limit_while_it_streams_is_refused(client, administrator, settings, upload):
    settings.CAMPAIGN_IMPORT_MAX_BYTES = 2_000
    client.force_login(administrator)

    response = upload(client, csv_bytes(*(line(n) for n in range(1, 60))))  # ~6 KB, announced honestly

    assert response.status_code == 413
    assert "taille maximale" in response.content.decode()
    assert not Wave.objects.exists()


def test_bad_form_input_gets_french_errors(client, administrator, upload):
    client.force_login(administrator)

    response = upload(client, csv_bytes(line(1)), name="vague.xlsx", departments="31, 99")

    assert response.status_code == 400
    html = response.content.decode()
    assert "Département inconnu : 99" in html
    assert "format CSV" in html
    assert not Wave.objects.exists()


def test_the_upload_form_checks_the_csrf_token(administrator, upload):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(administrator)

    assert upload(client, csv_bytes(line(1))).status_code == 403
    assert not Wave.objects.exists()


def test_progress_endpoint_reads_the_cache_while_the_task_runs(client, administrator):
    client.force_login(administrator)
    wave = Wave.objects.create(name="En cours", created_by=administrator)
    progress_set(wave.pk, phase="Lecture du fichier", percent=42.5, lines=1234)

    data = client.get(reverse("campaign_progress", args=[wave.public_id])).json()

    assert data["running"] is True
    assert (data["percent"], data["phase"], data["lines"]) == (42.5, "Lecture du fichier", 1234)
    page = client.get(reverse("campaign_detail", args=[wave.public_id])).content.decode()
    assert "Actualiser la page" in page  # without JavaScript
    assert 'nonce="' in page


def test_progress_endpoint_after_an_inline_run_reads_the_wave(client, administrator):
    client.force_login(administrator)
    wave = run_import(csv_bytes(line(1)))

    data = client.get(reverse("campaign_progress", args=[wave.public_id])).json()

    assert (data["running"], data["percent"], data["imported"]) == (False, 100, 1)


def test_example_file_imports_cleanly(client, administrator):
    client.force_login(administrator)
    example = client.get(reverse("campaign_example"))
    assert example["Content-Disposition"].startswith("attachment")

    wave = run_import(example.content)

    assert (wave.imported_count, wave.rejected_count) == (3, 0)


def _parameterised_urls(wave: Wave) -> list[tuple[str, str]]:
    return [
        ("get", reverse("campaign_detail", args=[wave.public_id])),
        ("get", reverse("campaign_progress", args=[wave.public_id])),
        ("get", reverse("campaign_rejects", args=[wave.public_id])),
        ("get", reverse("campaign_notify", args=[wave.public_id])),
        ("post", reverse("campaign_notify", args=[wave.public_id])),
        ("get", reverse("campaign_letters", args=[wave.public_id, 1])),
        ("post", reverse("campaign_new")),
    ]


@pytest.mark.parametrize("role", ROLES[:-1])
def test_other_roles_get_403_on_every_campaign_route(client, persona_users, role):
    wave = run_import(csv_bytes(line(1), "bad"))
    client.force_login(persona_users[role])
    for method, url in _parameterised_urls(wave):
        assert getattr(client, method)(url).status_code == 403, (role, method, url)
    assert Wave.objects.get().status == Wave.Status.IMPORTED


def test_visitors_are_sent_to_sign_in_on_every_campaign_route(client, db):
    wave = run_import(csv_bytes(line(1), "bad"))
    for method, url in _parameterised_urls(wave):
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith(reverse("account_login"))


def test_unknown_wave_is_404(client, administrator):
    client.force_login(administrator)
    assert client.get(reverse("campaign_detail", args=[uuid.uuid4()])).status_code == 404
