"""Back-office of the opt-out campaigns, under /gestion/campagnes/."""

from django.urls import path

from mes.comptes.views import campaigns as views

urlpatterns = [
    path("", views.wave_list, name="campaign_list"),
    path("nouvelle/", views.wave_new, name="campaign_new"),
    path("exemple.csv", views.wave_example, name="campaign_example"),
    path("<uuid:public_id>/", views.wave_detail, name="campaign_detail"),
    path("<uuid:public_id>/progression.json", views.wave_progress, name="campaign_progress"),
    path("<uuid:public_id>/lignes-rejetees.csv", views.wave_rejects, name="campaign_rejects"),
    path("<uuid:public_id>/notifier/", views.wave_notify, name="campaign_notify"),
    path("<uuid:public_id>/courriers/<int:number>.pdf", views.wave_letters, name="campaign_letters"),
]
