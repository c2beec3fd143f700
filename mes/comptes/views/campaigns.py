"""Back-office pages of the opt-out campaigns (administrators only): waves, import, progress, notification."""

import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods
from kombu.exceptions import OperationalError

from mes.acces.policy import role_required
from mes.comptes.models import CitizenStatus, LetterBatch, Role, Wave
from mes.comptes.services.campaigns import (
    CampaignError,
    departments_parse,
    example_csv,
    progress_get,
    size_limit_message,
    wave_create,
    wave_store_upload,
)
from mes.comptes.services.notification import wave_notify_start
from mes.comptes.tasks.campaigns import campaign_import, campaign_notify
from mes.uploads import upload_limit_install

logger = logging.getLogger(__name__)


def _queue(task, *args) -> None:
    """Queue a campaign task after the commit. If the broker refuses it, the wave keeps its state and
    ``campaigns_resume_stalled`` queues it again within ``CAMPAIGN_STALL_MINUTES``: the page need not fail."""
    try:
        task.delay(*args)
    except OperationalError:
        logger.exception("Campaign task %s could not be queued; the stalled-wave job will queue it again", task.name)


class WaveForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Nom de la vague"), max_length=200)
    departments = forms.CharField(
        label=gettext_lazy("Départements de la vague"),
        help_text=gettext_lazy("Codes séparés par des virgules, par exemple : 31, 44, 80. Vide : tous."),
        required=False,
        max_length=400,
    )
    file = forms.FileField(
        label=gettext_lazy("Fichier des personnes assurées"),
        help_text=gettext_lazy("Fichier CSV encodé en UTF-8, colonnes séparées par « ; », avec une ligne d’en-tête."),
    )

    def clean_departments(self) -> list[str]:
        try:
            return departments_parse(self.cleaned_data["departments"])
        except CampaignError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError(_("Le fichier doit être au format CSV (extension .csv)."))
        return upload


def _wave(public_id) -> Wave:
    return get_object_or_404(Wave, public_id=public_id)


def progress_payload(wave: Wave) -> dict:
    """What the wave page and its JSON endpoint show: the cache while a task runs, the wave row once it is done."""
    running = wave.status in (Wave.Status.IMPORTING, Wave.Status.NOTIFYING)
    live = progress_get(wave.pk) if running else None
    percent = (live or {}).get("percent", 0 if running else 100)
    return {
        "status": wave.status,
        "status_label": str(wave.get_status_display()),
        "running": running,
        "phase": (live or {}).get("phase") or str(wave.get_status_display()),
        "percent": percent,
        "lines": (live or {}).get("lines"),
        "total_lines": wave.total_lines,
        "imported": wave.imported_count,
        "duplicates": wave.duplicate_count,
        "rejected": wave.rejected_count,
        "error": wave.error_message,
    }


@role_required(Role.ADMIN)
def wave_list(request: HttpRequest) -> HttpResponse:
    waves = Wave.objects.order_by("-created_at")[:200]
    return render(request, "gestion/campagnes/list.html", {"waves": waves})


@role_required(Role.ADMIN)
@csrf_exempt  # the token is checked by _wave_new, once the upload handlers are in place
def wave_new(request: HttpRequest) -> HttpResponse:
    max_bytes = settings.CAMPAIGN_IMPORT_MAX_BYTES
    if request.method == "POST":
        limiter = upload_limit_install(request, max_bytes=max_bytes)
        if limiter is None:
            return _too_large(request)
        request.campaign_limiter = limiter
    return _wave_new(request)


def _too_large(request: HttpRequest) -> HttpResponse:
    form = WaveForm()
    return render(
        request,
        "gestion/campagnes/new.html",
        {"form": form, "size_error": size_limit_message(), "max_bytes": settings.CAMPAIGN_IMPORT_MAX_BYTES},
        status=413,
    )


@csrf_protect
def _wave_new(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(
            request,
            "gestion/campagnes/new.html",
            {"form": WaveForm(), "max_bytes": settings.CAMPAIGN_IMPORT_MAX_BYTES},
        )
    limiter = request.campaign_limiter
    form = WaveForm(request.POST, request.FILES)
    if limiter.exceeded:
        return _too_large(request)
    if not form.is_valid():
        return render(
            request,
            "gestion/campagnes/new.html",
            {"form": form, "max_bytes": settings.CAMPAIGN_IMPORT_MAX_BYTES},
            status=400,
        )
    upload = form.cleaned_data["file"]
    with transaction.atomic():
        wave = wave_create(
            name=form.cleaned_data["name"],
            departments=form.cleaned_data["departments"],
            source_filename=upload.name,
            actor=request.user,
        )
        source_name = wave_store_upload(wave=wave, upload=upload)
        transaction.on_commit(lambda: _queue(campaign_import, wave.pk, source_name, request.user.pk))
    return redirect("campaign_detail", public_id=wave.public_id)


@role_required(Role.ADMIN)
def wave_detail(request: HttpRequest, public_id) -> HttpResponse:
    wave = _wave(public_id)
    return render(
        request,
        "gestion/campagnes/detail.html",
        {
            "wave": wave,
            "progress": progress_payload(wave),
            "letter_batches": wave.letter_batches.order_by("number"),
            "notifiable": wave.status == Wave.Status.IMPORTED and wave.imported_count > 0,
            "renotifiable": _renotifiable(wave),
        },
    )


def _renotifiable(wave: Wave) -> bool:
    """A notified wave whose e-mails could not all be delivered: those people wait for a new notification."""
    return (
        wave.status == Wave.Status.NOTIFIED
        and wave.undelivered_count > 0
        and wave.citizens.filter(status=CitizenStatus.IMPORTED).exists()
    )


@role_required(Role.ADMIN)
def wave_progress(request: HttpRequest, public_id) -> JsonResponse:
    response = JsonResponse(progress_payload(_wave(public_id)))
    response["Cache-Control"] = "no-store"
    return response


@role_required(Role.ADMIN)
def wave_rejects(request: HttpRequest, public_id) -> FileResponse:
    wave = _wave(public_id)
    if not wave.rejected_report:
        raise Http404(_("Aucune ligne rejetée pour cette vague."))
    return FileResponse(
        wave.rejected_report.open("rb"),
        as_attachment=True,
        filename=f"lignes-rejetees-{wave.public_id}.csv",
        content_type="text/csv; charset=utf-8",
    )


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def wave_notify(request: HttpRequest, public_id) -> HttpResponse:
    wave = _wave(public_id)
    if request.method == "POST":
        try:
            wave_notify_start(wave=wave, actor=request.user)
        except CampaignError as error:
            messages.error(request, str(error))
            return redirect("campaign_detail", public_id=wave.public_id)
        transaction.on_commit(lambda: _queue(campaign_notify, wave.pk, request.user.pk))
        messages.success(request, _("La notification de la vague est lancée."))
        return redirect("campaign_detail", public_id=wave.public_id)
    again = _renotifiable(wave)
    if wave.status != Wave.Status.IMPORTED and not again:
        messages.error(request, _("Cette vague ne peut pas être notifiée dans son état actuel."))
        return redirect("campaign_detail", public_id=wave.public_id)
    waiting = wave.citizens.filter(status=CitizenStatus.IMPORTED)
    counts = waiting.aggregate(total=Count("id"), with_email=Count("id", filter=~Q(contact_email="")))
    return render(
        request,
        "gestion/campagnes/notify.html",
        {
            "wave": wave,
            "again": again,
            "with_email": counts["with_email"],
            "with_letter": counts["total"] - counts["with_email"],
        },
    )


@role_required(Role.ADMIN)
def wave_letters(request: HttpRequest, public_id, number: int) -> FileResponse:
    batch = get_object_or_404(LetterBatch, wave__public_id=public_id, number=number)
    return FileResponse(
        batch.file.open("rb"),
        as_attachment=True,
        filename=f"courriers-lot-{batch.number:05d}.pdf",
        content_type="application/pdf",
    )


@role_required(Role.ADMIN)
def wave_example(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(example_csv().encode(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="exemple-campagne.csv"'
    return response


def detail_url(wave: Wave) -> str:
    return reverse("campaign_detail", kwargs={"public_id": wave.public_id})
