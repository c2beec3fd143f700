"""Routes of the dossier: profil médical, vaccinations, PDF synthesis (under ``/dossier/profil/``)."""

from django.urls import path

from dossier.views import profile

urlpatterns = [
    path("", profile.profile_overview, name="profile_overview"),
    path("synthese.pdf", profile.profile_synthesis, name="profile_synthesis"),
    # Before the sections' routes: « vaccinations » would otherwise read as a section name.
    path("vaccinations/", profile.immunization_list, name="immunization_list"),
    path("vaccinations/ajouter/", profile.immunization_add, name="immunization_add"),
    path("vaccinations/<uuid:public_id>/modifier/", profile.immunization_edit, name="immunization_edit"),
    path("vaccinations/<uuid:public_id>/supprimer/", profile.immunization_delete_view, name="immunization_delete"),
    path("entrees/<uuid:public_id>/modifier/", profile.profile_entry_edit, name="profile_entry_edit"),
    path("entrees/<uuid:public_id>/supprimer/", profile.profile_entry_delete_view, name="profile_entry_delete"),
    path("<slug:section>/ajouter/", profile.profile_entry_add_view, name="profile_entry_add"),
]
