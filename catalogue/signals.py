"""Files of the catalogue follow their rows: a replaced logo, a deleted screenshot or service leave no file behind.

Deletion waits for the commit of the change, so that a rolled-back change still finds its files.
"""

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.signals import post_delete, pre_save
from django.dispatch import receiver

from catalogue.models import Screenshot, Service


def _delete_on_commit(name: str) -> None:
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))


@receiver(pre_save, sender=Service)
def _logo_replaced(sender, instance: Service, update_fields=None, raw=False, **kwargs) -> None:
    if raw or instance.pk is None or (update_fields is not None and "logo" not in update_fields):
        return
    old = Service.objects.filter(pk=instance.pk).values_list("logo", flat=True).first()
    if old and old != instance.logo.name:
        _delete_on_commit(old)


@receiver(post_delete, sender=Service)
def _service_deleted(sender, instance: Service, **kwargs) -> None:
    _delete_on_commit(instance.logo.name)


@receiver(post_delete, sender=Screenshot)
def _screenshot_deleted(sender, instance: Screenshot, **kwargs) -> None:
    _delete_on_commit(instance.image.name)
