"""The demo catalogue: fictional services in every category and of every kind, published with a logo and
screenshots; running it again changes nothing."""

import pytest

from catalogue.demo import DEMO_SERVICES, demo_services_create
from catalogue.models import Category, Screenshot, Service, ServiceKind, ServiceStatus
from catalogue.selectors import catalogue_search
from catalogue.services import SERVICE_PUBLISHED
from mes.acces.models import JournalEntry

pytestmark = pytest.mark.django_db


def test_the_demo_catalogue_is_complete_and_idempotent(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = demo_services_create()
    assert len(created) == len(DEMO_SERVICES) == 14
    services = list(Service.objects.prefetch_related("screenshots"))
    assert {service.category for service in services} == set(Category.values)
    assert {service.kind for service in services} == set(ServiceKind.values)
    for service in services:
        assert service.status == ServiceStatus.PUBLISHED
        assert service.logo and len(service.logo_sha256) == 64
        assert 2 <= len(service.screenshots.all()) <= 3
        assert all(screenshot.alt_text for screenshot in service.screenshots.all())
        assert service.website_url.endswith(".example") or not service.website_url
        assert len(service.short_description) <= 200
        assert len(service.long_description.split("\n\n")) >= 3
    assert any(service.medical_device for service in services)
    assert any(service.connected_objects for service in services)
    assert any(service.data_exchanges for service in services)
    assert JournalEntry.objects.filter(action=SERVICE_PUBLISHED).count() == 14

    snapshot = list(Service.objects.order_by("pk").values_list("pk", "updated_at", "logo", "published_at"))
    screenshots = Screenshot.objects.count()
    assert demo_services_create() == []
    assert list(Service.objects.order_by("pk").values_list("pk", "updated_at", "logo", "published_at")) == snapshot
    assert Screenshot.objects.count() == screenshots
    assert JournalEntry.objects.filter(action=SERVICE_PUBLISHED).count() == 14


def test_the_demo_catalogue_is_searchable():
    demo_services_create()
    assert [service.slug for service in catalogue_search(text="depistages").services] == ["vaccirappel"]
    assert catalogue_search(text="tension").services.first().slug == "tensiocarnet"
