from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "connections.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox partners"
    default_auto_field = "django.db.models.BigAutoField"
