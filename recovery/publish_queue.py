"""The `publish` queue: how a post's publish job is enqueued (after commit, ids only).

Every path that sends a post to the pipeline (cron's due posts, a retry, a
deferral, a resume, a requeue, the user's "send again") enqueues through
`enqueue_posts_publish` (`enqueue_post_publish` for one post), so the job's
options (timeout, tenant isolation, infrastructure retries, failure callback)
are set in one place, and a batch costs one Redis round trip.

A publish job whose worker died (its heartbeat in RQ's StartedJobRegistry ran
out, recovery/worker.py) is failed here the RQ way within seconds
(publish_jobs_fail_abandoned), which frees its tenant's RateLimit slot and
runs its failure callback; post_publish_running tells whether a post still
has a live job.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rq import Callback, Retry
from rq.job import JobStatus
from rq.rate_limit import RateLimit
from rq.registry import StartedJobRegistry
from rq.timeouts import TimerDeathPenalty

from recovery.policies import get_redis

# Dotted paths: the jobs module (an interface) imports the services, never the other way round.
POST_PUBLISH_JOB = "recovery.jobs.post_publish_job"
POST_PUBLISH_FAILED_CALLBACK = "recovery.jobs.post_publish_failed"
POST_RECOVER_JOB = "recovery.jobs.post_recover_job"

# One check of abandoned publish jobs at a time (cron may start the next before the last ends).
ABANDONED_CHECK_LOCK = "recovery:publish:abandoned-check"
ABANDONED_CHECK_LOCK_S = 120  # longer than a check's failure callbacks can take (RQ's CALLBACK_TIMEOUT, 60 s)

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


def publish_jobs_fail_abandoned() -> int:
    """Fail the publish jobs whose heartbeat ran out (their worker died), as RQ's maintenance does; returns how many.

    - A live worker renews its running jobs' heartbeats every few seconds,
      blocked partner call or not (recovery/worker.py): a job whose heartbeat
      is older than RQ_JOB_HEARTBEAT_TTL_S has no process left. A job that is
      merely slow keeps its heartbeat and is never touched.
    - RQ's own StartedJobRegistry.cleanup, which a worker's maintenance runs
      only every MAINTENANCE_INTERVAL_S: each such job gets its Retry or goes to
      the FailedJobRegistry, its tenant's RateLimit slot is freed (the next
      waiting job is promoted) and its failure callback
      (recovery.jobs.post_publish_failed) runs with AbandonedJobError, which
      recovers its post at once (recovery.publishing.post_recover_abandoned).
    - The callbacks run under RQ's thread-safe TimerDeathPenalty: this runs in
      a worker thread, where the default SIGALRM penalty cannot be set.
    - One check at a time (a Redis lock); a concurrent one returns 0.
    """
    queue = publish_queue()
    registry = StartedJobRegistry(queue=queue, death_penalty_class=TimerDeathPenalty)
    expired = registry.get_expired_job_ids()
    if not expired:
        return 0
    lock = queue.connection.lock(ABANDONED_CHECK_LOCK, timeout=ABANDONED_CHECK_LOCK_S, blocking=False)
    if not lock.acquire():
        return 0
    try:
        registry.cleanup()
    finally:
        lock.release()
    return len(expired)


def post_publish_running(post_id: int) -> bool:
    """Whether a publish job of the post is running with a live heartbeat (a live worker holds it)."""
    queue = publish_queue()
    registry = StartedJobRegistry(queue=queue)
    live = queue.connection.zrangebyscore(registry.key, time.time(), "+inf")
    job_ids = list(dict.fromkeys(registry.parse_job_id(entry) for entry in live))
    jobs = queue.job_class.fetch_many(job_ids, connection=queue.connection, serializer=queue.serializer)
    return any(job and job.func_name == POST_PUBLISH_JOB and job.args and job.args[0] == post_id for job in jobs)
