"""Forms of the citizen's actions in the messagerie: reply, forward, send a document, save an attachment.

The recipients a form offers are the space's own correspondents, and the documents its own dossier's: a value
outside them (a forged POST) is an invalid choice, refused with a French message. The services check the rules again.
"""

from django import forms
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from dossier.forms.documents import DocumentUploadForm
from dossier.selectors.documents import documents_visible
from mes.acces.policy import CitizenAccess
from messagerie.models import Attachment, Correspondent
from messagerie.services.outgoing import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH


def _body_field() -> forms.CharField:
    # The length is checked by the service on the text as it will be sent (a browser sends each new line as two
    # characters): a too long text comes back with a French message, never shortened.
    return forms.CharField(
        label=_("Votre message"),
        help_text=_("%(max)s caractères au maximum.") % {"max": f"{BODY_MAX_LENGTH:,}".replace(",", "\u202f")},
        widget=forms.Textarea(attrs={"rows": 8}),
        strip=False,
        error_messages={"required": _("Écrivez votre message.")},
    )


class PublicIdChoiceField(forms.ModelChoiceField):
    """A choice by public id, where a value that is not even a UUID is just another invalid choice."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except forms.ValidationError as error:
            if error.code == "invalid_choice":
                raise
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
            ) from error


class CorrespondentChoiceField(PublicIdChoiceField):
    def label_from_instance(self, obj: Correspondent) -> str:
        return f"{obj.display_name} — {obj.address}" if obj.display_name else obj.address


def _correspondent_field() -> CorrespondentChoiceField:
    return CorrespondentChoiceField(
        label=_("Destinataire"),
        help_text=_("Vous pouvez écrire aux professionnels de santé qui vous ont déjà écrit par cette messagerie."),
        queryset=Correspondent.objects.none(),
        to_field_name="public_id",
        empty_label=_("Choisissez un professionnel"),
        error_messages={
            "required": _("Choisissez le professionnel à qui écrire."),
            "invalid_choice": _(
                "Choisissez un professionnel dans la liste : seuls ceux qui vous ont écrit y figurent."
            ),
        },
    )


def correspondents_of(access: CitizenAccess):
    return Correspondent.objects.filter(citizen=access.citizen).order_by("display_name", "address")


class ReplyForm(forms.Form):
    body = _body_field()


class ForwardForm(forms.Form):
    correspondent = _correspondent_field()
    attachments = forms.MultipleChoiceField(
        label=_("Pièces jointes à transférer"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Cette pièce jointe ne peut pas être transférée.")},
    )
    body = _body_field()

    def __init__(self, *args, access: CitizenAccess, attachments: list[Attachment], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["correspondent"].queryset = correspondents_of(access)
        self._attachments = {str(attachment.public_id): attachment for attachment in attachments}
        self.fields["attachments"].choices = [
            (key, attachment.filename) for key, attachment in self._attachments.items()
        ]
        if not self.is_bound:
            self.initial.setdefault("attachments", list(self._attachments))
        if not attachments:
            del self.fields["attachments"]

    def chosen_attachments(self) -> list[Attachment]:
        return [self._attachments[key] for key in self.cleaned_data.get("attachments", [])]


class DocumentChoiceField(PublicIdChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.title} ({date_format(obj.act_date, 'j F Y')})"


class DocumentSendForm(forms.Form):
    document = DocumentChoiceField(
        label=_("Document de votre dossier"),
        queryset=None,
        to_field_name="public_id",
        empty_label=_("Choisissez un document"),
        error_messages={
            "required": _("Choisissez le document à envoyer."),
            "invalid_choice": _("Choisissez un document de votre dossier dans la liste."),
        },
    )
    correspondent = _correspondent_field()
    subject = forms.CharField(
        label=_("Objet"),
        max_length=SUBJECT_MAX_LENGTH,
        error_messages={
            "required": _("Indiquez l’objet du message."),
            "max_length": _("L’objet ne doit pas dépasser %(limit_value)d caractères."),
        },
    )
    body = _body_field()

    def __init__(self, *args, access: CitizenAccess, in_reply: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["document"].queryset = documents_visible(access).order_by("-act_date", "-id")
        if in_reply:
            # A reply goes to the message's sender, under the conversation's subject: nothing to choose.
            del self.fields["correspondent"]
            del self.fields["subject"]
        else:
            self.fields["correspondent"].queryset = correspondents_of(access)


class AttachmentSaveForm(DocumentUploadForm):
    """The dossier's own upload form without the file: the same types, categories, dates and checks."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["file"]
        self.fields["title"].help_text = _(
            "Proposé d’après le nom du fichier : modifiez-le si besoin. "
            "S’il reste vide, le nom du fichier sert de titre."
        )
