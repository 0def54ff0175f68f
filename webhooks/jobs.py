"""RQ entry points of the webhooks app: take ids, call a service.

Each job first closes database connections that are too old or broken (the
worker is a long-lived SimpleWorker, see recovery/jobs.py).
"""

from __future__ import annotations

from django.db import close_old_connections

from webhooks.services import webhook_events_drain, webhook_events_sweep


def webhook_events_drain_job() -> int:
    """Process the stored webhook events that are due (webhooks.services.webhook_events_drain); how many."""
    close_old_connections()
    return webhook_events_drain()


def webhook_events_sweep_job() -> int:
    """Cron: have stored events processed whose drain was lost or never requested (webhooks.services.webhook_events_sweep)."""
    close_old_connections()
    return webhook_events_sweep()
