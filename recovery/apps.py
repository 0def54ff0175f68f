from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "recovery"

    def ready(self):
        from recovery import receivers  # noqa: F401  (connects the flag cache flushes)
