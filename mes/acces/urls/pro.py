"""The professionals' portal ``/pro/``.

A patient's landing page is served by the dossier, which counts what the access shows (the pages of the dossier
itself are mounted at ``/pro/patients/<id>/dossier/``).
"""

from django.urls import path

from dossier.views.pro import pro_patient
from mes.acces.views import pro as views

urlpatterns = [
    path("", views.pro_home, name="pro_home"),
    path("code/", views.pro_code, name="pro_code"),
    path("urgence/", views.pro_emergency, name="pro_emergency"),
    path("patients/<uuid:citizen_id>/", pro_patient, name="pro_patient"),
]
