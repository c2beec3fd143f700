from django.urls import include, path

from referencement import views

urlpatterns = [
    path("", views.editor_home, name="editor_home"),
    path("convergence/", include("convergence.urls")),
]
