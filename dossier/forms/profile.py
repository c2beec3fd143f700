"""Forms of the profil médical and the vaccinations.

The rules themselves live with the services (``profile_entry_problems``) and the FHIR mapping (the ``*_problem``
functions of ``dossier.fhir.immunization``), so that a form and the API refuse the same values with the same words.
"""

from datetime import date

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dossier.fhir.immunization import (
    DOSE_MAX,
    DOSE_MIN,
    LOT_NUMBER_MAX,
    PERFORMER_MAX,
    dose_number_problem,
    lot_number_problem,
    occurrence_date_problem,
    performer_problem,
)
from dossier.models import Immunization, ProfileEntry, ProfileSection
from dossier.services.profile import LABEL_MAX, NOTE_MAX, profile_entry_problems
from dossier.vaccines import vaccine_by_code, vaccine_choices

DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
INVALID_DATE = _("Saisissez une date valide, au format JJ/MM/AAAA (par exemple 17/05/2019).")

LABEL_HELP = {
    ProfileSection.CONDITIONS: _("Par exemple : asthme, diabète de type 2, opération de l’appendicite."),
    ProfileSection.TREATMENTS: _("Par exemple : Lévothyrox 75 µg, un comprimé le matin."),
    ProfileSection.FAMILY_HISTORY: _("Par exemple : cancer du sein chez la mère, diabète chez le père."),
    ProfileSection.ALLERGIES: _("Par exemple : pénicilline, arachide, pollen de bouleau."),
    ProfileSection.DISABILITY: _("Par exemple : surdité partielle, mobilité réduite."),
}


def _date_field(label, *, required: bool = False, help_text="") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        input_formats=DATE_INPUT_FORMATS,
        error_messages={"invalid": INVALID_DATE, "required": _("Indiquez la date.")},
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class ProfileEntryForm(forms.Form):
    label = forms.CharField(
        label=_("Libellé"),
        strip=True,
        error_messages={"required": _("Indiquez un libellé.")},
        widget=forms.TextInput(attrs={"maxlength": LABEL_MAX, "autocomplete": "off"}),
    )
    start_date = _date_field(_("Depuis le"), help_text=_("Facultatif."))
    end_date = _date_field(_("Jusqu’au"), help_text=_("Facultatif. Laissez vide si c’est toujours le cas."))
    note = forms.CharField(
        # With a context: a bare « Note » is an English msgid that other catalogues translate to « Remarque ».
        label=pgettext_lazy("profil médical", "Note"),
        required=False,
        strip=True,
        help_text=format_lazy(
            _("Facultatif, {max} caractères au plus : précisions utiles aux professionnels de santé."), max=NOTE_MAX
        ),
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": NOTE_MAX}),
    )

    def __init__(self, *args, section: str, birth_date: date, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.section, self.birth_date, self.today = section, birth_date, today
        self.fields["label"].help_text = LABEL_HELP.get(section, "")
        self.fields["start_date"].widget.attrs["max"] = today.isoformat()

    @classmethod
    def initial_for(cls, entry: ProfileEntry) -> dict:
        return {"label": entry.label, "start_date": entry.start_date, "end_date": entry.end_date, "note": entry.note}

    def clean(self):
        cleaned = super().clean()
        if "label" not in cleaned or "start_date" not in cleaned or "end_date" not in cleaned:
            return cleaned
        problems = profile_entry_problems(
            section=self.section,
            label=cleaned["label"],
            start_date=cleaned["start_date"],
            end_date=cleaned["end_date"],
            note=cleaned.get("note", ""),
            birth_date=self.birth_date,
            today=self.today,
        )
        for field, message in problems.items():
            self.add_error(field, message)
        return cleaned


class ImmunizationForm(forms.Form):
    vaccine_code = forms.ChoiceField(
        label=_("Vaccin"),
        help_text=_("Le nom commercial figure sur l’étiquette collée dans le carnet de santé ou de vaccination."),
        error_messages={
            "required": _("Choisissez le vaccin dans la liste."),
            "invalid_choice": _("Choisissez un vaccin de la liste."),
        },
    )
    occurrence_date = _date_field(
        _("Date de la vaccination"), required=True, help_text=_("Celle inscrite dans le carnet, à côté de l’étiquette.")
    )
    dose_number = forms.IntegerField(
        label=_("Numéro de la dose"),
        required=False,
        help_text=format_lazy(
            _("Facultatif, de {min} à {max} : 1 pour la première injection, 2 pour la deuxième…"),
            min=DOSE_MIN,
            max=DOSE_MAX,
        ),
        error_messages={
            "invalid": format_lazy(
                _("Le numéro de dose doit être un nombre entier de {min} à {max}."), min=DOSE_MIN, max=DOSE_MAX
            )
        },
        widget=forms.NumberInput(attrs={"min": DOSE_MIN, "max": DOSE_MAX, "inputmode": "numeric"}),
    )
    lot_number = forms.CharField(
        label=_("Numéro de lot"),
        required=False,
        strip=True,
        help_text=format_lazy(
            _("Facultatif, {max} caractères au plus, inscrit sur l’étiquette du vaccin."), max=LOT_NUMBER_MAX
        ),
        widget=forms.TextInput(
            attrs={"maxlength": LOT_NUMBER_MAX, "autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}
        ),
    )
    performer = forms.CharField(
        label=_("Administré par"),
        required=False,
        strip=True,
        help_text=_("Facultatif : le professionnel, le centre ou la pharmacie qui a vacciné."),
        widget=forms.TextInput(attrs={"maxlength": PERFORMER_MAX}),
    )

    def __init__(self, *args, birth_date: date, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.birth_date, self.today = birth_date, today
        self.fields["vaccine_code"].choices = [("", _("Sélectionnez un vaccin")), *vaccine_choices()]
        self.fields["occurrence_date"].error_messages["required"] = _("Indiquez la date de la vaccination.")
        self.fields["occurrence_date"].widget.attrs |= {"max": today.isoformat(), "min": birth_date.isoformat()}

    @classmethod
    def initial_for(cls, immunization: Immunization) -> dict:
        return {
            "vaccine_code": immunization.vaccine_code,
            "occurrence_date": immunization.occurrence_date,
            "dose_number": immunization.dose_number,
            "lot_number": immunization.lot_number,
            "performer": immunization.performer,
        }

    def clean_vaccine_code(self) -> str:
        code = self.cleaned_data["vaccine_code"]
        if vaccine_by_code(code) is None:
            raise forms.ValidationError(_("Choisissez un vaccin de la liste."))
        return code

    def clean_occurrence_date(self) -> date:
        value = self.cleaned_data["occurrence_date"]
        problem = occurrence_date_problem(value, birth_date=self.birth_date, today=self.today)
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_dose_number(self) -> int | None:
        value = self.cleaned_data["dose_number"]
        if value is not None and (problem := dose_number_problem(value)):
            raise forms.ValidationError(problem)
        return value

    def clean_lot_number(self) -> str:
        value = self.cleaned_data["lot_number"]
        if problem := lot_number_problem(value):
            raise forms.ValidationError(problem)
        return value

    def clean_performer(self) -> str:
        value = self.cleaned_data["performer"]
        if problem := performer_problem(value):
            raise forms.ValidationError(problem)
        return value
