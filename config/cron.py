"""Every periodic schedule, declared in one place (run by `manage.py rqcron config.cron`).

Exactly one cron process runs in any deployment (RQ's CronScheduler has no
leader election: two would enqueue everything twice).
"""

from rq import cron  # noqa: F401

# Schedules are registered below with cron.register(func, queue_name=..., interval=... | cron=...).
