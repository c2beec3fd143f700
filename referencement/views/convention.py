"""The editors' pages after the decision: the convention (read, download, sign), the production credentials, and the
audits of their published services.

Access: editors of the dossier's organisation only (``referencement.access``); another organisation's dossier is a
404, any other role a 403. Signing and generating a secret are for a « Responsable » of the organisation; the other
members read why.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dossier.uploads import content_disposition, download_filename, refused_too_large
from dossier.views.documents import CSP_ATTACHMENT
from mes.acces.policy import forbidden, role_required
from mes.comptes.models import Membership, Role
from mes.uploads import upload_limit_install
from referencement.access import dossier_for_editor
from referencement.forms_followup import ACCEPT, AuditAnswerForm, ConventionSignForm
from referencement.models import Audit, AuditFile, AuditState, Convention, Dossier, State
from referencement.services.audits import audit_answer
from referencement.services.convention import convention_content, convention_sign, may_sign
from referencement.services.publication import application_secret_renew

# The formats of stored audit files, by the content type recorded when they were checked.
_FORMAT_OF_TYPE = {"application/pdf": "pdf", "image/jpeg": "jpeg", "image/png": "png"}


def _dossier(request: HttpRequest, dossier_id) -> Dossier:
    try:
        return dossier_for_editor(request.user, dossier_id)
    except Dossier.DoesNotExist:
        raise Http404(_("Ce dossier est introuvable.")) from None


def _convention(dossier: Dossier) -> Convention:
    convention = Convention.objects.select_related("signed_by").filter(dossier=dossier).first()
    if convention is None:
        raise Http404(_("Aucune convention n’est établie pour ce dossier."))
    return convention


def _credentials(dossier: Dossier, secret: str = "") -> dict | None:
    """The production app's client_id (and, once, its new secret) for the signed convention of an exchange."""
    if dossier.habilitation_id is None or dossier.state not in (State.PUBLISHED, State.SUSPENDED):
        return None
    habilitation = dossier.habilitation
    application = habilitation.application
    return {
        "client_id": application.client_id,
        "secret": secret,
        "redirect_uris": application.redirect_uris.split(),
        "scopes": habilitation.approved_scopes,
        "kept": dossier.previous_id is not None and dossier.previous.habilitation_id == habilitation.pk,
    }


def _render_convention(
    request: HttpRequest,
    dossier: Dossier,
    *,
    form: ConventionSignForm | None = None,
    secret: str = "",
    status: int = 200,
) -> HttpResponse:
    dossier = Dossier.objects.select_related("organisation", "product", "habilitation__application", "previous").get(
        pk=dossier.pk
    )
    convention = _convention(dossier)
    can_sign = may_sign(request.user, dossier)
    if form is None and can_sign and not convention.is_signed and dossier.state == State.CONVENTION:
        form = ConventionSignForm(
            organisation_name=dossier.organisation.name, initial={"sha256_seen": convention.sha256}
        )
    context = {
        "dossier": dossier,
        "convention": convention,
        "content": convention_content(dossier, dated=timezone.localdate(convention.generated_at)),
        "can_sign": can_sign,
        "form": form,
        "credentials": _credentials(dossier, secret) if convention.is_signed else None,
        "audits": dossier.audits.order_by("-opened_at"),
        "managers": dossier.organisation.memberships.filter(level=Membership.Level.MANAGER)
        .select_related("user")
        .order_by("user__last_name", "pk"),
    }
    response = render(request, "referencement/convention/convention.html", context, status=status)
    if secret:
        # The secret is in this page only: no cache may keep it.
        response["Cache-Control"] = "no-store"
    return response


@role_required(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def convention_page(request: HttpRequest, dossier_id) -> HttpResponse:
    """The convention: its text, its PDF and SHA-256, and the signature form (or the signature record)."""
    dossier = _dossier(request, dossier_id)
    convention = _convention(dossier)
    if request.method == "GET":
        return _render_convention(request, dossier)
    if convention.is_signed or dossier.state != State.CONVENTION:
        messages.error(request, _("La convention n’est plus à signer."))
        return redirect("referencement_convention", dossier.public_id)
    form = ConventionSignForm(request.POST, organisation_name=dossier.organisation.name)
    if not may_sign(request.user, dossier):
        form.is_valid()
        form.add_error(
            None,
            _("Seul un responsable de %(organisation)s peut signer la convention : demandez-le à l’un d’eux.")
            % {"organisation": dossier.organisation.name},
        )
        return _render_convention(request, dossier, form=form, status=403)
    if not form.is_valid():
        return _render_convention(request, dossier, form=form, status=400)
    data = form.cleaned_data
    try:
        dossier = convention_sign(
            actor=request.user,
            dossier=dossier,
            signer_name=data["signer_name"],
            signer_capacity=data["signer_capacity"],
            sha256_seen=data["sha256_seen"],
        )
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, error)
        return _render_convention(request, dossier, form=form, status=400)
    messages.success(request, _("La convention est signée : votre service est publié au catalogue."))
    dossier = Dossier.objects.select_related("previous", "habilitation").get(pk=dossier.pk)
    secret = ""
    kept = dossier.previous_id is not None and dossier.previous.habilitation_id == dossier.habilitation_id
    if dossier.habilitation_id is not None and not kept:
        # A new production app: its secret is generated now and shown in this answer only.
        secret = application_secret_renew(actor=request.user, dossier=dossier)
    return _render_convention(request, dossier, secret=secret)


@role_required(Role.EDITOR)
@require_POST
def client_secret_renew(request: HttpRequest, dossier_id) -> HttpResponse:
    """« Générer un nouveau secret »: the former one stops working, the new one is shown once."""
    dossier = _dossier(request, dossier_id)
    _convention(dossier)
    try:
        secret = application_secret_renew(actor=request.user, dossier=dossier)
    except PermissionDenied:
        return forbidden(request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("referencement_convention", dossier.public_id)
    messages.success(request, _("Un nouveau secret est généré : l’ancien ne fonctionne plus."))
    return _render_convention(request, dossier, secret=secret)


@role_required(Role.EDITOR)
@require_GET
def convention_pdf(request: HttpRequest, dossier_id) -> FileResponse:
    dossier = _dossier(request, dossier_id)
    convention = _convention(dossier)
    response = FileResponse(convention.document.open("rb"), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition("attachment", f"convention-{dossier.reference}.pdf")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = CSP_ATTACHMENT
    response["Cache-Control"] = "private, no-store"
    return response


# --- Audits --------------------------------------------------------------------------------------------------------


def _audit(dossier: Dossier, audit_id) -> Audit:
    audit = Audit.objects.select_related("dossier").filter(dossier=dossier, public_id=audit_id).first()
    if audit is None:
        raise Http404(_("Cet audit est introuvable."))
    return audit


def _render_audit(
    request: HttpRequest, dossier: Dossier, audit: Audit, form: AuditAnswerForm | None = None, status: int = 200
) -> HttpResponse:
    answerable = audit.state == AuditState.OPEN and timezone.now() <= audit.deadline
    context = {
        "dossier": dossier,
        "audit": audit,
        "files": audit.files.all(),
        "evidence": [line.strip() for line in audit.requested_evidence.splitlines() if line.strip()],
        "form": (form or AuditAnswerForm()) if answerable else None,
        "accept": ACCEPT,
        "late": audit.state == AuditState.OPEN and not answerable,
    }
    return render(request, "referencement/convention/audit.html", context, status=status)


def _too_large_form(response: str) -> AuditAnswerForm:
    """The answer form, with the text typed, saying that the files are too large."""
    form = AuditAnswerForm({"response": response})
    form.is_valid()
    form.errors.pop("files", None)
    form.add_error("files", refused_too_large(_upload_limit()).messages[0])
    return form


def _upload_limit() -> int:
    # Every file within the documents' limit, and no more files than allowed.
    return settings.DOSSIER_DOCUMENT_MAX_BYTES * settings.REFERENCEMENT_AUDIT_MAX_FILES


@csrf_exempt  # the token is checked by _audit_answer, once the size limit watches the body
@role_required(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def audit_page(request: HttpRequest, dossier_id, audit_id) -> HttpResponse:
    """An audit of the editor's service: what is asked, until when; the answer form, or the answer given."""
    dossier = _dossier(request, dossier_id)
    audit = _audit(dossier, audit_id)
    if request.method == "GET":
        return _render_audit(request, dossier, audit)
    limiter = upload_limit_install(request, max_bytes=_upload_limit())
    if limiter is None:
        # Refused from the announced size, before a byte of the body is read.
        return _render_audit(request, dossier, audit, _too_large_form(""), status=413)
    request.referencement_upload_limit = limiter
    return _audit_answer(request, dossier, audit)


@csrf_protect
def _audit_answer(request: HttpRequest, dossier: Dossier, audit: Audit) -> HttpResponse:
    limiter = request.referencement_upload_limit
    form = AuditAnswerForm(request.POST, request.FILES)
    if limiter.exceeded:
        return _render_audit(request, dossier, audit, _too_large_form(request.POST.get("response", "")), status=413)
    if not form.is_valid():
        return _render_audit(request, dossier, audit, form, status=400)
    try:
        audit_answer(
            actor=request.user,
            audit=audit,
            response=form.cleaned_data["response"],
            uploads=form.cleaned_data["files"],
        )
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, error)
        errors = [item for items in error.error_dict.values() for item in items] if hasattr(error, "error_dict") else []
        status = 413 if any(item.code == "too_large" for item in errors) else 400
        return _render_audit(request, dossier, audit, form, status=status)
    messages.success(request, _("Votre réponse est transmise : l’audit est en examen."))
    return redirect("referencement_audit", dossier.public_id, audit.public_id)


@role_required(Role.EDITOR)
@require_GET
def audit_file(request: HttpRequest, dossier_id, audit_id, file_id) -> FileResponse:
    dossier = _dossier(request, dossier_id)
    audit = _audit(dossier, audit_id)
    return audit_file_response(audit, file_id)


def audit_file_response(audit: Audit, file_id) -> FileResponse:
    """A file of an audit answer, always as a download, under the name it was sent with."""
    item = AuditFile.objects.filter(audit=audit, public_id=file_id).first()
    if item is None:
        raise Http404(_("Cette pièce est introuvable."))
    response = FileResponse(item.file.open("rb"), content_type=item.content_type)
    name = download_filename(item.filename, _FORMAT_OF_TYPE.get(item.content_type, "pdf"))
    response["Content-Disposition"] = content_disposition("attachment", name)
    response["Content-Length"] = str(item.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = CSP_ATTACHMENT
    response["Cache-Control"] = "private, no-store"
    return response
