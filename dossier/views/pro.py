"""A patient's dossier seen by a professional: ``/pro/patients/<citizen>/`` and ``…/dossier/``.

Every page is opened by ``professional_view``, which asks the access policy at each request (a code that was ended,
a block or an expired emergency access is refused on the very next one) and journals refusals. Data is read only
through the dossier's selectors with the professional's ``CitizenAccess``: they apply the parts the access opens,
hidden documents (seen by the *médecin traitant* only) and the document categories of the profession, in lists, in
counts and in lookups alike. Each page writes one journal row of what it showed (``access_trace``); an addition is
recorded by the service that makes it.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from dossier.document_types import DOCUMENT_TYPES
from dossier.forms.documents import DocumentFilterForm, DocumentUploadForm
from dossier.measures_catalog import MEASURES
from dossier.models.documents import AuthorKind, Document, DocumentCategory
from dossier.selectors.documents import documents_visible
from dossier.selectors.overview import dossier_overview
from dossier.selectors.profile import profile_sections
from dossier.services.documents import DocumentRefused, document_add
from dossier.uploads import FORMATS, refused_too_large, size_limit_mb
from dossier.views.documents import ACCEPT, document_list_page, document_preview, file_response
from dossier.views.measures import measure_cards, measure_detail_context
from dossier.views.profile import immunization_rows
from mes.acces.decorators import no_access, professional_view
from mes.acces.journal import register_action
from mes.acces.models import Scope
from mes.acces.policy import CitizenAccess
from mes.acces.selectors_pro import access_label
from mes.acces.services.delegations import professional_label
from mes.acces.services.tracing import access_refusal_trace, access_trace
from mes.uploads import upload_limit_install

SPACE_READ = "acces.pro.espace_consulte"
DOCUMENTS_READ = "acces.pro.documents_consultes"
DOCUMENT_READ = "acces.pro.document_consulte"
DOCUMENT_SHOWN = "acces.pro.document_affiche"
DOCUMENT_DOWNLOADED = "acces.pro.document_telecharge"
DOCUMENT_FORM = "acces.pro.document_formulaire"
MEASURES_READ = "acces.pro.mesures_consultees"
MEASURE_READ = "acces.pro.mesure_consultee"
PROFILE_READ = "acces.pro.profil_consulte"
IMMUNIZATIONS_READ = "acces.pro.vaccinations_consultees"
register_action(SPACE_READ, gettext_lazy("Consultation de l’espace par un professionnel"))
register_action(DOCUMENTS_READ, gettext_lazy("Consultation de la liste des documents par un professionnel"))
register_action(DOCUMENT_READ, gettext_lazy("Consultation d’un document par un professionnel"))
register_action(DOCUMENT_SHOWN, gettext_lazy("Affichage du fichier d’un document par un professionnel"))
register_action(DOCUMENT_DOWNLOADED, gettext_lazy("Téléchargement d’un document par un professionnel"))
register_action(DOCUMENT_FORM, gettext_lazy("Ouverture du formulaire d’ajout de document par un professionnel"))
register_action(MEASURES_READ, gettext_lazy("Consultation des mesures de santé par un professionnel"))
register_action(MEASURE_READ, gettext_lazy("Consultation du détail d’une mesure par un professionnel"))
register_action(PROFILE_READ, gettext_lazy("Consultation du profil médical par un professionnel"))
register_action(IMMUNIZATIONS_READ, gettext_lazy("Consultation des vaccinations par un professionnel"))

DOWNLOAD_PARAM = "telecharger"


# --- What the pages share -------------------------------------------------------------------------------------


def _refused(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    """A part the access does not open, or an object it does not show: journaled, and the same 404 as a space
    that does not exist (nothing tells a hidden document from a missing one)."""
    access_refusal_trace(actor=access.actor, citizen=access.citizen, path=request.path)
    return no_access(request)


def _patient_url(access: CitizenAccess, name: str, *args) -> str:
    return reverse(name, args=[access.citizen.public_id, *args])


def _context(access: CitizenAccess, *trail: tuple[str, str | None], **extra) -> dict:
    """The patient's header and the trail « Espace professionnel › <patient> › … » (the last step is the page;
    ``templates/pro/_breadcrumb.html`` draws the first)."""
    steps = [(str(access.citizen), _patient_url(access, "pro_patient")), *trail]
    return {
        "access": access,
        "patient": access.citizen,
        "access_label": access_label(access),
        "trail": steps[:-1],
        "current": steps[-1][0],
        "parts": _parts(access),
        **extra,
    }


def _parts(access: CitizenAccess) -> list[dict]:
    parts = [
        (Scope.DOCUMENTS, _("Documents"), "pro_documents"),
        (Scope.MEASURES, _("Mesures de santé"), "pro_measures"),
        (Scope.PROFILE, _("Profil médical"), "pro_profile"),
        (Scope.IMMUNIZATIONS, _("Vaccinations"), "pro_immunizations"),
    ]
    return [
        {"scope": scope, "label": label, "url": _patient_url(access, name)}
        for scope, label, name in parts
        if access.can_read(scope)
    ]


def _documents_step(access: CitizenAccess) -> tuple[str, str]:
    return (_("Documents"), _patient_url(access, "pro_documents"))


# --- The patient's landing page -------------------------------------------------------------------------------


@require_GET
@never_cache
@professional_view
def pro_patient(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    overview = dossier_overview(access)
    access_trace(access=access, action=SPACE_READ)
    context = _context(access, overview=overview, may_add=access.can_write(Scope.DOCUMENTS))
    return render(request, "dossier/pro/patient.html", context)


# --- Documents ------------------------------------------------------------------------------------------------


def _category_choices(access: CitizenAccess) -> list[tuple[str, str]]:
    return [
        (value, label)
        for value, label in DocumentCategory.choices
        if access.document_categories is None or value in access.document_categories
    ]


def _document(access: CitizenAccess, document_id) -> Document | None:
    return documents_visible(access).filter(public_id=document_id).first()


@require_GET
@never_cache
@professional_view
def pro_documents(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    if not access.can_read(Scope.DOCUMENTS):
        return _refused(request, access)
    form = DocumentFilterForm(request.GET)
    form.fields["categorie"].choices = [("", _("Toutes les catégories")), *_category_choices(access)]
    listing, status = document_list_page(
        request,
        access,
        form,
        detail_url=lambda document: _patient_url(access, "pro_document_detail", document.public_id),
    )
    access_trace(
        access=access,
        action=DOCUMENTS_READ,
        details={"documents": [str(document.public_id) for document in listing["page"].documents]},
    )
    context = _context(access, (_("Documents"), None), **listing, may_add=access.can_write(Scope.DOCUMENTS))
    return render(request, "dossier/pro/documents.html", context, status=status)


@require_GET
@never_cache
@professional_view
def pro_document_detail(request: HttpRequest, access: CitizenAccess, document_id) -> HttpResponse:
    document = _document(access, document_id)
    if document is None:
        return _refused(request, access)
    preview = document_preview(document)
    access_trace(access=access, action=DOCUMENT_READ, obj=document, details={"titre": document.title})
    context = _context(
        access,
        _documents_step(access),
        (document.title, None),
        **preview,
        content_url=_patient_url(access, "pro_document_content", document.public_id),
    )
    return render(request, "dossier/pro/document_detail.html", context)


@require_GET
@professional_view
def pro_document_content(request: HttpRequest, access: CitizenAccess, document_id) -> HttpResponse:
    """The file: shown in the page (PDF and images) or, with ``?telecharger=1``, downloaded."""
    document = _document(access, document_id)
    download = request.GET.get(DOWNLOAD_PARAM) == "1"
    if document is None or not (download or FORMATS[document.format].inline):
        return _refused(request, access)
    response = file_response(document, inline=not download)
    access_trace(
        access=access,
        action=DOCUMENT_DOWNLOADED if download else DOCUMENT_SHOWN,
        obj=document,
        details={"titre": document.title},
    )
    return response


class ProDocumentUploadForm(DocumentUploadForm):
    """The citizen's upload form, for a professional: the types their profession may see, no hiding (hiding a
    document is the person's choice)."""

    def __init__(self, *args, categories: frozenset[str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["hidden"]
        groups = []
        for category in DocumentCategory:
            if categories is not None and category.value not in categories:
                continue
            options = [(kind.code, str(kind.label)) for kind in DOCUMENT_TYPES if kind.category == category.value]
            if options:
                groups.append((str(category.label), options))
        self.fields["type_code"].choices = [("", _("Choisissez un type de document")), *groups]


def _source_label(user) -> str:
    profile = getattr(user, "professional", None)
    place = profile.practice_place.strip() if profile is not None else ""
    return place or _("Espace professionnel Mon espace santé")


@csrf_exempt  # the token is checked by _pro_document_add, once the size limit watches the body
@require_http_methods(["GET", "POST"])
@never_cache
@professional_view
def pro_document_add(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    if not access.can_write(Scope.DOCUMENTS):
        return _refused(request, access)
    if request.method == "POST":
        limiter = upload_limit_install(request, max_bytes=settings.DOSSIER_DOCUMENT_MAX_BYTES)
        if limiter is None:
            return _render_add(request, access, _upload_form(access), size_error=True, status=413)
        request.document_upload_limit = limiter
    return _pro_document_add(request, access)


def _upload_form(access: CitizenAccess, *args, **kwargs) -> ProDocumentUploadForm:
    return ProDocumentUploadForm(*args, categories=access.document_categories, **kwargs)


def _render_add(request, access, form, *, size_error: bool = False, status: int = 200) -> HttpResponse:
    access_trace(access=access, action=DOCUMENT_FORM)
    max_bytes = settings.DOSSIER_DOCUMENT_MAX_BYTES
    context = _context(
        access,
        _documents_step(access),
        (_("Ajouter un document"), None),
        form=form,
        size_error=refused_too_large(max_bytes).messages[0] if size_error else "",
        max_mb=size_limit_mb(max_bytes),
        accept=ACCEPT,
        author=professional_label(access.actor),
        source=_source_label(access.actor),
    )
    return render(request, "dossier/pro/document_add.html", context, status=status)


@csrf_protect
def _pro_document_add(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    if request.method != "POST":
        return _render_add(request, access, _upload_form(access))
    form = _upload_form(access, request.POST, request.FILES)
    if request.document_upload_limit.exceeded:
        return _render_add(
            request, access, _upload_form(access, initial=request.POST.dict()), size_error=True, status=413
        )
    if not form.is_valid():
        return _render_add(request, access, form, status=400)
    data = form.cleaned_data
    try:
        document = document_add(
            access=access,
            upload=data["file"],
            title=data["title"],
            type_code=data["type_code"],
            act_date=data["act_date"],
            author_kind=AuthorKind.PROFESSIONAL,
            author_label=professional_label(access.actor),
            source_label=_source_label(access.actor),
        )
    except DocumentRefused as refusal:
        form.add_error("file", refusal)
        return _render_add(request, access, form, status=413 if refusal.code == "too_large" else 400)
    except ValidationError as error:
        form.add_error(None, error)
        return _render_add(request, access, form, status=400)
    except PermissionDenied:
        return _refused(request, access)
    messages.success(
        request,
        _("Le document « %(title)s » a été ajouté au dossier de %(patient)s.")
        % {"title": document.title, "patient": access.citizen},
    )
    return redirect("pro_document_detail", citizen_id=access.citizen.public_id, document_id=document.public_id)


# --- Measures -------------------------------------------------------------------------------------------------


@require_GET
@never_cache
@professional_view
def pro_measures(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    if not access.can_read(Scope.MEASURES):
        return _refused(request, access)
    cards = measure_cards(access, detail_url=lambda kind: _patient_url(access, "pro_measure_detail", kind))
    access_trace(access=access, action=MEASURES_READ)
    context = _context(access, (_("Mesures de santé"), None), cards=cards)
    return render(request, "dossier/pro/measures.html", context)


@require_GET
@never_cache
@professional_view
def pro_measure_detail(request: HttpRequest, access: CitizenAccess, kind: str) -> HttpResponse:
    spec = MEASURES.get(kind)
    if not access.can_read(Scope.MEASURES) or spec is None:
        return _refused(request, access)
    measure = measure_detail_context(request, access, spec)
    access_trace(access=access, action=MEASURE_READ, details={"mesure": kind, "periode": measure["period"]})
    context = _context(
        access,
        (_("Mesures de santé"), _patient_url(access, "pro_measures")),
        (str(spec.label), None),
        **measure,
    )
    return render(request, "dossier/pro/measure_detail.html", context)


# --- Profile and vaccinations ---------------------------------------------------------------------------------


@require_GET
@never_cache
@professional_view
def pro_profile(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    if not access.can_read(Scope.PROFILE):
        return _refused(request, access)
    sections = profile_sections(access)
    access_trace(access=access, action=PROFILE_READ)
    context = _context(
        access,
        (_("Profil médical"), None),
        sections=sections,
        entry_count=sum(len(section.entries) for section in sections),
    )
    return render(request, "dossier/pro/profile.html", context)


@require_GET
@never_cache
@professional_view
def pro_immunizations(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    if not access.can_read(Scope.IMMUNIZATIONS):
        return _refused(request, access)
    rows = immunization_rows(access)
    access_trace(access=access, action=IMMUNIZATIONS_READ)
    context = _context(access, (_("Vaccinations"), None), rows=rows)
    return render(request, "dossier/pro/immunizations.html", context)
