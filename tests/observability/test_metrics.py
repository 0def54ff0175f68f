"""Metrics: only registered names and tags, nothing sent without an agent, and the datagrams of real work
arriving on a UDP socket standing in for the Datadog agent."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from config.metrics import METRICS, UnknownMetric, metrics
from connections.models import Post
from insights.jobs import health_gauges_job
from recovery.autopause import resume_connection
from recovery.deadletter import dead_letter_create, dead_letter_discard
from recovery.models import DeadLetter
from recovery.publishing import Abandoned, post_recover_abandoned
from recovery.sweeper import posts_sweep
from sandbox import faults
from tests.factories import ConnectionFactory, PostFactory
from tests.recovery.pipeline_helpers import (
    autopause,
    due_post,
    enqueue_due,
    fast_forward,
    page_connection,
    run_publish_worker,
)


class Datagrams:
    """What arrived on the socket: DogStatsD lines, name:value|type[|@rate]|#tag:value,..."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.lines: list[str] = []

    def read(self) -> list[dict]:
        while True:
            try:
                self.lines += self.sock.recv(65535).decode().splitlines()
            except TimeoutError:
                break
        parsed = []
        for line in self.lines:
            head, *rest = line.split("|")
            name, value = head.rsplit(":", 1)
            tags = dict(tag.split(":", 1) for part in rest if part.startswith("#") for tag in part[1:].split(","))
            parsed.append({"name": name, "value": float(value), "type": rest[0], "tags": tags})
        return parsed

    def named(self, name: str) -> list[dict]:
        return [datagram for datagram in self.read() if datagram["name"] == name]


@pytest.fixture
def statsd(settings):
    """A UDP socket where the agent would listen; STATSD_HOST/PORT point at it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.3)
    settings.STATSD_HOST, settings.STATSD_PORT = "127.0.0.1", sock.getsockname()[1]
    settings.METRICS_ENV = "test"
    yield Datagrams(sock)
    sock.close()


def test_a_name_or_tag_outside_the_registry_is_refused():
    with pytest.raises(UnknownMetric):
        metrics.increment("recovery.partner.calls")  # a typo
    with pytest.raises(UnknownMetric):
        metrics.gauge("recovery.partner.call", 1)  # a count, not a gauge
    with pytest.raises(UnknownMetric):
        metrics.increment("recovery.partner.call", tags={"platform": "meta", "tenant": 1})  # not its tag


def test_without_an_agent_nothing_is_built_or_sent(settings):
    settings.STATSD_HOST = ""
    metrics.increment("recovery.partner.call", tags={"platform": "meta", "status": 200})
    assert metrics._statsd() is None


@pytest.mark.django_db(transaction=True)
def test_a_real_publish_sends_its_datagrams(sandbox, tenant, statsd):
    page = page_connection(tenant)
    post = due_post(page, scheduled_at=timezone.now() - timedelta(seconds=30))
    faults.set_fault("meta", faults.SERVER_ERROR, status=503, count=1)
    enqueue_due()
    run_publish_worker()
    fast_forward()
    run_publish_worker()
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED

    received = statsd.read()
    assert {d["name"] for d in received} >= {
        "recovery.partner.call", "recovery.partner.latency", "recovery.classification", "recovery.publish.outcome",
        "recovery.publish.lateness", "recovery.queue.wait",
    }
    assert all(d["name"] in METRICS for d in received)
    assert all(d["tags"]["env"] == "test" and d["tags"]["service"] == "connection-recovery" for d in received)
    calls = [(d["tags"]["platform"], d["tags"]["status"]) for d in received if d["name"] == "recovery.partner.call"]
    assert ("meta", "503") in calls and ("meta", "200") in calls
    [classified] = [d for d in received if d["name"] == "recovery.classification"]
    assert classified["tags"]["code"] in ("partner_5xx", "partner_unavailable") and classified["tags"]["reauth"] == "false"
    outcomes = [d["tags"]["outcome"] for d in received if d["name"] == "recovery.publish.outcome"]
    assert outcomes == ["retry_scheduled", "published"]
    [lateness] = [d for d in received if d["name"] == "recovery.publish.lateness"]
    assert lateness["type"] == "ms" and lateness["value"] >= 30_000
    assert {d["tags"]["queue"] for d in received if d["name"] == "recovery.queue.wait"} == {"publish"}


@pytest.mark.django_db(transaction=True)
def test_a_pause_and_a_resume_are_counted_with_their_reason(sandbox, tenant, statsd):
    autopause(tenant, True)
    page = page_connection(tenant)
    faults.set_fault("meta", faults.EXPIRE_TOKEN)
    due_post(page)
    enqueue_due()
    run_publish_worker()
    resume_connection(tenant.pk, page.pk, actor="ops:ann")
    [paused] = statsd.named("recovery.connection.paused")
    assert (paused["tags"]["platform"], paused["tags"]["code"], paused["tags"]["tenant"]) == ("meta", "auth_expired", str(tenant.pk))
    [resumed] = statsd.named("recovery.connection.resumed")
    assert resumed["tags"]["tenant"] == str(tenant.pk)
    [classified] = statsd.named("recovery.classification")
    assert classified["tags"]["reauth"] == "true"


@pytest.mark.django_db(transaction=True)
def test_a_publish_taken_over_after_its_worker_died_is_counted_with_how_it_was_found(tenant, statsd, settings):
    page = page_connection(tenant)
    claimed_long_ago = timezone.now() - timedelta(seconds=settings.PUBLISH_LEASE_S + 5)
    by_heartbeat, by_lease = (PostFactory(connection=page, status=Post.Status.PUBLISHING, attempts=1) for _ in "ab")
    Post.objects.filter(pk=by_lease.pk).update(updated_at=claimed_long_ago)

    post_recover_abandoned(by_heartbeat.pk, Abandoned.WORKER_DIED)  # what the dead job's failure callback does
    posts_sweep()

    counted = {(d["tags"]["reason"], d["tags"]["outcome"], d["tags"]["platform"])
               for d in statsd.named("recovery.publish.abandoned")}
    assert counted == {("worker_died", "retry_scheduled", "meta"), ("lease_expired", "retry_scheduled", "meta")}


@pytest.mark.django_db(transaction=True)  # the job closes old connections, as a worker's job does
def test_the_periodic_gauges_report_the_dead_letter_queue_queues_pauses_and_tokens(tenant, statsd):
    connection = ConnectionFactory(tenant=tenant, platform="gbp", token_expires_at=timezone.now() + timedelta(hours=2))
    ConnectionFactory(tenant=tenant, platform="meta", paused=True)
    old = dead_letter_create(job_kind="post_publish", tenant_id=tenant.pk, connection_id=connection.pk,
                             platform="gbp", classification={"code": "PARTNER_5XX"}, attempts=5,
                             failed_at=timezone.now() - timedelta(hours=30))
    dead_letter_create(job_kind="post_publish", tenant_id=tenant.pk, platform="gbp",
                       classification={"code": "CONTENT_REJECTED"}, attempts=1)

    returned = health_gauges_job()

    assert returned["recovery.dlq.size"] == 2 and returned["recovery.dlq.open_over_24h"] == 1
    gauges = {(d["name"], tuple(sorted((k, v) for k, v in d["tags"].items() if k not in ("env", "service")))): d["value"]
              for d in statsd.read()}
    assert gauges[("recovery.dlq.size", ())] == 2
    assert gauges[("recovery.dlq.open_over_24h", ())] == 1
    assert gauges[("recovery.dlq.oldest_age", ())] >= 30 * 3600
    assert gauges[("recovery.connections.paused", (("code", "auth_expired"), ("platform", "meta")))] == 1
    assert gauges[("recovery.connections.paused", (("code", "auth_expired"), ("platform", "gbp")))] == 0
    assert gauges[("recovery.tokens.expiring", (("platform", "gbp"), ("window", "24h")))] == 1
    assert gauges[("recovery.tokens.expiring", (("platform", "gbp"), ("window", "expired")))] == 0
    assert {name for name, tags in gauges if name.startswith("recovery.queue.")} == {
        "recovery.queue.depth", "recovery.queue.oldest_wait", "recovery.queue.rate_limited"}
    assert gauges[("recovery.queue.depth", (("queue", "publish"),))] == 0

    dead_letter_discard([old.pk])
    [resolved] = statsd.named("recovery.dlq.resolved")
    [waited] = statsd.named("recovery.dlq.resolution_time")
    assert resolved["tags"]["resolution"] == "discarded" and waited["value"] >= 30 * 3600 * 1000
    assert DeadLetter.objects.get(pk=old.pk).resolution_time >= timedelta(hours=30)
