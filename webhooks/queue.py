"""The `webhooks` queue: how stored events get a worker (after commit, never the event itself).

A receiver answers while the partner waits, so what it asks of Redis is one round trip:
it rings a doorbell (`SET NX` with a TTL). Only the delivery that finds the doorbell
silent enqueues a drain job (webhooks.services.webhook_events_drain), which silences the
doorbell first and then processes every due event in PostgreSQL. So a burst of
deliveries costs one RQ job, not one per event (an RQ job is a hash of some twenty
fields written per enqueue), and no event is left behind: an event committed after the
drain silenced the doorbell rings it again.

Enqueueing never fails the caller: with Redis down (refused, or slower than this client's
short timeouts) the event stays stored and pending, the partner still gets its 2xx, and
the sweeper (cron) requests a drain once Redis is back.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

import django_rq
import redis
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

# Dotted path: the jobs module (an interface) imports the services, never the other way round.
DRAIN_JOB = "webhooks.jobs.webhook_events_drain_job"
JOB_TIMEOUT_S = 120
DOORBELL_KEY = "webhooks:drain-requested"
# A drain job that never ran (its worker died, Redis lost it) stops silencing deliveries after this.
DOORBELL_TTL_S = 60
# A receiver must answer the partner quickly even when Redis hangs: fail fast, the sweeper catches up.
CONNECT_TIMEOUT_S = 0.5
SOCKET_TIMEOUT_S = 2.0

_local = threading.local()


def webhooks_queue():
    """The `webhooks` queue on a client of its own (short timeouts), one per process and thread."""
    url = settings.RQ_QUEUES["webhooks"]["URL"]
    queue = getattr(_local, "queue", None)
    if queue is None or getattr(_local, "url", None) != url:
        client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=SOCKET_TIMEOUT_S)
        # commit_mode="auto": request_drain_on_commit defers to the commit itself.
        queue = django_rq.get_queue("webhooks", connection=client, commit_mode="auto")
        _local.queue, _local.url = queue, url
    return queue


def request_drain(*, force: bool = False, at: datetime | None = None) -> bool:
    """Make sure a drain job will run (now, or at `at`); False when Redis could not be reached.

    Now: one SET NX round trip when a drain is already on its way; otherwise that and
    the job. `force` enqueues one whatever the doorbell says (the sweeper, a drain that
    ran out of time); `at` schedules one (a retry's time).
    """
    try:
        queue = webhooks_queue()
        if at is not None:
            queue.enqueue_at(at, DRAIN_JOB, job_timeout=JOB_TIMEOUT_S, description="webhook_events_drain() [retry]")
            return True
        rang = queue.connection.set(DOORBELL_KEY, 1, nx=True, ex=DOORBELL_TTL_S)
        if rang or force:
            queue.enqueue(DRAIN_JOB, job_timeout=JOB_TIMEOUT_S, description="webhook_events_drain()")
    except redis.RedisError as exc:
        logger.warning("webhook drain not requested: Redis unavailable; the sweeper will", extra={"error": type(exc).__name__})
        return False
    return True


def request_drain_on_commit(*, at: datetime | None = None) -> None:
    """request_drain once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: request_drain(at=at))


def silence_doorbell() -> None:
    """Called by a drain before it reads the due events: a delivery committed after this rings again."""
    webhooks_queue().connection.delete(DOORBELL_KEY)
