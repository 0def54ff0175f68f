"""Queue protections the publish job asks before it calls a partner.

- rate_limit: token buckets per (tenant, platform) and per platform for the whole app;
- usage_throttle: stop calling an app or account that is near (or at) the partner's limit;
- circuit_breaker: per connection, opened by failures that say the partner is down.

Each keeps its state in Redis (shared by every worker) and changes it with one
Lua script per decision, so a decision is atomic across processes and costs
one round trip.
"""

from __future__ import annotations

import threading

import redis
from django.conf import settings

_local = threading.local()


def get_redis() -> redis.Redis:
    """One Redis client per process and thread for the policies (settings.REDIS_URL).

    django_rq.get_connection() builds a new client and pool on every call; a
    decision per job must not pay for that. redis-py's pool reconnects after a
    fork, so a cached client is safe in forked workers too.
    """
    client = getattr(_local, "client", None)
    if client is None or getattr(_local, "url", None) != settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL)
        _local.client, _local.url, _local.scripts = client, settings.REDIS_URL, {}
    return client


def run_script(source: str, keys: list, args: list):
    """Run a Lua script of ours by its SHA (EVALSHA, loading it once if Redis does not know it)."""
    client = get_redis()
    script = _local.scripts.get(source)
    if script is None:
        script = _local.scripts[source] = client.register_script(source)
    return script(keys=keys, args=args)
