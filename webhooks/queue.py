"""The `webhooks` queue: how an event's processing job is enqueued (after commit, ids only).

- One job per event and attempt, with a predictable id (`webhook-event-<id>-<attempt>`),
  so the sweeper can ask Redis whether an unprocessed event still has a job waiting.
- Enqueueing never fails the caller: with Redis down (refused, or slower than the short
  timeouts of this client) the event stays stored and pending, the partner still gets its
  2xx, and the sweeper enqueues it once Redis is back.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

import django_rq
import redis
from django.conf import settings
from django.db import transaction
from rq.job import JobStatus

logger = logging.getLogger(__name__)

# Dotted path: the jobs module (an interface) imports the services, never the other way round.
PROCESS_JOB = "webhooks.jobs.webhook_event_process_job"
JOB_TIMEOUT_S = 30
# A receiver must answer the partner quickly even when Redis hangs: fail fast, the sweeper catches up.
CONNECT_TIMEOUT_S = 0.5
SOCKET_TIMEOUT_S = 2.0
# A job in one of these states will still run: the sweeper leaves its event alone.
WAITING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}

_local = threading.local()


def webhooks_queue():
    """The `webhooks` queue on a client of its own (short timeouts), one per process and thread."""
    url = settings.RQ_QUEUES["webhooks"]["URL"]
    queue = getattr(_local, "queue", None)
    if queue is None or getattr(_local, "url", None) != url:
        client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=SOCKET_TIMEOUT_S)
        # commit_mode="auto": enqueue_webhook_event_on_commit defers to the commit itself.
        queue = django_rq.get_queue("webhooks", connection=client, commit_mode="auto")
        _local.queue, _local.url = queue, url
    return queue


def process_job_id(event_id: int, attempt: int) -> str:
    return f"webhook-event-{event_id}-{attempt}"


def enqueue_webhook_event(event_id: int, attempt: int = 0, at: datetime | None = None) -> bool:
    """Enqueue the event's processing now (or at `at`); False when Redis could not be reached."""
    options = {"job_id": process_job_id(event_id, attempt), "job_timeout": JOB_TIMEOUT_S,
               "description": f"webhook_event_process(event_id={event_id}, attempt={attempt})"}
    try:
        queue = webhooks_queue()
        if at is None:
            queue.enqueue(PROCESS_JOB, event_id, **options)
        else:
            queue.enqueue_at(at, PROCESS_JOB, event_id, **options)
    except redis.RedisError as exc:
        logger.warning("webhook event not enqueued: Redis unavailable; the sweeper will",
                       extra={"webhookEventId": event_id, "error": type(exc).__name__})
        return False
    return True


def enqueue_webhook_event_on_commit(event_id: int, attempt: int = 0, at: datetime | None = None) -> None:
    """Enqueue once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: enqueue_webhook_event(event_id, attempt, at))


def jobs_still_waiting(job_ids: list[str]) -> set[str]:
    """Of these job ids, those whose job is queued, running, scheduled or deferred in Redis."""
    queue = webhooks_queue()
    jobs = queue.job_class.fetch_many(job_ids, connection=queue.connection)
    return {job.id for job in jobs if job is not None and job.get_status(refresh=False) in WAITING}
