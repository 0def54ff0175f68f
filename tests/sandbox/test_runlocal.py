"""`manage.py runlocal`, for real: embedded Redis, web, worker, demo logins, and a clean stop."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests

REPO = Path(__file__).resolve().parents[2]
# Variables of the test run that would change what runlocal does.
_NOT_INHERITED = ("REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DEBUG", "SANDBOX_ENABLED", "SITE_URL", "PORT")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][:1]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _descendants(pid: int) -> set[int]:
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(") ", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(ppid, set()).add(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.add(child)
            todo.append(child)
    return found


def _redis_servers_on(socket_path: Path) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"redis-server" in cmdline and str(socket_path).encode() in cmdline and _alive(int(entry.name)):
                pids.append(int(entry.name))
    return pids


@pytest.mark.slow
def test_runlocal_starts_everything_on_embedded_redis_and_stops_it_all_on_ctrl_c(tmp_path):
    port = _free_port()
    var_dir = tmp_path / "var"
    socket_path = var_dir / "redis.sock"
    env = {key: value for key, value in os.environ.items() if key not in _NOT_INHERITED}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", PORT=str(port))
    log_path = tmp_path / "runlocal.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runlocal", "--var-dir", str(var_dir)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        output = lambda: log_path.read_text()  # noqa: E731
        _wait_for(lambda: f"Ready: http://127.0.0.1:{port}/" in output() or process.poll() is not None, 60, "the URL")
        assert process.poll() is None, output()
        redis_pid = int(re.search(r"Embedded Redis on .* \(pid (\d+)\)", output()).group(1))
        assert _redis_servers_on(socket_path) == [redis_pid]
        for login in ("demo-owner / demo-owner-pass", "demo-member / demo-member-pass", "ops          / ops-admin-pass"):
            assert re.sub(r"\s+", " ", login) in re.sub(r"\s+", " ", output())
        # The children's lines carry their name, and the banner comes after the web server's start-up lines.
        started = output().index(f"web    | Starting development server at http://127.0.0.1:{port}/")
        assert started < output().index(f"Ready: http://127.0.0.1:{port}/")

        base = f"http://127.0.0.1:{port}"
        session = requests.Session()
        login_page = session.get(f"{base}/admin/login/", timeout=10)
        assert login_page.status_code == 200
        # The ops login works, and the RQ dashboard reads the embedded Redis through the unix:// URL.
        session.post(
            f"{base}/admin/login/?next=/admin/",
            data={"username": "ops", "password": "ops-admin-pass", "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            timeout=10,
        )
        embedded = redis.Redis(unix_socket_path=str(socket_path))
        _wait_for(lambda: embedded.scard("rq:workers"), 20, "the worker to register in the embedded Redis")
        embedded.close()
        dashboard = session.get(f"{base}/admin/django_rq/dashboard/", timeout=10)
        assert dashboard.status_code == 200
        assert "publish" in dashboard.text
        children = _descendants(process.pid)
        assert children

        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0, output()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert "Embedded Redis stopped." in output()
    assert not _alive(redis_pid)
    assert _redis_servers_on(socket_path) == []
    assert [pid for pid in children if _alive(pid)] == []
