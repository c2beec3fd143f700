"""Convergence in the Django admin, read-mostly: loaded referential rows never change (a new version is loaded with
``manage.py convergence_load``) and products change through the editors' portal, whose services check membership
and write the journal."""

from django.contrib import admin

from convergence.models import Answer, Criterion, Product, Questionnaire, Referential


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class QuestionnaireInline(admin.TabularInline):
    model = Questionnaire
    fields = ["position", "code", "title", "mode", "procedures"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Referential)
class ReferentialAdmin(ReadOnlyAdmin):
    list_display = ["version", "title", "published_on", "loaded_at", "is_current"]
    list_filter = ["is_current"]
    readonly_fields = ["version", "title", "published_on", "loaded_at", "is_current", "content_sha256"]
    inlines = [QuestionnaireInline]


@admin.register(Questionnaire)
class QuestionnaireAdmin(ReadOnlyAdmin):
    list_display = ["code", "title", "referential", "mode", "position"]
    list_filter = ["referential", "mode"]
    list_select_related = ["referential"]
    readonly_fields = ["referential", "code", "title", "description", "mode", "procedures", "profiles", "position"]


@admin.register(Criterion)
class CriterionAdmin(ReadOnlyAdmin):
    list_display = ["criterion_id", "short_wording", "questionnaire", "type", "requirement", "evidence"]
    list_filter = ["referential", "questionnaire__code", "requirement", "type", "evidence"]
    list_select_related = ["questionnaire"]
    search_fields = ["criterion_id", "wording"]
    readonly_fields = [
        "referential", "questionnaire", "section", "criterion_id", "wording", "help", "type", "requirement",
        "expected", "evidence", "choices", "unit", "min_value", "max_value", "not_applicable_allowed", "position",
    ]  # fmt: skip

    @admin.display(description="libellé")
    def short_wording(self, obj: Criterion) -> str:
        return obj.wording if len(obj.wording) <= 90 else obj.wording[:89] + "…"


class AnswerInline(admin.TabularInline):
    model = Answer
    fields = ["criterion", "platform", "value", "revision", "updated_by", "updated_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("criterion", "updated_by")


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ["reference", "name", "version", "organisation", "procedure", "referential", "created_at"]
    list_filter = ["procedure", "product_type", "referential"]
    list_select_related = ["organisation", "referential"]
    search_fields = ["reference", "name", "organisation__name"]
    readonly_fields = [
        "reference", "organisation", "name", "version", "product_type", "platforms", "procedure", "referential",
        "answers_per_platform", "created_by", "created_at", "updated_at",
    ]  # fmt: skip
    inlines = [AnswerInline]
