"""Helpers for the publish pipeline's tests: connections on the sandbox, due posts, a real worker.

    connection = page_connection(tenant)           # a Meta Page living on the sandbox partner
    post = due_post(connection)                    # scheduled, due now
    enqueue_due()                                  # what cron does every few seconds
    run_publish_worker()                           # a real RecoveryWorker, burst mode
    fast_forward()                                 # let every scheduled retry/deferral run now
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import django_rq
from django.conf import settings
from django.db import connection as db_connection
from django.utils import timezone
from rq.job import Job
from rq.rate_limit import RateLimitRegistry
from rq.registry import ScheduledJobRegistry

from connections.models import Connection, Post
from recovery.flags import RECOVERY_AUTOPAUSE_ENABLED, flag_disable_for_tenant, flag_enable_for_tenant
from recovery.models import DeadLetter, TenantFlag
from recovery.policies.circuit_breaker import breakers_end_cooldowns
from recovery.policies.rate_limit import buckets_refill_all
from recovery.policies.usage_throttle import holds_release_all
from recovery.publish_queue import POST_PUBLISH_JOB, publish_queue, tenant_rate_limit_key
from recovery.sweeper import posts_enqueue_due
from recovery.worker import RecoveryWorker
from tests.factories import PostFactory
from tests.sandbox.sandbox_helpers import linked_connection

ROOT = Path(__file__).resolve().parents[2]
PAGE_ID = "104857600001"
OTHER_PAGE_ID = "104857600002"


def autopause(tenant, on: bool) -> None:
    """Switch auto-pause on or off for the tenant (transactional tests lose the migration's flag rows)."""
    TenantFlag.objects.get_or_create(name=RECOVERY_AUTOPAUSE_ENABLED)
    (flag_enable_for_tenant if on else flag_disable_for_tenant)(RECOVERY_AUTOPAUSE_ENABLED, tenant.pk)


def page_connection(tenant, page_id: str = PAGE_ID, **fields):
    return linked_connection(
        "meta", tenant=tenant, account_type="facebook_page", external_account_id=page_id,
        external_account_name=f"Page {page_id}", **fields,
    )


def due_post(connection, **fields) -> Post:
    fields.setdefault("scheduled_at", timezone.now() - timedelta(seconds=1))
    return PostFactory(connection=connection, tenant=connection.tenant, **fields)


def enqueue_due() -> int:
    return posts_enqueue_due()


def run_publish_worker(max_jobs: int | None = None) -> None:
    """Run the publish queue's jobs in this process with the production worker class, until empty."""
    worker = django_rq.get_worker("publish", worker_class=RecoveryWorker)
    worker.work(burst=True, max_jobs=max_jobs)


def scheduled_job_ids() -> list[str]:
    return ScheduledJobRegistry(queue=publish_queue()).get_job_ids()


def fast_forward() -> int:
    """Make every planned retry or deferral due now, as if the time had passed; returns how many jobs.

    Time passing also ends the policies' waits in Redis: usage-throttle holds
    expire, token buckets refill, open breakers' cool-downs end.
    """
    queue = publish_queue()
    holds_release_all()
    buckets_refill_all()
    breakers_end_cooldowns()
    registry = ScheduledJobRegistry(queue=queue)
    Post.objects.filter(status=Post.Status.SCHEDULED, next_attempt_at__gt=timezone.now()).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    job_ids = registry.get_job_ids()
    for job_id in job_ids:
        job = Job.fetch(job_id, connection=queue.connection)
        registry.remove(job)
        queue.enqueue_job(job)
    return len(job_ids)


def publish_jobs_for(post) -> list:
    """The post's publish jobs waiting in Redis: queued, rate-limited or scheduled (RQ Job objects)."""
    queue = publish_queue()
    ids = queue.get_job_ids() + ScheduledJobRegistry(queue=queue).get_job_ids()
    ids += RateLimitRegistry(tenant_rate_limit_key(post.tenant_id), queue.connection).get_rate_limited_job_ids()
    jobs = queue.job_class.fetch_many(ids, connection=queue.connection)
    return [job for job in jobs if job and job.func_name == POST_PUBLISH_JOB and job.args[0] == post.pk]


def jobs_per_post() -> Counter:
    """How many publish jobs each post has in Redis (queued, waiting for its tenant's slot, or planned)."""
    return Counter({post.pk: len(publish_jobs_for(post)) for post in Post.objects.all()})


def two_enqueuers_at_once() -> list[int]:
    """Run posts_enqueue_due in two threads released together (as cron's run and the sweep's); what each returned."""
    start = threading.Barrier(2)
    totals: list[int] = []

    def enqueuer() -> None:
        start.wait(10)
        try:
            totals.append(posts_enqueue_due())
        finally:
            db_connection.close()

    threads = [threading.Thread(target=enqueuer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return totals


def where_it_stands(post) -> str:
    """Where a post at rest (no worker running) stands, after checking it is accounted for.

    The issue's invariant: published; waiting_reconnect on a channel that is not
    active; dead with its open DeadLetter; unconfirmed (the user decides); or
    scheduled with a known retry time and a job planned for that time.
    """
    post.refresh_from_db()
    letters = DeadLetter.objects.filter(post=post, status=DeadLetter.Status.OPEN).count()
    assert letters == (1 if post.status == Post.Status.DEAD else 0), (post, letters)
    if post.status == Post.Status.PUBLISHED:
        assert post.partner_post_id and post.published_at, post
    elif post.status == Post.Status.WAITING_RECONNECT:
        assert post.connection.status != Connection.Status.ACTIVE, post
    elif post.status == Post.Status.UNCONFIRMED:
        assert post.last_error_message and not publish_jobs_for(post), post  # never sent again on its own
    elif post.status == Post.Status.SCHEDULED:
        assert post.next_attempt_at is not None, post
        registry = ScheduledJobRegistry(queue=publish_queue())
        planned = [registry.get_scheduled_time(job) for job in publish_jobs_for(post)]
        assert any(abs((at - post.next_attempt_at).total_seconds()) < 2 for at in planned), (post, planned)
    else:
        assert post.status == Post.Status.DEAD, post  # never publishing, failed or anything else at rest
    return post.status


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def database_url_for_subprocess() -> str:
    """DATABASE_URL of this test's database, for the processes a test starts."""
    s = db_connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker_process(live_url: str, worker_class: str, *, burst: bool, queue: str = "publish",
                         with_scheduler: bool = False, stderr=subprocess.PIPE, **env) -> subprocess.Popen:
    """`manage.py rqworker <queue ...>` in its own process, on this test's database, Redis and sandbox; `env`: settings.

    A long-running process should get a file as `stderr`: a pipe nobody reads fills up and stalls it.
    """
    options = [*(["--burst"] if burst else []), *(["--with-scheduler"] if with_scheduler else [])]
    return subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", *queue.split(), *options, "--worker-class", worker_class],
        cwd=ROOT, env=process_environment(live_url, **env), stdout=subprocess.DEVNULL, stderr=stderr,
    )


def start_cron_process(live_url: str, *, stderr=subprocess.PIPE, **env) -> subprocess.Popen:
    """`manage.py rqcron config.cron` (the one cron process of a deployment), as start_worker_process starts a worker."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "rqcron", "config.cron"],
        cwd=ROOT, env=process_environment(live_url, **env), stdout=subprocess.DEVNULL, stderr=stderr,
    )


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM (RQ's warm shutdown), then SIGKILL if it lingers past 15 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def process_environment(live_url: str, **env) -> dict:
    """The environment of a process a test starts: this test's database, Redis and sandbox, and `env` as settings."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": settings.REDIS_URL,
        "SITE_URL": live_url,
        "SANDBOX_ENABLED": "1",
        "PARTNERS_USE_SANDBOX": "1",
        "LOG_LEVEL": "WARNING",
        **{name: str(value) for name, value in env.items()},
    }
