"""RQ entry points of the webhooks app: take ids, call a service.

Each job first closes database connections that are too old or broken (the
worker is a long-lived SimpleWorker, see recovery/jobs.py).
"""

from __future__ import annotations

from django.db import close_old_connections

from webhooks.services import webhook_event_process, webhook_events_sweep


def webhook_event_process_job(event_id: int) -> str | None:
    """Process one stored webhook event (webhooks.services.webhook_event_process); returns its outcome."""
    close_old_connections()
    return webhook_event_process(event_id)


def webhook_events_sweep_job() -> int:
    """Cron: enqueue stored events whose job was lost or never made (webhooks.services.webhook_events_sweep)."""
    close_old_connections()
    return webhook_events_sweep()
