"""Publication at the signature: the catalogue entry from the sheet, the production app and its granted scopes, the
update of an entry by a later dossier, and nothing left behind when the publication is refused."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import Application

from catalogue.images import SCREENSHOT, image_prepare
from catalogue.models import DataExchange, Service, ServiceStatus, exchange_scopes
from convergence.models import Procedure
from mes.acces import scopes as app_scopes
from mes.acces.models import AppHabilitation, JournalEntry
from referencement.models import (
    Decision,
    DecisionResult,
    Dossier,
    DossierKind,
    DossierScreenshot,
    State,
)
from referencement.services.convention import convention_generate, convention_sign
from referencement.services.publication import DOSSIER_PUBLISHED, application_secret_renew
from tests.referencement.conftest import make_ready_product, png_bytes

pytestmark = pytest.mark.django_db

# The decision grants two of the three exchanges asked for (conftest.EXCHANGES).
GRANTED = [DataExchange.MEASURES_READ, DataExchange.MEASURES_WRITE]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    """Each test stores its files in its own folder, so that what it finds there is what it wrote."""
    settings.MEDIA_ROOT = tmp_path / "media"


def stored_files(settings) -> list[str]:
    root = settings.MEDIA_ROOT
    if not root.exists():
        return []
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def add_screenshots(dossier: Dossier, count: int = 2) -> None:
    for position in range(count):
        image = image_prepare(png_bytes(480, 320, colour=(10 * position, 120, 200)), SCREENSHOT)
        screenshot = DossierScreenshot(
            dossier=dossier,
            alt_text=f"Écran {position + 1} : le relevé des mesures",
            position=position,
            sha256=image.sha256,
            width=image.width,
            height=image.height,
        )
        screenshot.image.save("capture.png", ContentFile(image.content), save=False)
        screenshot.save()


def granted_dossier(product, editor, administrator, *, granted=None, screenshots: int = 2, **fields) -> Dossier:
    """A dossier whose référencement was just granted: decision recorded, convention generated, to be signed."""
    from tests.referencement.conftest import dossier_in_state

    exchange = product.procedure == Procedure.AVEC_ECHANGE
    granted = (GRANTED if granted is None else granted) if exchange else []
    dossier = dossier_in_state(product, State.CONVENTION, editor=editor, granted_exchanges=granted, **fields)
    add_screenshots(dossier, screenshots)
    Decision.objects.create(
        dossier=dossier,
        result=DecisionResult.GRANTED,
        granted_exchanges=granted,
        reasons="Avis favorable de la commission ; les documents ne sont pas utiles au service.",
        decided_by=administrator,
    )
    convention_generate(dossier=dossier)
    dossier.refresh_from_db()
    return dossier


def sign(dossier: Dossier, editor) -> Dossier:
    return convention_sign(
        actor=editor,
        dossier=dossier,
        signer_name="Claire Martin",
        signer_capacity="Présidente",
        sha256_seen=dossier.convention.sha256,
    )


def published_dossier(product, editor, administrator, **fields) -> Dossier:
    return sign(granted_dossier(product, editor, administrator, **fields), editor)


# --- A first référencement -----------------------------------------------------------------------------------------


def test_signing_publishes_the_entry_from_the_sheet_with_its_logo_and_screenshots(
    ready_product, editor, administrator, client, citizen
):
    dossier = published_dossier(ready_product, editor, administrator)

    dossier.refresh_from_db()
    assert dossier.state == State.PUBLISHED
    service = dossier.service
    assert service.status == ServiceStatus.PUBLISHED
    assert (service.name, service.slug, service.editor_name) == (
        "Suivi Tension",
        "suivi-tension",
        dossier.organisation.name,
    )
    assert service.short_description == dossier.short_description
    assert service.kind == dossier.service_kind
    assert service.app_store_url == dossier.app_store_url
    assert service.data_exchanges == GRANTED
    assert service.logo and service.logo_sha256
    assert [(shot.alt_text, shot.position) for shot in service.screenshots.all()] == [
        ("Écran 1 : le relevé des mesures", 0),
        ("Écran 2 : le relevé des mesures", 1),
    ]
    assert dossier.published_at is not None
    assert dossier.valid_until == timezone.localdate(dossier.published_at).replace(
        year=timezone.localdate(dossier.published_at).year + 3
    )
    assert JournalEntry.objects.filter(action=DOSSIER_PUBLISHED, object_id=str(dossier.public_id)).count() == 1
    # The citizen finds it in the catalogue.
    client.force_login(citizen.user)
    page = client.get(reverse("catalogue_home"))
    assert "Suivi Tension" in page.content.decode()
    assert client.get(reverse("catalogue_detail", args=[service.slug])).status_code == 200


def test_the_production_app_gets_the_granted_scopes_only(ready_product, editor, administrator):
    dossier = published_dossier(ready_product, editor, administrator)

    dossier.refresh_from_db()
    habilitation = dossier.habilitation
    assert habilitation.sandbox is False
    assert habilitation.approved_scopes == app_scopes.normalise(exchange_scopes(GRANTED)) == ["patient/Observation.crs"]
    assert "patient/DocumentReference.c" not in habilitation.approved_scopes  # asked for, not granted
    assert habilitation.oid == dossier.oid
    assert habilitation.is_active
    assert dossier.service.habilitation == habilitation
    application = habilitation.application
    assert application.client_type == Application.CLIENT_CONFIDENTIAL
    assert application.authorization_grant_type == Application.GRANT_AUTHORIZATION_CODE
    assert application.algorithm == Application.RS256_ALGORITHM
    assert application.redirect_uris.split() == dossier.redirect_uris


def test_a_renewed_secret_authenticates_the_client_and_the_former_one_no_longer(ready_product, editor, administrator):
    dossier = published_dossier(ready_product, editor, administrator)
    first = application_secret_renew(actor=editor, dossier=dossier)
    second = application_secret_renew(actor=editor, dossier=dossier)

    application = Application.objects.get(pk=dossier.habilitation.application_id)
    assert first != second
    assert check_password(second, application.client_secret)
    assert not check_password(first, application.client_secret)
    assert second not in application.client_secret  # stored hashed


def test_a_simple_dossier_is_published_without_an_app(ready_product_simple, editor, administrator):
    dossier = published_dossier(ready_product_simple, editor, administrator)

    dossier.refresh_from_db()
    assert dossier.service.status == ServiceStatus.PUBLISHED
    assert dossier.service.data_exchanges == []
    assert dossier.habilitation is None
    assert not AppHabilitation.objects.exists()


def test_a_second_service_of_the_same_name_gets_its_own_address(ready_product, editor, administrator, organisation):
    first = published_dossier(ready_product, editor, administrator)
    other = make_ready_product(editor, organisation, name="Suivi Tension", version="1.0")
    second = published_dossier(other, editor, administrator, oid="1.2.250.1.999.2")

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.service.slug, second.service.slug) == ("suivi-tension", "suivi-tension-2")


# --- An update of a published référencement ------------------------------------------------------------------------


def test_an_update_dossier_updates_the_same_entry_and_app_and_supersedes_the_previous(
    ready_product, editor, administrator, organisation
):
    first = published_dossier(ready_product, editor, administrator)
    first.refresh_from_db()
    service, habilitation = first.service, first.habilitation
    screenshot_files = sorted(shot.image.name for shot in service.screenshots.all())
    version = make_ready_product(editor, organisation, name="Suivi Tension 4")
    update = granted_dossier(
        version,
        editor,
        administrator,
        kind=DossierKind.MAJOR_VERSION,
        previous=first,
        name="Suivi Tension 4",
        redirect_uris=["https://suivi-tension.example.fr/oauth/retour-v4"],
        granted=[DataExchange.MEASURES_READ],
        screenshots=1,
    )

    sign(update, editor)

    update.refresh_from_db()
    first.refresh_from_db()
    service.refresh_from_db()
    habilitation.refresh_from_db()
    assert first.state == State.SUPERSEDED
    assert update.state == State.PUBLISHED
    assert update.service_id == service.pk and update.habilitation_id == habilitation.pk
    assert Service.objects.count() == 1 and AppHabilitation.objects.count() == 1
    assert service.name == "Suivi Tension 4" and service.slug == "suivi-tension"  # the address does not change
    assert service.status == ServiceStatus.PUBLISHED
    assert service.screenshots.count() == 1
    assert habilitation.approved_scopes == ["patient/Observation.rs"]
    assert habilitation.application.redirect_uris == "https://suivi-tension.example.fr/oauth/retour-v4"
    assert sorted(shot.image.name for shot in service.screenshots.all()) != screenshot_files


def test_replaced_screenshots_leave_the_storage_once_committed(
    ready_product, editor, administrator, organisation, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = published_dossier(ready_product, editor, administrator)
    old_files = [shot.image.name for shot in first.service.screenshots.all()]
    version = make_ready_product(editor, organisation, name="Suivi Tension 4")
    update = granted_dossier(
        version, editor, administrator, kind=DossierKind.MAJOR_VERSION, previous=first, screenshots=1
    )
    with django_capture_on_commit_callbacks(execute=True):
        sign(update, editor)

    files = stored_files(settings)
    assert old_files and not any(name in files for name in old_files)
    service = Service.objects.get()
    assert all(shot.image.name in files for shot in service.screenshots.all())


# --- Refused: nothing stays -------------------------------------------------------------------------------------------


def test_a_refused_publication_leaves_no_entry_no_app_no_file_and_an_unsigned_convention(
    ready_product, editor, administrator, settings
):
    dossier = granted_dossier(ready_product, editor, administrator)
    before = stored_files(settings)
    # Meanwhile another app was registered with the organisation's OID: the production app cannot carry it.
    from tests.api.conftest import make_application

    other = make_application(name="Autre application", habilitation=False)
    AppHabilitation.objects.create(
        application=other, name="Autre application", editor_name="Autre", oid=dossier.oid, approved_scopes=[]
    )
    applications = Application.objects.count()

    with pytest.raises(ValidationError) as refused, transaction.atomic():
        sign(dossier, editor)

    assert "OID" in refused.value.messages[0]
    dossier.refresh_from_db()
    assert dossier.state == State.CONVENTION
    assert not dossier.convention.is_signed
    assert not Service.objects.exists()
    assert Application.objects.count() == applications
    assert stored_files(settings) == before  # the entry's logo and screenshots went with the rollback


def test_publish_refuses_a_dossier_already_published(ready_product, editor, administrator):
    from referencement.services.publication import dossier_publish

    dossier = published_dossier(ready_product, editor, administrator)
    with pytest.raises(ValidationError, match="Seul un dossier dont la convention vient d’être signée"):
        dossier_publish(actor=editor, dossier=dossier)


def test_publication_closes_the_sandbox_of_the_technical_tests(ready_product, editor, administrator):
    from tests.api.conftest import make_application

    dossier = granted_dossier(ready_product, editor, administrator)
    sandbox = AppHabilitation.objects.create(
        application=make_application(name="Bac à sable", habilitation=False),
        name="Bac à sable",
        editor_name=dossier.organisation.name,
        oid=dossier.oid,
        sandbox=True,
        approved_scopes=["patient/Observation.crs"],
    )
    Dossier.objects.filter(pk=dossier.pk).update(sandbox_habilitation=sandbox)
    dossier.refresh_from_db()

    sign(dossier, editor)

    sandbox.refresh_from_db()
    dossier.refresh_from_db()
    assert not sandbox.is_active
    assert dossier.habilitation.is_active and dossier.habilitation.pk != sandbox.pk


def test_the_admin_reads_the_referencement_models_without_changing_them(client, ready_product, editor, administrator):
    from referencement.models import Audit

    dossier = published_dossier(ready_product, editor, administrator)
    audit = Audit.objects.create(dossier=dossier, requested_evidence="Le registre.", deadline=timezone.now())
    client.force_login(administrator)
    for model, obj in [("dossier", dossier), ("convention", dossier.convention), ("audit", audit)]:
        listing = client.get(reverse(f"admin:referencement_{model}_changelist"))
        assert listing.status_code == 200, model
        detail = client.get(reverse(f"admin:referencement_{model}_change", args=[obj.pk]))
        assert detail.status_code == 200, model
        assert 'name="_save"' not in detail.content.decode()
        assert client.get(reverse(f"admin:referencement_{model}_add")).status_code == 403
    assert dossier.reference in client.get(reverse("admin:referencement_dossier_changelist")).content.decode()
