from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"

    def ready(self):
        from django.db.backends.signals import connection_created

        from insights.aggregates import register_sqlite_percentile

        # The weekly summary's percentiles on the local run's SQLite (insights.aggregates).
        connection_created.connect(register_sqlite_percentile, dispatch_uid="insights_sqlite_percentile")
