"""The administrators' Convergence statistics, under ``/gestion/convergence/``."""

from django.urls import path

from convergence import views_exports

urlpatterns = [
    path("", views_exports.statistics, name="convergence_statistics"),
]
