"""Holding a Redis database for one run: test runs and benchmarks on one machine never empty each other's.

A run claims a database number by a key per number in db 0 (which no run uses for its data), with an
expiry, released when the process exits; a claim whose process is gone (a killed run on this machine)
is taken over. The first free number from REDIS_URL's own is used. Test runs (config/settings_test.py)
and benchmarks (bench/scratch.py) claim the same way, so neither flushes the other's jobs.
"""

import atexit
import os
import socket
from urllib.parse import urlsplit, urlunsplit

import redis

CLAIM_KEY = "connection-recovery:test-run:db:%d"
CLAIM_TTL_S = 3 * 3600


def redis_url_with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = "&".join([p for p in parts.query.split("&") if p and not p.startswith("db=")] + [f"db={db}"])
        return urlunsplit(parts._replace(query=query))
    return urlunsplit(parts._replace(path=f"/{db}"))


def _owner_is_gone(owner: bytes | None) -> bool:
    """A claim left by a run on this machine whose process no longer exists (a killed run)."""
    host, _, pid = (owner or b"").decode().rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def claim_redis_database(url: str) -> str:
    """REDIS_URL of a database no other run holds: the configured one if free, else the next free one."""
    registry = redis.Redis.from_url(redis_url_with_db(url, 0))
    first = redis.connection.parse_url(url).get("db", 0) or 1
    me = f"{socket.gethostname()}:{os.getpid()}"
    for db in [first, *range(first + 1, 16), *range(1, first)]:
        key = CLAIM_KEY % db
        if not registry.set(key, me, nx=True, ex=CLAIM_TTL_S):
            if not _owner_is_gone(registry.get(key)):
                continue
            registry.set(key, me, ex=CLAIM_TTL_S)

        def release(key=key):
            if registry.get(key) == me.encode():
                registry.delete(key)

        atexit.register(release)
        return redis_url_with_db(url, db)
    raise RuntimeError("Every Redis database 1-15 is held by another run: set REDIS_URL to a free one.")
