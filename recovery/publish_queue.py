"""The `publish` queue: how a post's publish job is enqueued (after commit, ids only).

Every path that sends a post to the pipeline (cron's due posts, a retry, a
deferral, a resume, a requeue, the user's "send again") enqueues through
`enqueue_posts_publish` (`enqueue_post_publish` for one post), so the job's
options (timeout, tenant isolation, infrastructure retries, failure callback)
are set in one place, and a batch costs one Redis round trip.
"""

from __future__ import annotations

import threading
from datetime import datetime

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rq import Callback, Retry
from rq.job import JobStatus
from rq.rate_limit import RateLimit

from recovery.policies import get_redis

# Dotted paths: the jobs module (an interface) imports the services, never the other way round.
POST_PUBLISH_JOB = "recovery.jobs.post_publish_job"
POST_PUBLISH_FAILED_CALLBACK = "recovery.jobs.post_publish_failed"
POST_RECOVER_JOB = "recovery.jobs.post_recover_job"

_queues = threading.local()

# (post id, tenant id, when): when None or past, the job is queued now; in the future, planned for then.
PublishEntry = tuple[int, int, datetime | None]


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


def _publish_job(queue, post_id: int, tenant_id: int, scheduled: bool):
    """The publish job of a post, with every option it carries (not yet in Redis)."""
    return queue.create_job(
        POST_PUBLISH_JOB,
        args=(post_id,),
        timeout=settings.PUBLISH_JOB_TIMEOUT_S,
        # Tenant isolation: at most N of a tenant's publish jobs queued or running; the
        # rest wait in RQ's rate-limited set, so a tenant's backlog never sits in front
        # of another tenant's posts.
        rate_limit=RateLimit(key=tenant_rate_limit_key(tenant_id), concurrency=settings.PUBLISH_TENANT_CONCURRENCY),
        # Partner failures never raise out of the job (they are classified and scheduled
        # with the classifier's delay); this retries only what escapes it, a database or
        # Redis outage, and the job is idempotent.
        retry=Retry(max=3, interval=[5, 30, 120]),
        on_failure=Callback(POST_PUBLISH_FAILED_CALLBACK),
        description=f"post_publish(post_id={post_id})",
        status=JobStatus.SCHEDULED if scheduled else JobStatus.QUEUED,
    )


def _enqueue_now(entries: list[PublishEntry]) -> None:
    """Write the publish jobs of `entries` to Redis in one MULTI/EXEC (one round trip for the batch).

    RQ's public `enqueue_job` refuses a pipeline for a rate-limited job, because a
    caller that saved the returned job on the same pipeline afterwards would
    overwrite the status the promotion script gave it. Nothing here writes a job
    after its promotion, so the batch takes the path RQ's own scheduler takes for
    due rate-limited jobs (`Queue._enqueue_rate_limited_job` on a pipeline,
    rq/scheduler.py): each job is saved, added to its tenant's waiting set and
    promoted if a slot is free, in order, inside the one transaction. A planned
    job goes to the ScheduledJobRegistry as `enqueue_at` would put it.
    """
    if not entries:
        return
    queue = publish_queue()
    now = timezone.now()
    with queue.connection.pipeline() as pipe:
        pipe.sadd(queue.redis_queues_keys, queue.key)  # as Queue.enqueue registers the queue
        for post_id, tenant_id, at in entries:
            planned = at is not None and at > now
            job = _publish_job(queue, post_id, tenant_id, scheduled=planned)
            if planned:
                queue.schedule_job(job, at, pipeline=pipe)
            else:
                queue._enqueue_rate_limited_job(job, pipeline=pipe)
        pipe.execute()


def enqueue_posts_publish(entries: list[PublishEntry]) -> None:
    """Enqueue the publish jobs of (post id, tenant id, at or None) once the current transaction commits.

    The whole list goes to Redis in one round trip (the due-post enqueuer sends
    a batch of a thousand); `at` in the future plans the job for then.
    """
    entries = list(entries)
    if entries:
        transaction.on_commit(lambda: _enqueue_now(entries))


def enqueue_post_publish(post_id: int, tenant_id: int, at: datetime | None = None) -> None:
    """Enqueue the post's publish job once the current transaction commits (now, or at `at`)."""
    enqueue_posts_publish([(post_id, tenant_id, at)])


def enqueue_post_recover(post_id: int, at: datetime) -> None:
    """Plan the recovery of a post left `publishing` for the moment its lease ends (recovery.jobs.post_recover_job)."""
    publish_queue().enqueue_at(at, POST_RECOVER_JOB, post_id, description=f"post_recover(post_id={post_id})")
