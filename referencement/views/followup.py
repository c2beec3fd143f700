"""The administrators' follow-up of published référencements: the list, the audits (list, review, conclusion), and
the decisions taken afterwards (suspension, reinstatement, withdrawal), each with a reason and a confirmation.

Administrators only (``role_required``); dossiers are read through ``referencement.access``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from mes.acces.policy import role_required
from mes.comptes.models import Role
from referencement.access import dossier_for_reviewer, dossiers_for_reviewer
from referencement.forms_followup import AuditConcludeForm, AuditFilterForm, FollowUpDecisionForm
from referencement.models import Audit, AuditState, Dossier, State
from referencement.services.audits import audit_conclude
from referencement.services.publication import dossier_reinstate, dossier_suspend, dossier_withdraw
from referencement.views.convention import audit_file_response

PAGE_SIZE = 50
FOLLOWED_STATES = (State.PUBLISHED, State.SUSPENDED, State.WITHDRAWN)


def _form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@role_required(Role.ADMIN)
@require_GET
def followup_home(request: HttpRequest) -> HttpResponse:
    """The published, suspended and withdrawn référencements, with their open audits."""
    state = request.GET.get("etat", "")
    state = state if state in FOLLOWED_STATES else ""
    dossiers = (
        dossiers_for_reviewer(request.user)
        .filter(state__in=[state] if state else FOLLOWED_STATES)
        .select_related("service")
        .annotate(open_audits=Count("audits", filter=Q(audits__state__in=[AuditState.OPEN, AuditState.ANSWERED])))
        .order_by("state", "name", "pk")
    )
    page = Paginator(dossiers, PAGE_SIZE).get_page(request.GET.get("page"))
    states = [(value, State(value).label) for value in FOLLOWED_STATES]
    context = {"page": page, "state": state, "states": states, "query": urlencode({"etat": state}) if state else ""}
    return render(request, "referencement/followup/home.html", context)


@role_required(Role.ADMIN)
@require_GET
def audits_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    audits = Audit.objects.select_related("dossier__organisation").order_by("-opened_at", "-pk")
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["state"]:
            audits = audits.filter(state=data["state"])
        if data["month"]:
            audits = audits.filter(drawn_for=data["month"].replace(day=1))
        if data["q"]:
            audits = audits.filter(
                Q(dossier__reference__icontains=data["q"])
                | Q(dossier__name__icontains=data["q"])
                | Q(dossier__organisation__name__icontains=data["q"])
            )
    elif form.is_bound:
        audits = audits.none()
    page = Paginator(audits, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "referencement/followup/audits.html", {"form": form, "page": page, "query": query.urlencode()}
    )


def _audit(audit_id) -> Audit:
    audit = Audit.objects.select_related("dossier__organisation", "dossier__product", "answered_by").filter(
        public_id=audit_id
    )
    audit = audit.first()
    if audit is None:
        raise Http404(_("Cet audit est introuvable."))
    return audit


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def audit_review(request: HttpRequest, audit_id) -> HttpResponse:
    """An audit: what was asked, the answer and its files; the conclusion (and an immediate suspension)."""
    audit = _audit(audit_id)
    concludable = audit.state in (AuditState.ANSWERED, AuditState.EXPIRED)
    form = AuditConcludeForm(request.POST or None) if concludable else None
    status = 200
    if request.method == "POST":
        if form is None:
            messages.error(request, _("Cet audit est déjà conclu."))
            return redirect("referencement_audit_review", audit.public_id)
        if form.is_valid():
            data = form.cleaned_data
            try:
                audit_conclude(
                    actor=request.user,
                    audit=audit,
                    result=data["result"],
                    conclusion=data["conclusion"],
                    suspend=data["suspend"],
                )
            except ValidationError as error:
                _form_errors(form, error)
            else:
                messages.success(request, _("L’audit est conclu ; l’éditeur en est informé."))
                return redirect("referencement_audit_review", audit.public_id)
        status = 400
    context = {
        "audit": audit,
        "dossier": audit.dossier,
        "files": audit.files.all(),
        "evidence": [line.strip() for line in audit.requested_evidence.splitlines() if line.strip()],
        "form": form,
    }
    return render(request, "referencement/followup/audit_review.html", context, status=status)


@role_required(Role.ADMIN)
@require_GET
def audit_review_file(request: HttpRequest, audit_id, file_id) -> FileResponse:
    return audit_file_response(_audit(audit_id), file_id)


# --- Suspension, reinstatement, withdrawal -------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpAction:
    url_name: str
    title: str
    sources: tuple[str, ...]
    confirm_label: str
    button: str
    explanation: str
    done: str


ACTIONS = {
    "suspend": FollowUpAction(
        "referencement_suspend",
        gettext_lazy("Suspendre le référencement"),
        (State.PUBLISHED,),
        gettext_lazy("Je confirme la suspension de ce service"),
        gettext_lazy("Suspendre"),
        gettext_lazy(
            "Le service quitte le catalogue et son application ne peut plus appeler l’API dès sa prochaine requête. "
            "Les personnes qui l’ont connecté à leur espace sont informées ; leurs autorisations sont conservées."
        ),
        gettext_lazy("Le référencement est suspendu."),
    ),
    "reinstate": FollowUpAction(
        "referencement_reinstate",
        gettext_lazy("Lever la suspension"),
        (State.SUSPENDED,),
        gettext_lazy("Je confirme la levée de la suspension"),
        gettext_lazy("Lever la suspension"),
        gettext_lazy(
            "Le service revient au catalogue et son application retrouve l’accès accordé, dans les limites des "
            "autorisations données par chaque personne, qui est informée."
        ),
        gettext_lazy("La suspension est levée : le service est de nouveau publié."),
    ),
    "withdraw": FollowUpAction(
        "referencement_withdraw",
        gettext_lazy("Retirer le référencement"),
        (State.PUBLISHED, State.SUSPENDED),
        gettext_lazy("Je confirme le retrait définitif de ce référencement"),
        gettext_lazy("Retirer"),
        gettext_lazy(
            "Le retrait met fin au référencement : le service est retiré du catalogue, son application est coupée, "
            "tous ses appariements sont révoqués et les personnes concernées en sont informées. Un nouveau "
            "référencement demandera une nouvelle demande."
        ),
        gettext_lazy("Le référencement est retiré."),
    ),
}
_SERVICES = {"suspend": dossier_suspend, "reinstate": dossier_reinstate, "withdraw": dossier_withdraw}


def _follow_up(request: HttpRequest, dossier_id, code: str) -> HttpResponse:
    action = ACTIONS[code]
    try:
        dossier = dossier_for_reviewer(request.user, dossier_id)
    except Dossier.DoesNotExist:
        raise Http404(_("Ce dossier est introuvable.")) from None
    form = FollowUpDecisionForm(request.POST or None, confirm_label=str(action.confirm_label))
    possible = dossier.state in action.sources
    status = 200
    if request.method == "POST":
        if not possible:
            messages.error(
                request,
                _("Cette décision n’est pas possible : le dossier est « %(state)s ».")
                % {"state": dossier.get_state_display()},
            )
            return redirect(action.url_name, dossier.public_id)
        if form.is_valid():
            try:
                _SERVICES[code](actor=request.user, dossier=dossier, reason=form.cleaned_data["reason"])
            except ValidationError as error:
                _form_errors(form, error)
            else:
                messages.success(request, str(action.done))
                return redirect("referencement_followup")
        status = 400
    paired = 0
    if dossier.habilitation_id is not None:
        paired = dossier.habilitation.pairings.filter(revoked_at__isnull=True).count()
    context = {"dossier": dossier, "action": action, "form": form, "possible": possible, "paired": paired}
    return render(request, "referencement/followup/decision.html", context, status=status)


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def suspend(request: HttpRequest, dossier_id) -> HttpResponse:
    return _follow_up(request, dossier_id, "suspend")


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def reinstate(request: HttpRequest, dossier_id) -> HttpResponse:
    return _follow_up(request, dossier_id, "reinstate")


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, dossier_id) -> HttpResponse:
    return _follow_up(request, dossier_id, "withdraw")
