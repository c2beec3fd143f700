"""Forms of the editors' référencement pages: the eligibility diagnosis, a new dossier, the sections of a dossier, the
images, and the steps the editor takes (abandon, answer to the commission, a new request on a published service).

The forms read what was typed; the rules of a dossier (what is required, the catalogue's consistency, OID and redirect
URIs) are those of ``referencement.services.dossiers``, which says field by field what to correct. Fields are therefore
optional here unless the form itself cannot work without them.
"""

from __future__ import annotations

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalogue.models import DATA_EXCHANGE_SENTENCES, MAX_SCREENSHOTS, AccessibilityCompliance, DataExchange
from convergence.models import Procedure
from referencement.models import EXCHANGE_PURPOSES, Dossier, DossierKind, Purpose
from referencement.selectors import NO, OTHER_PURPOSE, YES
from referencement.services.dossier_rules import (
    ALT_TEXT_MAX_LENGTH,
    ANSWER_MAX_LENGTH,
    JUSTIFICATION_MAX_LENGTH,
    PURPOSE_DETAILS_MAX_LENGTH,
    REASON_MAX_LENGTH,
    SHEET_FIELDS,
    justification_key,
    redirect_uris_parse,
)

YES_NO = [(YES, _("Oui")), (NO, _("Non"))]
PROCEDURE_LABELS = {
    Procedure.SANS_ECHANGE: _("Procédure simple — présence au catalogue, sans échange de données"),
    Procedure.AVEC_ECHANGE: _("Procédure avec échange de données (lecture ou écriture)"),
}
PROCEDURE_HELP = {
    Procedure.SANS_ECHANGE: _("Le service est présenté dans le catalogue ; il n’échange aucune donnée avec l’espace."),
    Procedure.AVEC_ECHANGE: _(
        "Le service lit ou ajoute des données dans l’espace des usagers qui l’y autorisent. Le produit doit avoir "
        "été évalué dans Convergence pour cette démarche."
    ),
}


def _radio(label, choices, required_message, *, help_text="", required=True) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        help_text=help_text,
        choices=choices,
        widget=forms.RadioSelect,
        required=required,
        error_messages={"required": required_message, "invalid_choice": required_message},
    )


# --- Eligibility ------------------------------------------------------------------------------------------------------


class EligibilityForm(forms.Form):
    """The G_NIUS questions, then the procedure advice; sent by GET so that the diagnosis can be bookmarked."""

    usagers = _radio(
        _("Votre service s’adresse-t-il aux usagers, c’est-à-dire aux patients ou aux citoyens ?"),
        YES_NO,
        _("Indiquez si votre service s’adresse aux usagers."),
        help_text=_("Un logiciel destiné seulement aux professionnels n’est pas concerné."),
    )
    secteur = _radio(
        _("Votre service relève-t-il du secteur sanitaire (santé et bien-être), médico-social ou social ?"),
        YES_NO,
        _("Indiquez si votre service relève de l’un de ces secteurs."),
    )
    echange = _radio(
        _("Votre service doit-il échanger des données avec Mon espace santé (les lire ou en ajouter) ?"),
        YES_NO,
        _("Indiquez si votre service doit échanger des données avec Mon espace santé."),
        help_text=_("Par exemple : ajouter des mesures de tension, lire des documents, alimenter l’agenda."),
    )
    finalite = _radio(
        _("Si oui : quelle est la finalité de ces échanges ?"),
        [
            *[(purpose.value, purpose.label) for purpose in EXCHANGE_PURPOSES],
            (OTHER_PURPOSE, _("Une autre finalité (information, bien-être…)")),
        ],
        _("Choisissez la finalité des échanges de données."),
        required=False,
    )
    oid = _radio(
        _("Si oui : votre organisation dispose-t-elle déjà d’un OID attribué par l’AFNOR ?"),
        YES_NO,
        _("Indiquez si votre organisation dispose d’un OID."),
        help_text=_("L’OID identifie votre organisation dans les échanges de données de santé (HL7 FHIR)."),
        required=False,
    )

    def clean(self):
        data = super().clean()
        if data.get("echange") == YES:
            if not data.get("finalite") and "finalite" not in self.errors:
                self.add_error("finalite", _("Choisissez la finalité des échanges de données."))
            if not data.get("oid") and "oid" not in self.errors:
                self.add_error("oid", _("Indiquez si votre organisation dispose d’un OID."))
        return data


# --- A new dossier ----------------------------------------------------------------------------------------------------


class DossierNewForm(forms.Form):
    product = forms.ChoiceField(
        label=_("Produit Convergence"),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choisissez le produit Convergence à référencer."),
            "invalid_choice": _("Choisissez l’un de vos produits prêts pour le référencement."),
        },
    )
    procedure = forms.ChoiceField(
        label=_("Procédure"),
        choices=list(PROCEDURE_LABELS.items()),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choisissez la procédure : simple ou avec échange de données."),
            "invalid_choice": _("Choisissez la procédure : simple ou avec échange de données."),
        },
    )

    def __init__(self, *args, choices=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.choices = [choice for choice in choices if choice.available]
        self.fields["product"].choices = [
            (str(choice.product.public_id), f"{choice.product.name} {choice.product.version}")
            for choice in self.choices
        ]

    def product_chosen(self):
        value = self.cleaned_data.get("product")
        return next((choice.product for choice in self.choices if str(choice.product.public_id) == value), None)


# --- The sections -----------------------------------------------------------------------------------------------------


class ProcedureForm(forms.Form):
    procedure = forms.ChoiceField(
        label=_("Procédure"),
        choices=list(PROCEDURE_LABELS.items()),
        widget=forms.RadioSelect,
        required=False,
        error_messages={"invalid_choice": _("Choisissez la procédure : simple ou avec échange de données.")},
    )
    purpose = forms.ChoiceField(
        label=_("Finalité du service"),
        choices=[("", _("Choisissez la finalité")), *Purpose.choices],
        required=False,
        help_text=_(
            "Avec échange de données : prévention, diagnostic, soins, ou suivi social ou médico-social seulement."
        ),
        error_messages={"invalid_choice": _("Choisissez une finalité de la liste.")},
    )
    purpose_details = forms.CharField(
        label=_("Description de la finalité"),
        help_text=_(
            "À qui le service s’adresse, ce qu’il apporte, et pourquoi il a besoin des données demandées "
            "(%(limit)s caractères au plus)."
        )
        % {"limit": "2\u00a0000"},
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        max_length=PURPOSE_DETAILS_MAX_LENGTH,
        error_messages={"max_length": _("La description est limitée à %(limit_value)s caractères.")},
    )

    def values(self) -> dict:
        return dict(self.cleaned_data)


class ExchangesForm(forms.Form):
    """One checkbox and one justification per data exchange, the OID and the redirect URIs."""

    oid = forms.CharField(
        label=_("OID de l’organisation"),
        help_text=_("Attribué par l’AFNOR : des nombres séparés par des points, par exemple 1.2.250.1.999."),
        required=False,
        max_length=64,
        error_messages={"max_length": _("Un OID compte au plus %(limit_value)s caractères.")},
    )
    redirect_uris = forms.CharField(
        label=_("URI de redirection"),
        help_text=_(
            "Une adresse exacte par ligne, 5 au plus, en https:// (http:// seulement pour localhost ou 127.0.0.1 en "
            "développement), sans fragment (#). Exemple : https://exemple.fr/oauth/retour"
        ),
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocapitalize": "off"}),
        required=False,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.exchange_rows = []
        for code, label in DataExchange.choices:
            key = code.replace("-", "_")
            self.fields[f"exchange_{key}"] = forms.BooleanField(
                label=label, help_text=DATA_EXCHANGE_SENTENCES[code], required=False
            )
            self.fields[justification_key(code)] = forms.CharField(
                label=_("Justification : %(label)s") % {"label": label},
                widget=forms.Textarea(attrs={"rows": 3}),
                required=False,
                max_length=JUSTIFICATION_MAX_LENGTH,
                error_messages={"max_length": _("La justification est limitée à %(limit_value)s caractères.")},
            )
            self.exchange_rows.append((code, f"exchange_{key}", justification_key(code)))

    @classmethod
    def initial_for(cls, dossier: Dossier) -> dict:
        initial = {"oid": dossier.oid, "redirect_uris": "\n".join(dossier.redirect_uris)}
        for row in dossier.requested_exchanges.all():
            initial[f"exchange_{row.exchange.replace('-', '_')}"] = True
            initial[justification_key(row.exchange)] = row.justification
        return initial

    def rows(self):
        """(checkbox, justification) bound fields, in the vocabulary's order, for the template."""
        return [(self[checkbox], self[justification]) for _code, checkbox, justification in self.exchange_rows]

    def clean(self):
        data = super().clean()
        for code, checkbox, justification in self.exchange_rows:
            if not data.get(checkbox) and (data.get(justification) or "").strip():
                self.add_error(
                    justification,
                    _("Cochez la donnée « %(label)s » si vous la demandez, ou videz sa justification.")
                    % {"label": DataExchange(code).label},
                )
        return data

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "exchanges": {
                code: data.get(justification) or ""
                for code, checkbox, justification in self.exchange_rows
                if data.get(checkbox)
            },
            "oid": data.get("oid") or "",
            "redirect_uris": redirect_uris_parse(data.get("redirect_uris") or ""),
        }


SHEET_HELP = {
    "name": _("Tel qu’il apparaîtra dans le catalogue (80 caractères au plus)."),
    "short_description": _("Une phrase affichée dans la liste du catalogue (160 caractères au plus)."),
    "long_description": _("Texte simple affiché sur la page du service ; une ligne vide sépare deux paragraphes."),
    "website_url": _("Obligatoire pour un service web ou un site d’information. Adresse en https://."),
    "app_store_url": _("Pour une application mobile : https://apps.apple.com/fr/app/…/id…"),
    "google_play_url": _("Pour une application mobile : https://play.google.com/store/apps/details?id=…"),
    "price_details": _("Obligatoire pour un service sur abonnement ou payant, par exemple « 4,99 € par mois »."),
    "medical_device_class": _("Seulement pour un dispositif médical marqué CE."),
    "connected_objects_details": _("Lesquels, par exemple « tensiomètre et balance connectés »."),
    "support_email": _("Au moins un moyen de contacter le support : adresse électronique, téléphone ou page d’aide."),
    "support_phone": _("Par exemple 01 23 45 67 89."),
    "support_url": _("Adresse en https://."),
    "accessibility_url": _("Obligatoire dès que la conformité est évaluée. Adresse en https://."),
}


def _sheet_formfield(model_field, **kwargs):
    """Addresses typed without a scheme are taken as https:// (the only scheme a published link may have)."""
    if isinstance(model_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return model_field.formfield(**kwargs)


class SheetForm(forms.ModelForm):
    """The catalogue sheet: the dossier's own fields, each optional here; the service checks the sheet as a whole."""

    class Meta:
        model = Dossier
        fields = SHEET_FIELDS
        formfield_callback = _sheet_formfield
        widgets = {
            "long_description": forms.Textarea(attrs={"rows": 8}),
            "website_url": forms.URLInput(attrs={"placeholder": "https://"}),
            "support_email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "support_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, form_field in self.fields.items():
            form_field.required = False
            if name in SHEET_HELP:
                form_field.help_text = SHEET_HELP[name]
        # Choices with an explicit empty entry, so that nothing is chosen for the editor.
        for name in ("category", "service_kind", "price_model", "medical_device_class"):
            choices = [choice for choice in self.fields[name].choices if choice[0] != ""]
            self.fields[name].choices = [("", _("Choisissez")), *choices]
        self.fields["accessibility_compliance"].choices = AccessibilityCompliance.choices

    def _post_clean(self) -> None:
        # The model's validation is the service's job (with the sheet's rules); the instance stays untouched here.
        pass

    def values(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in SHEET_FIELDS}


# --- Images -----------------------------------------------------------------------------------------------------------

IMAGE_ACCEPT = "image/png,image/jpeg,image/webp"


class LogoForm(forms.Form):
    logo = forms.FileField(
        label=_("Logo du service"),
        help_text=_("PNG, JPEG ou WebP, carré de préférence, 64 pixels de côté au moins, 1 Mo au plus."),
        widget=forms.FileInput(attrs={"accept": IMAGE_ACCEPT}),
        error_messages={
            "required": _("Choisissez le fichier du logo."),
            "empty": _("Le fichier est vide."),
            "invalid": _("Choisissez le fichier du logo."),
        },
    )


class ScreenshotForm(forms.Form):
    image = forms.FileField(
        label=_("Capture d’écran"),
        help_text=_("PNG, JPEG ou WebP, 200 pixels de côté au moins, 5 Mo au plus ; %(limit)s captures au plus.")
        % {"limit": MAX_SCREENSHOTS},
        widget=forms.FileInput(attrs={"accept": IMAGE_ACCEPT}),
        error_messages={
            "required": _("Choisissez le fichier de la capture d’écran."),
            "empty": _("Le fichier est vide."),
            "invalid": _("Choisissez le fichier de la capture d’écran."),
        },
    )
    alt_text = forms.CharField(
        label=_("Texte alternatif"),
        help_text=_("Ce que montre l’écran, pour les personnes qui ne le voient pas (200 caractères au plus)."),
        required=False,
        max_length=ALT_TEXT_MAX_LENGTH,
        error_messages={"max_length": _("Le texte alternatif est limité à %(limit_value)s caractères.")},
    )


# --- Steps ------------------------------------------------------------------------------------------------------------


class AbandonForm(forms.Form):
    reason = forms.CharField(
        label=_("Motif (facultatif)"),
        help_text=_("Il figurera dans l’historique du dossier."),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=REASON_MAX_LENGTH,
        error_messages={"max_length": _("Le motif est limité à %(limit_value)s caractères.")},
    )


class AdjournmentAnswerForm(forms.Form):
    answer = forms.CharField(
        label=_("Votre réponse à la commission"),
        help_text=_("Répondez à chacune des questions posées (%(limit)s caractères au plus).")
        % {"limit": "4\u00a0000"},
        widget=forms.Textarea(attrs={"rows": 10}),
        required=False,
        max_length=ANSWER_MAX_LENGTH,
        error_messages={"max_length": _("La réponse est limitée à %(limit_value)s caractères.")},
    )


class RedeclareForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Nature de la demande"),
        choices=[
            (DossierKind.MAJOR_VERSION, _("Déclarer une nouvelle version majeure")),
            (DossierKind.RENEWAL, _("Demander le renouvellement du référencement")),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choisissez : nouvelle version majeure ou renouvellement."),
            "invalid_choice": _("Choisissez : nouvelle version majeure ou renouvellement."),
        },
    )
    product = forms.ChoiceField(
        label=_("Produit Convergence de la nouvelle version"),
        help_text=_("Seulement pour une nouvelle version majeure : le produit déclaré et évalué dans Convergence."),
        required=False,
        error_messages={"invalid_choice": _("Choisissez l’un de vos produits prêts pour le référencement.")},
    )

    def __init__(self, *args, choices=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.choices = [choice for choice in choices if choice.available]
        self.fields["product"].choices = [("", _("Choisissez le produit"))] + [
            (
                str(choice.product.public_id),
                f"{choice.product.name} {choice.product.version} ({choice.product.reference})",
            )
            for choice in self.choices
        ]

    def product_chosen(self):
        value = self.cleaned_data.get("product")
        return next((choice.product for choice in self.choices if str(choice.product.public_id) == value), None)
