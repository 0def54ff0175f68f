"""The real processes print one JSON object a line and nothing twice: gunicorn, rqworker, rqworker-pool, rqcron.

RQ installs its own plain handler on its loggers unless logging is configured before the worker
starts, and the commands themselves print; each process is started here as the Procfile starts it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import django_rq
import pytest
import requests
from django.db import connection as db_connection
from django.utils import timezone

from connections.models import Post
from tests.factories import PostFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def process_env(settings) -> dict:
    """This test's database and Redis, for a process of the product."""
    s = db_connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "LOG_LEVEL": "INFO",
        "PYTHONWARNINGS": "always::UserWarning",
    }


def json_lines(output: str) -> list[dict]:
    """Every non-empty line of a process's output, each of which must be one JSON object."""
    lines = []
    for text in output.splitlines():
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except ValueError:
            raise AssertionError(f"not a JSON line: {text!r}") from None
        assert isinstance(value, dict), text
        lines.append(value)
    return lines


def stuck_post_recovery_job() -> Post:
    """A post left publishing past its lease, and the job that recovers it (which logs one warning)."""
    post = PostFactory(status=Post.Status.PUBLISHING)
    Post.objects.filter(pk=post.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    django_rq.get_queue("default").enqueue("recovery.jobs.post_recover_job", post.pk)
    return post


@pytest.mark.parametrize("command", [
    ["rqworker", "default", "--burst"],
    ["rqworker-pool", "default", "--burst", "--num-workers", "1"],
])
def test_a_worker_prints_json_lines_and_each_warning_once(settings, command):
    post = stuck_post_recovery_job()

    done = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=process_env(settings),
                          capture_output=True, text=True, timeout=90)

    assert done.returncode == 0, done.stderr[-2000:]
    lines = json_lines(done.stdout + done.stderr)
    [warning] = [line for line in lines if line["message"] == "abandoned publish recovered"]
    assert warning["level"] == "WARNING" and warning["postId"] == post.pk
    assert len(warning["cycleId"]) == 32 and warning["queue"] == "default" and warning["jobId"]
    assert any("Job OK" in line["message"] and line["cycleId"] == warning["cycleId"] for line in lines)
    post.refresh_from_db()
    assert post.status == Post.Status.UNCONFIRMED


def test_the_cron_process_prints_json_lines(settings):
    process = subprocess.Popen([sys.executable, "manage.py", "rqcron", "config.cron"], cwd=ROOT,
                               env=process_env(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and django_rq.get_queue("default").count < 3:
            time.sleep(0.2)  # its interval jobs are enqueued at start
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    lines = json_lines(output)
    messages = [line["message"] for line in lines]
    assert "Loading cron configuration from config.cron" in messages
    assert any(message.startswith("Starting cron scheduler with") for message in messages)
    assert django_rq.get_queue("default").count >= 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_web_process_prints_json_lines_with_the_request_id(settings):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "python:config.gunicorn", "--workers", "1",
         "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT, env=process_env(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/accounts/login/",
                                        headers={"X-Request-ID": "edge-42"}, timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None, "gunicorn did not start"
                time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert response.status_code == 200 and response.headers["X-Request-ID"] == "edge-42"
    lines = json_lines(output)
    assert any(line["logger"] == "gunicorn.error" and "Starting gunicorn" in line["message"] for line in lines)
    [request] = [line for line in lines if line["message"] == "request"]  # gunicorn's own access line is off
    assert (request["requestId"], request["path"], request["status"]) == ("edge-42", "/accounts/login/", 200)
