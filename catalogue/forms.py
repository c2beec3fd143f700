"""The search form of the catalogue, and the image fields of the admin."""

from django import forms
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from catalogue.images import ImageRefused, ImageSpec, PreparedImage, image_prepare
from catalogue.models import Category
from catalogue.selectors import SEARCH_MAX_LENGTH


class CatalogueSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Rechercher un service"),
        help_text=_("Un nom, un éditeur, un besoin : « tension », « rendez-vous », « sommeil »…"),
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        error_messages={
            "max_length": _(
                "La recherche est limitée à %(limit_value)d caractères (vous en avez saisi %(show_value)d) : "
                "raccourcissez-la."
            )
        },
    )
    categorie = forms.ChoiceField(
        label=_("Catégorie"),
        choices=[("", _("Toutes les catégories")), *Category.choices],
        required=False,
        error_messages={"invalid_choice": _("Cette catégorie n’existe pas : tous les services sont affichés.")},
    )

    def cleaned(self) -> tuple[str, str]:
        """The search text and category to apply: the valid ones only (an invalid one is reported and ignored)."""
        data = getattr(self, "cleaned_data", {})
        return data.get("q", ""), data.get("categorie", "")


class PreparedImageFile(ContentFile):
    """A checked and re-encoded image, as the file a model's ``FileField`` stores; ``prepared`` has its size and
    SHA-256."""

    def __init__(self, prepared: PreparedImage, name: str) -> None:
        super().__init__(prepared.content, name=name)
        self.prepared = prepared


class CatalogueImageField(forms.FileField):
    """An image of the catalogue: a new upload is checked and re-encoded by ``catalogue.images`` in ``clean``, which
    returns a ``PreparedImageFile`` (or the stored file when nothing new was sent).

    A plain file input: the stored files are not under MEDIA_URL (they are served by ``catalogue_image``), so the
    « currently » link of Django's clearable input would lead nowhere; the admin shows a preview instead. An image is
    replaced, never cleared: a published service keeps a logo, and a screenshot is deleted with its row."""

    def __init__(self, *, spec: ImageSpec, **kwargs) -> None:
        self.spec = spec
        kwargs.setdefault("widget", forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        value = super().clean(data, initial)
        if not isinstance(value, UploadedFile):
            return value
        try:
            return PreparedImageFile(image_prepare(value, self.spec), name="image.png")
        except ImageRefused as error:
            raise forms.ValidationError(error.messages, code=error.code) from None
