"""Routes of the agenda's iCalendar pages: import, export, the subscription feed and its public URL."""

from django.urls import path

from agenda.views import ical

urlpatterns = [
    path("importer/", ical.agenda_import, name="agenda_import"),
    path("exporter.ics", ical.agenda_export, name="agenda_export"),
    path("evenements/<uuid:event_id>/exporter.ics", ical.event_export, name="event_export"),
    path("abonnement/", ical.agenda_feed, name="agenda_feed"),
    # Public: the secret token of the URL answers for it (agenda.services.feed).
    path("flux/<str:token>.ics", ical.agenda_feed_ics, name="agenda_feed_ics"),
]
