"""Forms of the editors' Convergence pages: declaring or editing a product, duplicating answers, adding evidence.

The services check everything again (membership, values); the forms give the editor French messages on the page.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

from convergence.models import Platform, Procedure, ProductType
from convergence.services import NAME_MAX_LENGTH, VERSION_MAX_LENGTH
from mes.comptes.models import Organisation

ANSWERING_COMMON = "commune"
ANSWERING_PER_PLATFORM = "par_plateforme"
ANSWERING_CHOICES = [
    (ANSWERING_COMMON, _("Réponses communes à toutes les plateformes")),
    (ANSWERING_PER_PLATFORM, _("Une réponse par plateforme")),
]
PROCEDURE_HELP = {
    Procedure.SANS_ECHANGE: _(
        "Le service est présenté dans le catalogue de Mon espace santé sans échanger de données de santé avec le "
        "profil de l’usager."
    ),
    Procedure.AVEC_ECHANGE: _(
        "Le service échange des données de santé avec Mon espace santé (lecture ou alimentation du profil) : le "
        "questionnaire « Sécurité des échanges de données » s’ajoute aux autres."
    ),
}


class ProductForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label=_("Organisation éditrice"),
        queryset=Organisation.objects.none(),
        empty_label=_("Choisissez l’organisation"),
        error_messages={
            "required": _("Choisissez l’organisation éditrice du produit."),
            "invalid_choice": _("Choisissez l’une de vos organisations."),
        },
    )
    name = forms.CharField(
        label=_("Nom du service"),
        help_text=_("Tel que les usagers le voient, par exemple « Suivi Tension »."),
        max_length=NAME_MAX_LENGTH,
        error_messages={
            "required": _("Indiquez le nom du service tel que les usagers le voient."),
            "max_length": _("Le nom ne doit pas dépasser %(limit_value)s caractères."),
        },
    )
    version = forms.CharField(
        label=_("Version"),
        help_text=_("Par exemple 3.2."),
        max_length=VERSION_MAX_LENGTH,
        error_messages={
            "required": _("Indiquez la version du service."),
            "max_length": _("La version ne doit pas dépasser %(limit_value)s caractères."),
        },
    )
    product_type = forms.ChoiceField(
        label=_("Type de produit"),
        choices=[("", _("Choisissez le type")), *ProductType.choices],
        error_messages={
            "required": _("Choisissez le type du service."),
            "invalid_choice": _("Choisissez le type du service."),
        },
    )
    platforms = forms.MultipleChoiceField(
        label=_("Plateformes"),
        choices=Platform.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choisissez au moins une plateforme parmi Web, Android et iOS."),
            "invalid_choice": _("Choisissez au moins une plateforme parmi Web, Android et iOS."),
        },
    )
    procedure = forms.ChoiceField(
        label=_("Démarche"),
        choices=Procedure.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choisissez la démarche : sans ou avec échange de données."),
            "invalid_choice": _("Choisissez la démarche : sans ou avec échange de données."),
        },
    )
    answering = forms.ChoiceField(
        label=_("Façon de répondre"),
        choices=ANSWERING_CHOICES,
        widget=forms.RadioSelect,
        initial=ANSWERING_COMMON,
        help_text=_(
            "Avec une seule plateforme, les réponses sont toujours communes. Une réponse par plateforme permet de "
            "dupliquer ensuite les réponses d’une plateforme vers une autre."
        ),
        error_messages={
            "required": _("Choisissez une façon de répondre."),
            "invalid_choice": _("Choisissez une façon de répondre."),
        },
    )

    def __init__(self, *args, organisations=None, editing: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        organisations = list(organisations or [])
        if editing or len(organisations) <= 1:
            # Editing never moves a product; a single organisation needs no choice.
            del self.fields["organisation"]
            self.single_organisation = organisations[0] if organisations else None
        else:
            self.fields["organisation"].queryset = Organisation.objects.filter(
                pk__in=[organisation.pk for organisation in organisations]
            ).order_by("name")
            self.single_organisation = None

    def organisation_chosen(self) -> Organisation | None:
        return self.cleaned_data.get("organisation") or self.single_organisation

    @property
    def answers_per_platform(self) -> bool:
        return self.cleaned_data.get("answering") == ANSWERING_PER_PLATFORM


class DuplicationForm(forms.Form):
    source = forms.ChoiceField(
        label=_("Plateforme source"),
        error_messages={
            "required": _("Choisissez la plateforme source."),
            "invalid_choice": _("Choisissez la plateforme source."),
        },
    )
    target = forms.ChoiceField(
        label=_("Plateforme cible"),
        error_messages={
            "required": _("Choisissez la plateforme cible."),
            "invalid_choice": _("Choisissez la plateforme cible."),
        },
    )
    overwrite = forms.BooleanField(label=_("Remplacer les réponses existantes de la plateforme cible"), required=False)

    def __init__(self, *args, platforms: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [(platform, Platform(platform).label) for platform in platforms]
        self.fields["source"].choices = choices
        self.fields["target"].choices = choices

    def clean(self):
        data = super().clean()
        if data.get("source") and data.get("source") == data.get("target"):
            self.add_error("target", _("Choisissez une plateforme cible différente de la source."))
        return data


class EvidenceForm(forms.Form):
    file = forms.FileField(
        label=_("Ajouter un fichier de preuve"),
        help_text=_("PDF, JPEG ou PNG."),
        error_messages={
            "required": _("Choisissez un fichier à déposer."),
            "empty": _("Le fichier est vide."),
            "invalid": _("Choisissez un fichier à déposer."),
        },
    )
