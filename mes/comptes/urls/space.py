"""The citizen's own pages about their space: activation, opposition, settings and closure."""

from django.urls import path

from mes.comptes.views import space

urlpatterns = [
    path("activer/", space.activate, name="space_activate"),
    path("activer/identifiants/", space.activate_credentials, name="space_activate_credentials"),
    path("opposition/", space.oppose, name="space_oppose"),
    path("opposition/confirmee/", space.oppose_done, name="space_oppose_done"),
    path("parametres/", space.citizen_settings, name="citizen_settings"),
    path("parametres/fermer-mon-espace/", space.close, name="space_close"),
    path("espace-ferme/", space.closed, name="space_closed"),
]
