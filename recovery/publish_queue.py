"""The `publish` queue: how a post's publish job is enqueued (after commit, ids only).

Every path that sends a post to the pipeline (cron's due posts, a retry, a
deferral, a resume, a requeue, the user's "send again") enqueues through
`enqueue_post_publish`, so the job's options (timeout, tenant isolation,
infrastructure retries, failure callback) are set in one place.
"""

from __future__ import annotations

import threading
from datetime import datetime

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rq import Callback, Retry
from rq.rate_limit import RateLimit

from recovery.policies import get_redis

# Dotted paths: the jobs module (an interface) imports the services, never the other way round.
POST_PUBLISH_JOB = "recovery.jobs.post_publish_job"
POST_PUBLISH_FAILED_CALLBACK = "recovery.jobs.post_publish_failed"
POST_RECOVER_JOB = "recovery.jobs.post_recover_job"

_queues = threading.local()


def publish_queue():
    """The `publish` queue on the policies' cached Redis client.

    commit_mode="auto": enqueue_post_publish already defers to the commit
    itself (django-rq would defer enqueue() but not enqueue_at()).
    """
    client = get_redis()
    queue = getattr(_queues, "publish", None)
    if queue is None or queue.connection is not client:
        queue = django_rq.get_queue("publish", connection=client, commit_mode="auto")
        _queues.publish = queue
    return queue


def tenant_rate_limit_key(tenant_id: int) -> str:
    """RQ RateLimit key of a tenant's publish jobs (at most PUBLISH_TENANT_CONCURRENCY queued or running)."""
    return f"publish:tenant:{tenant_id}"


def _enqueue_now_or_at(post_id: int, tenant_id: int, at: datetime | None) -> None:
    options = {
        "job_timeout": settings.PUBLISH_JOB_TIMEOUT_S,
        # Tenant isolation: at most N of a tenant's publish jobs queued or running; the
        # rest wait in RQ's rate-limited set, so a tenant's backlog never sits in front
        # of another tenant's posts.
        "rate_limit": RateLimit(key=tenant_rate_limit_key(tenant_id), concurrency=settings.PUBLISH_TENANT_CONCURRENCY),
        # Partner failures never raise out of the job (they are classified and scheduled
        # with the classifier's delay); this retries only what escapes it, a database or
        # Redis outage, and the job is idempotent.
        "retry": Retry(max=3, interval=[5, 30, 120]),
        "on_failure": Callback(POST_PUBLISH_FAILED_CALLBACK),
        "description": f"post_publish(post_id={post_id})",
    }
    queue = publish_queue()
    if at is None or at <= timezone.now():
        queue.enqueue(POST_PUBLISH_JOB, post_id, **options)
    else:
        queue.enqueue_at(at, POST_PUBLISH_JOB, post_id, **options)


def enqueue_post_publish(post_id: int, tenant_id: int, at: datetime | None = None) -> None:
    """Enqueue the post's publish job once the current transaction commits (now, or at `at`)."""
    transaction.on_commit(lambda: _enqueue_now_or_at(post_id, tenant_id, at))


def enqueue_post_recover(post_id: int, at: datetime) -> None:
    """Plan the recovery of a post left `publishing` for the moment its lease ends (recovery.jobs.post_recover_job)."""
    publish_queue().enqueue_at(at, POST_RECOVER_JOB, post_id, description=f"post_recover(post_id={post_id})")
