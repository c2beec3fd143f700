"""Forms of the commission's pages: the queue's filters, and the inputs of the instruction and commission steps.

The forms check the shape of the input (required fields, lengths, dates, choices); the services check the rules of
the step (quorum, conflicts, exchanges requested, deadlines...) and their refusals come back onto the same fields.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from catalogue.models import Category, DataExchange
from convergence.models import Procedure
from referencement.models import DecisionResult, OpinionResult
from referencement.selectors_commission import QUEUE_DEFAULT, QueueFilters, queue_state_choices
from referencement.services.commission import (
    ADJOURNMENT_MAX_DAYS,
    COMMENT_MAX_LENGTH,
    CONFLICT_MAX_LENGTH,
    VOTE_REASON_MAX_LENGTH,
)
from referencement.services.instruction import COMPLETION_MAX_DAYS, TEXT_MAX_LENGTH

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class QueueFilterForm(forms.Form):
    """The filters of the queue, read from the query string; an invalid value is reported and ignored."""

    etat = forms.ChoiceField(label=_("État"), required=False)
    procedure = forms.ChoiceField(label=_("Procédure"), required=False, choices=[("", _("Toutes")), *Procedure.choices])
    categorie = forms.ChoiceField(label=_("Catégorie"), required=False, choices=[("", _("Toutes")), *Category.choices])
    q = forms.CharField(
        label=_("Rechercher"),
        required=False,
        max_length=100,
        help_text=_("Référence, nom du service ou de l’organisation"),
    )

    def __init__(self, *args, counts: dict[str, int] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["etat"].choices = queue_state_choices(counts)

    def filters(self) -> QueueFilters:
        """The filters asked for; an invalid field is left out (its error is shown next to it)."""
        self.is_valid()
        data = self.cleaned_data
        return QueueFilters(
            state=data.get("etat") or QUEUE_DEFAULT,
            procedure=data.get("procedure") or "",
            category=data.get("categorie") or "",
            text=(data.get("q") or "").strip(),
        )


class CompletionRequestForm(forms.Form):
    requests = forms.CharField(
        label=_("Compléments demandés"),
        help_text=_("L’éditeur lit ce texte dans son courriel et sur le suivi de son dossier."),
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("Indiquez les compléments demandés à l’éditeur.")},
    )
    deadline = forms.DateField(
        label=_("Date limite de réponse"),
        help_text=_("Au format JJ/MM/AAAA, dans %(days)s jours au plus.") % {"days": COMPLETION_MAX_DAYS},
        widget=DATE_INPUT,
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        error_messages={
            "required": _("Indiquez la date limite de réponse."),
            "invalid": _("Saisissez une date valide, par exemple 15/09/2026."),
        },
    )


class StepCommentForm(forms.Form):
    """The optional comment of a one-click step (admissibility, referral to the commission)."""

    comment = forms.CharField(
        label=_("Message à l’éditeur (facultatif)"),
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DecisionForm(forms.Form):
    result = forms.ChoiceField(
        label=_("Décision"),
        choices=DecisionResult.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez d’accorder ou de refuser le référencement.")},
    )
    granted_exchanges = forms.MultipleChoiceField(
        label=_("Données accordées"),
        help_text=_("Parmi les données demandées par l’éditeur ; la décision peut en accorder moins."),
        required=False,
        choices=[],
        widget=forms.CheckboxSelectMultiple,
    )
    reasons = forms.CharField(
        label=_("Motifs de la décision"),
        help_text=_("Communiqués à l’éditeur. Obligatoires, en particulier si la décision s’écarte de l’avis."),
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("Indiquez les motifs de la décision.")},
    )

    def __init__(self, *args, requested: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["granted_exchanges"]
        if requested:
            field.choices = [(code, DataExchange(code).label) for code in requested]
        else:
            del self.fields["granted_exchanges"]


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Votre commentaire"),
        help_text=_("Visible des seuls membres de la commission et des administrateurs."),
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Écrivez votre commentaire.")},
    )


class ConflictForm(forms.Form):
    reason = forms.CharField(
        label=_("Nature du lien d’intérêts"),
        help_text=_("Une fois le conflit déclaré, vous ne pouvez plus voter sur ce dossier."),
        max_length=CONFLICT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Décrivez la nature de votre lien d’intérêts.")},
    )


class VoteForm(forms.Form):
    choice = forms.ChoiceField(
        label=_("Votre vote"),
        choices=OpinionResult.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez votre vote.")},
    )
    reason = forms.CharField(
        label=_("Motif"),
        help_text=_("Obligatoire sauf pour un vote favorable."),
        required=False,
        max_length=VOTE_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class OpinionForm(forms.Form):
    result = forms.ChoiceField(
        label=_("Avis de la commission"),
        choices=OpinionResult.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choisissez l’avis de la commission.")},
    )
    reasons = forms.CharField(
        label=_("Motifs de l’avis"),
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={"required": _("Indiquez les motifs de l’avis.")},
    )
    reservations = forms.CharField(
        label=_("Réserves"),
        help_text=_("Seulement pour un avis favorable avec réserves, où elles sont obligatoires."),
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    questions = forms.CharField(
        label=_("Informations demandées à l’éditeur"),
        help_text=_("Seulement en cas d’ajournement, où elles sont obligatoires ; l’éditeur les reçoit par courriel."),
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    deadline = forms.DateField(
        label=_("Date limite de réponse de l’éditeur"),
        help_text=_("Seulement en cas d’ajournement : au format JJ/MM/AAAA, dans %(days)s jours au plus.")
        % {"days": ADJOURNMENT_MAX_DAYS},
        required=False,
        widget=DATE_INPUT,
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        error_messages={"invalid": _("Saisissez une date valide, par exemple 15/09/2026.")},
    )
