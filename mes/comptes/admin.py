from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from mes.comptes.models import Citizen, CommissionMember, Membership, Organisation, ProfessionalProfile, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["public_id", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["email", "password", "public_id"]}),
        (_("Identité"), {"fields": ["first_name", "last_name", "role"]}),
        (_("Statut"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "role", "password1", "password2"]})]


@admin.register(Citizen)
class CitizenAdmin(admin.ModelAdmin):
    list_display = ["ins", "birth_name", "first_names", "birth_date"]
    search_fields = ["ins", "birth_name"]
    raw_id_fields = ["user"]
    filter_horizontal = ["legal_representatives"]


@admin.register(ProfessionalProfile)
class ProfessionalProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "rpps", "profession", "specialty"]
    search_fields = ["rpps", "user__email", "user__last_name"]
    list_filter = ["profession"]
    raw_id_fields = ["user"]


class MembershipInline(admin.TabularInline):
    model = Membership
    raw_id_fields = ["user"]
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "siret"]
    search_fields = ["name", "siret"]
    inlines = [MembershipInline]


@admin.register(CommissionMember)
class CommissionMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "seat"]
    list_filter = ["seat"]
    raw_id_fields = ["user"]
