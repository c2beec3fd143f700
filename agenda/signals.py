"""The agenda follows the person's profile and space (connected in ``agenda.apps``).

- Prevention key dates depend on the birth date, the sex and whether the space exists: when one of them changes on a
  ``Citizen`` (or a space is created), that person's key dates are refreshed once the change has committed. The
  nightly job catches what a set-based update of citizens (which sends no signal) changed.
- When closed spaces are emptied (``mes.comptes.events.space_content_deleting``), the agenda deletes what it holds
  for them, in the same transaction.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from agenda.models import Event, Feed, PreventionDate, Task
from agenda.services.prevention import SPACE_STATUSES, prevention_dates_refresh_citizen
from mes.comptes.events import space_content_deleting
from mes.comptes.models import Citizen

logger = logging.getLogger(__name__)

# The fields of a person that prevention key dates depend on.
PROFILE_FIELDS = ("birth_date", "sex", "status")


@receiver(pre_save, sender=Citizen, dispatch_uid="agenda_citizen_before_save")
def citizen_remember_profile(sender, instance: Citizen, update_fields=None, raw=False, **kwargs) -> None:
    """Read the stored birth date, sex and status before a save that may change them (one indexed read)."""
    instance._agenda_previous_profile = None
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(PROFILE_FIELDS):
        return
    instance._agenda_previous_profile = Citizen.objects.filter(pk=instance.pk).values_list(*PROFILE_FIELDS).first()


@receiver(post_save, sender=Citizen, dispatch_uid="agenda_citizen_after_save")
def citizen_refresh_prevention(sender, instance: Citizen, created: bool, raw=False, **kwargs) -> None:
    if raw:
        return
    if created:
        needed = instance.has_space
    else:
        previous = getattr(instance, "_agenda_previous_profile", None)
        if previous is None:
            return
        was_space = previous[2] in SPACE_STATUSES
        current = (instance.birth_date, instance.sex, instance.status)
        # A profile change matters for an existing space; a status change matters when a space opens or closes.
        needed = current != tuple(previous) and (was_space or instance.has_space)
    if needed:
        citizen_id = instance.pk
        # After the commit: the refresh reads the committed profile, and a rolled-back change refreshes nothing.
        # ``robust``: a failure is logged, it does not undo the person's committed change (the nightly job retries).
        transaction.on_commit(lambda: _refresh(citizen_id), robust=True)


def _refresh(citizen_id: int) -> None:
    citizen = Citizen.objects.filter(pk=citizen_id).first()
    if citizen is None:
        return
    try:
        prevention_dates_refresh_citizen(citizen=citizen)
    except DatabaseError:
        logger.exception("Prevention key dates of citizen %s not refreshed; the nightly job will do it", citizen_id)


@receiver(space_content_deleting, dispatch_uid="agenda_space_content_deleting")
def agenda_delete_content(sender, citizen_ids: list[int], **kwargs) -> None:
    """Everything the agenda holds for closed spaces whose content is deleted (reminders go with their events)."""
    for model in (Event, Task, PreventionDate, Feed):
        model.objects.filter(citizen_id__in=citizen_ids).delete()
