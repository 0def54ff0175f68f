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
- Without an agent (STATSD_HOST empty, the local run and tests) nothing is
  sent and nothing is built: a call costs a dictionary lookup.
- Pure infrastructure (no app imports): connectors, services and jobs all emit.
"""

from __future__ import annotations

from dataclasses import dataclass

from datadog.dogstatsd import DogStatsd
from django.conf import settings

COUNT, GAUGE, TIMING = "count", "gauge", "timing"


class UnknownMetric(KeyError):
    """A metric name (or a tag key) that is not in the registry."""


@dataclass(frozen=True)
class Metric:
    kind: str
    description: str
    tags: tuple[str, ...] = ()


METRICS: dict[str, Metric] = {
    # Partner calls (connections/platforms/base.py)
    "recovery.partner.call": Metric(COUNT, "partner HTTP calls, by answer status", ("platform", "status")),
    "recovery.partner.latency": Metric(TIMING, "partner HTTP call latency, ms", ("platform",)),
    # Classification and what came of it
    "recovery.classification": Metric(COUNT, "classified failures, by taxonomy code", ("platform", "code")),
    "recovery.publish.outcome": Metric(COUNT, "publish attempts, by outcome", ("platform", "outcome")),
    "recovery.publish.lateness": Metric(TIMING, "scheduled time to publication, ms", ("platform",)),
    "recovery.connection.paused": Metric(COUNT, "connections paused, by reason", ("platform", "code", "tenant")),
    "recovery.connection.resumed": Metric(COUNT, "connections resumed", ("platform", "tenant")),
    "recovery.reconnect.completed": Metric(COUNT, "reconnects completed through the OAuth flow", ("platform", "outcome")),
    "recovery.reconnect.duration": Metric(TIMING, "pause to reconnect, ms", ("platform",)),
    # Token upkeep and pings
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
    # Queues and the dead-letter queue
    "recovery.queue.depth": Metric(GAUGE, "jobs waiting in an RQ queue", ("queue",)),
    "recovery.queue.wait": Metric(TIMING, "enqueued to started, ms", ("queue",)),
    "recovery.dlq.size": Metric(GAUGE, "open dead letters", ()),
    "recovery.dlq.oldest_age": Metric(GAUGE, "age of the oldest open dead letter, seconds", ()),
    "recovery.dlq.resolved": Metric(COUNT, "dead letters closed, by how", ("resolution",)),
    # Queue protections
    "recovery.breaker.transition": Metric(COUNT, "circuit breaker changes of state", ("platform", "to_state")),
    "recovery.ratelimit.deferred": Metric(COUNT, "publishes deferred by a bucket, hold or breaker", ("platform", "reason")),
}


class _Metrics:
    """The registry's gate in front of a DogStatsd client (None when no agent is configured)."""

    def __init__(self):
        self._client = None
        self._client_for = None

    def _statsd(self):
        host = getattr(settings, "STATSD_HOST", "")
        if not host:
            return None
        target = (host, getattr(settings, "STATSD_PORT", 8125))
        if self._client is None or self._client_for != target:
            self._client = DogStatsd(host=target[0], port=target[1], constant_tags=_constant_tags())
            self._client_for = target
        return self._client

    def _check(self, name: str, kind: str, tags: dict | None) -> list[str]:
        metric = METRICS.get(name)
        if metric is None or metric.kind != kind:
            raise UnknownMetric(f"{name!r} is not a {kind} metric of config.metrics.METRICS")
        unknown = set(tags or {}) - set(metric.tags)
        if unknown:
            raise UnknownMetric(f"{name!r} has no tag {sorted(unknown)} (its tags: {metric.tags})")
        return [f"{key}:{value}" for key, value in (tags or {}).items()]

    def increment(self, name: str, value: int = 1, tags: dict | None = None) -> None:
        tag_list = self._check(name, COUNT, tags)
        client = self._statsd()
        if client is not None:
            client.increment(name, value, tags=tag_list)

    def gauge(self, name: str, value: float, tags: dict | None = None) -> None:
        tag_list = self._check(name, GAUGE, tags)
        client = self._statsd()
        if client is not None:
            client.gauge(name, value, tags=tag_list)

    def timing(self, name: str, ms: float, tags: dict | None = None) -> None:
        tag_list = self._check(name, TIMING, tags)
        client = self._statsd()
        if client is not None:
            client.timing(name, ms, tags=tag_list)


def _constant_tags() -> list[str]:
    return [f"env:{getattr(settings, 'METRICS_ENV', 'dev')}", "service:connection-recovery"]


metrics = _Metrics()
