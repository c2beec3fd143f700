import re

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import formats
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mes.acces import scopes as app_scopes
from mes.acces.models import AppHabilitation, JournalEntry, Pairing
from mes.acces.services.pairings import (
    habilitation_grant,
    habilitation_reinstate,
    habilitation_suspend,
    pairing_revoke,
)


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


# --- Referenced apps and pairings ---------------------------------------------------------------------------------


def _scope_choices() -> list[tuple[str, str]]:
    """The approved scopes as the administrator ticks them: each resource's read part and write part, worded as the
    citizen reads them on the consent page."""
    served = [f"patient/{resource}.{letters}" for resource, letters in app_scopes.RESOURCE_INTERACTIONS.items()]
    return [(item.scope, f"{item.scope} — {item.label}") for item in app_scopes.consent_items(served)]


class AppHabilitationForm(forms.ModelForm):
    approved_scopes = forms.MultipleChoiceField(
        label=gettext_lazy("Périmètres approuvés"),
        choices=_scope_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=gettext_lazy(
            "Approuvés au référencement : seulement les données utiles au service rendu. Un périmètre retiré "
            "l’est aussitôt des consentements déjà donnés."
        ),
    )

    class Meta:
        model = AppHabilitation
        fields = ["name", "editor_name", "oid", "approved_scopes"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Stored as one scope per resource (« patient/Appointment.cruds »): shown split into its two parts.
            self.initial["approved_scopes"] = [
                item.scope for item in app_scopes.consent_items(self.instance.approved_scopes)
            ]

    def clean_oid(self) -> str:
        oid = self.cleaned_data["oid"].strip()
        if not re.fullmatch(r"[0-2](\.(0|[1-9][0-9]*))+", oid):
            raise forms.ValidationError(
                _("Un OID s’écrit en nombres séparés par des points, par exemple 1.2.250.1.213.")
            )
        return oid

    def clean_approved_scopes(self) -> list[str]:
        return app_scopes.normalise(self.cleaned_data.get("approved_scopes") or [])


class _EndedFilter(admin.SimpleListFilter):
    """« Actif » or ended (suspended, revoked): whether the date field ``ended_field`` is set."""

    title = gettext_lazy("état")
    parameter_name = "etat"
    ended_field: str
    ended_value: str
    ended_label: str

    def lookups(self, request, model_admin):
        return [("actif", gettext_lazy("Actif")), (self.ended_value, self.ended_label)]

    def queryset(self, request, queryset):
        if self.value() == "actif":
            return queryset.filter(**{f"{self.ended_field}__isnull": True})
        if self.value() == self.ended_value:
            return queryset.filter(**{f"{self.ended_field}__isnull": False})
        return queryset


class SuspensionFilter(_EndedFilter):
    ended_field, ended_value, ended_label = "suspended_at", "suspendu", gettext_lazy("Suspendu")


@admin.register(AppHabilitation)
class AppHabilitationAdmin(admin.ModelAdmin):
    """Apps are registered by ``manage.py app_register`` (or référencement), never added nor deleted here: their
    pairings are the history of the citizens' consents. Changes and suspensions go through the services, which
    journal them."""

    form = AppHabilitationForm
    list_display = ["name", "editor_name", "oid", "client_id", "state", "active_pairings", "created_at"]
    list_filter = [SuspensionFilter]
    search_fields = ["name", "editor_name", "oid", "=application__client_id"]
    list_select_related = ["application"]
    readonly_fields = ["client_id", "client_type", "redirect_uris", "created_at", "suspended_at", "pairings_link"]
    fieldsets = [
        (None, {"fields": ["name", "editor_name", "oid", "approved_scopes"]}),
        (gettext_lazy("Client OAuth2"), {"fields": ["client_id", "client_type", "redirect_uris"]}),
        (gettext_lazy("État"), {"fields": ["created_at", "suspended_at", "pairings_link"]}),
    ]
    actions = ["suspend", "reinstate"]

    def get_queryset(self, request):
        active = Count("pairings", filter=Q(pairings__revoked_at__isnull=True))
        return super().get_queryset(request).annotate(active_pairing_count=active)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("client_id"), ordering="application__client_id")
    def client_id(self, habilitation: AppHabilitation) -> str:
        return habilitation.application.client_id

    @admin.display(description=gettext_lazy("type de client"))
    def client_type(self, habilitation: AppHabilitation) -> str:
        return habilitation.application.get_client_type_display()

    @admin.display(description=gettext_lazy("adresses de retour"))
    def redirect_uris(self, habilitation: AppHabilitation) -> str:
        return ", ".join(habilitation.application.redirect_uris.split())

    @admin.display(description=gettext_lazy("état"), ordering="suspended_at")
    def state(self, habilitation: AppHabilitation) -> str:
        if habilitation.suspended_at is None:
            return _("Actif")
        return _("Suspendu le %(date)s") % {"date": formats.date_format(habilitation.suspended_at, "j F Y")}

    @admin.display(description=gettext_lazy("appariements actifs"), ordering="active_pairing_count")
    def active_pairings(self, habilitation: AppHabilitation) -> int:
        return habilitation.active_pairing_count

    @admin.display(description=gettext_lazy("appariements"))
    def pairings_link(self, habilitation: AppHabilitation) -> str:
        url = reverse("admin:acces_pairing_changelist") + f"?habilitation__id__exact={habilitation.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Voir les appariements de ce service"))

    def save_model(self, request, obj: AppHabilitation, form, change: bool) -> None:
        habilitation_grant(
            actor=request.user,
            application=obj.application,
            name=obj.name,
            editor_name=obj.editor_name,
            oid=obj.oid,
            approved_scopes=form.cleaned_data["approved_scopes"],
        )

    @admin.action(description=gettext_lazy("Suspendre les services choisis (appels et appariements refusés)"))
    def suspend(self, request, queryset) -> None:
        count = 0
        for habilitation in queryset:
            if habilitation.is_active:
                habilitation_suspend(actor=request.user, habilitation=habilitation)
                count += 1
        self.message_user(request, _("Services suspendus : %(count)s.") % {"count": count}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Rétablir les services choisis"))
    def reinstate(self, request, queryset) -> None:
        count = 0
        for habilitation in queryset:
            if not habilitation.is_active:
                habilitation_reinstate(actor=request.user, habilitation=habilitation)
                count += 1
        self.message_user(request, _("Services rétablis : %(count)s.") % {"count": count}, messages.SUCCESS)


class PairingStateFilter(_EndedFilter):
    ended_field, ended_value, ended_label = "revoked_at", "revoque", gettext_lazy("Révoqué")


@admin.register(Pairing)
class PairingAdmin(admin.ModelAdmin):
    """Read-only: a pairing is the citizen's consent, given on the consent page; it is never added, edited or deleted
    by hand. An administrator may only revoke it (the app's tokens die at once; journal row)."""

    list_display = ["public_id", "habilitation", "citizen", "created_at", "last_access_at", "state"]
    list_filter = [PairingStateFilter, "habilitation"]
    search_fields = ["=public_id", "=idpe", "=external_id", "=citizen__ins", "habilitation__name"]
    list_select_related = ["habilitation", "citizen"]
    fields = [
        "public_id", "habilitation", "citizen", "external_id", "idpe", "scopes", "created_at", "consented_at",
        "last_access_at", "revoked_at", "revoked_by",
    ]  # fmt: skip
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm("acces.change_pairing")

    @admin.display(description=gettext_lazy("état"), ordering="revoked_at")
    def state(self, pairing: Pairing) -> str:
        if pairing.revoked_at is None:
            return _("Actif")
        return _("Révoqué le %(date)s") % {"date": formats.date_format(pairing.revoked_at, "j F Y")}

    @admin.action(
        description=gettext_lazy("Révoquer les appariements choisis (jetons du service supprimés)"),
        permissions=["revoke"],
    )
    def revoke(self, request, queryset) -> None:
        count = 0
        for pairing in queryset.filter(revoked_at__isnull=True):
            pairing_revoke(actor=request.user, pairing=pairing)
            count += 1
        self.message_user(request, _("Appariements révoqués : %(count)s.") % {"count": count}, messages.SUCCESS)
