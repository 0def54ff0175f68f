"""The weekly summary job at a million audit rows, a million posts and a million failure-log rows.

    DEBUG=1 DATABASE_URL=postgres://... REDIS_URL=... .venv/bin/python bench/bench_weekly.py [--rows 1000000] [--tenants 2000]

A scratch database (bench/scratch.py) with `tenants` tenants (10 connections each, over the five
partners), all with WEEKLY_SUMMARY_ENABLED, filled in bulk (SQL generate_series) over ten weeks:
- audit rows: 10% pauses and their resumes (90% resumed within 3 days; found by a failing post, a
  ping, a webhook, token upkeep or ops), the rest refreshes, pings, connects and notices;
- posts: published, dead, waiting, skipped and scheduled, due at random over the weeks;
- the failure log: failures of every kind (a tenth of them our capability refusals) and deferrals;
- 5% as many dead letters (open, resolved, requeued and recovered, discarded), 2,000 unmapped shapes.
Then `weekly_summaries_build` of the ninth week (which also reads the eighth, for the changes), the
median of 3 runs, first at a tenth of the rows, then at all of them: how it grows, and its slowest
queries at full size. Nothing is asserted; it prints figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import DEFAULT_REDIS_URL, claim_bench_redis, scratch_database  # noqa: E402  (bench/scratch.py)

RUNS = 3
WEEKS = 10
CONNECTIONS_PER_TENANT = 10
PLATFORMS = ("meta", "linkedin", "tiktok", "gbp", "mailchimp")


def setup_tenants(tenants: int) -> None:
    from connections.models import Connection, Tenant
    from recovery.flags import WEEKLY_SUMMARY_ENABLED
    from recovery.models import TenantFlag

    Tenant.objects.bulk_create([Tenant(name=f"Bench {i}", slug=f"bench-{i}") for i in range(tenants)], batch_size=5000)
    rows = []
    for tenant in Tenant.objects.order_by("pk"):
        for n in range(CONNECTIONS_PER_TENANT):
            platform = PLATFORMS[n % len(PLATFORMS)]
            rows.append(Connection(
                tenant=tenant, platform=platform, external_account_id=f"{tenant.pk}-{n}",
                account_type="instagram_business" if platform == "meta" and n % 2 else "facebook_page" if platform == "meta" else "",
            ))
    Connection.objects.bulk_create(rows, batch_size=5000)
    TenantFlag.objects.update_or_create(name=WEEKLY_SUMMARY_ENABLED, defaults={"everyone": True})


def fill(rows: int, since, seed: int) -> None:
    """Add `rows` audit rows, `rows` posts, `rows` failure-log rows and rows/20 dead letters over WEEKS weeks from `since`."""
    from django.db import connection

    params = {"n": rows, "since": since, "span": f"{WEEKS * 7} days", "seed": seed, "pairs": rows // 20}
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), count(*) FROM connections_connection")
        first, count = cursor.fetchone()
        params.update(first=first, conns=count)
        # Connection of row i: a fixed scatter over the connections (i * prime mod count). A LATERAL that names
        # i is evaluated per row (one that does not may be evaluated once: every row the same random time).
        conn = "(%(first)s + ((i::bigint * 7919 + %(seed)s) %% %(conns)s))"
        # Pauses and their resumes: rows // 20 pairs, so a tenth of the audit rows.
        cursor.execute(f"""
            WITH pairs AS (
              SELECT i, {conn} AS connection_id, %(since)s::timestamptz + random() * %(span)s::interval AS paused_at,
                     random() AS cause, random() AS resumed
                FROM generate_series(0, %(pairs)s - 1) AS i)
            INSERT INTO connections_connectionaudit (connection_id, action, details, actor, created_at)
            SELECT connection_id, CASE WHEN cause < 0.05 THEN 'pause' ELSE 'auto_pause' END,
                   CASE WHEN cause < 0.05 THEN '{{"reason_code": "ACCOUNT_RESTRICTED"}}'
                        WHEN cause < 0.15 THEN '{{"reason_code": "AUTH_REVOKED", "webhook_event_id": 1}}'
                        WHEN cause < 0.35 THEN '{{"reason_code": "AUTH_EXPIRED", "found_by": "ping"}}'
                        WHEN cause < 0.40 THEN '{{"reason_code": "REFRESH_FAILED", "found_by": "token_upkeep"}}'
                        ELSE '{{"reason_code": "PERMISSION_INSUFFICIENT", "post_id": 1}}' END::jsonb,
                   CASE WHEN cause < 0.05 THEN 'ops:alice' WHEN cause < 0.15 THEN 'partner:meta' ELSE 'system' END,
                   paused_at
              FROM pairs
            UNION ALL
            SELECT connection_id, 'resume', '{{}}'::jsonb, 'user:1', paused_at + random() * interval '3 days'
              FROM pairs WHERE resumed < 0.9
        """, params)
        cursor.execute(f"""
            INSERT INTO connections_connectionaudit (connection_id, action, details, actor, created_at)
            SELECT {conn}, (ARRAY['refresh', 'refresh', 'refresh', 'refresh', 'ping_failed', 'ping_ok', 'connect',
                                  'expiry_notice', 'scopes_missing', 'breaker_open'])[1 + (i %% 10)],
                   '{{}}'::jsonb, 'system', %(since)s::timestamptz + random() * %(span)s::interval
              FROM generate_series(0, %(n)s - %(pairs)s * 2 - 1) AS i
        """, params)
        cursor.execute(f"""
            INSERT INTO connections_post (tenant_id, connection_id, kind, content, media, scheduled_at, status,
                attempts, next_attempt_at, last_error_code, last_error_message, partner_post_id, idempotency_key,
                published_at, created_at, updated_at)
            SELECT c.tenant_id, c.id, 'video', 'Bench post', '[]', s.at,
                   (ARRAY['published', 'published', 'published', 'published', 'published', 'published', 'published',
                          'dead', 'waiting_reconnect', 'skipped'])[1 + (i %% 10)],
                   1, NULL, '', '', '', gen_random_uuid(), NULL, now(), now()
              FROM generate_series(0, %(n)s - 1) AS i
              JOIN connections_connection AS c ON c.id = {conn}
              CROSS JOIN LATERAL (SELECT %(since)s::timestamptz + random() * %(span)s::interval + i * interval '0 s' AS at) AS s
        """, params)
        cursor.execute("SELECT min(id), max(id) FROM connections_post")
        low, high = cursor.fetchone()
        params.update(low=low, high=high)
        cursor.execute(f"""
            INSERT INTO recovery_failureevent (tenant_id, connection_id, post_id, platform, source, code, partner_code,
                decision, created_at)
            SELECT c.tenant_id, c.id, %(low)s + (i::bigint * 104729 %% (%(high)s - %(low)s + 1)), c.platform,
                   CASE WHEN i %% 10 = 9 THEN 'ping' ELSE 'publish' END, f.code, f.partner_code, f.decision,
                   %(since)s::timestamptz + random() * %(span)s::interval
              FROM generate_series(0, %(n)s - 1) AS i
              JOIN connections_connection AS c ON c.id = {conn}
              JOIN (VALUES (0, 'PARTNER_5XX', '500', 'retry'), (1, 'PARTNER_5XX', '503', 'retry'),
                           (2, 'RATE_LIMIT_429', 'deferred:rate_limit', 'deferred'), (3, 'TIMEOUT', '', 'retry'),
                           (4, 'MEDIA_ERROR', 'capability:video_max_s', 'dead_letter'), (5, 'AUTH_EXPIRED', '190/463', 'pause'),
                           (6, 'UNKNOWN', '', 'dead_letter'), (7, 'RATE_LIMIT_429', '4', 'retry'),
                           (8, 'PARTNER_UNAVAILABLE', 'deferred:breaker', 'deferred'), (9, 'PARTNER_5XX', '500', 'retry'))
                AS f(k, code, partner_code, decision) ON f.k = (i * 31) %% 10
        """, params)
        cursor.execute(f"""
            INSERT INTO recovery_deadletter (job_kind, payload, tenant_id, connection_id, post_id, platform, error_code,
                classification, attempts, requeues, first_failed_at, last_failed_at, status, resolved_at, recovered_at,
                created_at)
            SELECT 'post_publish', '{{}}', c.tenant_id, c.id, NULL, c.platform,
                   (ARRAY['PARTNER_5XX', 'MEDIA_ERROR', 'UNKNOWN', 'AUTH_REVOKED'])[1 + (i %% 4)], '{{}}', 3, 0, t.at, t.at,
                   (ARRAY['open', 'open', 'resolved', 'requeued', 'discarded'])[1 + (i %% 5)],
                   CASE WHEN i %% 5 >= 2 THEN t.at + random() * interval '4 days' END,
                   CASE WHEN i %% 5 = 3 THEN t.at + interval '4 days' + random() * interval '1 day' END, t.at
              FROM generate_series(0, %(n)s / 20 - 1) AS i
              JOIN connections_connection AS c ON c.id = {conn}
              CROSS JOIN LATERAL (SELECT %(since)s::timestamptz + random() * %(span)s::interval + i * interval '0 s' AS at) AS t
        """, params)
        cursor.execute("""
            INSERT INTO recovery_unmappederror (platform, http_status, signature, sample_body, count, first_seen_at,
                last_seen_at, mapped)
            SELECT 'tiktok', 400, md5(random()::text || i) || md5(i::text), '{}', 1 + i %% 50,
                   %(since)s::timestamptz + random() * %(span)s::interval, now(), false
              FROM generate_series(0, 999) AS i
        """, params)
        cursor.execute("ANALYZE")


@contextmanager
def query_log(log: list):
    """Record (seconds, SQL) of each query run inside."""
    from django.db import connection

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            log.append((time.perf_counter() - started, sql))

    with connection.execute_wrapper(wrapper):
        yield


def median_build(week) -> tuple[float, list]:
    from insights.weekly import weekly_summaries_build

    times, queries = [], []
    for _ in range(RUNS):
        log: list = []
        started = time.perf_counter()
        with query_log(log):
            weekly_summaries_build(week)
        times.append(time.perf_counter() - started)
        queries = log
    return statistics.median(times), queries


def counts() -> dict:
    from connections.models import ConnectionAudit, Post
    from recovery.models import FailureEvent

    return {"audit": ConnectionAudit.objects.count(), "posts": Post.objects.count(), "failures": FailureEvent.objects.count()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="audit rows, posts and failure-log rows, each")
    parser.add_argument("--tenants", type=int, default=2000)
    args = parser.parse_args()
    claim_bench_redis(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    with scratch_database("bench_weekly"):
        from insights.models import WeeklySummary
        from insights.weekly import WEEK, week_start_of

        first_week = week_start_of(datetime.now(timezone.utc)) - WEEKS * WEEK
        since = datetime.combine(first_week, datetime.min.time(), tzinfo=timezone.utc)
        week = first_week + 8 * WEEK  # the ninth: a full week with one before it
        setup_tenants(args.tenants)
        results, filled = [], 0
        for target in (args.rows // 10, args.rows):
            started = time.perf_counter()
            fill(target - filled, since, seed=filled)
            filled = target
            print(f"filled to {target:,} rows each in {time.perf_counter() - started:.1f} s", flush=True)
            seconds, queries = median_build(week)
            results.append((counts(), seconds, queries))
        for rows, seconds, _ in results:
            print(f"{rows['audit']:>9,} audit rows, {rows['posts']:>9,} posts, {rows['failures']:>9,} failure-log rows: "
                  f"weekly build {seconds:6.2f} s ({WeeklySummary.objects.filter(week_start=week).count():,} summaries)")
        (small, t_small, _), (big, t_big, queries) = results
        print(f"growth for {big['audit'] / small['audit']:.0f}x the rows: {t_big / t_small:.1f}x the time")
        reads = sum(seconds for seconds, sql in queries if sql.lstrip().upper().startswith("SELECT"))
        writes = sum(seconds for seconds, sql in queries) - reads
        print(f"at full size: {len(queries)} queries, reading {reads:.2f} s, writing the summaries {writes:.2f} s, "
              f"the rest (Python: grouping, advice, JSON) {t_big - reads - writes:.2f} s; the slowest queries:")
        for seconds, sql in sorted(queries, key=lambda item: -item[0])[:6]:
            print(f"  {seconds * 1000:8.1f} ms  {' '.join(sql.split())[:110]}")


if __name__ == "__main__":
    main()
