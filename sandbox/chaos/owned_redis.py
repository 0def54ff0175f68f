"""A private redis-server the chaos runner starts, so the redis-restart scenario restarts only a Redis it owns.

The runner starts it (`OwnedRedis.start`) on a free port and records how (a JSON file under
var/chaos/); `owned_redis_for(url)` finds that record, so `chaos redis-restart` restarts the Redis
the product uses only when it is one of these, and refuses a shared one. A restart is what an
operator's restart of a Redis without persistence does: SHUTDOWN NOSAVE, then the same command
again, so it comes back empty.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

START_TIMEOUT_S = 10


def records_dir() -> Path:
    return Path(settings.BASE_DIR) / "var" / "chaos"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class OwnedRedis:
    port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def record(self) -> Path:
        return records_dir() / f"owned-redis-{self.port}.json"

    def argv(self) -> list[str]:
        return ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--daemonize", "yes", "--dir", str(self.directory), "--pidfile", str(self.directory / "redis.pid"),
                "--logfile", str(self.directory / "redis.log")]

    @classmethod
    def start(cls) -> OwnedRedis:
        port = free_port()
        owned = cls(port, records_dir() / f"redis-{port}")
        owned.directory.mkdir(parents=True, exist_ok=True)
        owned._launch()
        owned.record.write_text(json.dumps({"port": port, "directory": str(owned.directory)}))
        return owned

    def _client(self) -> redis.Redis:
        # No retries: redis-py retries a failed command with backoff (seconds), and here a refused
        # connection is the answer looked for (the server is down) or is asked again at once.
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, retry=Retry(NoBackoff(), 0))

    def _launch(self) -> None:
        subprocess.run(self.argv(), check=True, capture_output=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if self._client().ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not answer within {START_TIMEOUT_S} s")

    def _shutdown(self) -> None:
        try:
            self._client().shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it goes: that is the answer
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                self._client().ping()
            except redis.RedisError:
                return
            time.sleep(0.05)

    def restart(self) -> float:
        """Shut it down without saving and start it again, empty; the seconds it was down."""
        began = time.monotonic()
        self._shutdown()
        self._launch()
        return time.monotonic() - began

    def stop(self) -> None:
        self._shutdown()
        self.record.unlink(missing_ok=True)
        shutil.rmtree(self.directory, ignore_errors=True)


def owned_redis_for(url: str) -> OwnedRedis | None:
    """The OwnedRedis that `url` points at, when a chaos run started it; else None."""
    parts = redis.connection.parse_url(url)
    if parts.get("host") not in ("127.0.0.1", "localhost") or not parts.get("port"):
        return None
    record = records_dir() / f"owned-redis-{parts['port']}.json"
    if not record.exists():
        return None
    data = json.loads(record.read_text())
    return OwnedRedis(int(data["port"]), Path(data["directory"]))
