"""Reads of the exports of the dossier, always inside the space the access acts in."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from dossier.models import DossierExport
from mes.acces.policy import CitizenAccess

# Exports listed on the page: the newest ones (older rows are traces of expired files).
RECENT_EXPORTS = 10


def exports_visible(access: CitizenAccess) -> QuerySet[DossierExport]:
    """The exports of the space: the person and their legal representatives only (an export holds everything)."""
    if not access.is_citizen_side:
        return DossierExport.objects.none()
    return DossierExport.objects.filter(citizen=access.citizen)


def exports_recent(access: CitizenAccess, *, limit: int = RECENT_EXPORTS) -> list[DossierExport]:
    return list(exports_visible(access).order_by("-created_at", "-id")[:limit])


def export_in_progress(exports: list[DossierExport]) -> DossierExport | None:
    """The export in preparation among ``exports`` (at most one exists per space)."""
    return next((export for export in exports if export.in_progress), None)


def export_is_expired(export: DossierExport, *, now: datetime | None = None) -> bool:
    """Past its retention: the purge may not have run yet, the file is no longer served anyway."""
    if export.status == DossierExport.Status.EXPIRED:
        return True
    return export.status == DossierExport.Status.DONE and export.expires_at <= (now or timezone.now())


def export_is_ready(export: DossierExport, *, now: datetime | None = None) -> bool:
    return export.status == DossierExport.Status.DONE and not export_is_expired(export, now=now)


def export_filename(export: DossierExport) -> str:
    """The name offered to the browser: the date the export was prepared, in French time."""
    day = timezone.localdate(export.finished_at or export.created_at)
    return f"dossier-mon-espace-sante-{day.isoformat()}.json"


@dataclass(frozen=True)
class ExportProgress:
    status: str
    status_label: str
    phase_label: str
    percent: int
    running: bool
    ready: bool
    expired: bool
    failed: bool
    error_message: str

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "status_label": self.status_label,
            "phase": self.phase_label,
            "percent": self.percent,
            "running": self.running,
            "ready": self.ready,
            "expired": self.expired,
            "failed": self.failed,
            "error": self.error_message,
        }


def export_progress(export: DossierExport, *, now: datetime | None = None) -> ExportProgress:
    expired = export_is_expired(export, now=now)
    status = DossierExport.Status.EXPIRED if expired else export.status
    return ExportProgress(
        status=status,
        status_label=str(DossierExport.Status(status).label),
        phase_label=str(DossierExport.Phase(export.phase).label),
        percent=export.progress,
        running=export.in_progress,
        ready=export_is_ready(export, now=now),
        expired=expired,
        failed=export.status == DossierExport.Status.FAILED,
        error_message=export.error_message,
    )
