"""Every periodic schedule, declared in one place (run by `manage.py rqcron config.cron`).

Exactly one cron process runs in any deployment (RQ's CronScheduler has no
leader election: two would enqueue everything twice).
"""

# Schedules are registered below with cron.register(func, queue_name=..., interval=... | cron=...).
# -- publishing (recovery/sweeper.py): due posts in, abandoned and lost jobs out.
from django.conf import settings  # noqa: E402
from rq import cron  # noqa: F401

from insights.jobs import health_gauges_job, weekly_summaries_job  # noqa: E402
from recovery.jobs import (  # noqa: E402
    pings_enqueue_due_job,
    posts_enqueue_due_job,
    posts_sweep_job,
    publish_jobs_fail_abandoned_job,
    tokens_notify_expiring_job,
    tokens_refresh_due_job,
)
from webhooks.jobs import webhook_events_sweep_job  # noqa: E402

cron.register(posts_enqueue_due_job, queue_name="default", interval=settings.PUBLISH_DUE_INTERVAL_S)
cron.register(posts_sweep_job, queue_name="default", interval=settings.PUBLISH_SWEEP_INTERVAL_S)
# -- a killed worker (recovery/publish_queue.py): its publish jobs, once their heartbeat runs out, failed the RQ way
#    (tenant slots freed) and their posts recovered within seconds; posts_sweep's lease is the backstop.
cron.register(publish_jobs_fail_abandoned_job, queue_name="default", interval=settings.PUBLISH_ABANDONED_CHECK_INTERVAL_S)
# -- pings and token upkeep (recovery/pings.py, recovery/token_upkeep.py, docs/pings-and-tokens.md).
cron.register(pings_enqueue_due_job, queue_name="default", interval=settings.PING_TICK_INTERVAL_S)
cron.register(tokens_refresh_due_job, queue_name="default", interval=settings.TOKEN_REFRESH_TICK_S)
cron.register(tokens_notify_expiring_job, queue_name="default", interval=settings.TOKEN_NOTICE_INTERVAL_S)
# -- observability (insights/gauges.py): the periodic gauges the dashboards and monitors read.
cron.register(health_gauges_job, queue_name="default", interval=settings.HEALTH_GAUGES_INTERVAL_S)
# -- partner webhooks (webhooks/services.py): stored events whose processing job was lost or never made.
cron.register(webhook_events_sweep_job, queue_name="webhooks", interval=settings.WEBHOOK_SWEEP_INTERVAL_S)
# -- the weekly summary and the Advisor (insights/weekly.py): the week that has just ended, gated per tenant by
#    WEEKLY_SUMMARY_ENABLED; `manage.py weekly_summary` rebuilds any past week.
cron.register(weekly_summaries_job, queue_name="default", cron=settings.WEEKLY_SUMMARY_CRON,
              job_timeout=settings.WEEKLY_SUMMARY_JOB_TIMEOUT_S)
