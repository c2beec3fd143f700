"""Référencement in the Django admin, read-only: dossiers move through their workflow on the editors' portal and the
commission's pages, whose services check the rules, record the timeline and write the journal."""

from django.contrib import admin

from convergence.admin import ReadOnlyAdmin
from referencement.models import (
    Audit,
    AuditFile,
    CommissionComment,
    ConflictOfInterest,
    Convention,
    Decision,
    Dossier,
    DossierScreenshot,
    Event,
    Opinion,
    RequestedExchange,
    Vote,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class EventInline(ReadOnlyInline):
    model = Event
    fields = ["created_at", "transition", "from_state", "to_state", "actor_label", "comment"]
    readonly_fields = fields


class RequestedExchangeInline(ReadOnlyInline):
    model = RequestedExchange
    fields = ["exchange", "justification"]
    readonly_fields = fields


class DossierScreenshotInline(ReadOnlyInline):
    model = DossierScreenshot
    fields = ["position", "alt_text", "width", "height", "sha256"]
    readonly_fields = fields


@admin.register(Dossier)
class DossierAdmin(ReadOnlyAdmin):
    list_display = ["reference", "name", "organisation", "procedure", "state", "state_changed_at", "published_at"]
    list_filter = ["state", "procedure", "kind"]
    list_select_related = ["organisation"]
    search_fields = ["reference", "name", "organisation__name", "organisation__siret"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "reference", "organisation", "product", "kind", "previous", "state", "state_changed_at", "procedure",
        "purpose", "purpose_details", "oid", "redirect_uris", "name", "short_description", "long_description",
        "category", "service_kind", "website_url", "app_store_url", "google_play_url", "price_model",
        "price_details", "medical_device", "medical_device_class", "connected_objects", "connected_objects_details",
        "support_email", "support_phone", "support_url", "accessibility_compliance", "accessibility_url",
        "logo_sha256", "extract_checksum", "response_deadline", "commission_round", "sandbox_habilitation",
        "sandbox_citizen", "granted_exchanges", "service", "habilitation", "published_at", "valid_until",
        "created_by", "created_at", "updated_at", "submitted_at",
    ]  # fmt: skip
    exclude = ["logo", "extract"]
    inlines = [RequestedExchangeInline, DossierScreenshotInline, EventInline]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["dossier", "result", "decided_by", "decided_at"]
    list_filter = ["result"]
    list_select_related = ["dossier", "decided_by"]
    readonly_fields = ["dossier", "result", "granted_exchanges", "reasons", "decided_by", "decided_at"]


@admin.register(Opinion)
class OpinionAdmin(ReadOnlyAdmin):
    list_display = ["dossier", "round", "result", "adopted_at"]
    list_filter = ["result"]
    list_select_related = ["dossier"]
    readonly_fields = ["dossier", "round", "result", "reasons", "reservations", "tally", "adopted_by", "adopted_at"]


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    list_display = ["dossier", "round", "member", "choice", "updated_at"]
    list_filter = ["choice"]
    list_select_related = ["dossier", "member"]
    readonly_fields = ["dossier", "round", "member", "choice", "reason", "created_at", "updated_at"]


@admin.register(ConflictOfInterest)
class ConflictOfInterestAdmin(ReadOnlyAdmin):
    list_display = ["dossier", "member", "declared_at"]
    list_select_related = ["dossier", "member"]
    readonly_fields = ["dossier", "member", "reason", "declared_at"]


@admin.register(CommissionComment)
class CommissionCommentAdmin(ReadOnlyAdmin):
    list_display = ["dossier", "author", "created_at"]
    list_select_related = ["dossier", "author"]
    readonly_fields = ["dossier", "author", "body", "created_at"]


@admin.register(Convention)
class ConventionAdmin(ReadOnlyAdmin):
    list_display = ["dossier", "generated_at", "signer_name", "signed_at"]
    list_select_related = ["dossier"]
    readonly_fields = [
        "dossier", "sha256", "generated_at", "signed_by", "signer_name", "signer_capacity", "signed_at",
        "signed_sha256",
    ]  # fmt: skip
    exclude = ["document"]


class AuditFileInline(ReadOnlyInline):
    model = AuditFile
    fields = ["filename", "content_type", "size", "sha256", "uploaded_by", "uploaded_at"]
    readonly_fields = fields


@admin.register(Audit)
class AuditAdmin(ReadOnlyAdmin):
    list_display = ["dossier", "drawn_for", "state", "deadline", "answered_at", "concluded_at"]
    list_filter = ["state", "drawn_for"]
    list_select_related = ["dossier"]
    search_fields = ["dossier__reference", "dossier__name"]
    readonly_fields = [
        "dossier", "state", "requested_evidence", "deadline", "opened_at", "drawn_for", "response", "answered_at",
        "answered_by", "conclusion", "concluded_at", "concluded_by",
    ]  # fmt: skip
    inlines = [AuditFileInline]
