"""The citizen's secure messaging, under /messagerie/: the inbox and threads, and the citizen's own actions
(reply, forward, send a document of the dossier, save an attachment into the dossier, add an event to the agenda)."""

from django.urls import include, path

urlpatterns = [
    path("", include("messagerie.urls.inbox")),
    path("", include("messagerie.urls.actions")),
]
