"""The periodic gauges (config/cron.py, every HEALTH_GAUGES_INTERVAL_S): the health page's numbers for Datadog.

Sent: recovery.dlq.size / oldest_age / open_over_24h, recovery.connections.paused (platform, code),
recovery.tokens.expiring (platform, window), recovery.queue.depth / oldest_wait / rate_limited
(queue). Read by the QueueAndLatency and TokensAndExpiries dashboards and the DLQGrowth and
QueueLatency monitors (docs/observability.md).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from config.metrics import metrics
from connections.models import Platform
from insights.health import TOKEN_WINDOWS, dead_letter_counts, paused_by_reason, queue_rows, token_expiries
from recovery.autopause import pause_reason_codes


def health_gauges_emit(now: datetime | None = None) -> dict:
    """Send the periodic gauges (DLQ, paused connections, tokens, queues); returns what was sent, by name.

    Every series of a tagged gauge is sent, zeros included, so a count that drops to
    nothing reads 0 on a dashboard instead of its last value.
    """
    now = now or timezone.now()
    sent: dict[str, object] = {}

    counts = dead_letter_counts(now)
    oldest_age = (now - counts["oldest"]).total_seconds() if counts["oldest"] else 0.0
    for name, value in (("recovery.dlq.size", counts["open"]), ("recovery.dlq.oldest_age", oldest_age),
                        ("recovery.dlq.open_over_24h", counts["over_24h"])):
        metrics.gauge(name, value)
        sent[name] = value

    paused = {(row.reason, row.platform): row.count.value for row in paused_by_reason()}
    codes = {code.value for code in pause_reason_codes()} | {reason for reason, _ in paused}
    sent["recovery.connections.paused"] = {}
    for platform in Platform.values:
        for code in sorted(codes):
            value = paused.get((code, platform), 0)
            metrics.gauge("recovery.connections.paused", value, tags={"platform": platform, "code": code})
            if value:
                sent["recovery.connections.paused"][(platform, code)] = value

    tokens = {row.platform: row for row in token_expiries(now)}
    sent["recovery.tokens.expiring"] = {}
    for platform in Platform.values:
        row = tokens.get(platform)
        windows = {"expired": row.expired.value if row else 0}
        windows.update({name: row.within[name].value if row else 0 for name in TOKEN_WINDOWS})
        for window, value in windows.items():
            metrics.gauge("recovery.tokens.expiring", value, tags={"platform": platform, "window": window})
            sent["recovery.tokens.expiring"][(platform, window)] = value

    sent["queues"] = {}
    for row in queue_rows(now):
        tags = {"queue": row.name}
        metrics.gauge("recovery.queue.depth", row.depth, tags=tags)
        metrics.gauge("recovery.queue.oldest_wait", row.oldest_wait_s or 0.0, tags=tags)
        metrics.gauge("recovery.queue.rate_limited", row.rate_limited, tags=tags)
        sent["queues"][row.name] = (row.depth, row.oldest_wait_s or 0.0, row.rate_limited)
    return sent
