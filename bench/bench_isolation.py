"""Isolation: quiet tenants' p99 queue wait while a noisy tenant is in a 429 storm, over their p99 wait alone.

Two scenarios, each with two fresh `manage.py rqworker publish` processes
(RecoveryWorker) and the sandbox partners in a gunicorn process:
- alone: QUIET_TENANTS tenants each post steadily (a Meta Page post every
  1/QUIET_RATE s, within their own token bucket) for WINDOW_S seconds;
- storm: the same, while a noisy tenant whose Page answers every call with
  Meta's 80001 throttle (and usage headers) dumps a backlog of NOISY_BACKLOG
  posts at the start and keeps posting NOISY_RATE a second.
Posts come due on schedule and the due-post enqueuer (recovery.sweeper, cron
in production) runs every --sweep seconds. Queue wait = the job's started_at
- its created_at (the enqueue), both set by RQ. Target: storm p99 / alone
p99 <= 1.1.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h6 REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python bench/bench_isolation.py

Uses a scratch database and FLUSHES the Redis database of REDIS_URL (see bench_pipeline).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import timezone as dt_timezone

from bench_pipeline import ROOT, bench_environment, finished_jobs, page_connection, percentile

TARGET_RATIO = 1.1
WORKERS = 2


def start_workers(count: int) -> list[subprocess.Popen]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    return [
        subprocess.Popen(
            [sys.executable, "manage.py", "rqworker", "publish", "--worker-class", "recovery.worker.RecoveryWorker"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def stop_workers(workers) -> None:
    for worker in workers:
        worker.terminate()  # warm shutdown: the current job finishes
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def wait_for_workers(queue, count: int, timeout: float = 30) -> None:
    from rq.worker import Worker

    deadline = time.monotonic() + timeout
    while len(Worker.all(queue=queue)) < count:
        if time.monotonic() > deadline:
            sys.exit("the workers did not start")
        time.sleep(0.1)


def schedule_posts(connection, count: int, start, interval_s: float, phase_s: float = 0.0) -> list[int]:
    """`count` posts of `connection` coming due every `interval_s` from start + phase_s (0: all at once)."""
    from datetime import timedelta

    from connections.models import Post

    posts = Post.objects.bulk_create(
        [Post(tenant_id=connection.tenant_id, connection=connection, content=f"Bench post {i}",
              scheduled_at=start + timedelta(seconds=phase_s + i * interval_s)) for i in range(count)]
    )
    return [post.pk for post in posts]


def run_scenario(quiet_connections, noisy_connection, args) -> list[float]:
    """Posts come due on schedule, a fast cron enqueues them; returns the quiet posts' queue waits (s)."""
    from datetime import timedelta

    from django.utils import timezone

    from connections.models import Post
    from recovery.publish_queue import publish_queue
    from recovery.sweeper import posts_enqueue_due
    from sandbox import faults

    queue = publish_queue()
    queue.connection.flushdb()
    faults.clear_faults()
    workers = start_workers(WORKERS)
    try:
        wait_for_workers(queue, WORKERS)
        start = timezone.now() + timedelta(seconds=1)
        quiet_ids = []
        count = int(args.window * args.quiet_rate)
        for index, connection in enumerate(quiet_connections):
            phase = index / (len(quiet_connections) * args.quiet_rate)  # spread the tenants' ticks
            quiet_ids += schedule_posts(connection, count, start, 1 / args.quiet_rate, phase)
        if noisy_connection is not None:
            faults.set_fault("meta", faults.RATE_LIMIT, account_id=noisy_connection.external_account_id,
                             usage="business", regain_minutes=1)
            schedule_posts(noisy_connection, args.noisy_backlog, start, 0)
            schedule_posts(noisy_connection, int(args.window * args.noisy_rate), start, 1 / args.noisy_rate)
        deadline = time.time() + args.window + 60
        while Post.objects.filter(pk__in=quiet_ids, status=Post.Status.PUBLISHED).count() < len(quiet_ids):
            if time.time() > deadline:
                sys.exit("the quiet posts were not all published")
            posts_enqueue_due()  # what cron does, at a bench's pace
            time.sleep(args.sweep)
    finally:
        stop_workers(workers)
    if noisy_connection is not None:
        report_storm(noisy_connection)

    quiet = set(quiet_ids)
    first_job = {}  # a post deferred by its bucket has more than one job: its first one counts
    for job in finished_jobs(queue):
        post_id = job.args[0]
        if post_id in quiet and (post_id not in first_job or job.created_at < first_job[post_id].created_at):
            first_job[post_id] = job
    # created_at is the enqueue (RQ resets enqueued_at when RateLimit promotes a job).
    return [(_aware(job.started_at) - _aware(job.created_at)).total_seconds() for job in first_job.values()]


def report_storm(connection) -> None:
    """What the storm did: the noisy tenant's partner calls and where its posts are."""
    from django.db.models import Count

    from connections.models import Post
    from sandbox.models import SandboxRequest

    calls = SandboxRequest.objects.filter(account__account_id=connection.external_account_id)
    statuses = dict(Post.objects.filter(connection=connection).values_list("status").annotate(n=Count("pk")))
    scheduled = Post.objects.filter(connection=connection, status=Post.Status.SCHEDULED)
    held = scheduled.filter(next_attempt_at__gt=time_now()).count()
    waiting = scheduled.filter(next_attempt_at__isnull=True).count()
    print(f"  storm: noisy partner calls {calls.count()} ({calls.filter(status__gte=400).count()} refused); "
          f"noisy posts {statuses}: {held} held past the partner's estimate, {waiting} not yet taken "
          "(fair share per enqueuer run)")


def time_now():
    from django.utils import timezone

    return timezone.now()


def _aware(value):
    return value if value.tzinfo else value.replace(tzinfo=dt_timezone.utc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet-tenants", type=int, default=16)
    parser.add_argument("--quiet-rate", type=float, default=0.8, help="posts a second per quiet tenant")
    parser.add_argument("--noisy-backlog", type=int, default=400)
    parser.add_argument("--noisy-rate", type=float, default=40.0, help="posts a second of the noisy tenant")
    parser.add_argument("--window", type=float, default=15.0, help="seconds of posting")
    parser.add_argument("--sweep", type=float, default=0.2, help="seconds between due-post enqueuer runs")
    args = parser.parse_args()
    # Production takes 100 posts of a tenant per 10 s run; the same rate at the bench's pace.
    os.environ.setdefault("PUBLISH_ENQUEUE_PER_TENANT", str(max(1, round(100 * args.sweep / 10))))

    with bench_environment("bench_isolation"):
        quiet = [page_connection(f"quiet-{i}", f"80000000000{i:02d}") for i in range(args.quiet_tenants)]
        noisy = page_connection("noisy", "7000000000099")
        alone = run_scenario(quiet, None, args)
        storm = run_scenario(quiet, noisy, args)

    def ms(values, fraction):
        return percentile(values, fraction) * 1000

    print(f"bench_isolation: {args.quiet_tenants} quiet tenants x {args.quiet_rate}/s for {args.window:.0f} s, "
          f"{WORKERS} RecoveryWorker processes; storm = noisy backlog {args.noisy_backlog} + {args.noisy_rate}/s, "
          "every call answered 429 (Meta 80001)")
    print(f"  quiet alone:  {len(alone)} posts  p50 {ms(alone, 0.5):6.1f} ms  p99 {ms(alone, 0.99):6.1f} ms  "
          f"max {max(alone) * 1000:6.1f} ms")
    print(f"  during storm: {len(storm)} posts  p50 {ms(storm, 0.5):6.1f} ms  p99 {ms(storm, 0.99):6.1f} ms  "
          f"max {max(storm) * 1000:6.1f} ms")
    print(f"  ratio p99 storm/alone: {percentile(storm, 0.99) / percentile(alone, 0.99):.2f} (target <= {TARGET_RATIO})")


if __name__ == "__main__":
    main()
