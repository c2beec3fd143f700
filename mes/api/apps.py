from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "mes.api"
    label = "api"
    verbose_name = "API"
