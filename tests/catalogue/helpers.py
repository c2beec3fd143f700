"""Services and images of the catalogue for the tests: a valid entry by default, published with a logo."""

import io

from PIL import Image

from catalogue.models import Category, PriceModel, Service, ServiceKind
from catalogue.services import screenshot_add, service_logo_set, service_publish


def png_bytes(size=(128, 128), colour=(0, 99, 203), mode="RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format="PNG", **save)
    return buffer.getvalue()


def jpeg_bytes(size=(400, 800), colour=(200, 30, 30), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG", **save)
    return buffer.getvalue()


def service_fields(**overrides) -> dict:
    fields = {
        "name": "Service de test",
        "slug": "service-de-test",
        "editor_name": "Éditeur de test",
        "category": Category.PREVENTION,
        "kind": ServiceKind.WEB,
        "short_description": "Une description courte.",
        "long_description": "Une description longue.",
        "price_model": PriceModel.FREE,
        "website_url": "https://service.example",
        "support_email": "aide@service.example",
    }
    fields.update(overrides)
    return fields


def make_service(*, publish=True, screenshots=0, **overrides) -> Service:
    """A valid service (checked like the admin does), with a logo; published unless told otherwise."""
    service = Service(**service_fields(**overrides))
    service.full_clean()
    service.save()
    service_logo_set(service=service, upload=png_bytes())
    for number in range(screenshots):
        screenshot_add(
            service=service, upload=png_bytes((300, 600), (10 * number, 120, 90)), alt_text=f"Écran numéro {number + 1}"
        )
    if publish:
        service = service_publish(actor=None, service=service)
    return service
