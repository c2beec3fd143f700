"""``/dossier/``: the citizen's dossier médical, one module of routes per part."""

from django.urls import include, path

from dossier.views import home

urlpatterns = [
    path("", home.dossier_home, name="dossier_home"),
    path("documents/", include("dossier.urls.documents")),
    path("mesures/", include("dossier.urls.measures")),
    path("profil/", include("dossier.urls.profile")),
    path("export/", include("dossier.urls.exports")),
]
