"""The due-post enqueuer at scale: posts enqueued per second, and time per batch, with a million posts stored.

1,000,000 posts in PostgreSQL over TENANTS tenants (one Meta Page each): most
published long ago, the rest scheduled up to 30 days ahead. Then, twice, a
backlog comes due (10,000, then 100,000 posts, spread evenly over the tenants,
scheduled in the last five minutes), and the enqueuer runs back to back, as
cron would run it with no pause, until the backlog is in Redis (or --max-runs):
- posts/s: posts that got a job / the runs' wall time (target >= 2,000);
- ms per batch: the runs' time / the batches they wrote (one transaction and
  one Redis round trip each); flat between the two backlogs means the cost of
  a batch does not grow with what is waiting;
- per run: what one cron run enqueues, and how long it takes; with a run every
  PUBLISH_DUE_INTERVAL_S, posts per run / that interval is the most the
  enqueuer can ever feed the workers.
Also an idle run (nothing due): its cost is the walk over the tenants that
have future posts, and the Redis epoch check every run makes (one HMGET).
Then Redis loses its data with REPLAN posts planned (half due, their jobs
queued; half with a retry planned up to two hours ahead): the time from the
first run after the loss until every one of them has its job again (the
epoch's re-planning), in posts/s and ms a batch.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/10 \
        .venv/bin/python bench/bench_enqueue.py [--posts 1000000] [--tenants 2000]

Uses a scratch database (<db>_bench_enqueue, created, migrated and dropped) and
FLUSHES the Redis database of REDIS_URL: give it a scratch one (db 10 by default; it holds it as
test runs do, or the next free one, so no test run empties it meanwhile).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scratch import DEFAULT_REDIS_URL, claim_bench_redis, scratch_database  # noqa: E402  (bench/scratch.py)

TARGET_POSTS_PER_S = 2000
BACKLOGS = (10_000, 100_000)
REPLAN = 100_000


class BatchCounter(logging.Handler):
    """Counts the batches the enqueuer reports in its "due posts enqueued" log line (0 when it has none)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.batches = 0

    def emit(self, record):
        self.batches += getattr(record, "batches", 0)


def populate(posts: int, tenants: int, future: int) -> None:
    """Tenants with one Meta Page connection each; `posts` posts, `future` of them scheduled ahead, the rest published."""
    from django.db import connection

    from connections.models import Connection, Tenant

    Tenant.objects.bulk_create([Tenant(name=f"Bench {i}", slug=f"bench-{i}") for i in range(tenants)])
    Connection.objects.bulk_create([
        Connection(tenant=tenant, platform="meta", account_type="facebook_page",
                   external_account_id=f"9{tenant.pk:011d}", external_account_name=f"Page {tenant.pk}")
        for tenant in Tenant.objects.all()
    ])
    with connection.cursor() as cursor:
        # Post i belongs to connection i mod tenants; the first `future` ones are scheduled ahead.
        cursor.execute(
            """
            INSERT INTO connections_post (tenant_id, connection_id, kind, content, media, scheduled_at, status,
                attempts, next_attempt_at, last_error_code, last_error_message, partner_post_id, idempotency_key,
                published_at, created_at, updated_at)
            SELECT c.tenant_id, c.id, 'text', 'Bench post ' || i, '[]',
                   CASE WHEN i < %(future)s THEN now() + random() * interval '30 days'
                        ELSE now() - interval '1 hour' - random() * interval '90 days' END,
                   CASE WHEN i < %(future)s THEN 'scheduled' ELSE 'published' END,
                   CASE WHEN i < %(future)s THEN 0 ELSE 1 END, NULL, '', '', '', gen_random_uuid(),
                   CASE WHEN i < %(future)s THEN NULL ELSE now() - interval '1 hour' END, now(), now()
              FROM generate_series(0, %(posts)s - 1) AS i
              JOIN (SELECT id, tenant_id, row_number() OVER (ORDER BY id) - 1 AS n FROM connections_connection) AS c
                ON c.n = i %% %(tenants)s
            """,
            {"posts": posts, "future": future, "tenants": tenants},
        )
        cursor.execute("VACUUM ANALYZE connections_post")


def make_due(count: int) -> None:
    """`count` future posts, evenly over the tenants, come due (scheduled in the last five minutes)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE connections_post SET scheduled_at = now() - random() * interval '5 minutes'
             WHERE id IN (SELECT id FROM (
                   SELECT id, row_number() OVER (PARTITION BY tenant_id ORDER BY id) AS n, tenant_id
                     FROM connections_post WHERE status = 'scheduled' AND next_attempt_at IS NULL
                      AND scheduled_at > now()) AS future
                   ORDER BY n, tenant_id LIMIT %(count)s)
            """,
            {"count": count},
        )
        cursor.execute("ANALYZE connections_post")


def settle_backlog() -> None:
    """The posts the last run enqueued are published (the workers' part), so the next backlog starts clean."""
    import django_rq
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE connections_post SET status = 'published', published_at = now(), next_attempt_at = NULL"
                       " WHERE status = 'scheduled' AND next_attempt_at IS NOT NULL")
    django_rq.get_connection("default").flushdb()


def plan_before_loss(count: int) -> None:
    """`count` future posts get a planned job, as if Redis held them: half due now, half a retry up to 2 h ahead."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE connections_post
               SET scheduled_at = CASE WHEN id %% 2 = 0 THEN now() - interval '5 minutes' ELSE scheduled_at END,
                   next_attempt_at = CASE WHEN id %% 2 = 0 THEN now() - random() * interval '5 minutes'
                                          ELSE now() + random() * interval '2 hours' END,
                   updated_at = now() - interval '1 minute'
             WHERE id IN (SELECT id FROM connections_post
                           WHERE status = 'scheduled' AND next_attempt_at IS NULL AND scheduled_at > now()
                           ORDER BY id LIMIT %(count)s)
            """,
            {"count": count},
        )
        cursor.execute("ANALYZE connections_post")


def replan_after_loss(counter: BatchCounter) -> dict:
    """Redis loses its data; run the enqueuer back to back until the epoch's re-planning is done."""
    import django_rq

    from recovery.due_posts import epoch_get
    from recovery.sweeper import posts_enqueue_due

    django_rq.get_connection("default").flushdb()
    counter.batches = 0
    runs, posts, started = 0, 0, time.perf_counter()
    while True:
        posts += posts_enqueue_due()
        runs += 1
        if epoch_get().done:
            break
    return {"runs": runs, "posts": posts, "seconds": time.perf_counter() - started, "batches": counter.batches}


def epoch_check_us(times: int = 2000) -> float:
    """What the epoch costs a run in steady state: one epoch_get (one HMGET), in microseconds."""
    from recovery.due_posts import epoch_get

    started = time.perf_counter()
    for _ in range(times):
        epoch_get()
    return 1e6 * (time.perf_counter() - started) / times


def drain(max_runs: int, counter: BatchCounter) -> dict:
    """Run the enqueuer back to back until a run finds nothing (or max_runs); returns what it did."""
    from recovery.sweeper import posts_enqueue_due

    runs, posts, busy_s, first_run = 0, 0, 0.0, None
    counter.batches = 0
    while runs < max_runs:
        started = time.perf_counter()
        enqueued = posts_enqueue_due()
        elapsed = time.perf_counter() - started
        if not enqueued:
            break
        runs, posts, busy_s = runs + 1, posts + enqueued, busy_s + elapsed
        first_run = first_run or (enqueued, elapsed)
    batches = counter.batches or runs  # code without batches writes one per run
    return {"runs": runs, "posts": posts, "seconds": busy_s, "batches": batches, "first_run": first_run}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=2000)
    parser.add_argument("--max-runs", type=int, default=1000, help="stop a drain after this many runs")
    args = parser.parse_args()
    future = sum(BACKLOGS) + 100_000

    os.environ.setdefault("LOG_LEVEL", "WARNING")
    claim_bench_redis(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    with scratch_database("bench_enqueue"):
        import django_rq
        from django.conf import settings

        from connections.models import Post

        django_rq.get_connection("default").flushdb()
        counter = BatchCounter()
        sweeper_log = logging.getLogger("recovery.sweeper")
        sweeper_log.addHandler(counter)
        sweeper_log.setLevel(logging.INFO)
        sweeper_log.propagate = False
        started = time.perf_counter()
        populate(args.posts, args.tenants, future)
        print(f"bench_enqueue: {Post.objects.count():,} posts, {args.tenants:,} tenants "
              f"(made in {time.perf_counter() - started:.0f} s); due-post run every {settings.PUBLISH_DUE_INTERVAL_S} s")

        results = {}
        for backlog in BACKLOGS:
            make_due(backlog)
            results[backlog] = result = drain(args.max_runs, counter)
            per_run, run_s = result["first_run"] or (0, 0.0)
            rate = result["posts"] / result["seconds"] if result["seconds"] else 0.0
            ms_per_batch = 1000 * result["seconds"] / max(result["batches"], 1)
            print(f"  backlog {backlog:>7,}: {result['posts']:>7,} enqueued in {result['seconds']:6.2f} s over "
                  f"{result['runs']} run(s), {result['batches']} batches: {rate:7,.0f} posts/s, "
                  f"{ms_per_batch:6.1f} ms/batch; first run {per_run:,} posts in {run_s:.2f} s "
                  f"(fed to workers at most {per_run / settings.PUBLISH_DUE_INTERVAL_S if result['runs'] > 1 else rate:,.0f}"
                  f" posts/s at one run every {settings.PUBLISH_DUE_INTERVAL_S} s)")
            settle_backlog()

        started = time.perf_counter()
        from recovery.sweeper import posts_enqueue_due

        posts_enqueue_due()
        print(f"  idle run (nothing due, {Post.objects.filter(status='scheduled').count():,} future posts): "
              f"{1000 * (time.perf_counter() - started):.0f} ms; of which the Redis epoch check "
              f"{epoch_check_us():.0f} us")
        plan_before_loss(REPLAN)
        lost = replan_after_loss(counter)
        print(f"  Redis lost its data with {REPLAN:,} posts planned: {lost['posts']:,} given their job again in "
              f"{lost['seconds']:.2f} s over {lost['runs']} run(s), {lost['batches']} batches: "
              f"{lost['posts'] / max(lost['seconds'], 1e-9):,.0f} posts/s, "
              f"{1000 * lost['seconds'] / max(lost['batches'], 1):.1f} ms/batch")
        small, large = (results[b] for b in BACKLOGS)
        ratio = (large["seconds"] / max(large["batches"], 1)) / max(small["seconds"] / max(small["batches"], 1), 1e-9)
        rate = min(r["posts"] / r["seconds"] for r in results.values() if r["seconds"])
        print(f"  slowest rate {rate:,.0f} posts/s (target >= {TARGET_POSTS_PER_S:,}); "
              f"ms/batch at 100k over 10k: {ratio:.2f} (flat: ~1)")
        django_rq.get_connection("default").flushdb()


if __name__ == "__main__":
    main()
