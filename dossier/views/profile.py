"""``/dossier/profil/``: the profil médical (five sections of entries), the vaccinations, the PDF synthesis.

Objects are looked up through the selectors scoped by the access, so another space's entry answers 404 on every
route, GET or POST, exactly like one that does not exist.
"""

from datetime import date, datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from dossier.fhir.immunization import PARIS, ImmunizationInvalid
from dossier.forms.profile import ImmunizationForm, ProfileEntryForm
from dossier.models import Immunization, ProfileEntry, ProfileSection
from dossier.selectors.profile import (
    immunization_is_editable,
    immunizations,
    profile_entries,
    profile_sections,
)
from dossier.services.profile import (
    immunization_delete,
    immunization_record,
    immunization_update,
    profile_entry_add,
    profile_entry_delete,
    profile_entry_update,
)
from dossier.synthesis import profile_synthesis_pdf, synthesis_filename
from dossier.views.common import dossier_view
from mes.acces.policy import CitizenAccess

FORM_FIELDS = ("label", "start_date", "end_date", "note")
IMMUNIZATION_FIELDS = ("vaccine_code", "occurrence_date", "dose_number", "lot_number", "performer")


def _today() -> date:
    return datetime.now(PARIS).date()


def _section(value: str) -> ProfileSection:
    if value not in ProfileSection.values:
        raise Http404("Rubrique inconnue")
    return ProfileSection(value)


def _require_write(access: CitizenAccess) -> None:
    if not access.may_write:
        raise PermissionDenied


# --- Profile entries ---


@require_GET
@dossier_view
def profile_overview(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    sections = profile_sections(access)
    return render(
        request,
        "dossier/profile/overview.html",
        {
            "access": access,
            "sections": sections,
            "entry_count": sum(len(section.entries) for section in sections),
            "immunization_count": immunizations(access).count(),
        },
    )


@require_http_methods(["GET", "POST"])
@dossier_view
def profile_entry_add_view(request: HttpRequest, access: CitizenAccess, section: str) -> HttpResponse:
    section = _section(section)
    _require_write(access)
    form = ProfileEntryForm(request.POST or None, section=section, birth_date=access.citizen.birth_date, today=_today())
    if request.method == "POST" and form.is_valid():
        entry = profile_entry_add(access=access, section=section, **{f: form.cleaned_data[f] for f in FORM_FIELDS})
        messages.success(
            request,
            _("« %(label)s » a été ajouté à la rubrique « %(section)s ».")
            % {"label": entry.label, "section": section.label},
        )
        return redirect("profile_overview")
    return render(
        request,
        "dossier/profile/entry_form.html",
        {"access": access, "form": form, "section": section, "entry": None},
        status=400 if form.is_bound else 200,
    )


@require_http_methods(["GET", "POST"])
@dossier_view
def profile_entry_edit(request: HttpRequest, access: CitizenAccess, public_id) -> HttpResponse:
    entry = get_object_or_404(profile_entries(access), public_id=public_id)
    _require_write(access)
    section = ProfileSection(entry.section)
    form = ProfileEntryForm(
        request.POST or None,
        initial=ProfileEntryForm.initial_for(entry),
        section=section,
        birth_date=access.citizen.birth_date,
        today=_today(),
    )
    if request.method == "POST" and form.is_valid():
        try:
            entry = profile_entry_update(access=access, entry=entry, **{f: form.cleaned_data[f] for f in FORM_FIELDS})
        except ProfileEntry.DoesNotExist:
            raise Http404("Entrée supprimée entre-temps") from None
        messages.success(request, _("« %(label)s » a été modifié.") % {"label": entry.label})
        return redirect("profile_overview")
    return render(
        request,
        "dossier/profile/entry_form.html",
        {"access": access, "form": form, "section": section, "entry": entry},
        status=400 if form.is_bound else 200,
    )


@require_http_methods(["GET", "POST"])
@dossier_view
def profile_entry_delete_view(request: HttpRequest, access: CitizenAccess, public_id) -> HttpResponse:
    entry = get_object_or_404(profile_entries(access), public_id=public_id)
    _require_write(access)
    if request.method == "POST":
        try:
            profile_entry_delete(access=access, entry=entry)
        except ProfileEntry.DoesNotExist:
            raise Http404("Entrée supprimée entre-temps") from None
        messages.success(
            request,
            _("« %(label)s » a été supprimé de la rubrique « %(section)s ».")
            % {"label": entry.label, "section": entry.get_section_display()},
        )
        return redirect("profile_overview")
    return render(request, "dossier/profile/entry_delete.html", {"access": access, "entry": entry})


# --- Vaccinations ---


def immunization_rows(access: CitizenAccess) -> list[tuple[Immunization, bool]]:
    """The vaccinations and whether the access may change each, the rows of
    ``templates/dossier/_shared/immunizations_table.html`` on both sides (a professional changes none)."""
    return [(immunization, immunization_is_editable(access, immunization)) for immunization in immunizations(access)]


@require_GET
@dossier_view
def immunization_list(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    rows = immunization_rows(access)
    return render(
        request,
        "dossier/profile/immunization_list.html",
        {"access": access, "rows": rows, "has_read_only": any(not editable for document_row, editable in rows)},
    )


def _immunization_form(request: HttpRequest, access: CitizenAccess, **kwargs) -> ImmunizationForm:
    return ImmunizationForm(request.POST or None, birth_date=access.citizen.birth_date, today=_today(), **kwargs)


def _add_invalid(form: ImmunizationForm, invalid: ImmunizationInvalid) -> None:
    """A rule broken at the FHIR stage (the form checks the same rules first, so this is a race or a new rule)."""
    for issue in invalid.issues:
        form.add_error(None, issue.message)


@require_http_methods(["GET", "POST"])
@dossier_view
def immunization_add(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    _require_write(access)
    form = _immunization_form(request, access)
    if request.method == "POST" and form.is_valid():
        try:
            immunization = immunization_record(access=access, **{f: form.cleaned_data[f] for f in IMMUNIZATION_FIELDS})
        except ImmunizationInvalid as invalid:
            _add_invalid(form, invalid)
        else:
            messages.success(
                request,
                _("La vaccination « %(vaccine)s » du %(date)s a été ajoutée.")
                % {
                    "vaccine": immunization.vaccine_label,
                    "date": immunization.occurrence_date.strftime("%d/%m/%Y"),
                },
            )
            return redirect("immunization_list")
    return render(
        request,
        "dossier/profile/immunization_form.html",
        {"access": access, "form": form, "immunization": None},
        status=400 if form.is_bound else 200,
    )


def _editable_immunization(request: HttpRequest, access: CitizenAccess, public_id) -> Immunization | HttpResponse:
    immunization = get_object_or_404(immunizations(access), public_id=public_id)
    if not immunization_is_editable(access, immunization):
        return render(
            request,
            "dossier/profile/immunization_readonly.html",
            {"access": access, "immunization": immunization},
            status=403,
        )
    return immunization


@require_http_methods(["GET", "POST"])
@dossier_view
def immunization_edit(request: HttpRequest, access: CitizenAccess, public_id) -> HttpResponse:
    immunization = _editable_immunization(request, access, public_id)
    if isinstance(immunization, HttpResponse):
        return immunization
    form = _immunization_form(request, access, initial=ImmunizationForm.initial_for(immunization))
    if request.method == "POST" and form.is_valid():
        try:
            immunization = immunization_update(
                access=access, immunization=immunization, **{f: form.cleaned_data[f] for f in IMMUNIZATION_FIELDS}
            )
        except Immunization.DoesNotExist:
            raise Http404("Vaccination supprimée entre-temps") from None
        except ImmunizationInvalid as invalid:
            _add_invalid(form, invalid)
        else:
            messages.success(
                request, _("La vaccination « %(vaccine)s » a été modifiée.") % {"vaccine": immunization.vaccine_label}
            )
            return redirect("immunization_list")
    return render(
        request,
        "dossier/profile/immunization_form.html",
        {"access": access, "form": form, "immunization": immunization},
        status=400 if form.is_bound else 200,
    )


@require_http_methods(["GET", "POST"])
@dossier_view
def immunization_delete_view(request: HttpRequest, access: CitizenAccess, public_id) -> HttpResponse:
    immunization = _editable_immunization(request, access, public_id)
    if isinstance(immunization, HttpResponse):
        return immunization
    if request.method == "POST":
        try:
            immunization_delete(access=access, immunization=immunization)
        except Immunization.DoesNotExist:
            raise Http404("Vaccination supprimée entre-temps") from None
        messages.success(
            request, _("La vaccination « %(vaccine)s » a été supprimée.") % {"vaccine": immunization.vaccine_label}
        )
        return redirect("immunization_list")
    return render(request, "dossier/profile/immunization_delete.html", {"access": access, "immunization": immunization})


# --- PDF synthesis ---


@require_GET
@dossier_view
def profile_synthesis(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    generated_at = datetime.now(PARIS)
    response = HttpResponse(profile_synthesis_pdf(access, generated_at=generated_at), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{synthesis_filename(generated_at)}"'
    response["Cache-Control"] = "no-store"
    return response
