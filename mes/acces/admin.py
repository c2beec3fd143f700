from django.contrib import admin

from mes.acces.models import JournalEntry


@admin.register(JournalEntry)
class JournalEntryAdmin(admin.ModelAdmin):
    """Read-only: the journal is append-only, in the database as here."""

    list_display = ["seq", "created_at", "action", "actor", "citizen", "object_type"]
    list_filter = ["action"]
    search_fields = ["action", "object_id"]
    raw_id_fields = ["actor", "citizen"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
