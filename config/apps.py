from django.apps import AppConfig
from django.conf import settings

from config.startup_checks import refuse_insecure_start


class ConfigConfig(AppConfig):
    name = "config"
    verbose_name = "Configuration"

    def ready(self):
        from config import checks  # noqa: F401  (registers the deploy checks)

        # Every process (web, workers, cron, any command) stops here with DEBUG off and a public or weak secret.
        refuse_insecure_start(settings)
