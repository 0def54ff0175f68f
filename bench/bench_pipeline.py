"""Pipeline overhead: publish jobs per second through the full guarded path, over the bare job.

Both variants publish Meta Page text posts to the same sandbox endpoint (a
separate gunicorn process serving the sandbox partners), through a real RQ
worker in burst mode:
- guarded: recovery.jobs.post_publish_job as enqueued in production (RQ
  RateLimit per tenant, Retry, on_failure callback), which loads the post,
  checks the connection, capabilities, breaker, usage throttle and token
  buckets, claims the post, calls the connector and records the outcome;
- bare: a job that loads the post, calls the same connector and saves the
  result; enqueued with plain queue.enqueue.
Buckets are set wide open for the run: this measures the guards' cost, not
their throttling. Throughput is jobs / (last ended_at - first started_at),
as in ecosystem.md §1.10. It also measures the guarded job under the fork-per-job
`Worker`, to compare with RecoveryWorker (a SimpleWorker).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h6 REDIS_URL=redis://127.0.0.1:6379/6 \
        .venv/bin/python bench/bench_pipeline.py [--jobs 300] [--runs 3]

Uses a scratch database (<db>_bench_pipeline, created, migrated and dropped)
and FLUSHES the Redis database of REDIS_URL: give it a scratch one.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import DEFAULT_REDIS_URL, claim_bench_redis, recreate_database, scratch_database_url  # noqa: E402

TARGET_RATIO = 0.8
ENV_FOR_SANDBOX = {
    "DEBUG": "1",  # the sandbox partners run only with DEBUG on (config/startup_checks.py)
    "SANDBOX_ENABLED": "1",
    "PARTNERS_USE_SANDBOX": "1",
    "SECURE_SSL_REDIRECT": "0",
    "LOG_LEVEL": "WARNING",
}


# -- environment: scratch database, Redis, the sandbox partners in their own process ----------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the sandbox server exited ({process.returncode})")
        with contextlib.suppress(requests.RequestException):
            # Any answer of the sandbox Meta (an auth error without a token) means it is up.
            if requests.get(f"{url}/sandbox/meta/me", timeout=1).status_code < 500:
                return
        time.sleep(0.2)
    sys.exit("the sandbox server did not start")


@contextlib.contextmanager
def bench_environment(purpose: str, server_threads: int = 4):
    """Scratch database (migrated), a held Redis database (flushed), a gunicorn serving the sandbox partners; yields its URL.

    Call before django.setup(): it sets DATABASE_URL and the sandbox settings in the environment.
    """
    claim_bench_redis(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    database_url = scratch_database_url(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"), purpose)
    recreate_database(database_url)
    os.environ["DATABASE_URL"] = database_url
    os.environ.update(ENV_FOR_SANDBOX)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    logging.disable(logging.WARNING)
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import django_rq

    django_rq.get_connection("default").flushdb()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    os.environ["SITE_URL"] = url
    settings.SITE_URL = url
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", str(server_threads), "--log-level", "warning"],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        django_rq.get_connection("default").flushdb()
        recreate_database(database_url, drop_only=True)


def open_buckets(settings) -> None:
    wide = {"tenant": {"capacity": 1e9, "per_second": 1e9}, "app": {"capacity": 1e9, "per_second": 1e9}}
    settings.PUBLISH_RATE_LIMITS = {**settings.PUBLISH_RATE_LIMITS, "meta": wide}


def page_connection(slug: str, page_id: str):
    """A tenant with one Meta Page connection living on the sandbox partner."""
    from connections.models import Connection, Tenant
    from sandbox.bridge import link_to_sandbox

    tenant, _ = Tenant.objects.get_or_create(slug=slug, defaults={"name": slug})
    connection = Connection.objects.create(
        tenant=tenant, platform="meta", account_type="facebook_page", external_account_id=page_id,
        external_account_name=f"Bench page {page_id}",
    )
    link_to_sandbox(connection)
    return connection


def make_posts(connection, count: int) -> list[int]:
    from django.utils import timezone

    from connections.models import Post

    now = timezone.now()
    posts = Post.objects.bulk_create(
        [Post(tenant_id=connection.tenant_id, connection=connection, content=f"Bench post {i}", scheduled_at=now)
         for i in range(count)]
    )
    return [post.pk for post in posts]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(int(round(fraction * (len(ordered) - 1))), len(ordered) - 1)]


def finished_jobs(queue):
    registry = queue.finished_job_registry
    return [job for job in queue.job_class.fetch_many(registry.get_job_ids(), connection=queue.connection) if job]


# -- the bare job ----------------------------------------------------------------------------


def bare_publish(post_id: int) -> str:
    """The same partner call with no guards: load, publish, save."""
    from django.utils import timezone

    from connections.models import Post
    from connections.platforms.base import get_connector

    post = Post.objects.select_related("connection").get(pk=post_id)
    result = get_connector(post.connection).publish(post)
    Post.objects.filter(pk=post_id).update(
        status=Post.Status.PUBLISHED, partner_post_id=result.partner_post_id, published_at=timezone.now()
    )
    return result.partner_post_id


# -- runs ----------------------------------------------------------------------------------


def run_variant(variant: str, connections, jobs: int, worker_class) -> float:
    """Enqueue `jobs` publishes, run one burst worker; returns jobs per second over the jobs' own window."""
    from django.db import connections as db_connections

    from connections.models import Post
    from recovery.publish_queue import enqueue_post_publish, publish_queue

    queue = publish_queue()
    queue.connection.flushdb()
    per_connection = max(1, jobs // len(connections))
    post_ids = []
    for connection in connections:
        post_ids += [(pk, connection.tenant_id) for pk in make_posts(connection, per_connection)]
    for post_id, tenant_id in post_ids:
        if variant == "bare":
            # By dotted path: RQ refuses functions of __main__; bench/ is on sys.path.
            queue.enqueue("bench_pipeline.bare_publish", post_id)
        else:
            enqueue_post_publish(post_id, tenant_id)
    db_connections.close_all()  # a fork worker's children must not share the parent's socket
    worker_class([queue], connection=queue.connection).work(burst=True)
    done = finished_jobs(queue)
    published = Post.objects.filter(pk__in=[pk for pk, _ in post_ids], status=Post.Status.PUBLISHED).count()
    if published != len(post_ids) or len(done) != len(post_ids):
        sys.exit(f"{variant}: {published} of {len(post_ids)} published, {len(done)} jobs finished")
    window = max(job.ended_at for job in done) - min(job.started_at for job in done)
    return len(done) / window.total_seconds()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fork-jobs", type=int, default=100, help="jobs for the fork-per-job Worker run")
    args = parser.parse_args()

    with bench_environment("bench_pipeline"):
        from django.conf import settings
        from rq.worker import Worker

        from recovery.worker import RecoveryWorker

        open_buckets(settings)
        connections = [page_connection(f"bench-{i}", f"90000000000{i}") for i in range(5)]
        # Warm up both paths (connections, sessions, scripts) before measuring.
        run_variant("bare", connections, 20, RecoveryWorker)
        run_variant("guarded", connections, 20, RecoveryWorker)

        bare, guarded = [], []
        for _ in range(args.runs):
            bare.append(run_variant("bare", connections, args.jobs, RecoveryWorker))
            guarded.append(run_variant("guarded", connections, args.jobs, RecoveryWorker))
        fork = run_variant("guarded", connections, args.fork_jobs, Worker)

    bare_rate, guarded_rate = statistics.median(bare), statistics.median(guarded)
    print(f"bench_pipeline: {args.jobs} Meta Page posts per run, {args.runs} runs, one burst worker, median")
    for label, rate, runs in (("bare RQ job (SimpleWorker):", bare_rate, bare),
                              ("guarded pipeline (RecoveryWorker):", guarded_rate, guarded)):
        print(f"  {label:36s}{rate:7.1f} jobs/s  ({1000 / rate:5.1f} ms/job)  runs {', '.join(f'{r:.1f}' for r in runs)}")
    print(f"  guarded pipeline (fork Worker):     {fork:7.1f} jobs/s  ({1000 / fork:5.1f} ms/job)  {args.fork_jobs} jobs")
    print(f"  guard overhead: {1000 / guarded_rate - 1000 / bare_rate:+.1f} ms/job; "
          f"fork per job: {1000 / fork - 1000 / guarded_rate:+.1f} ms/job over SimpleWorker")
    print(f"  ratio guarded/bare throughput: {guarded_rate / bare_rate:.2f} (target >= {TARGET_RATIO})")


if __name__ == "__main__":
    main()
