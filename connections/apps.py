from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "connections"

    def ready(self):
        # Read and validate the capability matrix at start-up: a bad capabilities.json
        # stops the process here rather than failing the first publish.
        from connections.capabilities import get_matrix

        get_matrix()
