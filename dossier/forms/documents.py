"""Forms of the documents: the upload form (metadata; the content is checked while it streams to the storage) and
the filters of the list."""

from datetime import date

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dossier.document_types import document_type_choices
from dossier.models.documents import DocumentCategory
from dossier.services.documents import EARLIEST_ACT_DATE, TITLE_MAX_LENGTH
from dossier.uploads import size_limit_mb

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class DocumentUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Fichier"),
        error_messages={
            "required": _("Choisissez le fichier du document."),
            "empty": _("Le fichier est vide."),
            "invalid": _("Aucun fichier n’a été reçu : choisissez de nouveau le fichier."),
        },
    )
    title = forms.CharField(
        label=_("Titre du document"),
        required=False,
        max_length=TITLE_MAX_LENGTH,
        help_text=_("Facultatif : s’il reste vide, le nom du fichier sert de titre."),
        error_messages={"max_length": _("Le titre ne doit pas dépasser %(limit_value)d caractères.")},
    )
    type_code = forms.ChoiceField(
        label=_("Type de document"),
        help_text=_("La catégorie du document (ordonnances, résultats, imagerie…) en découle."),
        error_messages={
            "required": _("Choisissez le type de document."),
            "invalid_choice": _("Choisissez un type de document dans la liste."),
        },
    )
    act_date = forms.DateField(
        label=_("Date de l’acte"),
        help_text=_("Le jour de la consultation, de l’examen ou de la prescription, par exemple 15/01/2025."),
        input_formats=DATE_INPUT_FORMATS,
        widget=_date_widget(),
        error_messages={
            "required": _("Indiquez la date de l’acte."),
            "invalid": _("Saisissez une date valide, par exemple 15/01/2025."),
        },
    )
    hidden = forms.BooleanField(
        label=_("Masquer ce document aux professionnels de santé dès l’ajout"),
        help_text=_("Votre médecin traitant pourra toujours le consulter. Vous pourrez changer d’avis plus tard."),
        required=False,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["type_code"].choices = [("", _("Choisissez un type de document")), *document_type_choices()]
        self.fields["file"].help_text = _(
            "PDF, JPEG, PNG ou document CDA R2 (XML), %(limit)s Mo au maximum. "
            "Le format est vérifié d’après le contenu du fichier."
        ) % {"limit": size_limit_mb(settings.DOSSIER_DOCUMENT_MAX_BYTES)}
        self.fields["act_date"].widget.attrs["max"] = timezone.localdate().isoformat()

    def clean_act_date(self) -> date:
        value = self.cleaned_data["act_date"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("La date de l’acte ne peut pas être dans le futur."))
        if value < EARLIEST_ACT_DATE:
            raise forms.ValidationError(_("La date de l’acte doit être postérieure au 1er janvier 1900."))
        return value


class DocumentFilterForm(forms.Form):
    """The filters of the list, from the query string; an invalid filter is reported and ignored."""

    q = forms.CharField(label=_("Rechercher dans les titres"), required=False, max_length=200)
    categorie = forms.ChoiceField(label=_("Catégorie"), required=False)
    du = forms.DateField(
        label=_("Du (date de l’acte)"),
        required=False,
        input_formats=DATE_INPUT_FORMATS,
        widget=_date_widget(),
        error_messages={"invalid": _("Saisissez une date valide, par exemple 01/01/2024.")},
    )
    au = forms.DateField(
        label=_("Au (date de l’acte)"),
        required=False,
        input_formats=DATE_INPUT_FORMATS,
        widget=_date_widget(),
        error_messages={"invalid": _("Saisissez une date valide, par exemple 31/12/2024.")},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["categorie"].choices = [("", _("Toutes les catégories")), *DocumentCategory.choices]
        self.fields["categorie"].error_messages["invalid_choice"] = _("Choisissez une catégorie dans la liste.")

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("du"), cleaned.get("au")
        if start and end and start > end:
            self.add_error("au", _("La date de fin doit être postérieure ou égale à la date de début."))
        return cleaned

    def filters(self) -> dict:
        """The valid filters only (``is_valid`` must have been called)."""
        data = {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        return {
            "category": data.get("categorie") or None,
            "date_from": data.get("du"),
            "date_to": data.get("au"),
            "query": (data.get("q") or "").strip(),
        }

    @property
    def active(self) -> bool:
        return any(self.data.get(name) for name in ("q", "categorie", "du", "au"))
