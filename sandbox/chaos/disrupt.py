"""The disruptions that are not partner faults: a worker killed mid-publish, Redis restarted empty, a webhook storm.

- worker_kill: SIGKILL the worker process that is running a publish job (of the tenant's posts when
  a tenant is given), found through RQ's own worker registry (Worker.all on the publish queue, each
  worker's current job); only a worker on this machine.
- redis_restart: restart the Redis the product uses, only when a chaos run owns it
  (sandbox/chaos/owned_redis.py); a shared Redis is refused.
- webhook_storm: a burst of partner events signed the way each partner signs them, sent over HTTP
  to the product's real receivers by the sandbox's webhook sender (sandbox/webhooks.py): for each of
  the tenant's Meta and TikTok channels, the partner's "access removed" event, each sent `duplicates`
  times with the same bytes (a redelivery), and `noise` events the product ignores (Page feed changes).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.urls import reverse
from rq.worker import Worker

from connections.models import Connection, Post, Tenant
from recovery.publish_queue import POST_PUBLISH_JOB, publish_queue
from sandbox import webhooks as sender
from sandbox.chaos.guard import ChaosRefused
from sandbox.chaos.owned_redis import owned_redis_for
from sandbox.management.commands.runlocal import _alive

logger = logging.getLogger(__name__)


@dataclass
class Killed:
    worker: str
    pid: int
    post_id: int
    at: float  # time.time() of the kill


def _publishing_workers(tenant: Tenant | None) -> list[tuple[Worker, int]]:
    """(worker, post id) of each worker on this machine running a publish job (of `tenant`'s posts when given)."""
    queue = publish_queue()
    found = []
    for worker in Worker.all(connection=queue.connection, queue=queue):
        job = worker.get_current_job()
        if job is None or job.func_name != POST_PUBLISH_JOB or worker.hostname != socket.gethostname():
            continue
        post_id = job.args[0]
        if tenant is None or Post.objects.filter(pk=post_id, tenant=tenant).exists():
            found.append((worker, post_id))
    return found


def worker_kill(tenant: Tenant | None = None, wait_s: float = 30.0, spare: frozenset[int] = frozenset()) -> Killed:
    """SIGKILL a worker process mid-publish, waiting up to `wait_s` for one to be publishing.

    A killed worker stays registered in Redis, its job "current", until RQ's maintenance clears it:
    processes already gone (or dying: a zombie) and the pids in `spare` are passed over.
    """
    deadline = time.monotonic() + wait_s
    while True:
        for worker, post_id in _publishing_workers(tenant):
            if worker.pid in (None, os.getpid()) or worker.pid in spare or not _alive(worker.pid):
                continue
            try:
                os.kill(worker.pid, signal.SIGKILL)
            except ProcessLookupError:
                continue  # gone since it registered: look again
            logger.info("chaos worker killed", extra={"worker": worker.name, "pid": worker.pid, "postId": post_id})
            return Killed(worker.name, worker.pid, post_id, time.time())
        if time.monotonic() > deadline:
            whose = f"of tenant {tenant.slug!r} " if tenant else ""
            raise ChaosRefused(f"No worker on this machine was running a publish job {whose}within {wait_s:.0f} s.")
        time.sleep(0.05)


def redis_restart() -> float:
    """Restart the product's Redis empty when a chaos run owns it; the seconds it was down."""
    owned = owned_redis_for(settings.REDIS_URL)
    if owned is None:
        raise ChaosRefused(
            f"Refused: the product's Redis ({settings.REDIS_URL.rsplit('@', 1)[-1]}) was not started by a chaos run, "
            "so it may be shared; redis-restart restarts only a Redis the runner owns (`chaos run redis-restart`)."
        )
    down = owned.restart()
    logger.info("chaos redis restarted", extra={"port": owned.port, "downSeconds": round(down, 2)})
    return down


@dataclass
class Storm:
    sent: int = 0
    refused: int = 0  # answers other than 2xx
    removals: dict = field(default_factory=dict)  # connection id -> time.time() its first "access removed" arrived


def _site(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def _removal_sends(connection: Connection):
    """A function sending the partner's "access removed" event for the connection, always the same bytes."""
    issued = int(time.time())
    if connection.platform == "meta" and connection.partner_user_id:
        url = _site(reverse("webhooks:meta-deauthorize"))
        return lambda: sender.send_meta_deauthorize(url, connection.partner_user_id, issued_at=issued)
    if connection.platform == "tiktok":
        url = _site(reverse("webhooks:tiktok"))
        return lambda: sender.send_tiktok_event(url, "authorization.removed", connection.external_account_id,
                                                {"reason": 1}, timestamp=issued)
    return None


def _check_only_tenant(tenant: Tenant, connection: Connection) -> None:
    """A Meta user's removal reaches every Page they connected: refuse if that is another tenant's too."""
    names = Connection.objects.filter(platform=connection.platform).exclude(tenant=tenant)
    user = connection.partner_user_id if connection.platform == "meta" else connection.external_account_id
    if user and (names.filter(partner_user_id=user).exists() or names.filter(external_account_id=user).exists()):
        raise ChaosRefused(f"Refused: the partner account of connection {connection.pk} is connected by another tenant too.")


def webhook_storm(tenant: Tenant, connections: list[Connection], *, duplicates: int = 3, noise: int = 20) -> Storm:
    """Send the storm for the tenant's targeted connections; what was sent and when each removal arrived."""
    storm = Storm()
    sends = []
    for connection in connections:
        send = _removal_sends(connection)
        if send is not None:
            _check_only_tenant(tenant, connection)
            sends.append((connection, send))
    if not sends:
        raise ChaosRefused(f"Tenant {tenant.slug!r} has no targeted Meta or TikTok channel whose partner can say "
                           "access was removed.")
    pages = [c for c in connections if c.platform == "meta" and c.account_type == "facebook_page"]
    feed_url = _site(reverse("webhooks:meta"))
    for round_ in range(duplicates):
        for connection, send in sends:
            storm.removals.setdefault(connection.pk, time.time())
            answer = send()
            storm.sent += 1
            storm.refused += not answer.ok
        for n in range(noise // max(duplicates, 1)):
            if pages:
                page = pages[n % len(pages)]
                answer = sender.send_meta_change(feed_url, "page", page.external_account_id, "feed",
                                                 {"item": "status", "verb": "add", "post_id": f"{round_}-{n}"})
                storm.sent += 1
                storm.refused += not answer.ok
    logger.info("chaos webhook storm", extra={"tenantId": tenant.pk, "sent": storm.sent, "refused": storm.refused})
    return storm
