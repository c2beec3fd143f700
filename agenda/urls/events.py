"""Routes of the citizen's agenda (``/agenda/``): upcoming items, month and day views, events and tasks."""

from django.urls import path

from agenda.views import events

urlpatterns = [
    path("", events.agenda_home, name="agenda_home"),
    path("mois/<int:year>/<int:month>/", events.agenda_month, name="agenda_month"),
    path("jour/<int:year>-<int:month>-<int:day>/", events.agenda_day, name="agenda_day"),
    path("evenements/nouveau/", events.event_new, name="event_new"),
    path("evenements/<uuid:event_id>/", events.event_detail, name="event_detail"),
    path("evenements/<uuid:event_id>/modifier/", events.event_edit, name="event_edit"),
    path("evenements/<uuid:event_id>/supprimer/", events.event_delete, name="event_delete"),
    path(
        "evenements/<uuid:event_id>/supprimer-une-date/",
        events.event_occurrence_delete,
        name="event_occurrence_delete",
    ),
    path("taches/", events.task_list, name="task_list"),
    path("taches/nouvelle/", events.task_new, name="task_new"),
    path("taches/<uuid:task_id>/modifier/", events.task_edit, name="task_edit"),
    path("taches/<uuid:task_id>/faite/", events.task_toggle, name="task_toggle"),
    path("taches/<uuid:task_id>/supprimer/", events.task_delete, name="task_delete"),
]
