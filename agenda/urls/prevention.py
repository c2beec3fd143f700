"""Routes of the prevention key dates (``/agenda/prevention/``)."""

from django.urls import path

from agenda.views import prevention

urlpatterns = [
    path("", prevention.prevention_list, name="prevention_list"),
    path("<uuid:date_id>/fait/", prevention.prevention_done, name="prevention_done"),
    path("<uuid:date_id>/ne-plus-afficher/", prevention.prevention_dismiss, name="prevention_dismiss"),
    path("<uuid:date_id>/remettre-a-faire/", prevention.prevention_reopen, name="prevention_reopen"),
]
