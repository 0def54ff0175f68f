"""Latency of auto_pause_connection on PostgreSQL: p50 and p99 of the pause call.

Runs pause + resume cycles on one connection in a scratch database
(`<db>_bench_pause` on the server of DATABASE_URL, created, migrated and
dropped by bench/scratch.py) and times the pause call only: the conditional UPDATE, the audit row
and the commit (with its fsync: synchronous_commit stays on), which on
PostgreSQL are one statement, so one round trip. Prints the statements per
pause, the figures against the old target (100 ms) and ours (5 ms), and the
machine's load average: p99 on a busy machine measures its scheduler more
than our code.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_pause.py [cycles]
"""

import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import scratch_database  # noqa: E402  (bench/scratch.py)

OLD_TARGET_MS = 100.0
OUR_TARGET_MS = 5.0
WARMUP = 30


def percentile(sorted_values, fraction):
    index = min(int(round(fraction * (len(sorted_values) - 1))), len(sorted_values) - 1)
    return sorted_values[index]


def main():
    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with scratch_database("bench_pause"):
        from django.db import connections
        from django.test.utils import CaptureQueriesContext

        logging.getLogger("recovery.autopause").setLevel(logging.WARNING)

        from connections.models import Connection, ConnectionAudit, Tenant
        from recovery.autopause import auto_pause_connection, resume_connection

        tenant = Tenant.objects.create(name="Bench", slug="bench")
        # Some neighbours, so the lookups run on a table that is not a single row.
        Connection.objects.bulk_create(
            Connection(tenant=tenant, platform="linkedin", external_account_id=f"n-{n}", access_token=f"t-{n}")
            for n in range(2000)
        )
        connection = Connection.objects.create(
            tenant=tenant, platform="meta", external_account_id="bench", access_token="bench-token"
        )

        with CaptureQueriesContext(connections["default"]) as statements:
            auto_pause_connection(tenant.pk, connection.pk, "AUTH_EXPIRED")
        resume_connection(tenant.pk, connection.pk)
        statements_per_pause = len(statements)
        pause_ms, noop_ms = [], []
        load_before = os.getloadavg()
        for cycle in range(WARMUP + cycles):
            started = time.perf_counter()
            result = auto_pause_connection(tenant.pk, connection.pk, "AUTH_EXPIRED")
            elapsed = (time.perf_counter() - started) * 1000
            assert result.changed
            started = time.perf_counter()
            assert not auto_pause_connection(tenant.pk, connection.pk, "AUTH_EXPIRED").changed
            elapsed_noop = (time.perf_counter() - started) * 1000
            resume_connection(tenant.pk, connection.pk)
            if cycle >= WARMUP:
                pause_ms.append(elapsed)
                noop_ms.append(elapsed_noop)
        load_after = os.getloadavg()
        assert ConnectionAudit.objects.filter(connection=connection).count() == 2 * (WARMUP + cycles + 1)

    pause_ms.sort()
    noop_ms.sort()
    p50, p99 = percentile(pause_ms, 0.50), percentile(pause_ms, 0.99)
    print(f"auto_pause_connection on PostgreSQL, {cycles} pause+resume cycles (after {WARMUP} warm-up)")
    print(
        f"  {statements_per_pause} SQL statement(s) per pause; load average {load_before[0]:.2f} before,"
        f" {load_after[0]:.2f} after, on {os.cpu_count()} CPUs"
    )
    print(f"  pause:           p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   mean {statistics.mean(pause_ms):6.2f} ms")
    print(
        f"  already paused:  p50 {percentile(noop_ms, 0.5):6.2f} ms   p99 {percentile(noop_ms, 0.99):6.2f} ms"
        "   (no write, no audit row)"
    )
    for label, target in (("old target", OLD_TARGET_MS), ("our target", OUR_TARGET_MS)):
        print(
            f"  vs {label} {target:>3.0f} ms: p50 {p50 / target:5.2f}x  p99 {p99 / target:5.2f}x"
            "   (measured / target: under 1.00 meets it)"
        )

if __name__ == "__main__":
    main()
