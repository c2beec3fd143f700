from django.contrib import admin
from django.urls import include, path

from mes import views
from mes.api import urls as api_urls

urlpatterns = [
    # The API first: every call of the paired apps resolves its URL, so it should not walk the pages' routes.
    path("api/", include(api_urls)),
    path("api/fhir/", include("dossier.api.urls")),
    path("api/fhir/", include("agenda.api.urls")),
    path("", views.home, name="citizen_home"),
    path("connexion/suite/", views.home_for_role, name="home_for_role"),
    path("accessibilite/", views.accessibility, name="accessibility"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("mes.comptes.urls.space")),
    path("dossier/", include("dossier.urls")),
    path("catalogue/", include("catalogue.urls")),
    path("agenda/", include("agenda.urls")),
    path("messagerie/", include("messagerie.urls")),
    path("acces/", include("mes.acces.urls.citizen")),
    path("", include("mes.acces.urls.history")),
    path("pro/", include("mes.acces.urls.pro")),
    path("pro/patients/<uuid:citizen_id>/dossier/", include("dossier.urls.pro")),
    path("editeurs/", include("referencement.urls_editeurs")),
    path("commission/", include("referencement.urls_commission")),
    path("gestion/statistiques/", include("mes.comptes.urls.statistics")),
    path("gestion/campagnes/", include("mes.comptes.urls.campaigns")),
    path("gestion/convergence/", include("convergence.urls_admin")),
    path("profil/", include("mes.comptes.urls.profiles")),
    path("compte/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("o/", include("mes.api.oauth_urls", namespace="oauth2_provider")),
]
