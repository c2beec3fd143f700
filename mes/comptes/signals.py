"""Sign-ins are journaled: the citizen sees every connection to their space."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from mes.acces.services import journal_append
from mes.comptes.selectors import citizen_of


@receiver(user_logged_in, dispatch_uid="journal_user_logged_in")
def journal_login(sender, request, user, **kwargs) -> None:
    journal_append(actor=user, action="compte.connexion", citizen=citizen_of(user), obj=user)
