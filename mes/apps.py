from django.apps import AppConfig


class MesConfig(AppConfig):
    name = "mes"
    verbose_name = "Mon espace santé"
