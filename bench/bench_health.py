"""What the health page and the periodic gauges cost as the data grows.

    DATABASE_URL=postgres://... REDIS_URL=... .venv/bin/python bench/bench_health.py [connections]

A scratch database (bench/scratch.py) filled in bulk: `connections` connections (default 100,000;
1% paused, 10% with an access token expiring within 7 days), three audit rows each over the last
7 days (pauses, pings), and 1 dead letter per 20 connections. Prints the time of
`health_overview()` (the page's selectors) and `health_gauges_emit()` (the cron job every 60 s),
the median of 5 runs each, at a tenth of the size and at the full size: how they grow.
"""

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import scratch_database  # noqa: E402  (bench/scratch.py)

RUNS = 5


def fill(count: int, offset: int) -> None:
    from django.utils import timezone

    from connections.models import Connection, ConnectionAudit, Tenant
    from recovery.models import DeadLetter

    now = timezone.now()
    tenants = Tenant.objects.bulk_create(Tenant(name=f"T{offset + i}", slug=f"t-{offset + i}") for i in range(count // 100))
    platforms = ["meta", "linkedin", "tiktok", "gbp", "mailchimp"]
    rows = []
    for i in range(count):
        paused = i % 100 == 0
        rows.append(Connection(
            tenant=tenants[i % len(tenants)], platform=platforms[i % 5], external_account_id=f"a-{offset + i}",
            status=Connection.Status.ATTENTION if paused else Connection.Status.ACTIVE,
            pause_reason="AUTH_EXPIRED" if paused else "", paused_at=now if paused else None,
            token_expires_at=now + timedelta(days=(i % 100) / 10 + 0.01),
        ))
    connections = Connection.objects.bulk_create(rows, batch_size=5000)
    actions = [ConnectionAudit.Action.AUTO_PAUSE, ConnectionAudit.Action.PING_OK, ConnectionAudit.Action.PING_FAILED]
    ConnectionAudit.objects.bulk_create(
        (ConnectionAudit(connection=c, action=actions[k], details={"reason_code": "AUTH_EXPIRED"} if k == 0 else {})
         for c in connections for k in range(3)),
        batch_size=10000,
    )
    ConnectionAudit.objects.filter(connection__in=connections[::7]).update(created_at=now - timedelta(days=3))
    DeadLetter.objects.bulk_create(
        (DeadLetter(job_kind="post_publish", tenant_id=c.tenant_id, connection=c, platform=c.platform,
                    error_code="PARTNER_5XX" if n % 2 else "AUTH_REVOKED", attempts=5,
                    first_failed_at=now - timedelta(hours=n % 48), last_failed_at=now - timedelta(hours=n % 48))
         for n, c in enumerate(connections[::20])),
        batch_size=5000,
    )


def median_ms(func) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with scratch_database("bench_health"):
        from django.db import connection

        from insights.gauges import health_gauges_emit
        from insights.health import health_overview

        results = []
        filled = 0
        for target in (size // 10, size):
            fill(target - filled, filled)
            filled = target
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            results.append((target, median_ms(health_overview), median_ms(health_gauges_emit)))
        for target, page, gauges in results:
            print(f"{target:>9,} connections, {3 * target:>9,} audit rows, {target // 20:>7,} dead letters: "
                  f"health page selectors {page:8.1f} ms, periodic gauges {gauges:8.1f} ms")
        (small, page_small, gauges_small), (big, page_big, gauges_big) = results
        print(f"growth for {big // small}x the data: page {page_big / page_small:.1f}x, gauges {gauges_big / gauges_small:.1f}x")


if __name__ == "__main__":
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/10")
    main()
