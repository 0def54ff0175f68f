"""The processes of a chaos run: runlocal's (sandbox/management/commands/runlocal.py), on a database and Redis of their own.

- Database: a fresh PostgreSQL database `chaos_<port>` on the server of the DATABASE_URL given
  (dropped and made again at each run, migrated by `manage.py migrate`), so a concurrent test run,
  which has its own test databases, is never disturbed.
- Redis: a private redis-server the run owns (sandbox/chaos/owned_redis.py) on a free port, so the
  redis-restart scenario may restart it and nothing else shares it.
- Processes: runlocal's children started runlocal's way (own process groups, output relayed): the
  web server (the product and the sandbox partners), WORKERS RQ worker processes (the production
  worker class, RQ_WORKER_THREADS threads each, the first with the scheduler) and cron
  (config.cron), all with the compressed settings below. A worker or cron that dies (worker-kill)
  is started again, as a process supervisor would.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from django.core.management.base import OutputWrapper

from sandbox.chaos.owned_redis import OwnedRedis, free_port
from sandbox.management.commands.runlocal import Command as RunLocal

WORKERS = 2
# Time compressed for a run of minutes: the cron ticks, the pings, the job timeout and the breaker.
# What the issue measures the fixes against is left at its default: PUBLISH_LOST_JOB_GRACE_S (Redis lost a
# job) and the lease, which follows from PUBLISH_JOB_TIMEOUT_S and PARTNER_READ_TIMEOUT_S.
COMPRESSED = {
    "PUBLISH_DUE_INTERVAL_S": "1",
    "PUBLISH_SWEEP_INTERVAL_S": "5",
    "PUBLISH_JOB_TIMEOUT_S": "10",
    "PARTNER_READ_TIMEOUT_S": "4",
    "PING_TICK_INTERVAL_S": "2",
    "PING_MIN_INTERVAL_S": "10",
    "PING_MAX_INTERVAL_S": "20",
    "WEBHOOK_SWEEP_INTERVAL_S": "5",
    "WEBHOOK_SWEEP_GRACE_S": "5",
    "BREAKER_COOLDOWN_S": "10",
    "RQ_WORKER_THREADS": "4",
    "SANDBOX_MAX_SLEEP_S": "10",
}


def database_url_named(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def fresh_database(url: str, name: str) -> str:
    """Drop and create database `name` on the server of `url`; its URL."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return database_url_named(url, name)


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(database_url_named(url, "postgres"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class ChaosStack(RunLocal):
    """runlocal's processes with the chaos run's database, Redis and compressed settings; start() and stop()."""

    def __init__(self, database_url: str, log_path: Path):
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log = log_path.open("a", encoding="utf-8")
        super().__init__(stdout=OutputWrapper(self.log), stderr=OutputWrapper(self.log))
        self.host, self.port = "127.0.0.1", free_port()
        self.children, self.relays, self.commands = {}, [], {}
        self.output_lock = threading.Lock()
        self.last_output_at = time.monotonic()
        self.stopping = threading.Event()
        self.restarts: dict[str, int] = {}
        self.redis = None  # runlocal's embedded Redis: not used here
        self.owned_redis = OwnedRedis.start()
        self.database_url = fresh_database(database_url, f"chaos_{self.port}")
        self.env = self._child_env()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _child_env(self) -> dict:
        env = super()._child_env()
        env.update(COMPRESSED)
        env.update(DEBUG="1", SANDBOX_ENABLED="1", PARTNERS_USE_SANDBOX="1", SITE_URL=self.url,
                   DATABASE_URL=self.database_url, REDIS_URL=self.owned_redis.url, LOG_LEVEL="WARNING")
        return env

    def _child_env_for(self, name: str) -> dict:
        return self.env

    def _commands(self) -> dict[str, list[str]]:
        commands = super()._commands()
        worker = commands.pop("worker")
        commands["worker1"] = worker
        for n in range(2, WORKERS + 1):
            commands[f"worker{n}"] = [part for part in worker if part != "--with-scheduler"]
        return commands

    def start(self) -> None:
        self._run_once("migrate", "--noinput", "--verbosity", "0")
        self._start_children()
        if not self._wait_until_ready():
            self.stop()
            raise RuntimeError(f"the chaos stack did not start (its output: {self.log.name})")
        self._wait_until_settled()
        threading.Thread(target=self._keep_running, daemon=True).start()

    def _keep_running(self) -> None:
        """Start a dead worker or cron again (a supervisor's job); the web server's death ends the run."""
        while not self.stopping.wait(0.5):
            for name, child in list(self.children.items()):
                if name != "web" and child.poll() is not None and not self.stopping.is_set():
                    self.restarts[name] = self.restarts.get(name, 0) + 1
                    self._say(f"{name} exited ({child.returncode}): starting it again")
                    self._start_child(name)

    def stop(self) -> None:
        self.stopping.set()
        self._stop_children()
        self.owned_redis.stop()
        drop_database(self.database_url)
        self.log.close()
