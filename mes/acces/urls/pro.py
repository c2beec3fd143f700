from django.urls import path

from mes.acces import views

urlpatterns = [
    path("", views.pro_home, name="pro_home"),
]
