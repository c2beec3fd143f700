"""``/acces/``: the citizen decides who may open their space (or their minor child's).

Care team and *médecin traitant*, temporary access codes, blocked professionals, emergency access. Every object
is looked up inside the space the account acts for, so an id of another space answers 404, exactly like one that
does not exist. Writes go through ``mes.acces.services``, which journal them.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from mes.acces import selectors_citizen as selectors
from mes.acces.forms import CareTeamAddForm, DelegationForm, EmergencyPreferenceForm, ProfessionalSearchForm
from mes.acces.policy import CitizenAccess, citizen_access, forbidden, role_required
from mes.acces.services.care_team import (
    care_team_add,
    care_team_remove,
    emergency_preference_set,
    professional_block,
    professional_unblock,
)
from mes.acces.services.delegations import delegation_create, delegation_end, professional_label, scopes_label
from mes.comptes.codes import code_display
from mes.comptes.models import Role
from mes.comptes.selectors.profiles import active_citizen

SECTION_CARE_TEAM = "equipe-de-soins"
SECTION_DELEGATIONS = "acces-temporaires"
SECTION_BLOCKS = "professionnels-bloques"
SECTION_EMERGENCY = "acces-en-urgence"


def access_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Open a page to the person or their legal representative, called as ``view(request, access, ...)``."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        access: CitizenAccess | None = citizen_access(request.user, active_citizen(request))
        if access is None or not access.is_citizen_side:
            return forbidden(request)
        return view(request, access, *args, **kwargs)

    return role_required(Role.CITIZEN)(wrapper)


def _settings_url(section: str = "") -> str:
    return reverse("access_settings") + (f"#{section}" if section else "")


def _when(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "j F Y à H:i")


def _add_service_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _named(items: list, attribute: str = "professional") -> list:
    """Give each item ``who``: how its professional is named to citizens (empty when there is none yet)."""
    for item in items:
        user = getattr(item, attribute)
        item.who = professional_label(user) if user is not None else ""
    return items


def _delegation_rows(delegations: list) -> list:
    for delegation in _named(delegations):
        delegation.scopes_text = scopes_label(delegation.scopes)
    return delegations


def _emergency_context(access: CitizenAccess, now) -> dict:
    return {
        "emergency_refused": access.citizen.emergency_access_refused,
        "emergencies": _named(selectors.emergency_accesses(access.citizen, now=now)),
        "now": now,
    }


def _emergency_initial(access: CitizenAccess) -> dict:
    refused = access.citizen.emergency_access_refused
    return {"choice": EmergencyPreferenceForm.REFUSE if refused else EmergencyPreferenceForm.ALLOW}


@require_GET
@never_cache
@access_view
def access_settings(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    citizen = access.citizen
    now = timezone.now()
    search = ProfessionalSearchForm(request.GET if "professionnel" in request.GET else None)
    searched = search.is_bound and search.is_valid()
    results = selectors.professionals_known(citizen, search.cleaned_data["professionnel"]) if searched else []
    context = {
        "access": access,
        "members": _named(selectors.care_team_members(citizen)),
        "care_team_form": CareTeamAddForm(),
        "delegations_current": _delegation_rows(selectors.delegations_current(citizen, now=now)),
        "delegations_past": _delegation_rows(selectors.delegations_past(citizen, now=now)),
        "blocks": _named(selectors.professional_blocks(citizen)),
        "search_form": search,
        "searched": searched,
        "search_results": _named(results),
        "emergency_form": EmergencyPreferenceForm(initial=_emergency_initial(access)),
        **_emergency_context(access, now),
    }
    return render(request, "acces/citizen/settings.html", context)


# --- Care team ------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@never_cache
@access_view
def care_team_add_view(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    form = CareTeamAddForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        professional = form.professional
        treating = form.cleaned_data["treating_doctor"]
        already = selectors.is_in_care_team(access.citizen, professional)
        try:
            member = care_team_add(access=access, professional=professional, treating_doctor=treating)
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            label = professional_label(professional)
            if already and not treating:
                messages.info(request, _("%(who)s fait déjà partie de votre équipe de soins.") % {"who": label})
            elif member.is_treating_doctor:
                messages.success(
                    request,
                    _("%(who)s est désormais déclaré comme médecin traitant dans votre équipe de soins.")
                    % {"who": label},
                )
            else:
                messages.success(request, _("%(who)s a été ajouté à votre équipe de soins.") % {"who": label})
            return redirect(_settings_url(SECTION_CARE_TEAM))
    return render(request, "acces/citizen/care_team_add.html", {"access": access, "form": form})


def _member_or_404(access: CitizenAccess, member_id: int):
    member = selectors.care_team_member(access.citizen, member_id)
    if member is None:
        raise Http404(_("Ce professionnel n’est pas dans cette équipe de soins."))
    return member


@require_http_methods(["GET", "POST"])
@never_cache
@access_view
def care_team_remove_view(request: HttpRequest, access: CitizenAccess, member_id: int) -> HttpResponse:
    member = _member_or_404(access, member_id)
    label = professional_label(member.professional)
    if request.method == "POST":
        care_team_remove(access=access, member=member)
        messages.success(request, _("%(who)s a été retiré de votre équipe de soins.") % {"who": label})
        return redirect(_settings_url(SECTION_CARE_TEAM))
    return render(
        request,
        "acces/citizen/confirm.html",
        {"access": access, "action": "remove", "member": member, "who": label},
    )


@require_http_methods(["GET", "POST"])
@never_cache
@access_view
def treating_doctor_view(request: HttpRequest, access: CitizenAccess, member_id: int) -> HttpResponse:
    member = _member_or_404(access, member_id)
    label = professional_label(member.professional)
    if member.is_treating_doctor:
        messages.info(request, _("%(who)s est déjà votre médecin traitant.") % {"who": label})
        return redirect(_settings_url(SECTION_CARE_TEAM))
    if request.method == "POST":
        try:
            care_team_add(access=access, professional=member.professional, treating_doctor=True)
        except ValidationError as error:
            for text in error.messages:
                messages.error(request, text)
        else:
            messages.success(request, _("%(who)s est désormais votre médecin traitant.") % {"who": label})
        return redirect(_settings_url(SECTION_CARE_TEAM))
    current = selectors.treating_doctor(access.citizen)
    return render(
        request,
        "acces/citizen/confirm.html",
        {
            "access": access,
            "action": "treating_doctor",
            "member": member,
            "who": label,
            "current_who": professional_label(current.professional) if current else "",
            "is_doctor": member.professional.professional.profession == "medecin",
        },
    )


# --- Temporary access codes -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@never_cache
@access_view
def code_new(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    form = DelegationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            delegation, code = delegation_create(
                access=access, scopes=form.cleaned_data["scopes"], duration=form.cleaned_data["duration"]
            )
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            # The code is shown in this response only: it is stored hashed and never shown again.
            response = render(
                request,
                "acces/citizen/code_created.html",
                {
                    "access": access,
                    "code": code_display(code),
                    "scopes": scopes_label(delegation.scopes),
                    "until": _when(delegation.expires_at),
                },
            )
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "acces/citizen/code_new.html", {"access": access, "form": form})


@require_http_methods(["GET", "POST"])
@never_cache
@access_view
def code_end(request: HttpRequest, access: CitizenAccess, delegation_id) -> HttpResponse:
    delegation = selectors.delegation_current(access.citizen, delegation_id)
    if delegation is None:
        raise Http404(_("Aucun accès temporaire en cours ne correspond."))
    if request.method == "POST":
        delegation_end(access=access, delegation=delegation)
        messages.success(
            request,
            _("L’accès temporaire (%(scopes)s) est arrêté : le professionnel ne peut plus ouvrir votre espace.")
            % {"scopes": scopes_label(delegation.scopes)},
        )
        return redirect(_settings_url(SECTION_DELEGATIONS))
    return render(
        request,
        "acces/citizen/confirm.html",
        {
            "access": access,
            "action": "end",
            "delegation": delegation,
            "scopes": scopes_label(delegation.scopes),
            "who": professional_label(delegation.professional) if delegation.professional else "",
        },
    )


# --- Blocked professionals ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@never_cache
@access_view
def block_view(request: HttpRequest, access: CitizenAccess, professional_id: int) -> HttpResponse:
    professional = selectors.professional_known(access.citizen, professional_id)
    if professional is None:
        raise Http404(_("Ce professionnel n’a pas eu affaire à votre espace."))
    label = professional_label(professional)
    if selectors.is_blocked(access.citizen, professional):
        messages.info(request, _("%(who)s est déjà bloqué.") % {"who": label})
        return redirect(_settings_url(SECTION_BLOCKS))
    if request.method == "POST":
        professional_block(access=access, professional=professional)
        messages.success(
            request,
            _("%(who)s est bloqué : il ne peut plus rien voir de votre espace, même avec un code.") % {"who": label},
        )
        return redirect(_settings_url(SECTION_BLOCKS))
    return render(
        request,
        "acces/citizen/confirm.html",
        {
            "access": access,
            "action": "block",
            "professional": professional,
            "who": label,
            "in_care_team": selectors.is_in_care_team(access.citizen, professional),
        },
    )


@require_http_methods(["GET", "POST"])
@never_cache
@access_view
def unblock_view(request: HttpRequest, access: CitizenAccess, block_id: int) -> HttpResponse:
    block = selectors.professional_block(access.citizen, block_id)
    if block is None:
        raise Http404(_("Ce blocage n’existe pas."))
    label = professional_label(block.professional)
    if request.method == "POST":
        professional_unblock(access=access, block=block)
        messages.success(request, _("%(who)s est débloqué.") % {"who": label})
        return redirect(_settings_url(SECTION_BLOCKS))
    return render(
        request, "acces/citizen/confirm.html", {"access": access, "action": "unblock", "blocking": block, "who": label}
    )


# --- Emergency access -----------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@never_cache
@access_view
def emergency_view(request: HttpRequest, access: CitizenAccess) -> HttpResponse:
    form = EmergencyPreferenceForm(
        request.POST if request.method == "POST" else None, initial=_emergency_initial(access)
    )
    if request.method == "POST" and form.is_valid():
        emergency_preference_set(access=access, refused=form.refused)
        if form.refused:
            messages.success(
                request,
                _("Vous refusez l’accès en urgence : les services d’urgence ne pourront pas ouvrir votre espace."),
            )
        else:
            messages.success(
                request,
                _(
                    "Vous autorisez l’accès en urgence : les services d’urgence pourront ouvrir votre espace en cas de "
                    "besoin, et vous en serez averti."
                ),
            )
        return redirect(_settings_url(SECTION_EMERGENCY))
    return render(
        request,
        "acces/citizen/emergency.html",
        {"access": access, "emergency_form": form, **_emergency_context(access, timezone.now())},
    )
