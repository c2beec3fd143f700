from django.apps import AppConfig


class AccesConfig(AppConfig):
    name = "mes.acces"
    label = "acces"
    verbose_name = "Accès et journal"
