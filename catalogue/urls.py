"""``/catalogue/``: the catalogue of referenced services."""

from django.urls import path

from catalogue import views

urlpatterns = [
    path("", views.catalogue_home, name="catalogue_home"),
    path("<slug:slug>/", views.catalogue_detail, name="catalogue_detail"),
    # ``image`` is the beginning of the image's SHA-256 (catalogue.models.IMAGE_KEY_LENGTH hexadecimal digits).
    path("<slug:slug>/images/<slug:image>.png", views.catalogue_image, name="catalogue_image"),
]
