"""Writes of the catalogue: the status of a service (publication, suspension, withdrawal), and its images.

Référencement publishes a service once the decision is taken and the convention signed, and suspends or withdraws it
after an audit (DOMAIN.md §10); until then the administrators do it from the admin. Each change writes one journal row
in the same transaction. Only a complete entry (checked like the admin form does, logo included) may be published.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalogue.images import LOGO, SCREENSHOT, PreparedImage, image_prepare
from catalogue.models import MAX_SCREENSHOTS, NAME_MAX_LENGTH, Screenshot, Service, ServiceStatus
from mes.acces.journal import register_action
from mes.acces.services import journal_append
from mes.comptes.models import User
from mes.uploads import discard_unless_committed

SERVICE_PUBLISHED = "catalogue.service.published"
SERVICE_SUSPENDED = "catalogue.service.suspended"
SERVICE_WITHDRAWN = "catalogue.service.withdrawn"
SERVICE_SHEET_SAVED = "catalogue.service.sheet_saved"

register_action(SERVICE_PUBLISHED, gettext_lazy("Publication d’un service au catalogue"))
register_action(SERVICE_SUSPENDED, gettext_lazy("Suspension d’un service du catalogue"))
register_action(SERVICE_WITHDRAWN, gettext_lazy("Retrait d’un service du catalogue"))
register_action(SERVICE_SHEET_SAVED, gettext_lazy("Mise à jour de la fiche d’un service du catalogue"))


REASON_MAX_LENGTH = 1000

# From which statuses each change may be made. A withdrawn service may be published again after a new
# référencement decision; a suspension is lifted by publishing the service again.
_ALLOWED_FROM = {
    ServiceStatus.PUBLISHED: (ServiceStatus.DRAFT, ServiceStatus.SUSPENDED, ServiceStatus.WITHDRAWN),
    ServiceStatus.SUSPENDED: (ServiceStatus.PUBLISHED,),
    ServiceStatus.WITHDRAWN: (ServiceStatus.DRAFT, ServiceStatus.PUBLISHED, ServiceStatus.SUSPENDED),
}


class StatusChangeRefused(ValidationError):
    """The change of status is not possible from the service's current status, or the entry is incomplete."""


def _locked(service: Service) -> Service:
    return Service.objects.select_for_update().get(pk=service.pk)


def _check_transition(service: Service, target: str) -> None:
    if service.status not in _ALLOWED_FROM[target]:
        messages = {
            ServiceStatus.PUBLISHED: _("Ce service est déjà publié."),
            ServiceStatus.SUSPENDED: _("Seul un service publié peut être suspendu."),
            ServiceStatus.WITHDRAWN: _("Ce service est déjà retiré du catalogue."),
        }
        raise StatusChangeRefused(messages[target], code="transition")


def _reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise StatusChangeRefused(_("Indiquez le motif de la décision."), code="reason")
    if len(reason) > REASON_MAX_LENGTH:
        raise StatusChangeRefused(
            _("Le motif est limité à %(limit)s caractères.") % {"limit": REASON_MAX_LENGTH}, code="reason"
        )
    return reason


def _set_status(service: Service, status: str, now) -> None:
    service.status = status
    service.status_changed_at = now
    fields = ["status", "status_changed_at", "updated_at"]
    if status == ServiceStatus.PUBLISHED:
        service.published_at = now
        fields.append("published_at")
    service.save(update_fields=fields)


@transaction.atomic
def service_publish(*, actor: User | None, service: Service, actor_label: str = "") -> Service:
    """List the service in the catalogue (first publication, end of a suspension, or a new référencement).

    ``published_at`` becomes now: the catalogue shows since when the service is referenced as it stands.
    """
    locked = _locked(service)
    _check_transition(locked, ServiceStatus.PUBLISHED)
    try:
        # The rules of the constraints are checked by ``Service.clean`` with French messages, and PostgreSQL
        # enforces them again at the save: no need for a query per constraint here.
        locked.full_clean(validate_constraints=False)
    except ValidationError as error:
        raise StatusChangeRefused(
            _("La fiche du service est incomplète : %(errors)s")
            % {"errors": " ".join(message for messages in error.message_dict.values() for message in messages)},
            code="incomplete",
        ) from error
    if not locked.logo:
        raise StatusChangeRefused(_("Ajoutez le logo du service avant de le publier."), code="incomplete")
    previous = locked.status
    _set_status(locked, ServiceStatus.PUBLISHED, timezone.now())
    journal_append(
        actor=actor,
        actor_label=actor_label,
        action=SERVICE_PUBLISHED,
        obj=locked,
        details={"slug": locked.slug, "name": locked.name, "previous_status": previous},
    )
    return locked


@transaction.atomic
def service_suspend(*, actor: User | None, service: Service, reason: str, actor_label: str = "") -> Service:
    """Take a published service off the catalogue for a while (e.g. an audit found a non-compliance)."""
    reason = _reason(reason)
    locked = _locked(service)
    _check_transition(locked, ServiceStatus.SUSPENDED)
    _set_status(locked, ServiceStatus.SUSPENDED, timezone.now())
    journal_append(
        actor=actor,
        actor_label=actor_label,
        action=SERVICE_SUSPENDED,
        obj=locked,
        details={"slug": locked.slug, "name": locked.name, "reason": reason},
    )
    return locked


@transaction.atomic
def service_withdraw(*, actor: User | None, service: Service, reason: str, actor_label: str = "") -> Service:
    """Remove a service from the catalogue: end of its référencement, withdrawal after an audit, or the editor's
    request."""
    reason = _reason(reason)
    locked = _locked(service)
    _check_transition(locked, ServiceStatus.WITHDRAWN)
    previous = locked.status
    _set_status(locked, ServiceStatus.WITHDRAWN, timezone.now())
    journal_append(
        actor=actor,
        actor_label=actor_label,
        action=SERVICE_WITHDRAWN,
        obj=locked,
        details={"slug": locked.slug, "name": locked.name, "reason": reason, "previous_status": previous},
    )
    return locked


# --- Images -------------------------------------------------------------------------------------------------------


@transaction.atomic
def service_logo_set(*, service: Service, upload) -> Service:
    """Check and re-encode ``upload`` (a file or bytes) and make it the service's logo (the replaced file is deleted
    once this commits: ``catalogue.signals``)."""
    prepared: PreparedImage = image_prepare(upload, LOGO)
    service.logo_sha256 = prepared.sha256
    service.logo.save("logo.png", prepared.as_file("logo.png"), save=False)
    service.save(update_fields=["logo", "logo_sha256", "updated_at"])
    return service


@transaction.atomic
def screenshot_add(*, service: Service, upload, alt_text: str, position: int | None = None) -> Screenshot:
    """Check and re-encode ``upload`` and add it to the service's screenshots, last unless told otherwise."""
    alt_text = " ".join((alt_text or "").split())
    if not alt_text:
        raise ValidationError({"alt_text": _("Décrivez ce que montre la capture d’écran.")})
    locked = _locked(service)
    count = locked.screenshots.count()
    if count >= MAX_SCREENSHOTS:
        raise ValidationError(
            _("Un service a au plus %(limit)s captures d’écran.") % {"limit": MAX_SCREENSHOTS}, code="too_many"
        )
    prepared = image_prepare(upload, SCREENSHOT)
    screenshot = Screenshot(
        service=locked,
        alt_text=alt_text,
        position=count if position is None else position,
        sha256=prepared.sha256,
        width=prepared.width,
        height=prepared.height,
    )
    # Everything is checked before the file is written, so that a refusal leaves nothing in the storage.
    screenshot.full_clean(exclude=["image"])
    screenshot.image.save("capture.png", prepared.as_file("capture.png"), save=False)
    screenshot.save()
    return screenshot


# --- The entry written from a référencement sheet ---------------------------------------------------------------

# The fields of an entry that a référencement sheet gives (the status, images and habilitation are set apart).
SHEET_FIELDS = (
    "name",
    "editor_name",
    "short_description",
    "long_description",
    "category",
    "kind",
    "website_url",
    "app_store_url",
    "google_play_url",
    "price_model",
    "price_details",
    "medical_device",
    "medical_device_class",
    "connected_objects",
    "connected_objects_details",
    "data_exchanges",
    "support_email",
    "support_phone",
    "support_url",
    "accessibility_compliance",
    "accessibility_url",
)


def _slug_unique(name: str) -> str:
    """The entry's address from its name (« Suivi Tension » → suivi-tension), numbered when already taken."""
    base = slugify(name)[:NAME_MAX_LENGTH].strip("-") or "service"
    taken = set(Service.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = base[: NAME_MAX_LENGTH - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        number += 1


@transaction.atomic
def service_save_from_sheet(
    *,
    actor: User | None,
    service: Service | None,
    values: dict,
    logo_bytes: bytes,
    screenshots: list[tuple[bytes, str]],
    actor_label: str = "",
) -> Service:
    """Create (``service`` None) or update the catalogue entry from a référencement sheet, and publish it.

    ``values`` holds fields of ``SHEET_FIELDS``; ``logo_bytes`` and ``screenshots`` (``(bytes, alt text)`` in order)
    are checked and re-encoded by ``catalogue.images``. A new entry gets its address from its name; an updated one
    keeps its address. The entry is checked (``Service.clean``, French messages) before any file is written; files
    written here are deleted again if the transaction rolls back, the replaced ones once it commits. A draft,
    suspended or withdrawn entry becomes published; a published one stays so (with its publication date).
    """
    unknown = sorted(set(values) - set(SHEET_FIELDS))
    if unknown:
        raise ValueError(f"Champs inconnus de la fiche : {', '.join(unknown)}")
    if len(screenshots) > MAX_SCREENSHOTS:
        raise ValidationError(
            _("Un service a au plus %(limit)s captures d’écran.") % {"limit": MAX_SCREENSHOTS}, code="too_many"
        )
    created = service is None
    if created:
        service = Service(**values)
        service.slug = _slug_unique(values.get("name", ""))
    else:
        service = _locked(service)
        for name, value in values.items():
            setattr(service, name, value)
    logo = image_prepare(logo_bytes, LOGO)
    images = [(image_prepare(content, SCREENSHOT), " ".join((alt or "").split())) for content, alt in screenshots]
    if any(not alt for _image, alt in images):
        raise ValidationError({"screenshots": _("Décrivez ce que montre chaque capture d’écran.")})
    # The rules of the constraints, in French, before any file is written.
    service.full_clean(validate_constraints=False)
    if service.logo_sha256 != logo.sha256:
        service.logo_sha256 = logo.sha256
        service.logo.save("logo.png", logo.as_file("logo.png"), save=False)
        discard_unless_committed(service.logo.name, model=Service, field="logo")
    # The replaced logo is deleted once this commits (catalogue.signals).
    service.save()
    current = [(shot.sha256, shot.alt_text) for shot in service.screenshots.all()] if not created else []
    if current != [(image.sha256, alt) for image, alt in images]:
        # Deleted rows take their files with them once this commits (catalogue.signals).
        service.screenshots.all().delete()
        for position, (image, alt) in enumerate(images):
            screenshot = Screenshot(
                service=service,
                alt_text=alt,
                position=position,
                sha256=image.sha256,
                width=image.width,
                height=image.height,
            )
            screenshot.image.save("capture.png", image.as_file("capture.png"), save=False)
            discard_unless_committed(screenshot.image.name, model=Screenshot, field="image")
            screenshot.save()
    journal_append(
        actor=actor,
        actor_label=actor_label,
        action=SERVICE_SHEET_SAVED,
        obj=service,
        details={"slug": service.slug, "name": service.name, "nouvelle": created},
    )
    if service.status != ServiceStatus.PUBLISHED:
        service = service_publish(actor=actor, service=service, actor_label=actor_label)
    return service
