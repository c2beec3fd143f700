"""The inbox and threads: the lists, a conversation, archiving and deleting, the download of an attachment."""

from django.urls import path

from mes.context_processors import NavigationBadge, register_navigation_badge
from messagerie.views import attachments, inbox

urlpatterns = [
    path("", inbox.inbox, name="messagerie_inbox"),
    path("archives/", inbox.archives, name="messagerie_archives"),
    path("<uuid:conversation_id>/", inbox.conversation_detail, name="messagerie_conversation"),
    path("<uuid:conversation_id>/archiver/", inbox.conversation_archive, name="messagerie_conversation_archive"),
    path("<uuid:conversation_id>/desarchiver/", inbox.conversation_unarchive, name="messagerie_conversation_unarchive"),
    path("<uuid:conversation_id>/supprimer/", inbox.conversation_delete, name="messagerie_conversation_delete"),
    path("messages/<uuid:message_id>/supprimer/", inbox.message_delete, name="messagerie_message_delete"),
    path("pieces/<uuid:attachment_id>/", attachments.attachment_download, name="messagerie_attachment_download"),
]

# The unread count beside « Messagerie » in the header. It is registered with the route it belongs to: the
# navigation reverses that route before it reads the badge, so the registration is always in place by then.
register_navigation_badge(
    "messagerie_inbox", NavigationBadge(count=inbox.header_unread_count, label=inbox.unread_label)
)
