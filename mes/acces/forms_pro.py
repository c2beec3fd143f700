"""Forms of the professionals' portal: entering an access code, opening a space in an emergency."""

from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mes.acces.services.emergency import REASON_MAX_LENGTH, REASON_MIN_LENGTH
from mes.comptes.identifiers import validate_ins


class AccessCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code d’accès"),
        max_length=40,
        help_text=_(
            "Le code que la personne vous a communiqué, 10 caractères, par exemple ABCDE-12345. Majuscules ou "
            "minuscules, avec ou sans tiret ni espace."
        ),
        error_messages={"required": _("Saisissez le code d’accès que la personne vous a communiqué.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
    )


class EmergencyAccessForm(forms.Form):
    ins = forms.CharField(
        label=_("Matricule INS de la personne"),
        max_length=30,
        help_text=_("15 caractères, par exemple 2 77 01 01 154 003 29 (les espaces sont acceptés)."),
        error_messages={"required": _("Saisissez le matricule INS de la personne.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    birth_date = forms.DateField(
        label=_("Date de naissance de la personne"),
        help_text=_("Le jour, le mois et l’année, par exemple 17/05/1980."),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "off"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("Saisissez la date de naissance de la personne."),
            "invalid": _("Saisissez une date valide, par exemple 17/05/1980."),
        },
    )
    reason = forms.CharField(
        label=_("Motif de l’accès en urgence"),
        min_length=REASON_MIN_LENGTH,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": _("Indiquez le motif de l’accès en urgence."),
            "min_length": _("Le motif doit comporter au moins %(limit_value)d caractères."),
            "max_length": _("Le motif ne doit pas dépasser %(limit_value)d caractères."),
        },
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].help_text = _(
            "Entre %(min)s et %(max)s caractères. Ce motif est communiqué à la personne et conservé dans son "
            "historique des accès."
        ) % {"min": REASON_MIN_LENGTH, "max": REASON_MAX_LENGTH}
        self.fields["birth_date"].widget.attrs["max"] = timezone.localdate().isoformat()

    def clean_ins(self) -> str:
        return validate_ins(self.cleaned_data["ins"])

    def clean_birth_date(self) -> date:
        value = self.cleaned_data["birth_date"]
        if value > timezone.localdate():
            raise ValidationError(_("La date de naissance ne peut pas être dans le futur."))
        return value

    def clean_reason(self) -> str:
        reason = " ".join(self.cleaned_data["reason"].split())
        if len(reason) < REASON_MIN_LENGTH:
            raise ValidationError(
                _("Le motif doit comporter au moins %(min)s caractères.") % {"min": REASON_MIN_LENGTH}
            )
        return reason
