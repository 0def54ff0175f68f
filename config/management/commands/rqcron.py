"""`manage.py rqcron config.cron`: django-rq's cron scheduler, its start-up lines logged as JSON, surviving Redis outages.

- django-rq's command writes "Loading cron configuration..." and "Starting cron scheduler..." as
  plain text on stdout; here they go to the log like every other line of the process
  (config/logs.py), so a log pipeline reading the cron process sees one JSON object a line.
- RQ's CronScheduler lets a Redis ConnectionError out of its loop, and the process ends
  (rq/cron.py `start`), where RQ's workers wait and retry (`Worker.dequeue_job_and_maintain_ttl`).
  A restart of Redis would then stop every periodic job, the due-post enqueuer included, until a
  person or a supervisor started cron again. ReconnectingCronScheduler waits instead: each Redis
  call of the loop that fails is logged and the loop goes on after a pause (1 s, doubling up to
  RETRY_CAP_S); a job whose enqueue failed is still due and is enqueued once Redis answers (once:
  its next time moves only when it is enqueued). RQ has no such option, hence the subclass.

Everything else is django-rq's own command. The `config` app comes before `django_rq` in
INSTALLED_APPS, so this command is the one `rqcron` names.
"""

from __future__ import annotations

import io
import logging
import sys
import time

import redis
from django_rq.cron import DjangoCronScheduler
from django_rq.management.commands.rqcron import Command as DjangoRQCronCommand

logger = logging.getLogger("rq.cron")

RETRY_CAP_S = 10.0
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class ReconnectingCronScheduler(DjangoCronScheduler):
    """django-rq's cron scheduler that waits out a Redis outage instead of ending (module docstring)."""

    _wait_s = 1.0

    def enqueue_jobs(self):
        return self._unless_redis_is_down(super().enqueue_jobs, [])

    def save(self, *args, **kwargs):
        return self._unless_redis_is_down(lambda: super(ReconnectingCronScheduler, self).save(*args, **kwargs), None)

    def heartbeat(self):
        return self._unless_redis_is_down(super().heartbeat, None)

    def register_death(self, *args, **kwargs):
        try:
            super().register_death(*args, **kwargs)
        except REDIS_DOWN:
            pass  # ending anyway; the registry entry expires on its own (its heartbeat TTL)

    def _unless_redis_is_down(self, call, fallback):
        try:
            result = call()
        except REDIS_DOWN as error:
            logger.error("redis unreachable: cron waits and retries", extra={"retryInS": self._wait_s, "error": str(error)})
            time.sleep(self._wait_s)
            self._wait_s = min(self._wait_s * 2, RETRY_CAP_S)
            return fallback
        self._wait_s = 1.0
        return result


class LogLines(io.TextIOBase):
    """A text stream whose every non-empty line becomes one INFO record of `logger`."""

    def __init__(self, target: logging.Logger):
        self.target = target

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if line.strip():
                self.target.info(line.strip())
        return len(text)


class Command(DjangoRQCronCommand):
    def execute(self, *args, **options):
        options["stdout"] = LogLines(logger)
        options["no_color"] = True
        return super().execute(*args, **options)

    def handle(self, *args, **options) -> None:
        """django-rq's handle (django_rq/management/commands/rqcron.py), with ReconnectingCronScheduler."""
        scheduler = ReconnectingCronScheduler(logging_level=getattr(logging, options["logging_level"]))
        try:
            self.stdout.write(f"Loading cron configuration from {options['config_path']}")
            scheduler.load_config_from_file(options["config_path"])
            self.stdout.write(f"Starting cron scheduler with {len(scheduler.get_jobs())} jobs...")
            scheduler.start()
        except KeyboardInterrupt:
            self.stdout.write("Shutting down cron scheduler...")
            sys.exit(0)
