"""The catalogue in the Django admin: administrators prepare the entries (texts, logo, screenshots, links) until
référencement publishes them itself; the status only changes through the actions, which call the services (checks,
journal row)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalogue.forms import CatalogueImageField, PreparedImageFile
from catalogue.images import LOGO, SCREENSHOT
from catalogue.models import MAX_SCREENSHOTS, DataExchange, Screenshot, Service, exchange_scopes
from catalogue.services import REASON_MAX_LENGTH, service_publish, service_suspend, service_withdraw
from mes.acces import scopes as app_scopes


def _preview(service: Service, key: str, alt: str, height: int) -> str:
    if not key:
        return "—"
    url = reverse("catalogue_image", args=[service.slug, key])
    # A height attribute rather than a style: the Content-Security-Policy allows no inline style.
    return format_html('<img src="{}" alt="{}" height="{}">', url, alt, height)


def _formfield(field: models.Field, **kwargs) -> forms.Field | None:
    # Every address of the catalogue is https: an address typed without scheme is completed as such.
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class ServiceAdminForm(forms.ModelForm):
    logo = CatalogueImageField(
        spec=LOGO,
        label=gettext_lazy("Logo"),
        required=False,
        help_text=gettext_lazy(
            "PNG, JPEG ou WebP, carré de préférence, au moins 64 pixels de côté, 1 Mo au plus. L’image est "
            "réenregistrée en PNG (256 pixels au plus) ; les images SVG sont refusées."
        ),
    )
    data_exchanges = forms.MultipleChoiceField(
        label=gettext_lazy("Données échangées"),
        choices=DataExchange.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=gettext_lazy("Fixées au référencement : seulement les données utiles au service rendu."),
    )

    class Meta:
        model = Service
        fields = [
            "name", "slug", "editor_name", "category", "kind", "short_description", "long_description", "logo",
            "website_url", "app_store_url", "google_play_url", "price_model", "price_details", "medical_device",
            "medical_device_class", "connected_objects", "connected_objects_details", "data_exchanges",
            "support_email", "support_phone", "support_url", "accessibility_compliance", "accessibility_url",
            "habilitation",
        ]  # fmt: skip
        formfield_callback = _formfield

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if isinstance(logo, PreparedImageFile):
            self.instance.logo_sha256 = logo.prepared.sha256
        return logo

    def clean_data_exchanges(self) -> list[str]:
        chosen = set(self.cleaned_data.get("data_exchanges") or [])
        return [code for code in DataExchange.values if code in chosen]  # in the vocabulary's order

    def clean(self):
        cleaned = super().clean()
        habilitation = cleaned.get("habilitation")
        if habilitation is not None and "data_exchanges" in cleaned:
            # The app may ask for no more than the data the citizen reads on the service's page.
            declared = app_scopes.permissions(exchange_scopes(cleaned["data_exchanges"]))
            beyond = sorted(app_scopes.permissions(habilitation.approved_scopes) - declared)
            if beyond:
                self.add_error(
                    "habilitation",
                    _(
                        "Cette habilitation approuve des données que la fiche ne déclare pas (%(beyond)s) : "
                        "cochez-les dans « Données échangées » ou réduisez l’habilitation."
                    )
                    % {"beyond": ", ".join(beyond)},
                )
        return cleaned


class ScreenshotInlineForm(forms.ModelForm):
    image = CatalogueImageField(
        spec=SCREENSHOT,
        label=gettext_lazy("Image"),
        help_text=gettext_lazy("PNG, JPEG ou WebP, 5 Mo au plus ; réenregistrée en PNG (1600 pixels au plus)."),
    )

    class Meta:
        model = Screenshot
        fields = ["image", "alt_text", "position"]

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if isinstance(image, PreparedImageFile):
            self.instance.sha256 = image.prepared.sha256
            self.instance.width = image.prepared.width
            self.instance.height = image.prepared.height
        return image


class ScreenshotInline(admin.TabularInline):
    model = Screenshot
    form = ScreenshotInlineForm
    extra = 1
    max_num = MAX_SCREENSHOTS
    fields = ["preview", "image", "alt_text", "position"]
    readonly_fields = ["preview"]

    @admin.display(description=gettext_lazy("Aperçu"))
    def preview(self, screenshot: Screenshot) -> str:
        if not screenshot.pk:
            return "—"
        return _preview(screenshot.service, screenshot.key, screenshot.alt_text, 120)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Motif"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text=gettext_lazy(
            "Inscrit au journal avec la décision (par exemple : « audit du 12 mars : non-conformité »)."
        ),
    )


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    form = ServiceAdminForm
    inlines = [ScreenshotInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "editor_name", "category", "kind", "status", "published_at"]
    list_filter = ["status", "category", "kind", "price_model", "medical_device"]
    search_fields = ["name", "editor_name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["status", "published_at", "status_changed_at", "logo_preview", "created_at", "updated_at"]
    actions = ["publish", "suspend", "withdraw"]
    fieldsets = [
        (gettext_lazy("Présentation"), {
            "fields": ["name", "slug", "editor_name", "category", "kind", "short_description", "long_description"],
        }),
        (gettext_lazy("Logo"), {"fields": ["logo_preview", "logo"]}),
        (gettext_lazy("Liens"), {"fields": ["website_url", "app_store_url", "google_play_url"]}),
        (gettext_lazy("Prix, dispositif médical, objets connectés"), {
            "fields": ["price_model", "price_details", "medical_device", "medical_device_class", "connected_objects",
                       "connected_objects_details"],
        }),
        (gettext_lazy("Données échangées"), {"fields": ["data_exchanges", "habilitation"]}),
        (gettext_lazy("Aide et accessibilité"), {
            "fields": ["support_email", "support_phone", "support_url", "accessibility_compliance",
                       "accessibility_url"],
        }),
        (gettext_lazy("Publication"), {
            "fields": ["status", "published_at", "status_changed_at", "created_at", "updated_at"],
        }),
    ]  # fmt: skip

    @admin.display(description=gettext_lazy("Logo actuel"))
    def logo_preview(self, service: Service) -> str:
        return _preview(service, service.logo_key, _("Logo de %(name)s") % {"name": service.name}, 72)

    @admin.action(description=gettext_lazy("Publier au catalogue"))
    def publish(self, request, queryset):
        for service in queryset:
            try:
                service_publish(actor=request.user, service=service)
            except ValidationError as error:
                self.message_user(request, f"{service.name} : {' '.join(error.messages)}", messages.ERROR)
            else:
                self.message_user(request, _("%(name)s est publié au catalogue.") % {"name": service.name})

    def _with_reason(self, request, queryset, *, change, title: str, done: str):
        """Ask for the reason of a suspension or a withdrawal, then apply it to each chosen service."""
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            for service in queryset:
                try:
                    change(actor=request.user, service=service, reason=form.cleaned_data["reason"])
                except ValidationError as error:
                    self.message_user(request, f"{service.name} : {' '.join(error.messages)}", messages.ERROR)
                else:
                    self.message_user(request, done % {"name": service.name})
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "services": queryset,
            "action": request.POST.get("action"),
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "catalogue/admin/reason.html", context)

    @admin.action(description=gettext_lazy("Suspendre du catalogue"))
    def suspend(self, request, queryset):
        return self._with_reason(
            request, queryset, change=service_suspend, title=_("Suspendre des services du catalogue"),
            done=_("%(name)s est suspendu : il n’apparaît plus au catalogue."),
        )  # fmt: skip

    @admin.action(description=gettext_lazy("Retirer du catalogue"))
    def withdraw(self, request, queryset):
        return self._with_reason(
            request, queryset, change=service_withdraw, title=_("Retirer des services du catalogue"),
            done=_("%(name)s est retiré du catalogue."),
        )  # fmt: skip
