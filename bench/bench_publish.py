"""Publishing at scale: publishes per second and p99 lateness at 300 ms partner latency, and memory per call in flight.

LinkedIn text posts (one partner call each) of TENANTS tenants come due at a
steady rate; the due-post enqueuer runs every --tick seconds (cron does it every
PUBLISH_DUE_INTERVAL_S); worker processes run the production worker class
(recovery.worker.ThreadedRecoveryWorker: --threads RQ workers per process,
the full guarded publish path). Every partner call is answered --latency-ms
later. Token buckets are opened wide: this measures capacity, not throttling.
- publishes/s: posts published / (last publication - first publication);
- lateness: publication - scheduled time, per post (the user's measure): p50/p99;
- a rate is held when every post is out within 3 s of the last one's
  scheduled time (no backlog built up);
- memory: each worker process's resident set (RSS) and proportional set
  (PSS: shared pages split between the processes sharing them), sampled every
  second, peak, and their CPU time a publish; per call in flight = peak PSS of the processes / calls they
  had in flight (threads x processes); and a thread's own cost: the PSS of one
  busy process with --threads threads over one with a single thread.

The partner (--partner):
- stub (default): a minimal threaded HTTP server in its own process that
  answers LinkedIn's POST /rest/posts after the latency, costing ~nothing
  (LINKEDIN_API_BASE points at it; DEBUG off, as in production); on
  this 2-core machine the Django sandbox itself would otherwise use most of
  the CPU the figure is about;
- sandbox: the sandbox partners (Django, so DEBUG on) in gunicorn with --server-threads
  threads and a latency fault: the full partner emulation, bounded by its own
  CPU and by its database connections (each sleeping request holds one).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/10 \
        .venv/bin/python bench/bench_publish.py [--rates 50,100,150] [--processes 2] [--threads 32]

Uses a scratch database (<db>_bench_publish) and FLUSHES the Redis database of REDIS_URL (db 10 by
default), or the next one no test run holds.
Each worker thread holds a PostgreSQL connection: processes x threads stays under max_connections here.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_pipeline import ENV_FOR_SANDBOX, free_port, percentile, wait_until_up  # noqa: E402
from scratch import DEFAULT_REDIS_URL, bench_secrets, claim_bench_redis, recreate_database, scratch_database_url  # noqa: E402

HERE = Path(__file__).resolve()
TENANTS = 200
WIDE_OPEN = {"tenant": {"capacity": 1e9, "per_second": 1e9}, "app": {"capacity": 1e9, "per_second": 1e9}}


# -- the processes it starts: a stub partner and worker processes -------------------------------


class StubLinkedIn(http.server.BaseHTTPRequestHandler):
    """LinkedIn's POST /rest/posts, answered 201 with the post's URN after the latency; keep-alive."""

    protocol_version = "HTTP/1.1"
    latency_s = 0.3
    counter = iter(range(1, 10**12))

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.latency_s)
        self.send_response(201 if self.path.endswith("/rest/posts") else 404)
        self.send_header("x-restli-id", f"urn:li:share:{next(self.counter)}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def serve_stub(port: int, latency_ms: int) -> None:
    StubLinkedIn.latency_s = latency_ms / 1000
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), StubLinkedIn)
    server.daemon_threads = True
    server.serve_forever()


def run_worker() -> None:
    """A production worker process (settings.RQ's class, RQ_WORKER_THREADS threads) on the publish queue, buckets open."""
    import django

    django.setup()
    from django.conf import settings
    from django_rq import get_worker

    settings.PUBLISH_RATE_LIMITS = {**settings.PUBLISH_RATE_LIMITS, "linkedin": WIDE_OPEN}
    get_worker("publish").work(logging_level="WARNING", with_scheduler=True)  # as rqworker-pool runs it


def start_workers(processes: int, threads: int) -> list[subprocess.Popen]:
    env = {**os.environ, "RQ_WORKER_THREADS": str(threads)}
    log = None if os.environ.get("BENCH_VERBOSE") else subprocess.DEVNULL
    return [subprocess.Popen([sys.executable, str(HERE), "--worker"], cwd=ROOT, env=env, stdout=log, stderr=log)
            for _ in range(processes)]


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_rq_workers(count: int, timeout: float = 60) -> None:
    from rq.worker import Worker

    from recovery.publish_queue import publish_queue

    deadline = time.monotonic() + timeout
    while len(Worker.all(queue=publish_queue())) < count:
        if time.monotonic() > deadline:
            sys.exit(f"the {count} RQ workers did not start")
        time.sleep(0.2)


class MemorySampler(threading.Thread):
    """Peak RSS and PSS (MB, summed over the processes) and peak posts in `publishing`, once a second."""

    def __init__(self, processes):
        super().__init__(daemon=True)
        self.pids = [process.pid for process in processes]
        self.rss = self.pss = self.cpu_s = 0.0
        self.running = True

    def run(self):
        import psutil

        first_cpu = None
        while self.running:
            rss = pss = cpu = 0
            for pid in self.pids:
                with contextlib.suppress(psutil.Error):
                    process = psutil.Process(pid)
                    info, times = process.memory_full_info(), process.cpu_times()
                    rss, pss, cpu = rss + info.rss, pss + info.pss, cpu + times.user + times.system
            self.rss, self.pss = max(self.rss, rss / 2**20), max(self.pss, pss / 2**20)
            first_cpu = cpu if first_cpu is None else first_cpu
            self.cpu_s = cpu - first_cpu  # the worker processes' CPU seconds over the run
            time.sleep(1)


# -- a run ---------------------------------------------------------------------------------------


def run_rate(connections, rate: float, window_s: float, tick_s: float) -> dict:
    """Posts of the connections come due at `rate` a second for `window_s`; returns what happened to them."""
    from datetime import timedelta

    from django.utils import timezone

    from connections.models import Post
    from recovery.sweeper import posts_enqueue_due

    count = int(rate * window_s)
    start = timezone.now() + timedelta(seconds=1)
    posts = Post.objects.bulk_create([  # each text its own: partners refuse a duplicate
        Post(tenant_id=connections[i % len(connections)].tenant_id, connection=connections[i % len(connections)],
             content=f"Bench post {i} of {start:%H:%M:%S}", scheduled_at=start + timedelta(seconds=i / rate))
        for i in range(count)
    ])
    ids = [post.pk for post in posts]
    deadline = time.monotonic() + window_s + 60
    while time.monotonic() < deadline:
        began = time.monotonic()
        posts_enqueue_due()  # what cron does, every tick
        if not Post.objects.filter(pk__in=ids).exclude(status=Post.Status.PUBLISHED).exists():
            break
        time.sleep(max(0.0, tick_s - (time.monotonic() - began)))
    rows = list(Post.objects.filter(pk__in=ids, status=Post.Status.PUBLISHED).values_list("scheduled_at", "published_at"))
    others = Post.objects.filter(pk__in=ids).exclude(status=Post.Status.PUBLISHED)
    if others.exists():
        planned = [(at - timezone.now()).total_seconds() for at in others.values_list("next_attempt_at", flat=True) if at]
        print(f"  not published: {dict(Counter(others.values_list('status', 'last_error_code')))}; "
              f"their jobs: {where_jobs_are(list(others.values_list('pk', 'tenant_id')))}; "
              f"e.g. {others.values_list('last_error_message', flat=True).first()!r}; planned in "
              f"{min(planned, default=0):.0f}..{max(planned, default=0):.0f} s, {len(planned)} planned")
    lateness = [(published - scheduled).total_seconds() for scheduled, published in rows]
    last = max((published for _, published in rows), default=start)
    first = min((published for _, published in rows), default=start)
    elapsed = (last - first).total_seconds()
    return {
        "posts": count, "published": len(rows), "per_s": (len(rows) - 1) / elapsed if elapsed > 0 else 0.0,
        "p50": percentile(lateness, 0.5) if lateness else float("nan"),
        "p99": percentile(lateness, 0.99) if lateness else float("nan"),
        # Held: every post out within 3 s of the last one's time, so no backlog built up.
        "held": len(rows) == count and (last - start).total_seconds() <= window_s + 3,
    }


def where_jobs_are(posts) -> dict:
    """Where the publish jobs of these (post id, tenant id) are in RQ, by registry."""
    from rq.rate_limit import RateLimitRegistry
    from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    from recovery.publish_queue import publish_queue, tenant_rate_limit_key

    queue = publish_queue()
    places = {"queued": queue.get_job_ids(), "scheduled": ScheduledJobRegistry(queue=queue).get_job_ids(),
              "started": [key.split(":")[0] for key in StartedJobRegistry(queue=queue).get_job_ids()],
              "failed": FailedJobRegistry(queue=queue).get_job_ids(), "finished": FinishedJobRegistry(queue=queue).get_job_ids()}
    for tenant_id in {tenant for _, tenant in posts}:
        registry = RateLimitRegistry(tenant_rate_limit_key(tenant_id), queue.connection)
        places.setdefault("rate_limited", []).extend(registry.get_rate_limited_job_ids())
        places.setdefault("slot_held", []).extend(registry.get_allowed_job_ids())
    wanted = {post_id for post_id, _ in posts}
    found = Counter()
    for place, ids in places.items():
        for job in queue.job_class.fetch_many(ids, connection=queue.connection):
            if job and job.args and job.args[0] in wanted:
                found[f"{place}:{job.get_status(refresh=False)}"] += 1
    return dict(found)


def measure(connections, processes: int, threads: int, rates, window_s: float, tick_s: float, label: str) -> list:
    """Start the workers, run each rate, stop them; print a line a rate; returns (rate, result, memory) tuples."""
    workers = start_workers(processes, threads)
    results = []
    try:
        wait_for_rq_workers(processes * threads)
        for rate in rates:
            sampler = MemorySampler(workers)
            sampler.start()
            result = run_rate(connections, rate, window_s, tick_s)
            sampler.running = False
            sampler.join()
            results.append((rate, result, sampler))
            in_flight = processes * threads
            print(f"  {label:24s} {rate:6.0f}/s due: {result['per_s']:6.1f} publishes/s, lateness p50 "
                  f"{result['p50']:6.2f} s p99 {result['p99']:6.2f} s, {result['published']}/{result['posts']} out, "
                  f"{'held' if result['held'] else 'NOT held'}; workers RSS {sampler.rss:5.0f} MB PSS "
                  f"{sampler.pss:5.0f} MB = {sampler.pss / in_flight:5.1f} MB per call in flight; worker CPU "
                  f"{1000 * sampler.cpu_s / max(result['published'], 1):4.1f} ms a publish")
    finally:
        stop(workers)
    return results


@contextlib.contextmanager
def partner(kind: str, latency_ms: int, server_threads: int):
    """The partner the connectors call (SITE_URL): the stub or the sandbox; yields after Django is set up."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    if kind == "stub":
        # As in production: DEBUG off, no sandbox, LinkedIn's API host is the stub.
        os.environ.update({"LINKEDIN_API_BASE": url, "SANDBOX_ENABLED": "0", "PARTNERS_USE_SANDBOX": "0",
                           "DEBUG": "0", "SECURE_SSL_REDIRECT": "0"})
        bench_secrets()
    else:
        os.environ.update(ENV_FOR_SANDBOX)
        os.environ["SITE_URL"] = url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if kind == "stub":
        server = subprocess.Popen([sys.executable, str(HERE), "--stub-partner", str(port), "--latency-ms", str(latency_ms)],
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
    else:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--threads", str(server_threads), "--log-level", "warning"],
            cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until_up(url, server)
    try:
        yield
    finally:
        stop([server])


def linkedin_connections(kind: str, latency_ms: int) -> list:
    from datetime import timedelta

    from django.utils import timezone

    from connections.models import Connection, Tenant
    from connections.platforms.base import get_connector_class

    connections = []
    for i in range(TENANTS):
        tenant = Tenant.objects.create(name=f"Bench {i}", slug=f"bench-{i}")
        connection = Connection.objects.create(
            tenant=tenant, platform="linkedin", external_account_id=f"bench{i:04d}", external_account_name=f"P {i}",
            access_token=f"bench-token-{i}", token_expires_at=timezone.now() + timedelta(days=30),
            granted_scopes=get_connector_class("linkedin").default_scopes(),
        )
        if kind == "sandbox":
            from sandbox.bridge import link_to_sandbox

            link_to_sandbox(connection)
        connections.append(connection)
    if kind == "sandbox":
        from sandbox import faults

        faults.set_fault("linkedin", faults.LATENCY, ms=latency_ms)
    return connections


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partner", choices=("stub", "sandbox"), default="stub")
    parser.add_argument("--latency-ms", type=int, default=300)
    parser.add_argument("--processes", type=int, default=2, help="worker processes (one per core)")
    parser.add_argument("--threads", type=int, default=32, help="RQ worker threads per process")
    parser.add_argument("--rates", default="50,100,150", help="posts due a second, one run each")
    parser.add_argument("--window", type=float, default=20.0, help="seconds of posts coming due per run")
    parser.add_argument("--tick", type=float, default=1.0, help="seconds between due-post enqueuer runs")
    parser.add_argument("--server-threads", type=int, default=40, help="gunicorn threads of the sandbox")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stub-partner", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    if args.worker:
        return run_worker()
    if args.stub_partner:
        return serve_stub(args.stub_partner, args.latency_ms)

    database_url = scratch_database_url(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
                                        "bench_publish")
    recreate_database(database_url)
    os.environ["DATABASE_URL"] = database_url
    claim_bench_redis(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    try:
        with partner(args.partner, args.latency_ms, args.server_threads):
            import django_rq

            django_rq.get_connection("default").flushdb()
            connections = linkedin_connections(args.partner, args.latency_ms)
            rates = [float(rate) for rate in args.rates.split(",")]
            print(f"bench_publish: LinkedIn text posts of {TENANTS} tenants, {args.latency_ms} ms a partner call "
                  f"({args.partner} partner), enqueuer every {args.tick:g} s, {args.window:g} s of posts per rate")
            if not args.skip_baseline:
                # Before: the old Procfile's worker (rqworker-pool, 2 processes of one job at a time).
                measure(connections, 2, 1, [20], 10, args.tick, "2 processes x 1 thread")
                one = measure(connections, 1, 1, [10], 10, args.tick, "1 process x 1 thread")[0][2]
                many = measure(connections, 1, args.threads, [args.threads * 2], 10, args.tick,
                               f"1 process x {args.threads} threads")[0][2]
                print(f"  a thread's own memory: ({many.pss:.0f} - {one.pss:.0f}) MB / {args.threads - 1} = "
                      f"{(many.pss - one.pss) / (args.threads - 1):.2f} MB PSS per extra call in flight; "
                      f"a process per call: {one.pss:.0f} MB PSS ({one.rss:.0f} MB RSS)")
            results = measure(connections, args.processes, args.threads, rates, args.window, args.tick,
                              f"{args.processes} processes x {args.threads} threads")
            held = [(rate, result) for rate, result, _ in results if result["held"]]
            if held:
                rate, result = held[-1]
                print(f"  highest rate held: {rate:.0f}/s: {result['per_s']:.1f} publishes/s, p99 lateness "
                      f"{result['p99']:.2f} s (target >= 100/s on 2 cores within 4 GB)")
            else:
                print("  no rate held")
            django_rq.get_connection("default").flushdb()
    finally:
        from django.db import connections as db_connections

        db_connections.close_all()
        recreate_database(database_url, drop_only=True)


if __name__ == "__main__":
    main()
