"""A mail backend whose server refuses, ``left`` times, any batch holding one of the ``addresses``; every other
batch reaches Django's outbox."""

import smtplib

from django.core.mail.backends.locmem import EmailBackend

REFUSED: dict = {"addresses": set(), "left": 0}


class FlakyBackend(EmailBackend):
    def send_messages(self, messages):
        recipients = {address for message in messages for address in message.to}
        if REFUSED["left"] > 0 and recipients & REFUSED["addresses"]:
            REFUSED["left"] -= 1
            raise smtplib.SMTPServerDisconnected("Connexion fermée par le serveur")
        return super().send_messages(messages)
