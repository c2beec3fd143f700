"""The agenda's pages, under /agenda/: events and tasks, iCalendar import, export and feed, prevention dates."""

from django.urls import include, path

urlpatterns = [
    path("", include("agenda.urls.events")),
    path("", include("agenda.urls.ical")),
    path("prevention/", include("agenda.urls.prevention")),
]
