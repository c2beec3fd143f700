"""The citizen's actions on messages and attachments."""

from django.urls import path

from messagerie.views import actions

urlpatterns = [
    path("messages/<uuid:message_id>/repondre/", actions.reply, name="messagerie_reply"),
    path("messages/<uuid:message_id>/transferer/", actions.forward, name="messagerie_forward"),
    path("messages/<uuid:message_id>/renvoyer/", actions.resend, name="messagerie_resend"),
    path("envoyer-document/", actions.document_send, name="messagerie_document_send"),
    path("pieces/<uuid:attachment_id>/enregistrer/", actions.attachment_save, name="messagerie_attachment_save"),
    path("pieces/<uuid:attachment_id>/agenda/", actions.attachment_agenda, name="messagerie_attachment_agenda"),
]
