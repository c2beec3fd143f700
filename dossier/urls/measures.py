"""Routes of the dossier: measures (``/dossier/mesures/``)."""

from django.urls import path

from dossier.views import measures

urlpatterns = [
    path("", measures.measure_overview, name="measure_overview"),
    path("<slug:kind>/", measures.measure_detail, name="measure_detail"),
    path("<slug:kind>/ajouter/", measures.measure_add, name="measure_add"),
    path("<slug:kind>/<uuid:public_id>/supprimer/", measures.measure_delete, name="measure_delete"),
]
