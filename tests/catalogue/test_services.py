"""Publication, suspension and withdrawal of a service (the functions référencement will call), and its images."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from catalogue.models import MAX_SCREENSHOTS, Screenshot, Service, ServiceStatus
from catalogue.services import (
    SERVICE_PUBLISHED,
    SERVICE_SUSPENDED,
    SERVICE_WITHDRAWN,
    StatusChangeRefused,
    screenshot_add,
    service_logo_set,
    service_publish,
    service_suspend,
    service_withdraw,
)
from mes.acces.journal import action_label
from mes.acces.models import JournalEntry
from tests.catalogue.helpers import make_service, png_bytes, service_fields

pytestmark = pytest.mark.django_db


def _journal(action: str) -> list[JournalEntry]:
    return list(JournalEntry.objects.filter(action=action).order_by("seq"))


def test_publish_lists_the_service_and_writes_the_journal(administrator):
    service = make_service(publish=False)
    assert service.status == ServiceStatus.DRAFT
    published = service_publish(actor=administrator, service=service)
    published.refresh_from_db()
    assert published.status == ServiceStatus.PUBLISHED
    assert published.published_at is not None
    [entry] = _journal(SERVICE_PUBLISHED)
    assert entry.actor_id == administrator.pk
    assert entry.object_id == str(service.public_id)
    assert entry.details == {"slug": service.slug, "name": service.name, "previous_status": ServiceStatus.DRAFT}
    assert action_label(SERVICE_PUBLISHED) == "Publication d’un service au catalogue"


def test_a_service_without_logo_is_not_published(administrator):
    service = Service.objects.create(**service_fields())
    with pytest.raises(StatusChangeRefused, match="logo"):
        service_publish(actor=administrator, service=service)
    service.refresh_from_db()
    assert service.status == ServiceStatus.DRAFT
    assert _journal(SERVICE_PUBLISHED) == []


def test_an_incomplete_entry_is_not_published(administrator):
    service = make_service(publish=False)
    Service.objects.filter(pk=service.pk).update(short_description="")
    with pytest.raises(StatusChangeRefused, match="incomplète"):
        service_publish(actor=administrator, service=service)


def test_publishing_twice_is_refused(administrator):
    service = make_service()
    with pytest.raises(StatusChangeRefused, match="déjà publié"):
        service_publish(actor=administrator, service=service)


def test_suspend_then_publish_again(administrator):
    service = make_service()
    first_publication = Service.objects.get(pk=service.pk).published_at
    suspended = service_suspend(actor=administrator, service=service, reason="Audit du 12 mars : non-conformité.")
    assert suspended.status == ServiceStatus.SUSPENDED
    [entry] = _journal(SERVICE_SUSPENDED)
    assert entry.details["reason"] == "Audit du 12 mars : non-conformité."
    republished = service_publish(actor=administrator, service=service)
    assert republished.status == ServiceStatus.PUBLISHED
    assert republished.published_at > first_publication
    assert _journal(SERVICE_PUBLISHED)[-1].details["previous_status"] == ServiceStatus.SUSPENDED


def test_only_a_published_service_is_suspended(administrator):
    service = make_service(publish=False)
    with pytest.raises(StatusChangeRefused, match="Seul un service publié"):
        service_suspend(actor=administrator, service=service, reason="Audit")


def test_withdraw_needs_a_reason_and_is_journaled(administrator):
    service = make_service()
    with pytest.raises(StatusChangeRefused, match="motif"):
        service_withdraw(actor=administrator, service=service, reason="   ")
    with pytest.raises(StatusChangeRefused, match="limité"):
        service_withdraw(actor=administrator, service=service, reason="x" * 1001)
    withdrawn = service_withdraw(actor=administrator, service=service, reason="Fin de la convention")
    assert withdrawn.status == ServiceStatus.WITHDRAWN
    [entry] = _journal(SERVICE_WITHDRAWN)
    assert entry.details["previous_status"] == ServiceStatus.PUBLISHED
    with pytest.raises(StatusChangeRefused, match="déjà retiré"):
        service_withdraw(actor=administrator, service=service, reason="Encore")


def test_a_withdrawn_service_may_be_published_after_a_new_referencement(administrator):
    service = make_service()
    service_withdraw(actor=administrator, service=service, reason="Fin de la convention")
    assert service_publish(actor=administrator, service=service).status == ServiceStatus.PUBLISHED


def test_a_new_logo_replaces_the_old_file_once_committed(django_capture_on_commit_callbacks):
    service = make_service(publish=False)
    old_name, old_sha = service.logo.name, service.logo_sha256
    assert default_storage.exists(old_name)
    with django_capture_on_commit_callbacks(execute=True):
        service_logo_set(service=service, upload=png_bytes((256, 256), (200, 0, 0)))
    service.refresh_from_db()
    assert service.logo_sha256 != old_sha
    assert service.logo.name.endswith(".png") and service.logo.name != old_name
    assert not default_storage.exists(old_name)
    assert default_storage.exists(service.logo.name)


def test_a_refused_logo_changes_nothing():
    service = make_service(publish=False)
    before = (service.logo.name, service.logo_sha256)
    with pytest.raises(ValidationError):
        service_logo_set(service=service, upload=b"<svg></svg>")
    service.refresh_from_db()
    assert (service.logo.name, service.logo_sha256) == before


def test_screenshots_need_a_description_and_are_limited(django_capture_on_commit_callbacks):
    service = make_service(publish=False)
    with pytest.raises(ValidationError, match="Décrivez"):
        screenshot_add(service=service, upload=png_bytes((300, 600)), alt_text="  ")
    for number in range(MAX_SCREENSHOTS):
        screenshot_add(service=service, upload=png_bytes((300, 600), (number, 0, 0)), alt_text=f"Écran {number}")
    with pytest.raises(ValidationError, match="au plus 8"):
        screenshot_add(service=service, upload=png_bytes((300, 600)), alt_text="Un de trop")
    assert list(service.screenshots.values_list("position", flat=True)) == list(range(MAX_SCREENSHOTS))
    name = service.screenshots.first().image.name
    with django_capture_on_commit_callbacks(execute=True):
        Screenshot.objects.filter(pk=service.screenshots.first().pk).first().delete()
    assert not default_storage.exists(name)
