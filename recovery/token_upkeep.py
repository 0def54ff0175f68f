"""Token upkeep: access tokens refreshed before they expire, by each partner's rule, and the user told
ahead of time where only they can renew a connection.

Each partner's rule is in TOKEN_RULES, with the page it follows (docs/pings-and-tokens.md):

- Google Business Profile: access tokens last an hour; refreshed 15 minutes before they end.
  Refresh tokens have no timer: the user is never needed unless Google refuses the refresh.
- TikTok: access tokens last 2 hours (24 h on the older page); refreshed 30 minutes before they
  end. Each refresh returns a new refresh token with a new life (180 days), so upkeep alone keeps
  a connection alive.
- LinkedIn: access tokens last 60 days; refreshed 7 days before they end. A refresh does not
  extend the refresh token (365 days): the user is told 7 days before it ends. A LinkedIn app
  without programmatic refresh gets no refresh token: told 7 days before the access token ends.
- Meta: no refresh token (the long-lived user token lasts about 60 days and is renewed by a new
  login): never refreshed; the user is told 7 days before it ends.
- Mailchimp: tokens never expire: nothing to do.

Rules:
- One refresh at a time per connection: `token_refresh` holds the connection's row lock
  (SELECT ... FOR UPDATE) from before it decides until the new tokens are stored. A second
  refresh (another worker, a publish that met the expired token) waits for the lock, then reads
  the row again and uses the token the first one stored instead of refreshing again. A row lock
  rather than a Redis lock: it is released only when its transaction ends or its process dies,
  never by a timer in the middle of the partner call; TikTok spends a refresh token on use, so a
  second refresh with the same one would be refused and pause the channel.
- New tokens are stored only through connections.services.connection_store_tokens (encrypted,
  audited `refresh`, a missing refresh token never overwrites the stored one).
- A refused refresh (REFRESH_FAILED) is returned to the caller, who pauses (the publish, the
  ping, the upkeep job); a transient failure (5xx, timeout, network, rate limit) is retried
  later (the next upkeep claim, TOKEN_REFRESH_RETRY_S on) and never pauses. Each failure
  writes a `refresh_failed` audit row.
- Refresh calls go to the partners' OAuth token endpoints, not to their APIs, so they do not
  take from the publish token buckets (those model the APIs' limits).
- The user is mailed once per connection and date (`reconnect_notice_for` records the date
  told), to the tenant's owners and admins (recovery.notifications).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import django_rq
from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone
from rq.timeouts import JobTimeoutException

from config.metrics import metrics
from connections.models import Connection, ConnectionAudit, Platform
from connections.platforms.base import get_connector
from connections.services import connection_store_tokens
from recovery.autopause import pause_for_failure
from recovery.classifier import decide
from recovery.failure_events import Decision, Source, failure_event_record
from recovery.failures import classify_failure
from recovery.flags import RECOVERY_AUTOPAUSE_ENABLED, flag_is_on_for_tenant
from recovery.notifications import send_reconnect_notice
from recovery.policies import get_redis
from recovery.taxonomy import ClassifiedError, ErrorCode

logger = logging.getLogger(__name__)

# How far ahead of the day a connection needs its user they are told (mail and banner).
NOTICE_AHEAD = timedelta(days=7)
# Rows one upkeep run takes on: refreshes claimed, notices sent.
REFRESH_BATCH = 500
NOTICE_BATCH = 200
ACTOR = "system:token_upkeep"
# Dotted path: the jobs module (an interface) imports the services, never the other way round.
TOKEN_REFRESH_JOB = "recovery.jobs.token_refresh_job"


@dataclass(frozen=True)
class TokenRule:
    """How one partner's tokens are kept alive."""

    # Refresh the access token when less than this is left of it; None: the partner issues no refresh token.
    refresh_ahead: timedelta | None
    # Whether a refresh gives a new refresh token a new life (TikTok rotates them) or leaves the stored
    # one's end where it was (LinkedIn). Irrelevant where refresh tokens have no end (Google).
    refresh_renews_refresh_token: bool
    # The partner's page the rule follows.
    source: str


TOKEN_RULES: dict[str, TokenRule] = {
    Platform.GBP: TokenRule(
        refresh_ahead=timedelta(minutes=15),
        refresh_renews_refresh_token=False,
        source="https://developers.google.com/identity/protocols/oauth2#expiration",
    ),
    Platform.TIKTOK: TokenRule(
        refresh_ahead=timedelta(minutes=30),
        refresh_renews_refresh_token=True,
        source="https://developers.tiktok.com/docs/en/oauth-refresh-a-user-access-token",
    ),
    Platform.LINKEDIN: TokenRule(
        refresh_ahead=timedelta(days=7),
        refresh_renews_refresh_token=False,
        source="https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens",
    ),
    Platform.META: TokenRule(
        refresh_ahead=None,
        refresh_renews_refresh_token=False,
        source="https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived",
    ),
    Platform.MAILCHIMP: TokenRule(
        refresh_ahead=None,
        refresh_renews_refresh_token=False,
        source="https://mailchimp.com/developer/marketing/guides/access-user-data-oauth-2/",
    ),
}


def token_rule(platform: str) -> TokenRule:
    """The platform's rule; a platform without one is never refreshed."""
    return TOKEN_RULES.get(platform) or TokenRule(None, False, "")


# -- the rules, on one connection ---------------------------------------------------


def has_usable_refresh_token(connection: Connection, now: datetime | None = None) -> bool:
    """Whether the connection can get a new access token without its user: the partner refreshes,
    it holds a refresh token, and that token's end (if it has one) is still ahead."""
    now = now or timezone.now()
    end = connection.refresh_token_expires_at
    return (
        token_rule(connection.platform).refresh_ahead is not None
        and bool(connection.refresh_token)
        and (end is None or end > now)
    )


def stops_without_user_at(
    platform: str,
    *,
    has_refresh_token: bool,
    token_expires_at: datetime | None,
    refresh_token_expires_at: datetime | None,
    now: datetime | None = None,
) -> datetime | None:
    """When a connection stops working unless its user signs in again; None: upkeep keeps it alive.

    - No refresh (the partner has none, or this connection holds none): when the access token ends
      (None for tokens that never expire: Mailchimp).
    - A refresh token the refreshes renew (TikTok), or one without an end (Google): None.
    - A refresh token whose end a refresh does not move (LinkedIn): that end; once it has passed,
      the access token's end.
    """
    now = now or timezone.now()
    rule = token_rule(platform)
    if rule.refresh_ahead is None or not has_refresh_token:
        return token_expires_at
    if refresh_token_expires_at is None or rule.refresh_renews_refresh_token:
        return None
    return refresh_token_expires_at if refresh_token_expires_at > now else token_expires_at


def refresh_due(connection: Connection, now: datetime | None = None) -> bool:
    """Whether the partner's rule says this connection's access token should be refreshed now."""
    now = now or timezone.now()
    ahead = token_rule(connection.platform).refresh_ahead
    return ahead is not None and connection.token_expires_at is not None and connection.token_expires_at <= now + ahead


@dataclass(frozen=True)
class ReconnectDue:
    """A connection that stops working at `stops_at` unless its user reconnects it."""

    connection: Connection
    stops_at: datetime


def _with_refresh_flag(queryset):
    """Rows without their tokens, each with `has_refresh_token` (emptiness is the one test a ciphertext column allows)."""
    return queryset.without_tokens().annotate(
        has_refresh_token=ExpressionWrapper(~Q(refresh_token=""), output_field=BooleanField())
    )


def _row_stops_without_user_at(connection: Connection, now: datetime) -> datetime | None:
    """stops_without_user_at for a row read through _with_refresh_flag."""
    return stops_without_user_at(
        connection.platform,
        has_refresh_token=connection.has_refresh_token,
        token_expires_at=connection.token_expires_at,
        refresh_token_expires_at=connection.refresh_token_expires_at,
        now=now,
    )


def connections_needing_user_soon(tenant_id: int, within: timedelta = NOTICE_AHEAD) -> list[ReconnectDue]:
    """The tenant's active connections that stop working within `within` (7 days) unless the user
    reconnects them (or already have), soonest first: for the banner and the channels page.

    One query; tokens are not loaded.
    """
    now = timezone.now()
    horizon = now + within
    rows = _with_refresh_flag(Connection.objects.filter(tenant_id=tenant_id, status=Connection.Status.ACTIVE))
    due = []
    for connection in rows.order_by("pk"):
        stops_at = _row_stops_without_user_at(connection, now)
        if stops_at is not None and stops_at <= horizon:
            due.append(ReconnectDue(connection, stops_at))
    return sorted(due, key=lambda item: (item.stops_at, item.connection.pk))


# -- refreshing ---------------------------------------------------------------------


@dataclass(frozen=True)
class Renewal:
    """What came of asking for a fresh token.

    `connection`: the row as it now is, with a token to use (refreshed here or by a concurrent
    refresh); None when there is none. `failure`: the refresh's own classified failure
    (REFRESH_FAILED, or a transient code) when it was tried and failed.
    """

    connection: Connection | None
    failure: ClassifiedError | None
    outcome: str  # refreshed | renewed_meanwhile | fresh | failed | not_refreshable | not_active


def token_refresh(connection_id: int, *, failed_token: str | None = None, reason: str = "planned") -> Renewal:
    """Refresh the connection's access token, one refresh at a time per connection (module docstring).

    - Planned (`failed_token` None): only if the partner's rule says it is due (refresh_due);
      a token another refresh renewed meanwhile is left alone (outcome "fresh").
    - After a call failed with `failed_token` (AUTH_EXPIRED): unless the stored token is no longer
      that one (a concurrent refresh renewed it: outcome "renewed_meanwhile", use it).
    - Only an active connection with a usable refresh token is refreshed.
    - The partner call runs under the row lock; the new tokens are stored by
      connection_store_tokens (audited `refresh`) in the same transaction; a failure writes a
      `refresh_failed` audit row and is returned, never raised.
    """
    with transaction.atomic():
        connection = Connection.objects.select_for_update().filter(pk=connection_id).first()
        if connection is None or connection.status != Connection.Status.ACTIVE:
            return Renewal(None, None, "not_active")
        now = timezone.now()
        if failed_token is not None and connection.access_token != failed_token:
            return Renewal(connection, None, "renewed_meanwhile")
        if failed_token is None and not refresh_due(connection, now):
            return Renewal(connection, None, "fresh")
        if not has_usable_refresh_token(connection, now):
            return Renewal(None, None, "not_refreshable")
        try:
            tokens = get_connector(connection).refresh()
        except JobTimeoutException:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is classified and audited; the caller acts on it
            classified = classify_failure(exc, connection.platform)
            _audit_refresh_failure(connection, classified, reason)
            _refresh_metric(connection.platform, "failed" if classified.code == ErrorCode.REFRESH_FAILED else "retry")
            return Renewal(None, classified, "failed")
        stored = connection_store_tokens(
            connection.tenant_id,
            connection.pk,
            tokens,
            action=ConnectionAudit.Action.REFRESH,
            actor=ACTOR,
            details={"reason": reason},
        )
    _refresh_metric(stored.platform, "refreshed")
    logger.info(
        "token refreshed",
        extra={"connectionId": stored.pk, "tenantId": stored.tenant_id, "platform": stored.platform, "reason": reason},
    )
    return Renewal(stored, None, "refreshed")


def renew_after_auth_failure(connection: Connection, classified: ClassifiedError) -> Renewal | None:
    """After a call on `connection` (as loaded, tokens included) failed: a fresh token to try once more with.

    - None when a refresh is not the fix: the failure is not AUTH_EXPIRED, the connection holds no
      usable refresh token, or it stopped being active meanwhile. The caller acts on its own failure.
    - Renewal with `connection`: call again at once with it (no pause, no delay).
    - Renewal with `failure`: act on that instead: REFRESH_FAILED pauses; a transient code is retried later.
    """
    if classified.code != ErrorCode.AUTH_EXPIRED or not has_usable_refresh_token(connection):
        return None
    renewal = token_refresh(connection.pk, failed_token=connection.access_token, reason="auth_expired")
    if renewal.connection is None and renewal.failure is None:
        return None
    return renewal


def token_refresh_planned(connection_id: int) -> str:
    """The upkeep job's body: refresh if due; a refused refresh pauses the channel (auto-pause on)."""
    renewal = token_refresh(connection_id)
    if renewal.failure is not None:
        _act_on_refused_refresh(renewal.failure, connection_id)
    return renewal.outcome


def _act_on_refused_refresh(classified: ClassifiedError, connection_id: int) -> None:
    """A planned refresh the partner refused: pause, as a publish meeting it would (transient: nothing, retried later).

    Each is recorded in the failure log (recovery.failure_events) with what was done.
    """
    connection = Connection.objects.without_tokens().filter(pk=connection_id).first()
    if connection is None:
        return
    if not decide(classified, 0).pause:
        failure_event_record(Source.REFRESH, Decision.RETRY, classified, connection=connection)
        return
    if flag_is_on_for_tenant(RECOVERY_AUTOPAUSE_ENABLED, connection.tenant_id):
        pause_for_failure(connection, classified, extra_details={"found_by": "token_upkeep"})
        failure_event_record(Source.REFRESH, Decision.PAUSE, classified, connection=connection)
    else:
        Connection.objects.filter(pk=connection_id, status=Connection.Status.ACTIVE).update(
            health_status=Connection.Health.CRITICAL
        )
        failure_event_record(Source.REFRESH, Decision.FLAGGED, classified, connection=connection)


def _audit_refresh_failure(connection: Connection, classified: ClassifiedError, reason: str) -> None:
    ConnectionAudit.objects.create(
        connection_id=connection.pk,
        action=ConnectionAudit.Action.REFRESH_FAILED,
        actor=ACTOR,
        details={
            "code": classified.code.value,
            "http_status": classified.http_status,
            "partner_code": classified.partner_code,
            "retried_later": classified.code != ErrorCode.REFRESH_FAILED and classified.retryable,
            "reason": reason,
        },
    )


def _refresh_metric(platform: str, outcome: str) -> None:
    metrics.increment("recovery.token.refresh", tags={"platform": platform, "outcome": outcome})


# -- the upkeep tick ------------------------------------------------------------------


def tokens_refresh_due(limit: int = REFRESH_BATCH) -> int:
    """Cron: enqueue a refresh job for each active connection whose access token is due a refresh; returns how many.

    - Per platform, by its rule's lead, soonest expiry first, through conn_token_expiry_idx.
    - A row is claimed (`refresh_claimed_at`) in the transaction that picks it, with SKIP LOCKED:
      overlapping runs split the work, and a claimed row is not taken again for
      TOKEN_REFRESH_RETRY_S (a transient failure is retried then, not at every tick).
    - Jobs go on the `default` queue after commit, ids only.
    """
    now = timezone.now()
    retry_before = now - timedelta(seconds=settings.TOKEN_REFRESH_RETRY_S)
    claimed: list[int] = []
    for platform, rule in TOKEN_RULES.items():
        if rule.refresh_ahead is None or len(claimed) >= limit:
            continue
        with transaction.atomic():
            ids = list(
                Connection.objects.select_for_update(skip_locked=True)
                .filter(
                    status=Connection.Status.ACTIVE,
                    platform=platform,
                    token_expires_at__lte=now + rule.refresh_ahead,
                )
                .exclude(refresh_token="")
                .filter(Q(refresh_token_expires_at__isnull=True) | Q(refresh_token_expires_at__gt=now))
                .filter(Q(refresh_claimed_at__isnull=True) | Q(refresh_claimed_at__lte=retry_before))
                .order_by("token_expires_at", "pk")
                .values_list("pk", flat=True)[: limit - len(claimed)]
            )
            if ids:
                Connection.objects.filter(pk__in=ids).update(refresh_claimed_at=now)
                transaction.on_commit(lambda ids=ids: _enqueue_refreshes(ids))
        claimed += ids
    if claimed:
        logger.info("token refreshes enqueued", extra={"count": len(claimed)})
    return len(claimed)


def _refresh_job_timeout_s() -> int:
    """Time for waiting on a concurrent refresh's lock (one partner call) and for our own partner call."""
    return 2 * (settings.PARTNER_CONNECT_TIMEOUT_S + settings.PARTNER_READ_TIMEOUT_S) + 10


def _enqueue_refreshes(connection_ids: list[int]) -> None:
    queue = django_rq.get_queue("default", connection=get_redis(), commit_mode="auto")
    with queue.connection.pipeline() as pipe:
        queue.enqueue_many(
            [
                queue.prepare_data(
                    TOKEN_REFRESH_JOB,
                    args=(pk,),
                    timeout=_refresh_job_timeout_s(),
                    description=f"token_refresh(connection_id={pk})",
                )
                for pk in connection_ids
            ],
            pipeline=pipe,
        )
        pipe.execute()


# -- telling the user ahead ---------------------------------------------------------------


def tokens_notify_expiring(limit: int = NOTICE_BATCH) -> int:
    """Cron: mail the tenant of each connection that stops working within 7 days unless reconnected; returns how many.

    - Once per connection and date: the date told is recorded (`reconnect_notice_for`) in the
      transaction that sends, with an `expiry_notice` audit row; a reconnect brings a new date,
      and so a new notice 7 days before it.
    - Candidates come through two partial indexes (tokens without a refresh token; refresh tokens
      a refresh does not renew); each is checked against stops_without_user_at before it is sent.
    - A mail that fails is not recorded, so the next run tries again.
    - Also reports how many connections are in that window per platform (recovery.tokens.expiring).
    """
    now = timezone.now()
    horizon = now + NOTICE_AHEAD
    candidates = _notice_candidates(now, horizon)
    _expiring_gauge(candidates)
    sent = 0
    for connection_id, stops_at in _unnotified(candidates)[:limit]:
        try:
            sent += _notify_one(connection_id, stops_at, now)
        except OSError:  # the mail server (smtplib's errors are OSErrors): not recorded, so tried again next run
            logger.warning("reconnect notice not sent", extra={"connectionId": connection_id}, exc_info=True)
    return sent


def _notice_candidates(now: datetime, horizon: datetime) -> list[tuple[int, str, datetime, datetime | None]]:
    """(id, platform, stops_at, date already told) of active connections stopping within (now, horizon]."""
    active = Connection.objects.filter(status=Connection.Status.ACTIVE)
    no_refresh = active.filter(refresh_token="", token_expires_at__gt=now, token_expires_at__lte=horizon).values_list(
        "pk", "platform", "token_expires_at", "reconnect_notice_for"
    )
    fixed_end = [
        platform
        for platform, rule in TOKEN_RULES.items()
        if rule.refresh_ahead is not None and not rule.refresh_renews_refresh_token
    ]
    refresh_ending = (
        active.filter(platform__in=fixed_end, refresh_token_expires_at__gt=now, refresh_token_expires_at__lte=horizon)
        .exclude(refresh_token="")
        .values_list("pk", "platform", "refresh_token_expires_at", "reconnect_notice_for")
    )
    return list(no_refresh) + list(refresh_ending)


def _unnotified(candidates) -> list[tuple[int, datetime]]:
    return sorted(
        ((pk, stops_at) for pk, _, stops_at, told in candidates if told != stops_at),
        key=lambda item: (item[1], item[0]),
    )


def _expiring_gauge(candidates) -> None:
    counts = {platform: 0 for platform in TOKEN_RULES}
    for _, platform, _, _ in candidates:
        counts[platform] = counts.get(platform, 0) + 1
    for platform, count in counts.items():
        metrics.gauge("recovery.tokens.expiring", count, tags={"platform": platform, "window": "7d"})


def _notify_one(connection_id: int, expected_stop: datetime, now: datetime) -> bool:
    """Send one connection's notice unless another run did or its date moved; record it with the mail."""
    with transaction.atomic():
        connection = (
            _with_refresh_flag(Connection.objects.select_for_update(skip_locked=True, of=("self",)))
            .filter(pk=connection_id, status=Connection.Status.ACTIVE)
            .first()
        )
        if connection is None:
            return False
        stops_at = _row_stops_without_user_at(connection, now)
        if stops_at != expected_stop or connection.reconnect_notice_for == stops_at:
            return False
        recipients = send_reconnect_notice(connection, stops_at)
        Connection.objects.filter(pk=connection_id).update(reconnect_notice_for=stops_at)
        ConnectionAudit.objects.create(
            connection_id=connection_id,
            action=ConnectionAudit.Action.EXPIRY_NOTICE,
            actor=ACTOR,
            details={"stops_at": stops_at.isoformat(), "recipients": len(recipients)},
        )
    metrics.increment("recovery.notice.sent", tags={"platform": connection.platform})
    logger.info("reconnect notice sent", extra={"connectionId": connection_id, "recipients": len(recipients)})
    return True
