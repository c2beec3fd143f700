"""The messagerie empties itself when a closed space's content is deleted (mes.comptes.events)."""

from django.core.files.storage import default_storage
from django.db import transaction
from django.dispatch import receiver

from mes.comptes.events import space_content_deleting
from messagerie.models import Attachment, Conversation, Correspondent, Message


@receiver(space_content_deleting, dispatch_uid="messagerie_space_content_deleting")
def messagerie_delete_content(sender, citizen_ids: list[int], **kwargs) -> None:
    names = list(Attachment.objects.filter(citizen_id__in=citizen_ids).values_list("file", flat=True))
    # Children first: a conversation protects its correspondent.
    for model in (Attachment, Message, Conversation, Correspondent):
        model.objects.filter(citizen_id__in=citizen_ids).delete()
    # The files go once the rows are gone for good: a rollback keeps both.
    transaction.on_commit(lambda: _delete_files(names))


def _delete_files(names: list[str]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)
