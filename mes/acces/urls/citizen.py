"""The citizen's control of access to their space: ``/acces/``."""

from django.urls import path

from mes.acces.views import apps as app_views
from mes.acces.views import citizen as views

urlpatterns = [
    path("", views.access_settings, name="access_settings"),
    path("equipe/ajouter/", views.care_team_add_view, name="access_care_team_add"),
    path("equipe/<int:member_id>/retirer/", views.care_team_remove_view, name="access_care_team_remove"),
    path("equipe/<int:member_id>/medecin-traitant/", views.treating_doctor_view, name="access_treating_doctor"),
    path("code/nouveau/", views.code_new, name="access_code_new"),
    path("code/<uuid:delegation_id>/arreter/", views.code_end, name="access_code_end"),
    path("blocages/bloquer/<int:professional_id>/", views.block_view, name="access_block"),
    path("blocages/<int:block_id>/debloquer/", views.unblock_view, name="access_unblock"),
    path("urgence/", views.emergency_view, name="access_emergency"),
    path("services/", app_views.connected_apps, name="access_apps"),
    path("services/<uuid:pairing_id>/deconnecter/", app_views.app_disconnect, name="access_app_disconnect"),
]
