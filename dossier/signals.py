"""The dossier empties itself when a closed space's content is deleted (mes.comptes.events)."""

from django.core.files.storage import default_storage
from django.db import transaction
from django.dispatch import receiver

from dossier.models import Document, DossierExport, Immunization, Measure, ProfileEntry
from mes.comptes.events import space_content_deleting


@receiver(space_content_deleting, dispatch_uid="dossier_space_content_deleting")
def dossier_delete_content(sender, citizen_ids: list[int], **kwargs) -> None:
    names = list(Document.objects.filter(citizen_id__in=citizen_ids).values_list("file", flat=True))
    names += [
        name for name in DossierExport.objects.filter(citizen_id__in=citizen_ids).values_list("file", flat=True) if name
    ]
    for model in (Document, DossierExport, Measure, Immunization, ProfileEntry):
        model.objects.filter(citizen_id__in=citizen_ids).delete()
    # The files go once the rows are gone for good: a rollback keeps both.
    transaction.on_commit(lambda: _delete_files(names))


def _delete_files(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)
