"""One tick of the ping scheduler at 10,000, 100,000 and 1,000,000 connections on PostgreSQL, 1% due.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/10 \
        .venv/bin/python bench/bench_pings.py [--sizes 10000,100000,1000000] [--runs 3]

Builds the rows in a scratch database (`<db>_bench_pings`, bench/scratch.py) with INSERT ... SELECT
generate_series (10 connections a tenant, all active, next pings spread over the next 1 to 6 hours),
then, for each size, makes 1% of them due (a different 1% each run, up to an hour overdue) and times
`recovery.pings.pings_enqueue_due()` as cron runs it: the claim statements (SKIP LOCKED, next ping
moved) and one ping job per due connection put on the `pings` queue in Redis; it prints the wall time
and the CPU the tick used (this process and its PostgreSQL backend, read from /proc), which a busy
shared machine does not inflate. SYNTHETIC_PINGS_ENABLED
is on for everyone, so every due row gets a job (the most work a tick does). At 1M it also times a
tick with 0.1% due, to show the cost follows the number due, not the number of rows. Target: under
1 s at 1,000,000 connections with 1% due.

FLUSHES the Redis database of REDIS_URL between runs: give it a scratch one.
"""

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import scratch_database  # noqa: E402  (bench/scratch.py)

PER_TENANT = 10
TARGET_S = 1.0


def add_rows(cursor, start: int, stop: int) -> None:
    """Connections start+1..stop (ids from generate_series) and their tenants, in two statements."""
    cursor.execute(
        """
        INSERT INTO connections_tenant (id, name, slug, created_at)
        SELECT t, 'Tenant ' || t, 'tenant-' || t, now()
        FROM generate_series(%s, %s) AS t
        """,
        [start // PER_TENANT + 1, stop // PER_TENANT],
    )
    cursor.execute(
        """
        INSERT INTO connections_connection (
            id, tenant_id, platform, account_type, external_account_id, external_account_name, granted_scopes,
            access_token, refresh_token, status, health_status, pause_reason, pause_description, account_email,
            created_at, updated_at)
        SELECT n, (n - 1) / %s + 1, (ARRAY['meta','linkedin','tiktok','gbp','mailchimp'])[n %% 5 + 1], '',
               'acct-' || n, 'Account ' || n, '[]'::jsonb, '', '', 'active', 'healthy', '', '', '', now(), now()
        FROM generate_series(%s, %s) AS n
        """,
        [PER_TENANT, start + 1, stop],
    )
    cursor.execute(
        """
        INSERT INTO connections_pingschedule (connection_id, next_ping_at, failures)
        SELECT n, now() + make_interval(secs => 3600 + random() * 18000), 0 FROM generate_series(%s, %s) AS n
        """,
        [start + 1, stop],
    )


def backend_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) a PostgreSQL backend of this machine has used; None if /proc cannot tell."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_due(cursor, size: int, share: float, round_number: int) -> int:
    """Make `share` of the rows due (a different slice each round); the rest wait 1 to 6 hours."""
    modulus = round(1 / share)
    cursor.execute(
        "UPDATE connections_pingschedule SET next_ping_at = now() - make_interval(secs => random() * 3600) "
        "WHERE connection_id %% %s = %s",
        [modulus, round_number % modulus],
    )
    return cursor.rowcount


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]

    with scratch_database("bench_pings"):
        from django.db import connection

        from recovery.models import TenantFlag
        from recovery.pings import pings_enqueue_due
        from recovery.policies import get_redis

        logging.getLogger("recovery.pings").setLevel(logging.WARNING)
        TenantFlag.objects.filter(name="SYNTHETIC_PINGS_ENABLED").update(everyone=True)
        redis = get_redis()
        print(f"ping scheduler: one tick, PostgreSQL, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
        print("  wall: the tick's elapsed time (median and best of the runs); cpu: the CPU it used, this")
        print("  process (Python, RQ, the Redis client) plus its PostgreSQL backend: what it costs on an idle machine")
        print(f"{'connections':>12} {'due':>7} {'enqueued':>9} {'wall':>9} {'best':>8} {'cpu':>8} {'cpu/due':>8}")
        results = {}
        built = round_number = 0
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
            plans = [(size, 0.01) for size in sizes]
            if sizes and sizes[-1] >= 100_000:
                plans.append((sizes[-1], 0.001))
            for size, share in plans:
                if size > built:
                    started = time.perf_counter()
                    add_rows(cursor, built, size)
                    for table in ("connections_connection", "connections_tenant", "connections_pingschedule"):
                        cursor.execute(f"VACUUM ANALYZE {table}")
                    print(f"  ({size - built:,} rows added in {time.perf_counter() - started:.1f} s)")
                    built = size
                walls, cpus, counts = [], [], []
                for _ in range(options.runs + 1):  # the first run warms caches and is not counted
                    redis.flushdb()
                    due = make_due(cursor, size, share, round_number)
                    round_number += 1
                    pg_before, ours_before = backend_cpu_s(backend), time.process_time()
                    started = time.perf_counter()
                    enqueued = pings_enqueue_due()
                    walls.append(time.perf_counter() - started)
                    pg_after = backend_cpu_s(backend)
                    pg = (pg_after - pg_before) if pg_before is not None and pg_after is not None else 0.0
                    cpus.append(time.process_time() - ours_before + pg)
                    counts.append((due, enqueued, redis.llen("rq:queue:pings")))
                walls, cpus = walls[1:], cpus[1:]
                due, enqueued, queued = counts[-1]
                assert enqueued == due == queued, counts
                wall, cpu = statistics.median(walls), statistics.median(cpus)
                results[(size, share)] = (wall, cpu)
                print(
                    f"{size:>12,} {due:>7,} {enqueued:>9,} {wall * 1000:>6.0f} ms {min(walls) * 1000:>5.0f} ms"
                    f" {cpu * 1000:>5.0f} ms {cpu / due * 1e6:>5.0f} us"
                )
        redis.flushdb()

    biggest, smallest, sparse = (sizes[-1], 0.01), (sizes[0], 0.01), (sizes[-1], 0.001)
    if biggest in results:
        wall, cpu = results[biggest]
        print(f"target: under {TARGET_S:.1f} s at {sizes[-1]:,} connections, 1% due: wall {wall:.2f} s = {wall / TARGET_S:.2f}x, "
              f"cpu {cpu:.2f} s = {cpu / TARGET_S:.2f}x the target (under 1.00 meets it)")
    if smallest in results and biggest in results and biggest != smallest:
        print(f"cpu at {sizes[-1]:,} / at {sizes[0]:,} (both 1% due): {results[biggest][1] / results[smallest][1]:.0f}x "
              f"for {sizes[-1] // sizes[0]}x the due rows")
    if sparse in results:
        print(f"cpu at {sizes[-1]:,} with 0.1% due / with 1% due: {results[sparse][1] / results[biggest][1]:.2f}x")


if __name__ == "__main__":
    main()
