"""The citizen's access history ``/historique/`` and the notification centre ``/notifications/``."""

from django.urls import path

from mes.acces.views import history as views

urlpatterns = [
    path("historique/", views.access_history, name="access_history"),
    path("historique/export.csv", views.access_history_export, name="access_history_export"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/tout-marquer-comme-lu/", views.notifications_mark_read_all, name="notifications_mark_read"),
    path("notifications/<int:notification_id>/lue/", views.notification_mark_read, name="notification_mark_read"),
]
