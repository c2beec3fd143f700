from django.urls import path

from referencement import views

urlpatterns = [
    path("", views.commission_home, name="commission_home"),
]
