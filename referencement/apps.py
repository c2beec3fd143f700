from django.apps import AppConfig


class ReferencementConfig(AppConfig):
    name = "referencement"
    verbose_name = "Référencement"
