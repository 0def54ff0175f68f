"""Test settings: speed and safety overrides, and a Redis database and PostgreSQL database of the run's own.

Two test runs on one machine (two checkouts, CI beside a developer) must not
break each other, and the suite empties its Redis database before every test.
So each run claims a free Redis database number (a key per number in db 0,
which no run uses for its data) and hands it to the processes it starts
through REDIS_URL; and pytest-django's test database gets the run's process
id in its name.
"""

import atexit
import os
import socket
from urllib.parse import urlsplit, urlunsplit

import redis

CLAIMED_ENV = "TEST_REDIS_DB_CLAIMED"  # set for the processes a run starts: they use its REDIS_URL as it is
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
    """REDIS_URL of a database no other test run holds: the configured one if free, else the next free one."""
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
    raise RuntimeError("Every Redis database 1-15 is held by another test run.")


if not os.environ.get(CLAIMED_ENV):
    os.environ["REDIS_URL"] = claim_redis_database(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"))
    os.environ[CLAIMED_ENV] = "1"

from config.settings import *  # noqa: E402,F401,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SANDBOX_ENABLED = True
# Tests run with DEBUG off and the public development keys on purpose (config/startup_checks.py).
ALLOW_DEVELOPMENT_SECRETS = True
SECURE_SSL_REDIRECT = False
# The live servers speak plain http: a Secure-only CSRF cookie would never come back from a client.
CSRF_COOKIE_SECURE = False
# The fixed callback URLs the connector and contract tests send to the sandbox's consent pages.
SANDBOX_REDIRECT_URIS = [
    *SANDBOX_REDIRECT_URIS,  # noqa: F405
    "https://app.example.com/cb", "https://app.example.com/oauth/callback", "https://app.example.com/connections/callback",
    "https://app.example.com/connections/callback/{platform}",
]
# Tests do not run collectstatic: the manifest storage would fail every admin page.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# Live-server threads would hold pooled connections open and delay dropping the test database.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# The run's own test database (pytest-django creates and drops it), so two runs never share one.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}  # noqa: F405
# Serve static files from the apps' folders (no collectstatic in tests), as DEBUG does.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
