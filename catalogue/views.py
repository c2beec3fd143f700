"""``/catalogue/``: the list of referenced services with the search and the category filter, a service's page, and
the images of both.

The catalogue is a page of the citizen's space (seed 003: « Mon catalogue de service », one of the four bricks
the person reaches once signed in), so its pages are open to citizens only. Its images are also open to the
administrators, who see them in the admin while preparing an entry.
"""

import re

from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from catalogue.forms import CatalogueSearchForm
from catalogue.images import STORED_CONTENT_TYPE
from catalogue.models import Category
from catalogue.selectors import catalogue_search, service_image_name, service_published_get, service_suggestions
from mes.acces.policy import role_required
from mes.comptes.models import Role
from mes.comptes.selectors.profiles import active_citizen

PAGE_SIZE = 12
# An image answer is nothing but a picture: no script, no style, no frame, even if opened on its own.
IMAGE_CSP = "default-src 'none'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
# Images are named by their SHA-256: a URL always gives the same bytes, so browsers may keep them.
IMAGE_CACHE = "private, max-age=604800, immutable"


@require_GET
@role_required(Role.CITIZEN)
def catalogue_home(request: HttpRequest) -> HttpResponse:
    form = CatalogueSearchForm(request.GET or None)
    form.is_valid()  # an invalid field is reported next to it and ignored
    text, category = form.cleaned()
    # The space being managed: the services it is connected to carry the badge « Synchronisé ».
    results = catalogue_search(text=text, category=category, citizen=active_citizen(request))
    page = Paginator(results.services, PAGE_SIZE).get_page(request.GET.get("page"))
    categories = [
        {"value": value, "label": label, "count": results.category_counts[value], "current": value == category}
        for value, label in Category.choices
    ]
    context = {
        "form": form,
        "text": text,
        "category": category,
        "category_label": Category(category).label if category else "",
        "categories": categories,
        "total": results.total,
        "page": page,
        "filtered": bool(text or category),
    }
    return render(request, "catalogue/home.html", context)


@require_GET
@role_required(Role.CITIZEN)
def catalogue_detail(request: HttpRequest, slug: str) -> HttpResponse:
    citizen = active_citizen(request)
    service = service_published_get(slug, citizen=citizen)
    if service is None:
        return render(request, "catalogue/not_found.html", status=404)
    text = service.long_description.replace("\r\n", "\n")
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]
    context = {
        "service": service,
        "screenshots": list(service.screenshots.all()),
        "intro": paragraphs[:1],
        "more": paragraphs[1:],
        "suggestions": service_suggestions(service, citizen=citizen),
    }
    return render(request, "catalogue/detail.html", context)


@require_GET
@role_required(Role.CITIZEN, Role.ADMIN)
def catalogue_image(request: HttpRequest, slug: str, image: str) -> FileResponse:
    """A published service's logo or screenshot, always the PNG re-encoded when it was added. Administrators also
    get those of the entries they are preparing (the admin's previews)."""
    name = service_image_name(slug, image, published_only=request.user.role != Role.ADMIN)
    if not name:
        raise Http404(_("Cette image n’existe pas."))
    try:
        stream = default_storage.open(name, "rb")
    except OSError:
        raise Http404(_("Cette image est introuvable.")) from None
    response = FileResponse(stream, content_type=STORED_CONTENT_TYPE)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = IMAGE_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = IMAGE_CACHE
    return response
