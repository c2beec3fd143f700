from django.apps import AppConfig


class ReferencementConfig(AppConfig):
    name = "referencement"
    verbose_name = "Référencement"

    def ready(self) -> None:
        # The journal's labels of the workflow's steps are registered when the state machine is imported.
        from referencement import workflow  # noqa: F401
