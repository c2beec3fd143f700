"""``/profil/``: choosing the space a citizen account acts for (its own, or a minor child's)."""

from django.urls import path

from mes.comptes.views import profiles

urlpatterns = [
    path("", profiles.profile_choice, name="profile_switch"),
]
