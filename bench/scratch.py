"""A scratch PostgreSQL database for a benchmark: created and migrated, dropped afterwards.

Every bench runs on its own database `<DATABASE_URL's name>_<purpose>` on the
server of DATABASE_URL, so it never touches real or test data.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config.redis_claims import claim_redis_database  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"


def scratch_database_url(url: str, purpose: str) -> str:
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        sys.exit("The benchmarks measure PostgreSQL: set DATABASE_URL=postgres://...")
    name = f"{parts.path.lstrip('/') or 'postgres'}_{purpose}"
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(url: str, drop_only: bool = False) -> None:
    """Drop the database of `url` (and create it again unless drop_only), through the server's `postgres` database."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def bench_secrets() -> None:
    """Fresh SECRET_KEY and TOKEN_ENCRYPTION_KEYS for this bench and the processes it starts, unless set.

    A process with DEBUG off refuses the public development keys (config/startup_checks.py); a bench
    runs as production does, DEBUG off, so it makes keys of its own (its tokens live in its scratch database).
    """
    from cryptography.fernet import Fernet
    from django.core.management.utils import get_random_secret_key

    os.environ.setdefault("SECRET_KEY", get_random_secret_key())
    os.environ.setdefault("TOKEN_ENCRYPTION_KEYS", Fernet.generate_key().decode())


@contextlib.contextmanager
def scratch_database(purpose: str):
    """Point DATABASE_URL at a fresh scratch database and REDIS_URL at a held Redis database, set Django
    up and migrate; drop the database on exit.

    Call before django.setup() anywhere else; yields the scratch URL.
    """
    claim_bench_redis(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    url = scratch_database_url(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL), purpose)
    recreate_database(url)
    os.environ["DATABASE_URL"] = url
    bench_secrets()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        yield url
    finally:
        from django.db import connections

        connections.close_all()
        recreate_database(url, drop_only=True)


def claim_bench_redis(url: str) -> str:
    """Hold a Redis database as test runs do (config/redis_claims.py), so no test run empties it meanwhile.

    Sets REDIS_URL to it (for this process and those it starts) and returns it.
    """
    os.environ["REDIS_URL"] = url = claim_redis_database(url)
    return url
