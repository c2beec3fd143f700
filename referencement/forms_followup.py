"""Forms of the convention, the audits and the follow-up decisions (suspension, reinstatement, withdrawal).

They check the shape of what is typed, in French, field by field; the services check the rules (who may sign, the
document's hash, the state of the audit...).
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from referencement.models import AuditState
from referencement.services.audits import CONCLUSION_MAX_LENGTH, RESPONSE_MAX_LENGTH
from referencement.services.convention import SIGNER_MAX_LENGTH
from referencement.services.publication import REASON_MAX_LENGTH

ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"


class ConventionSignForm(forms.Form):
    signer_name = forms.CharField(
        label=gettext_lazy("Vos prénom et nom"),
        max_length=SIGNER_MAX_LENGTH,
        error_messages={"required": gettext_lazy("Indiquez vos prénom et nom.")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    signer_capacity = forms.CharField(
        label=gettext_lazy("Votre qualité"),
        help_text=gettext_lazy("La fonction qui vous permet d’engager l’organisation, par exemple : présidente."),
        max_length=SIGNER_MAX_LENGTH,
        error_messages={"required": gettext_lazy("Indiquez votre qualité (par exemple : président).")},
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )
    accept = forms.BooleanField(
        error_messages={"required": gettext_lazy("Cochez la case pour accepter la convention.")},
    )
    sha256_seen = forms.CharField(
        widget=forms.HiddenInput,
        validators=[RegexValidator(r"^[0-9a-f]{64}$", gettext_lazy("L’empreinte transmise est invalide."))],
        error_messages={"required": gettext_lazy("L’empreinte de la convention lue manque : rechargez la page.")},
    )

    def __init__(self, *args, organisation_name: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["accept"].label = _("J’ai lu la convention et je l’accepte au nom de %(organisation)s") % {
            "organisation": organisation_name
        }


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (the files of an audit answer)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        if self.required and not files:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


class AuditAnswerForm(forms.Form):
    response = forms.CharField(
        label=gettext_lazy("Votre réponse"),
        help_text=gettext_lazy("Présentez les pièces jointes et ce qu’elles montrent."),
        max_length=RESPONSE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": gettext_lazy("Présentez votre réponse et les pièces jointes.")},
    )
    files = MultipleFileField(
        label=gettext_lazy("Pièces jointes"),
        error_messages={"required": gettext_lazy("Joignez au moins une pièce.")},
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["files"].help_text = _(
            "Formats acceptés : PDF, JPEG et PNG ; %(count)s fichiers au plus, de %(size)s Mo au plus chacun."
        ) % {
            "count": settings.REFERENCEMENT_AUDIT_MAX_FILES,
            "size": settings.DOSSIER_DOCUMENT_MAX_BYTES // (1024 * 1024),
        }


class AuditConcludeForm(forms.Form):
    result = forms.ChoiceField(
        label=gettext_lazy("Résultat de l’audit"),
        choices=[
            (AuditState.PASSED, AuditState.PASSED.label),
            (AuditState.FAILED, AuditState.FAILED.label),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("Indiquez si le service est conforme ou non.")},
    )
    conclusion = forms.CharField(
        label=gettext_lazy("Conclusion"),
        help_text=gettext_lazy("Elle est envoyée à l’éditeur."),
        max_length=CONCLUSION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": gettext_lazy("Rédigez la conclusion : l’éditeur la recevra.")},
    )
    suspend = forms.BooleanField(
        label=gettext_lazy("Suspendre le référencement dès maintenant"),
        help_text=gettext_lazy(
            "Seulement pour un audit non conforme : le service quitte le catalogue et son accès aux données est coupé."
        ),
        required=False,
    )

    def clean(self):
        data = super().clean()
        if data.get("suspend") and data.get("result") == AuditState.PASSED:
            self.add_error("suspend", _("Seul un audit non conforme peut suspendre le référencement."))
        return data


class FollowUpDecisionForm(forms.Form):
    """The reason of a suspension, a reinstatement or a withdrawal, and the confirmation that it is meant."""

    reason = forms.CharField(
        label=gettext_lazy("Motif"),
        help_text=gettext_lazy("Il figure dans l’historique du dossier et dans le courriel envoyé à l’éditeur."),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": gettext_lazy("Indiquez le motif de la décision : l’éditeur le recevra.")},
    )
    confirm = forms.BooleanField(error_messages={"required": gettext_lazy("Cochez la case pour confirmer.")})

    def __init__(self, *args, confirm_label: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["confirm"].label = confirm_label


class AuditFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=gettext_lazy("État"), choices=[("", gettext_lazy("Tous")), *AuditState.choices], required=False
    )
    month = forms.DateField(
        label=gettext_lazy("Tirage du mois"),
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        error_messages={"invalid": gettext_lazy("Indiquez un mois, par exemple 2026-03.")},
    )
    q = forms.CharField(label=gettext_lazy("Référence ou nom du service"), required=False, max_length=100, strip=True)
