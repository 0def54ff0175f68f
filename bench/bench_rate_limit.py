"""Rate-limit decisions per second: the token-bucket script, with and without usage-throttle keys, and the breaker.

One process, one Redis connection, calls in a loop (each is one EVALSHA round
trip), then the same from 4 threads. Prints decisions per second and the mean
cost of one. Redis only: no database.

    REDIS_URL=redis://127.0.0.1:6379/6 .venv/bin/python bench/bench_rate_limit.py [--seconds 2]

FLUSHES the Redis database of REDIS_URL: give it a scratch one.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from scratch import DEFAULT_REDIS_URL, claim_bench_redis  # noqa: E402  (bench/scratch.py)

claim_bench_redis(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))  # it flushes: never a test run's database

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from recovery.policies import get_redis  # noqa: E402
from recovery.policies.circuit_breaker import breaker_allow  # noqa: E402
from recovery.policies.rate_limit import take_token  # noqa: E402
from recovery.policies.usage_throttle import block_keys_for  # noqa: E402


def rate(call, seconds: float) -> tuple[float, int]:
    """Calls a second of `call` over `seconds`, and how many were allowed."""
    count = allowed = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        allowed += bool(call())
        count += 1
    return count / (time.perf_counter() - started), allowed


def threaded_rate(call, seconds: float, threads: int) -> float:
    counts = []

    def loop():
        counts.append(rate(call, seconds)[0] * seconds)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    get_redis().flushdb()
    # Buckets that always have tokens measure the full take; a tiny one measures refusals.
    settings.PUBLISH_RATE_LIMITS = {
        **settings.PUBLISH_RATE_LIMITS,
        "meta": {"tenant": {"capacity": 1e12, "per_second": 1e12}, "app": {"capacity": 1e12, "per_second": 1e12}},
        "tiktok": {"tenant": {"capacity": 1, "per_second": 0.001}, "app": {"capacity": 1, "per_second": 0.001}},
    }
    keys = block_keys_for("meta", "1001")
    cases = {
        "take_token (two buckets)": lambda: take_token(1, "meta").allowed,
        "take_token + usage-throttle keys": lambda: take_token(1, "meta", block_keys=keys).allowed,
        "take_token refused (empty bucket)": lambda: take_token(1, "tiktok").allowed,
        "breaker_allow (closed)": lambda: breaker_allow(1).allowed,
    }
    for name, call in cases.items():
        rate(call, 0.2)  # load the script, warm the connection
    print(f"bench_rate_limit: {args.seconds:.0f} s per case, Redis at {settings.REDIS_URL.rsplit('@', 1)[-1]}")
    for name, call in cases.items():
        per_second, _ = rate(call, args.seconds)
        print(f"  {name:36s} {per_second:9.0f} decisions/s  ({1e6 / per_second:6.1f} us each)")
    per_second = threaded_rate(cases["take_token + usage-throttle keys"], args.seconds, 4)
    print(f"  {'take_token + keys, 4 threads':36s} {per_second:9.0f} decisions/s")
    get_redis().flushdb()


if __name__ == "__main__":
    main()
