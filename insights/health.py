"""The ops health overview's numbers: the selectors the staff page and the periodic gauges share.

`health_overview()` is what the staff page shows (insights/views.py) for a team without Datadog;
insights/gauges.py sends the same selectors' numbers as the periodic gauges the dashboards and
monitors read, so the page and the dashboards agree. Each number carries the admin list it counts
(`Link`).

- Auth errors by platform over the last days: pauses for a reason a reconnect fixes (the audit
  log's auto_pause rows) and dead letters with such a code (tenants without auto-pause).
- Paused connections by reason and platform.
- The dead-letter queue: open letters, the oldest's age, those open for more than 24 hours
  (flagged: the DLQGrowth monitor watches the same number), open letters by code, and the
  resolution time of letters closed in the last days (DeadLetter.resolution_time).
- Queues (Redis): depth, the oldest waiting job's age, scheduled, failed, held by a tenant's
  concurrency limit.
- Ping success over the last hour (the audit log's ping rows).
- Access tokens of active connections expired, or expiring within 24 hours and 7 days.
- Partner webhooks: the unprocessed backlog and its oldest event's age, the last hour's events by
  outcome, and their lag (received to processed, median and 90th percentile). Rejected deliveries
  are not stored (nothing unverified is written), so they are not here: Datadog counts them.

Every selector is one query (or one Redis round trip per queue), whatever the number of rows,
except the DLQ's (five) and the webhooks' (two).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

import django_rq
from django.conf import settings
from django.db.models import Count, Min, Q
from django.db.models.functions import TruncDay
from django.urls import reverse
from django.utils import timezone
from django_rq.settings import get_queues_map
from rq.rate_limit import RateLimitRegistry
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from connections.models import Connection, ConnectionAudit
from recovery.models import DeadLetter
from recovery.taxonomy import TAXONOMY
from webhooks.models import WebhookEvent

# Codes a reconnect fixes: what "auth errors" means on the page and in the Auth4xxSpike monitor.
AUTH_CODES = tuple(code.value for code, entry in TAXONOMY.items() if entry.requires_reauth)
DLQ_FLAG_AGE = timedelta(hours=24)
AUTH_ERROR_DAYS = 7
RESOLUTION_DAYS = 7
# Pings are spread evenly over their 3-6 h interval (jitter), so the last hour is a fair sample, and
# at a million connections it is about 250,000 audit rows to count, not six million a day.
PING_WINDOW = timedelta(hours=1)
TOKEN_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
# The resolution-time figures read at most this many recently closed letters.
RESOLUTION_SAMPLE = 5000
# Tenants' concurrency keys counted for the rate-limited gauge (one ZCARD each, pipelined).
RATE_LIMIT_KEYS_MAX = 10_000
# Webhook figures cover the events received in the last hour; the lag is read from at most this many
# of its newest processed events (a busy hour holds far more, and the newest say most about now).
WEBHOOK_WINDOW = timedelta(hours=1)
WEBHOOK_LAG_SAMPLE = 5000


@dataclass(frozen=True)
class Link:
    """A number and the admin list behind it."""

    value: float | int | None
    url: str = ""


def admin_list_url(model_admin: str, **params) -> str:
    """The admin changelist `model_admin` ("connections_connection") filtered by `params` (the ops pages' links)."""
    query = urlencode({key: _param(value) for key, value in params.items() if value is not None})
    return f"{reverse(f'admin:{model_admin}_changelist')}?{query}" if query else reverse(f"admin:{model_admin}_changelist")


def _param(value) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return str(value)


# -- auth errors over time -------------------------------------------------------------------------


@dataclass
class AuthErrors:
    days: list[datetime]  # the start of each day, oldest first
    # series -> one Link per day. A series is a platform ("meta": its pauses for a reauth code) or
    # "<platform> (dead-lettered)" (tenants without auto-pause), so each number links to its own list.
    by_platform: dict[str, list[Link]] = field(default_factory=dict)
    totals: dict[str, Link] = field(default_factory=dict)


DEAD_LETTERED = " (dead-lettered)"


def auth_errors_by_day(now: datetime, days: int = AUTH_ERROR_DAYS) -> AuthErrors:
    """Auth failures per platform and UTC day: pauses for a reauth code, and dead letters with one. Two queries."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [today - timedelta(days=days - 1 - i) for i in range(days)]
    since, after = starts[0], timedelta(days=1)
    pauses = (
        ConnectionAudit.objects.filter(
            action=ConnectionAudit.Action.AUTO_PAUSE, created_at__gte=since, details__reason_code__in=AUTH_CODES
        )
        .annotate(day=TruncDay("created_at"))
        .values_list("connection__platform", "day")
        .annotate(n=Count("id"))
        .order_by()
    )
    letters = (
        DeadLetter.objects.filter(error_code__in=AUTH_CODES, last_failed_at__gte=since)
        .annotate(day=TruncDay("last_failed_at"))
        .values_list("platform", "day")
        .annotate(n=Count("id"))
        .order_by()
    )
    result = AuthErrors(days=starts)
    for rows, suffix, list_of in ((pauses, "", _auth_pauses_list), (letters, DEAD_LETTERED, _auth_letters_list)):
        counts = {(platform, day): n for platform, day, n in rows}
        for platform in sorted({platform for platform, _ in counts}):
            result.by_platform[platform + suffix] = [
                Link(counts.get((platform, start), 0), list_of(platform, start, start + after)) for start in starts
            ]
            result.totals[platform + suffix] = Link(
                sum(counts.get((platform, start), 0) for start in starts), list_of(platform, since, None)
            )
    return result


def _auth_pauses_list(platform: str, since: datetime, until: datetime | None) -> str:
    return admin_list_url(
        "connections_connectionaudit",
        action__exact=ConnectionAudit.Action.AUTO_PAUSE,
        connection__platform=platform,
        details__reason_code__in=AUTH_CODES,
        created_at__gte=since,
        created_at__lt=until,
    )


def _auth_letters_list(platform: str, since: datetime, until: datetime | None) -> str:
    return admin_list_url(
        "recovery_deadletter", platform__exact=platform, error_code__in=AUTH_CODES,
        last_failed_at__gte=since, last_failed_at__lt=until,
    )


def auth_dead_letters_list(since: datetime) -> str:
    """The dead letters behind the auth errors of tenants without auto-pause."""
    return admin_list_url("recovery_deadletter", error_code__in=AUTH_CODES, last_failed_at__gte=since)


# -- paused connections ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PausedRow:
    reason: str
    platform: str
    count: Link


def paused_by_reason() -> list[PausedRow]:
    """Paused and needs-reconnect connections, by pause reason and platform, most first. One query."""
    rows = (
        Connection.objects.filter(status__in=Connection.PAUSED_STATUSES)
        .values_list("pause_reason", "platform")
        .annotate(n=Count("id"))
        .order_by("-n", "pause_reason", "platform")
    )
    return [
        PausedRow(
            reason or "(none)",
            platform,
            Link(n, admin_list_url("connections_connection", status__in=Connection.PAUSED_STATUSES,
                                pause_reason=reason, platform__exact=platform)),
        )
        for reason, platform, n in rows
    ]


# -- the dead-letter queue -----------------------------------------------------------------------------


@dataclass
class DeadLetterSummary:
    open: Link
    over_24h: Link
    oldest_age_s: float | None
    by_code: list[tuple[str, Link]]
    oldest: list[DeadLetter]  # the oldest open letters, for the page's list
    resolved_count: int
    resolution_median_s: float | None
    resolution_p90_s: float | None
    awaiting_recovery: Link  # requeued, their job not yet succeeded

    @property
    def flagged(self) -> bool:
        return bool(self.over_24h.value)


def dead_letter_counts(now: datetime) -> dict:
    """Open letters, the oldest one's last failure, and those open for more than 24 hours. One query."""
    return DeadLetter.objects.filter(status=DeadLetter.Status.OPEN).aggregate(
        open=Count("id"),
        oldest=Min("last_failed_at"),
        over_24h=Count("id", filter=Q(last_failed_at__lt=now - DLQ_FLAG_AGE)),
    )


def dead_letter_summary(now: datetime, oldest_shown: int = 10) -> DeadLetterSummary:
    """The DLQ's numbers for the page. Five queries."""
    counts = dead_letter_counts(now)
    by_code = (
        DeadLetter.objects.filter(status=DeadLetter.Status.OPEN)
        .values_list("error_code")
        .annotate(n=Count("id"))
        .order_by("-n", "error_code")
    )
    oldest = list(
        DeadLetter.objects.filter(status=DeadLetter.Status.OPEN)
        .select_related("tenant")
        .order_by("last_failed_at", "pk")[:oldest_shown]
    )
    since = now - timedelta(days=RESOLUTION_DAYS)
    closed = list(
        DeadLetter.objects.filter(
            Q(status__in=[DeadLetter.Status.DISCARDED, DeadLetter.Status.RESOLVED], resolved_at__gte=since)
            | Q(status=DeadLetter.Status.REQUEUED, recovered_at__gte=since)
        )
        .order_by("-last_failed_at")
        .values_list("status", "last_failed_at", "resolved_at", "recovered_at")[:RESOLUTION_SAMPLE]
    )
    waits = sorted(
        ((recovered if status == DeadLetter.Status.REQUEUED else resolved) - failed).total_seconds()
        for status, failed, resolved, recovered in closed
    )
    awaiting = DeadLetter.objects.filter(status=DeadLetter.Status.REQUEUED, recovered_at__isnull=True).count()
    open_list = {"status__exact": DeadLetter.Status.OPEN}
    return DeadLetterSummary(
        open=Link(counts["open"], admin_list_url("recovery_deadletter", **open_list)),
        over_24h=Link(
            counts["over_24h"],
            admin_list_url("recovery_deadletter", **open_list, last_failed_at__lt=now - DLQ_FLAG_AGE),
        ),
        oldest_age_s=(now - counts["oldest"]).total_seconds() if counts["oldest"] else None,
        by_code=[
            (code, Link(n, admin_list_url("recovery_deadletter", **open_list, error_code__exact=code))) for code, n in by_code
        ],
        oldest=oldest,
        resolved_count=len(waits),
        resolution_median_s=_percentile(waits, 50),
        resolution_p90_s=_percentile(waits, 90),
        awaiting_recovery=Link(
            awaiting, admin_list_url("recovery_deadletter", status__exact=DeadLetter.Status.REQUEUED, recovered_at__isnull="True")
        ),
    )


def _percentile(sorted_values: list[float], pct: int) -> float | None:
    """The nearest-rank percentile of an ascending list; None for an empty one."""
    if not sorted_values:
        return None
    rank = max(1, -(-pct * len(sorted_values) // 100))  # ceil(pct/100 * n)
    return sorted_values[rank - 1]


# -- queues ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    name: str
    depth: int
    oldest_wait_s: float | None
    scheduled: int
    failed: int
    rate_limited: int
    url: str


def queue_rows(now: datetime) -> list[QueueRow]:
    """Each RQ queue: waiting jobs, the oldest one's wait, scheduled, failed, and held by a tenant's limit."""
    held = _rate_limited_by_queue()
    indexes = get_queues_map()
    rows = []
    for name in sorted(settings.RQ_QUEUES):
        queue = django_rq.get_queue(name)
        first = queue.get_job_ids(0, 1)
        job = queue.fetch_job(first[0]) if first else None  # None if its hash expired meanwhile
        enqueued = job.enqueued_at if job is not None else None
        rows.append(
            QueueRow(
                name=name,
                depth=queue.count,
                oldest_wait_s=max((now - enqueued).total_seconds(), 0.0) if enqueued else None,
                # Counts only: the registries' cleanup is the workers' maintenance, not a page view's.
                scheduled=ScheduledJobRegistry(queue=queue).get_job_count(cleanup=False),
                failed=FailedJobRegistry(queue=queue).get_job_count(cleanup=False),
                rate_limited=held.get(name, 0),
                url=reverse("django_rq:jobs", args=[indexes[name]]) if name in indexes else "",
            )
        )
    return rows


def _rate_limited_by_queue() -> dict[str, int]:
    """Jobs waiting in RQ's rate-limited sets, by queue (a key is named "<queue>:tenant:<id>")."""
    connection = django_rq.get_connection("default")
    keys = [registry.key for registry in RateLimitRegistry.all(connection)][:RATE_LIMIT_KEYS_MAX]
    if not keys:
        return {}
    with connection.pipeline(transaction=False) as pipeline:
        for key in keys:
            pipeline.zcard(RateLimitRegistry(key, connection).rate_limited_key)
        counts = pipeline.execute()
    held: dict[str, int] = {}
    for key, count in zip(keys, counts):
        queue = key.split(":", 1)[0]
        held[queue] = held.get(queue, 0) + int(count)
    return held


# -- pings and tokens -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PingRow:
    platform: str
    ok: Link
    failed: Link

    @property
    def success_pct(self) -> float | None:
        total = self.ok.value + self.failed.value
        return round(100 * self.ok.value / total, 1) if total else None


def ping_results(now: datetime) -> list[PingRow]:
    """Pings over the last hour per platform (the audit log's ping_ok / ping_failed rows). One query."""
    since = now - PING_WINDOW
    rows = (
        ConnectionAudit.objects.filter(
            action__in=[ConnectionAudit.Action.PING_OK, ConnectionAudit.Action.PING_FAILED], created_at__gte=since
        )
        .values_list("connection__platform", "action")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {(platform, action): n for platform, action, n in rows}

    def link(platform, action):
        return Link(
            counts.get((platform, action), 0),
            admin_list_url("connections_connectionaudit", action__exact=action, connection__platform=platform,
                        created_at__gte=since),
        )

    return [
        PingRow(platform, link(platform, ConnectionAudit.Action.PING_OK), link(platform, ConnectionAudit.Action.PING_FAILED))
        for platform in sorted({platform for platform, _ in counts})
    ]


@dataclass(frozen=True)
class TokenRow:
    platform: str
    expired: Link
    within: dict[str, Link]  # window ("24h", "7d") -> expiring within it


def token_expiries(now: datetime) -> list[TokenRow]:
    """Access tokens of active connections: expired, and expiring within each window, per platform. One query."""
    horizon = now + max(TOKEN_WINDOWS.values())
    counts = {
        **{f"within_{name}": Count("id", filter=Q(token_expires_at__gt=now, token_expires_at__lte=now + span))
           for name, span in TOKEN_WINDOWS.items()},
        "expired": Count("id", filter=Q(token_expires_at__lte=now)),
    }
    rows = (
        Connection.objects.filter(status=Connection.Status.ACTIVE, token_expires_at__lte=horizon)
        .values("platform")
        .annotate(**counts)
        .order_by("platform")
    )
    active = {"status__exact": Connection.Status.ACTIVE}
    return [
        TokenRow(
            platform=row["platform"],
            expired=Link(row["expired"], admin_list_url("connections_connection", **active, platform__exact=row["platform"],
                                                     token_expires_at__lte=now)),
            within={
                name: Link(
                    row[f"within_{name}"],
                    admin_list_url("connections_connection", **active, platform__exact=row["platform"],
                                token_expires_at__gt=now, token_expires_at__lte=now + span),
                )
                for name, span in TOKEN_WINDOWS.items()
            },
        )
        for row in rows
    ]


# -- webhooks -------------------------------------------------------------------------------------------------------


@dataclass
class WebhookSummary:
    backlog: Link  # pending now: waiting for a drain, or for a retry
    retrying: Link  # of those, the ones whose processing failed at least once
    oldest_pending: Link  # value: the oldest pending event's age in seconds (None: no backlog); url: that event
    processed: Link  # received in the window and processed: the events the lag is read from
    lag_sampled: int  # how many of them the percentiles read (the newest, at most WEBHOOK_LAG_SAMPLE)
    lag_p50_s: float | None
    lag_p90_s: float | None
    by_outcome: list[tuple[str, Link]]  # received in the window, by outcome label, pending included


def webhook_summary(now: datetime) -> WebhookSummary:
    """Webhook events: the backlog and its oldest, the last hour's by outcome, and its lag. Two queries.

    Pending events are few (the partial index webhook_event_pending_idx holds them), the last hour's
    are found through webhook_event_received_idx: both stay cheap however large the table grows.
    """
    since = now - WEBHOOK_WINDOW
    pending, recent = Q(outcome=WebhookEvent.Outcome.PENDING), Q(received_at__gte=since)
    outcomes = WebhookEvent.Outcome
    counts = WebhookEvent.objects.filter(pending | recent).aggregate(
        backlog=Count("id", filter=pending),
        retrying=Count("id", filter=pending & Q(attempts__gt=0)),
        oldest=Min("received_at", filter=pending),
        processed=Count("id", filter=recent & Q(processed_at__isnull=False)),
        **{outcome.value: Count("id", filter=recent & Q(outcome=outcome)) for outcome in outcomes},
    )
    lags = sorted(
        (processed - received).total_seconds()
        for received, processed in WebhookEvent.objects.filter(recent, processed_at__isnull=False)
        .order_by("-received_at")
        .values_list("received_at", "processed_at")[:WEBHOOK_LAG_SAMPLE]
    )
    pending_list = {"outcome__exact": outcomes.PENDING}
    return WebhookSummary(
        backlog=Link(counts["backlog"], admin_list_url("webhooks_webhookevent", **pending_list)),
        retrying=Link(counts["retrying"], admin_list_url("webhooks_webhookevent", **pending_list, attempts__gt=0)),
        oldest_pending=Link(
            (now - counts["oldest"]).total_seconds() if counts["oldest"] else None,
            admin_list_url("webhooks_webhookevent", **pending_list, received_at__lte=counts["oldest"]),
        ),
        processed=Link(
            counts["processed"],
            admin_list_url("webhooks_webhookevent", received_at__gte=since, processed_at__isnull="False"),
        ),
        lag_sampled=len(lags),
        lag_p50_s=_percentile(lags, 50),
        lag_p90_s=_percentile(lags, 90),
        by_outcome=[
            (
                outcome.label,
                Link(counts[outcome.value],
                     admin_list_url("webhooks_webhookevent", outcome__exact=outcome.value, received_at__gte=since)),
            )
            for outcome in outcomes
            if counts[outcome.value]
        ],
    )


# -- the page and the gauges --------------------------------------------------------------------------------------


@dataclass
class HealthOverview:
    now: datetime
    auth_errors: AuthErrors
    auth_dead_letters_url: str
    paused: list[PausedRow]
    dead_letters: DeadLetterSummary
    queues: list[QueueRow]
    pings: list[PingRow]
    tokens: list[TokenRow]
    webhooks: WebhookSummary

    @property
    def paused_total(self) -> int:
        return sum(row.count.value for row in self.paused)


def health_overview(now: datetime | None = None) -> HealthOverview:
    """Everything the health page shows, read now: a fixed number of queries whatever the data."""
    now = now or timezone.now()
    auth = auth_errors_by_day(now)
    return HealthOverview(
        now=now,
        auth_errors=auth,
        auth_dead_letters_url=auth_dead_letters_list(auth.days[0]),
        paused=paused_by_reason(),
        dead_letters=dead_letter_summary(now),
        queues=queue_rows(now),
        pings=ping_results(now),
        tokens=token_expiries(now),
        webhooks=webhook_summary(now),
    )
