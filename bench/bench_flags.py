"""What a per-tenant flag check costs, warm (shared Redis cache) and cold (database).

    DATABASE_URL=... REDIS_URL=... .venv/bin/python bench/bench_flags.py

Runs on a scratch database (bench/scratch.py: created, migrated, so the five
flags exist, and dropped). Touches only the flag cache entries of
RECOVERY_AUTOPAUSE_ENABLED in REDIS_URL.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import scratch_database  # noqa: E402  (bench/scratch.py)

N = int(os.environ.get("BENCH_N", "2000"))


def per_call_us(func, n=N):
    start = time.perf_counter()
    for i in range(n):
        func(i)
    return (time.perf_counter() - start) / n * 1e6


def main():
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from recovery.flags import RECOVERY_AUTOPAUSE_ENABLED, flag_is_on_for_tenant
    from recovery.models import TenantFlag

    flag = TenantFlag.objects.get(name=RECOVERY_AUTOPAUSE_ENABLED)

    def cold(tenant_id):
        flag.flush()
        flag_is_on_for_tenant(RECOVERY_AUTOPAUSE_ENABLED, tenant_id)

    redis_get = per_call_us(lambda i: cache.get("bench:flags:missing"))
    flush_only = per_call_us(lambda i: flag.flush(), n=N // 4)
    cold_us = per_call_us(cold, n=N // 4) - flush_only
    flag_is_on_for_tenant(RECOVERY_AUTOPAUSE_ENABLED, 1)
    with CaptureQueriesContext(connection) as queries:
        warm_us = per_call_us(lambda i: flag_is_on_for_tenant(RECOVERY_AUTOPAUSE_ENABLED, i))
    flag.flush()

    print(f"flag check, warm cache : {warm_us:8.1f} us/check  ({len(queries)} queries in {N} checks)")
    print(f"flag check, cold cache : {cold_us:8.1f} us/check  (3 queries: flag, on list, off list)")
    print(f"one cache GET (Redis)  : {redis_get:8.1f} us")
    print(f"warm check / cache GET : {warm_us / redis_get:8.2f}x   (two GETs and an unpickle)")
    print(f"cold / warm            : {cold_us / warm_us:8.2f}x")


if __name__ == "__main__":
    with scratch_database("bench_flags"):
        main()
