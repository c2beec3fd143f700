"""The forms of the iCalendar pages: the file to import, and what the subscription feed carries."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from agenda.services.ical import MAX_FILE_BYTES


class CalendarImportForm(forms.Form):
    file = forms.FileField(
        label=_("Fichier iCalendar (.ics)"),
        error_messages={
            "required": _("Choisissez le fichier .ics à importer."),
            "empty": _("Le fichier est vide."),
            "invalid": _("Choisissez le fichier .ics à importer."),
        },
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Written per request, in the person's language.
        self.fields["file"].help_text = gettext(
            "Un fichier .ics exporté d’un autre agenda (téléphone, messagerie, logiciel de rendez-vous), "
            "%(mb)s Mo au plus."
        ) % {"mb": MAX_FILE_BYTES // 1024**2}


class FeedOptionsForm(forms.Form):
    titles_only = forms.BooleanField(
        label=_("Titres et horaires seulement"),
        help_text=_("Sans le lieu, le professionnel ni vos notes. Conseillé si d’autres personnes voient votre écran."),
        required=False,
        initial=True,
    )
    include_tasks = forms.BooleanField(label=_("Inclure les tâches"), required=False, initial=False)
    include_prevention = forms.BooleanField(
        label=_("Inclure les dates clés de prévention"),
        help_text=_("Les dépistages, vaccins et bilans recommandés pour votre âge."),
        required=False,
        initial=True,
    )
