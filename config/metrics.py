"""Metrics: one registry of every metric the product emits, sent through DogStatsD (Datadog's own client).

    from config.metrics import metrics
    metrics.increment("recovery.connection.paused", tags={"platform": "meta", "code": "AUTH_EXPIRED"})
    metrics.timing("recovery.partner.latency", 182.0, tags={"platform": "meta"})
    metrics.gauge("recovery.dlq.size", 12)

Rules:
- Every name is written out whole in METRICS below (greppable); emitting a name
  that is not there raises UnknownMetric, in tests and in production alike, so
  a dashboard or monitor never queries a metric nothing sends.
- Tags are the registry's own for that metric; an unknown tag key raises too.
  Tenant ids are tagged only on low-volume metrics (each tag value is a
  custom-metric series at Datadog).
- Tag values are sent lower-cased, as Datadog stores them (`code:auth_expired`),
  so what a dashboard or monitor queries is what goes on the wire.
- Without an agent (STATSD_HOST empty, the local run and tests) nothing is
  sent and nothing is built: a call costs a dictionary lookup and a check.
- DogStatsd unbuffered, without its own telemetry metrics (they are not in the
  registry): each call is one UDP datagram, sent at once, so a job that ends
  (or a killed worker) loses nothing in a buffer, and a forked process needs no
  flush thread.
- Pure infrastructure (no app imports): connectors, services and jobs all emit.

What emits what, and which dashboard and monitor reads it: docs/observability.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from datadog.dogstatsd import DogStatsd
from django.conf import settings

logger = logging.getLogger(__name__)

COUNT, GAUGE, TIMING = "count", "gauge", "timing"


class UnknownMetric(KeyError):
    """A metric name (or a tag key) that is not in the registry."""


@dataclass(frozen=True)
class Metric:
    kind: str
    description: str
    tags: tuple[str, ...] = ()


METRICS: dict[str, Metric] = {
    # Partner calls (connections/platforms/base.py). status: the HTTP status, or timeout / no_answer.
    "recovery.partner.call": Metric(COUNT, "partner HTTP calls, by answer status", ("platform", "status")),
    "recovery.partner.latency": Metric(TIMING, "partner HTTP call latency, ms", ("platform",)),
    # Classification and what came of it (recovery/failures.py, recovery/publishing.py, recovery/autopause.py).
    # reauth: true when a reconnect fixes the code (auth and permission failures).
    "recovery.classification": Metric(COUNT, "classified failures, by taxonomy code", ("platform", "code", "reauth")),
    # outcome: published, retry_scheduled, deferred, waiting_reconnect, dead, unconfirmed, skipped.
    "recovery.publish.outcome": Metric(COUNT, "publish attempts, by outcome", ("platform", "outcome")),
    "recovery.publish.lateness": Metric(TIMING, "scheduled time to publication, ms", ("platform",)),
    # A publish whose worker died, taken over (recovery/publishing.py, post_recover_abandoned).
    # reason: worker_died (its heartbeat ran out), lease_expired (the sweep's backstop).
    "recovery.publish.abandoned": Metric(COUNT, "publishes taken over after their worker died",
                                         ("platform", "reason", "outcome")),
    "recovery.connection.paused": Metric(COUNT, "connections paused, by reason", ("platform", "code", "tenant")),
    "recovery.connection.resumed": Metric(COUNT, "connections resumed", ("platform", "tenant")),
    "recovery.connections.paused": Metric(GAUGE, "connections paused now, by reason (periodic)", ("platform", "code")),
    "recovery.reconnect.completed": Metric(COUNT, "reconnects completed through the OAuth flow", ("platform", "outcome")),
    "recovery.reconnect.duration": Metric(TIMING, "pause to reconnect, ms", ("platform",)),
    # Token upkeep and pings. tokens.expiring window: expired, 24h or 7d (periodic, insights/gauges.py).
    "recovery.token.refresh": Metric(COUNT, "token refreshes, by outcome", ("platform", "outcome")),
    "recovery.tokens.expiring": Metric(GAUGE, "connections whose token expires within the window", ("platform", "window")),
    "recovery.ping.result": Metric(COUNT, "synthetic pings, by outcome", ("platform", "outcome")),
    "recovery.ping.enqueued": Metric(COUNT, "ping jobs enqueued by the scheduler's ticks", ()),
    "recovery.notice.sent": Metric(COUNT, "reconnect-before-expiry mails sent, one per connection and date", ("platform",)),
    # Webhooks
    "recovery.webhook.received": Metric(COUNT, "webhooks received and verified", ("platform",)),
    "recovery.webhook.rejected": Metric(COUNT, "webhooks refused (signature, size, malformed)", ("platform", "reason")),
    "recovery.webhook.processed": Metric(COUNT, "webhook events processed, by outcome", ("platform", "outcome")),
    "recovery.webhook.lag": Metric(TIMING, "webhook arrival to processed, ms", ("platform",)),
    # Queues (recovery/worker.py per job; the rest periodic, insights/gauges.py)
    "recovery.queue.depth": Metric(GAUGE, "jobs waiting in an RQ queue", ("queue",)),
    "recovery.queue.wait": Metric(TIMING, "enqueued to started, ms", ("queue",)),
    "recovery.queue.oldest_wait": Metric(GAUGE, "age of the oldest job waiting in a queue, seconds (periodic)", ("queue",)),
    "recovery.queue.rate_limited": Metric(GAUGE, "jobs held back by a tenant's concurrency limit (periodic)", ("queue",)),
    # The dead-letter queue (recovery/deadletter.py, recovery/publishing.py; gauges periodic, insights/gauges.py)
    "recovery.dlq.size": Metric(GAUGE, "open dead letters", ()),
    "recovery.dlq.oldest_age": Metric(GAUGE, "age of the oldest open dead letter, seconds", ()),
    "recovery.dlq.open_over_24h": Metric(GAUGE, "open dead letters older than 24 hours", ()),
    "recovery.dlq.created": Metric(COUNT, "jobs dead-lettered (a reopened letter counts again)", ("platform", "code")),
    # resolution: discarded, resolved, requeued (ops' action) and recovered (the requeued job then succeeded).
    "recovery.dlq.resolved": Metric(COUNT, "dead letters closed, by how", ("resolution",)),
    "recovery.dlq.resolution_time": Metric(TIMING, "dead-lettered to resolved or recovered, ms", ("resolution",)),
    # Queue protections (recovery/policies/circuit_breaker.py, recovery/publishing.py, recovery/sweeper.py).
    # to_state: open, half_open, closed. reason: breaker, rate_limit (a token bucket or a usage hold).
    "recovery.breaker.transition": Metric(COUNT, "circuit breaker changes of state", ("platform", "to_state")),
    "recovery.ratelimit.deferred": Metric(COUNT, "publishes deferred by a bucket, hold or breaker", ("platform", "reason")),
}


class _Metrics:
    """The registry's gate in front of a DogStatsd client (None when no agent is configured)."""

    def __init__(self):
        self._client = None
        self._client_for = None
        self._send_failed = False

    def _statsd(self):
        host = getattr(settings, "STATSD_HOST", "")
        if not host:
            return None
        target = (host, getattr(settings, "STATSD_PORT", 8125))
        if self._client is None or self._client_for != target:
            self._client = DogStatsd(
                host=target[0],
                port=target[1],
                constant_tags=_constant_tags(),
                disable_buffering=True,
                disable_telemetry=True,
            )
            self._client_for = target
        return self._client

    def _send(self, kind: str, name: str, value: float, tags: dict | None) -> None:
        metric = METRICS.get(name)
        if metric is None or metric.kind != kind:
            raise UnknownMetric(f"{name!r} is not a {kind} metric of config.metrics.METRICS")
        if tags and not set(tags) <= set(metric.tags):
            unknown = sorted(set(tags) - set(metric.tags))
            raise UnknownMetric(f"{name!r} has no tag {unknown} (its tags: {metric.tags})")
        client = self._statsd()
        if client is None:
            return
        tag_list = [f"{key}:{str(tag).lower()}" for key, tag in (tags or {}).items()]
        try:
            getattr(client, _CLIENT_METHOD[kind])(name, value, tags=tag_list)
        except Exception:  # noqa: BLE001 - a metric never breaks the work it measures
            if not self._send_failed:  # once per process: an unreachable agent must not flood the log
                self._send_failed = True
                logger.warning("metrics not sent: the StatsD agent is unreachable", exc_info=True)

    def increment(self, name: str, value: int = 1, tags: dict | None = None) -> None:
        self._send(COUNT, name, value, tags)

    def gauge(self, name: str, value: float, tags: dict | None = None) -> None:
        self._send(GAUGE, name, value, tags)

    def timing(self, name: str, ms: float, tags: dict | None = None) -> None:
        self._send(TIMING, name, ms, tags)


_CLIENT_METHOD = {COUNT: "increment", GAUGE: "gauge", TIMING: "timing"}


def _constant_tags() -> list[str]:
    return [f"env:{getattr(settings, 'METRICS_ENV', 'dev')}", "service:connection-recovery"]


metrics = _Metrics()
