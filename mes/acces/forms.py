"""Forms of the citizen's page « Accès à mon espace »."""

import re
from datetime import timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from mes.acces.models import Scope
from mes.acces.services.care_team import professional_find
from mes.comptes.models import Profession

WHOLE_SPACE = "tout"

# The durations offered for a temporary access, in the order of the list.
DURATIONS: dict[str, tuple[str, timedelta]] = {
    "1h": (_("1 heure"), timedelta(hours=1)),
    "4h": (_("4 heures"), timedelta(hours=4)),
    "24h": (_("24 heures"), timedelta(hours=24)),
    "3j": (_("3 jours"), timedelta(days=3)),
    "7j": (_("7 jours"), timedelta(days=7)),
    "30j": (_("30 jours"), timedelta(days=30)),
}
DEFAULT_DURATION = "24h"


class CareTeamAddForm(forms.Form):
    rpps = forms.CharField(
        label=_("Numéro RPPS du professionnel"),
        help_text=_("11 chiffres, indiqués sur ses ordonnances ou sa carte professionnelle."),
        max_length=20,
        error_messages={"required": _("Indiquez le numéro RPPS du professionnel.")},
    )
    treating_doctor = forms.BooleanField(
        label=_("C’est mon médecin traitant"),
        help_text=_("Uniquement pour un médecin. Il remplacera le médecin traitant déclaré aujourd’hui."),
        required=False,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rpps"].widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})
        self.professional = None

    def clean_rpps(self) -> str:
        rpps = re.sub(r"\s", "", self.cleaned_data["rpps"])
        if not re.fullmatch(r"[0-9]{11}", rpps):
            raise forms.ValidationError(_("Le numéro RPPS compte exactement 11 chiffres."))
        self.professional = professional_find(rpps)
        if self.professional is None:
            raise forms.ValidationError(
                _("Aucun professionnel de santé ne correspond au numéro RPPS %(rpps)s. Vérifiez le numéro."),
                params={"rpps": rpps},
            )
        return rpps

    def clean(self) -> dict:
        data = super().clean()
        professional = self.professional
        if data.get("treating_doctor") and professional and professional.professional.profession != Profession.DOCTOR:
            self.add_error("treating_doctor", _("Seul un médecin peut être déclaré comme médecin traitant."))
        return data


class DelegationForm(forms.Form):
    scopes = forms.MultipleChoiceField(
        label=_("Que peut consulter le professionnel ?"),
        choices=[(WHOLE_SPACE, _("Tout mon espace")), *Scope.choices],
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choisissez au moins une partie de votre espace à partager."),
            "invalid_choice": _("Choisissez parmi les parties de votre espace proposées."),
        },
    )
    duration = forms.ChoiceField(
        label=_("Pendant combien de temps ?"),
        help_text=_("Le code doit être utilisé avant la fin de cette durée ; l’accès s’arrête à la fin."),
        choices=[(key, label) for key, (label, _delta) in DURATIONS.items()],
        initial=DEFAULT_DURATION,
        error_messages={
            "required": _("Choisissez une durée."),
            "invalid_choice": _("Choisissez une des durées proposées."),
        },
    )

    def clean_scopes(self) -> list[str]:
        chosen = self.cleaned_data["scopes"]
        if WHOLE_SPACE in chosen:
            return list(Scope.values)
        return [scope for scope in Scope.values if scope in chosen]

    def clean_duration(self) -> timedelta:
        return DURATIONS[self.cleaned_data["duration"]][1]


class EmergencyPreferenceForm(forms.Form):
    ALLOW, REFUSE = "autoriser", "refuser"

    choice = forms.ChoiceField(
        label=_("Votre choix"),
        choices=[
            (ALLOW, _("Autoriser l’accès en urgence")),
            (REFUSE, _("Refuser l’accès en urgence")),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choisissez d’autoriser ou de refuser l’accès en urgence."),
            "invalid_choice": _("Choisissez d’autoriser ou de refuser l’accès en urgence."),
        },
    )

    @property
    def refused(self) -> bool:
        return self.cleaned_data["choice"] == self.REFUSE


class ProfessionalSearchForm(forms.Form):
    professionnel = forms.CharField(
        label=_("Nom ou numéro RPPS"),
        help_text=_("Parmi les professionnels de votre équipe de soins et ceux qui ont accédé à votre espace."),
        max_length=100,
        required=False,
    )
