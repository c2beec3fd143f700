"""``/gestion/statistiques/``: the opt-out campaign statistics, for administrators."""

from django.urls import path

from mes.comptes.views import statistics

urlpatterns = [
    path("", statistics.statistics, name="campaign_statistics"),
    path("export.csv", statistics.statistics_csv, name="campaign_statistics_csv"),
]
