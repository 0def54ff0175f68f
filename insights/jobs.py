"""RQ entry points of the insights app."""

from __future__ import annotations

from django.db import close_old_connections

from insights.gauges import health_gauges_emit
from insights.weekly import last_full_week, weekly_summaries_build
from insights.weekly_mail import weekly_summary_mail_send, weekly_summary_mails_enqueue


def health_gauges_job() -> dict:
    """Cron: send the periodic gauges (DLQ size and age, paused connections, token expiries, queues)."""
    close_old_connections()
    sent = health_gauges_emit()
    return {name: value for name, value in sent.items() if not isinstance(value, dict)}


def weekly_summaries_job() -> dict:
    """Cron (Mondays): the week that has just ended, summed up per tenant with WEEKLY_SUMMARY_ENABLED and
    overall (a re-run replaces it), then one mail job per tenant summary, enqueued once it is stored."""
    close_old_connections()
    build = weekly_summaries_build(last_full_week())
    ids = list(build.tenant_summary_ids.values())
    weekly_summary_mails_enqueue(ids)  # the build has committed
    return {"week": build.week_start.isoformat(), "tenants": len(ids), "seconds": build.seconds}


def weekly_summary_mail_job(summary_id: int) -> int:
    """Mail one tenant's weekly summary to its owners and admins."""
    return weekly_summary_mail_send(summary_id)
