"""RQ entry points of the insights app."""

from __future__ import annotations

from django.db import close_old_connections

from insights.gauges import health_gauges_emit


def health_gauges_job() -> dict:
    """Cron: send the periodic gauges (DLQ size and age, paused connections, token expiries, queues)."""
    close_old_connections()
    sent = health_gauges_emit()
    return {name: value for name, value in sent.items() if not isinstance(value, dict)}
