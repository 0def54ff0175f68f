"""The publish pipeline: a post's state machine and the service that moves it.

States (Post.status) and who moves a post between them:

    scheduled --claim--> publishing --> published
      |   ^                  |--> scheduled          retry at next_attempt_at (classifier's delay)
      |   |                  |--> waiting_reconnect  channel paused (auth, permission...), auto-pause on
      |   |                  |--> dead               + DeadLetter: not retryable, or out of retries
      |   |                  '--> unconfirmed        sent, no answer, and the partner has no lookup
      |   |- deferred: bucket empty, breaker open, usage throttle (stays scheduled; not an attempt)
      |   '- posts_release_waiting (resume), dead_letter_requeue, post_publish_again (the user)
      |--> waiting_reconnect  the connection is not active when the job runs
      '--> dead               the capability check refuses the post

Rules:
- Nothing is sent without the claim: a conditional UPDATE from `scheduled`,
  fenced by the row's updated_at as loaded, so of two jobs for one post only
  one publishes; the other does nothing. Every later write is fenced by the
  claim's own timestamp, so a job that lost its claim (taken over after its
  lease) cannot overwrite the outcome.
- `attempts` counts partner calls (claims), so deferrals never use up retries.
- Outcome unknown (sent, no answer): the partner is asked whether the post
  exists, where it has a lookup; a post whose last error was one of
  LOOKUP_FIRST_CODES is looked up before it is sent again. Without a lookup
  the post becomes `unconfirmed` and the user decides.
- A post whose publish job lost its worker (SIGKILL, OOM, a machine gone)
  is treated as an unknown outcome by post_recover_abandoned: within seconds
  when the job's heartbeat runs out (recovery.publish_queue.publish_jobs_fail_abandoned),
  and as a backstop once it has been `publishing` past settings.PUBLISH_LEASE_S.
- Jobs are enqueued after commit, with ids only (enqueue_post_publish).

Observability: every line of an attempt carries postId, tenantId, connectionId,
platform (and errorCode once a failure is classified); each attempt ends with one
"publish attempt" line (outcome, latency_ms) and recovery.publish.outcome; a
publication sends recovery.publish.lateness; deferrals recovery.ratelimit.deferred.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import datetime, timedelta
from enum import Enum

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rq.timeouts import JobTimeoutException

from config.logs import bind
from config.metrics import metrics
from connections.capabilities import check_post
from connections.models import Connection, Post
from connections.platforms.base import PartnerError, get_connector, get_connector_class
from recovery.autopause import auto_pause_connection, mark_connection_needs_scopes
from recovery.classifier import decide, should_retry
from recovery.deadletter import JOB_KIND_POST_PUBLISH, dead_letter_create, dead_letters_mark_recovered
from recovery.escalation import escalate
from recovery.failure_events import Decision, Source, failure_event_deferred, failure_event_record
from recovery.failures import classify_failure
from recovery.flags import RECOVERY_AUTOPAUSE_ENABLED, flag_is_on_for_tenant
from recovery.policies.circuit_breaker import (
    CLOSED,
    breaker_allow,
    breaker_record,
    breaker_release_probe,
    counts_as_partner_down,
)
from recovery.policies.rate_limit import take_token
from recovery.policies.usage_throttle import (
    USAGE_REPORTING_PLATFORMS,
    block_account,
    block_keys_for,
    record_usage,
)
from recovery.posts import LOOKUP_FIRST_CODES, post_claim
from recovery.publish_queue import enqueue_post_publish, enqueue_post_recover, post_publish_running
from recovery.taxonomy import ClassifiedError, ErrorCode
from recovery.token_upkeep import renew_after_auth_failure

logger = logging.getLogger(__name__)

# Codes after which the partner's account is held for the retry delay (usage_throttle).
THROTTLE_CODES = frozenset({ErrorCode.RATE_LIMIT_429, ErrorCode.QUOTA_EXCEEDED})
# RQ scheduler precision is 1 s; a job may start a moment before the planned time in the database's clock.
DUE_SLACK = timedelta(seconds=2)
# What the user reads on the posts page (Post.last_error_message) when a publish's outcome is unknown.
ABANDONED_MESSAGE = "Sending this post was interrupted; we check with the partner before sending it again."
ABANDONED_TOO_OFTEN_MESSAGE = (
    "Sending this post was interrupted several times before the partner answered, so we stopped trying and "
    "cannot tell whether it arrived."
)
UNCONFIRMED_MESSAGE = (
    "We sent this post, but the partner did not answer and offers no way for us to check whether it arrived."
)


class Outcome(str, Enum):
    PUBLISHED = "published"
    RETRY_SCHEDULED = "retry_scheduled"
    DEFERRED = "deferred"
    WAITING_RECONNECT = "waiting_reconnect"
    DEAD = "dead"
    UNCONFIRMED = "unconfirmed"
    SKIPPED = "skipped"  # not scheduled, not due, or the claim was lost: a duplicate or stale job


# -- the service -------------------------------------------------------------------


def post_publish(post_id: int) -> Outcome:
    """Run one publish attempt for a post; the job's whole body.

    1. Load the post; do nothing unless it is scheduled and due.
    2. Connection not active: the post waits for the reconnect.
    3. Capability check: a post the account cannot publish fails without a call.
    4. Breaker, usage throttle and token buckets: if any says wait, defer the
       job (same post, later) without counting an attempt.
    5. Claim (scheduled -> publishing, attempts + 1).
    6. Look the post up first if the last attempt's outcome was unknown; else publish. An expired
       token with a usable refresh token is refreshed once and the call made again at once.
    7. Act on the outcome: published, retry, pause, dead-letter, escalate, unconfirmed.
    """
    started = time.monotonic()
    post = Post.objects.select_related("connection").filter(pk=post_id).first()
    if post is None:
        return Outcome.SKIPPED
    bind(postId=post.pk, tenantId=post.tenant_id, connectionId=post.connection_id, platform=post.connection.platform)
    outcome = _attempt(post)
    latency_ms = round((time.monotonic() - started) * 1000)
    logger.info("publish attempt", extra={"outcome": outcome.value, "attempts": post.attempts, "latency_ms": latency_ms})
    metrics.increment("recovery.publish.outcome", tags={"platform": post.connection.platform, "outcome": outcome.value})
    return outcome


def _attempt(post: Post) -> Outcome:
    """Steps 1-7 of post_publish for the loaded post."""
    now = timezone.now()
    if post.status != Post.Status.SCHEDULED:
        return Outcome.SKIPPED
    if post.scheduled_at > now + DUE_SLACK or (post.next_attempt_at and post.next_attempt_at > now + DUE_SLACK):
        return Outcome.SKIPPED
    connection = post.connection

    if connection.status != Connection.Status.ACTIVE:
        return _wait_for_reconnect_unclaimed(post)

    problem = check_post(post, connection)
    if problem is not None:
        return _fail_unclaimed(post, problem)

    wait_s, probe = _guards(post, connection)
    if wait_s is not None:
        return _defer(post, wait_s)

    claimed_at = post_claim(post)
    if claimed_at is None:
        if probe:
            breaker_release_probe(connection.pk)
        return Outcome.SKIPPED
    return _send(post, connection, claimed_at, breaker_was_closed=not probe)


def _guards(post: Post, connection: Connection) -> tuple[float | None, bool]:
    """(seconds to wait or None, whether this call is the breaker's half-open probe)."""
    breaker = breaker_allow(connection.pk)
    if not breaker.allowed:
        metrics.increment("recovery.ratelimit.deferred", tags={"platform": connection.platform, "reason": "breaker"})
        failure_event_deferred("breaker", connection=connection, post=post)
        return breaker.wait_s, False
    tokens = take_token(
        post.tenant_id,
        connection.platform,
        block_keys=block_keys_for(connection.platform, connection.external_account_id),
    )
    if not tokens.allowed:
        if breaker.is_probe:
            breaker_release_probe(connection.pk)
        metrics.increment("recovery.ratelimit.deferred", tags={"platform": connection.platform, "reason": "rate_limit"})
        failure_event_deferred("rate_limit", connection=connection, post=post)
        return tokens.wait_s, False
    return None, breaker.state != CLOSED


def _send(
    post: Post, connection: Connection, claimed_at: datetime, *, breaker_was_closed: bool, renewed: bool = False
) -> Outcome:
    connector = get_connector(connection)
    _watch_usage(connector)
    try:
        if post.last_error_code in LOOKUP_FIRST_CODES and connector.supports_post_lookup:
            found = connector.find_published(post)
            if found is not None:
                _breaker_ok(connection, breaker_was_closed)
                return _mark_published(post, claimed_at, found, via="lookup")
        result = connector.publish(post)
    except PartnerError as exc:
        classified = classify_failure(exc, connection.platform)
        # An expired token with a usable refresh token: refresh once (recovery.token_upkeep) and send again
        # at once under the same claim; a refused refresh pauses, a transient one is retried later.
        renewal = None if renewed else renew_after_auth_failure(connection, classified)
        if renewal is not None and renewal.connection is not None:
            return _send(post, renewal.connection, claimed_at, breaker_was_closed=breaker_was_closed, renewed=True)
        if renewal is not None:
            classified = renewal.failure
        bind(errorCode=classified.code.value)
        _breaker_outcome(connection, classified, breaker_was_closed)
        return _handle_failure(post, connection, claimed_at, classified)
    except JobTimeoutException:
        # Out of time: the post stays claimed and is recovered once its lease ends.
        raise
    except Exception as exc:  # noqa: BLE001 - every failure is classified; nothing escapes unrecorded
        classified = classify_failure(exc, connection.platform)
        bind(errorCode=classified.code.value)
        _breaker_outcome(connection, classified, breaker_was_closed)
        if outcome_unknown(exc):
            return _handle_unknown_outcome(post, connection, connector, claimed_at, classified, exc)
        return _handle_failure(post, connection, claimed_at, classified, exc=exc)
    _breaker_ok(connection, breaker_was_closed)
    return _mark_published(post, claimed_at, result, via="publish")


_usage_hooks: dict[str, object] = {}
_usage_hooks_lock = threading.Lock()


def _watch_usage(connector) -> None:
    """Feed every answer of this partner's Session to the usage throttle (Meta reports usage on successes too).

    A requests response hook: the connectors need not know about it, and every
    call of a publish (page token, feed, container polls) counts, not only the last.
    """
    platform = connector.platform
    if platform not in USAGE_REPORTING_PLATFORMS:
        return
    hook = _usage_hooks.get(platform)
    if hook is None:

        def hook(response, *args, _platform=platform, **kwargs):
            record_usage(_platform, response.headers)

        _usage_hooks[platform] = hook
    hooks = type(connector).session().hooks["response"]
    with _usage_hooks_lock:  # worker threads share the Session: one hook, not one per thread
        if hook not in hooks:
            hooks.append(hook)


def outcome_unknown(exc: BaseException) -> bool:
    """Whether the request may have reached the partner although no answer came back.

    Not sent: connect timeout, refused, DNS, TLS handshake. Unknown: read
    timeout, reset or disconnect after sending, a broken response, and any
    exception of our own code around the call (it may have come after the send).
    """
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.SSLError, requests.exceptions.InvalidURL)):
        return False
    if isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.ReadTimeout):
        text = repr(exc).lower()
        never_sent = (
            "newconnectionerror",
            "failed to establish a new connection",
            "connection refused",
            "name or service not known",
            "nameresolutionerror",
            "temporary failure in name resolution",
            "no route to host",
        )
        return not any(marker in text for marker in never_sent)
    return True


# -- outcomes ------------------------------------------------------------------------


def _fenced(post: Post, claimed_at: datetime):
    """The post row, only while this job still holds its claim."""
    return Post.objects.filter(pk=post.pk, status=Post.Status.PUBLISHING, updated_at=claimed_at)


def _lost_claim(post: Post) -> Outcome:
    logger.warning("publish outcome not written: the post changed meanwhile", extra={"postId": post.pk})
    return Outcome.SKIPPED


def _mark_published(post: Post, claimed_at: datetime, result, via: str) -> Outcome:
    now = timezone.now()
    updated = _fenced(post, claimed_at).update(
        status=Post.Status.PUBLISHED,
        partner_post_id=(result.partner_post_id or "")[:200],
        published_at=now,
        next_attempt_at=None,
        last_error_code="",
        last_error_message="",
        updated_at=now,
    )
    if not updated:
        return _lost_claim(post)
    if post.last_error_code:  # it failed before: a dead letter it was requeued from is now recovered
        dead_letters_mark_recovered(post.pk, now)
    logger.info(
        "post published",
        extra={"postId": post.pk, "tenantId": post.tenant_id, "attempts": post.attempts, "via": via},
    )
    lateness_ms = max((now - post.scheduled_at).total_seconds() * 1000, 0.0)
    metrics.timing("recovery.publish.lateness", lateness_ms, tags={"platform": post.connection.platform})
    return Outcome.PUBLISHED


def _handle_unknown_outcome(post, connection, connector, claimed_at, classified: ClassifiedError, exc) -> Outcome:
    """Sent, no answer: ask the partner if it can tell; otherwise the user decides."""
    if connector.supports_post_lookup:
        try:
            found = connector.find_published(post)
        except JobTimeoutException:
            raise
        except Exception:  # noqa: BLE001 - the retry looks again before it sends
            logger.warning("post lookup failed after an unknown outcome", extra={"postId": post.pk}, exc_info=True)
            found = None
        if found is not None:
            return _mark_published(post, claimed_at, found, via="lookup")
        # Not there (or the partner could not tell): retry as classified; the retry
        # looks the post up again before it sends (LOOKUP_FIRST_CODES).
        return _handle_failure(post, connection, claimed_at, classified, exc=exc)
    if classified.escalates:  # e.g. a bug of ours around the call: the user decides, and we are told
        _escalate(post, connection, classified, exc)
    now = timezone.now()
    updated = _fenced(post, claimed_at).update(
        status=Post.Status.UNCONFIRMED,
        last_error_code=classified.code.value,
        last_error_message=UNCONFIRMED_MESSAGE,
        next_attempt_at=None,
        updated_at=now,
    )
    if not updated:
        return _lost_claim(post)
    failure_event_record(Source.PUBLISH, Decision.UNCONFIRMED, classified, connection=connection, post=post)
    logger.warning(
        "publish outcome unknown, no lookup: unconfirmed",
        extra={"postId": post.pk, "tenantId": post.tenant_id, "platform": connection.platform},
    )
    return Outcome.UNCONFIRMED


def post_apply_failure(post_id: int, classified: ClassifiedError) -> Outcome:
    """Apply a classified failure to a post being published, exactly as the publish job does.

    For failures learned outside the job (a partner's asynchronous publish
    status) and for tools; SKIPPED unless the post is `publishing`. Its
    `attempts` must count the failed call (the claim does that).
    - pausing code, auto-pause on: channel paused, post waiting_reconnect;
    - retryable with retries left: scheduled again after the classifier's delay;
    - otherwise (not retryable, out of retries, or pausing without auto-pause):
      dead, with its DeadLetter; escalated codes are also reported to Sentry.
    """
    post = Post.objects.select_related("connection").filter(pk=post_id, status=Post.Status.PUBLISHING).first()
    if post is None:
        return Outcome.SKIPPED
    return _handle_failure(post, post.connection, post.updated_at, classified)


def _handle_failure(post, connection, claimed_at, classified: ClassifiedError, exc=None) -> Outcome:
    # The classifier counts failures before this one; post.attempts counts this call too.
    decision = decide(classified, post.attempts - 1)
    if decision.escalate:
        _escalate(post, connection, classified, exc)
    if classified.code in THROTTLE_CODES and decision.delay_s:
        block_account(connection.platform, connection.external_account_id, decision.delay_s, classified.code.value)
    if decision.pause and flag_is_on_for_tenant(RECOVERY_AUTOPAUSE_ENABLED, post.tenant_id):
        return _pause_and_wait(post, _fenced(post, claimed_at), classified)
    if decision.retry:
        return _schedule_retry(post, claimed_at, classified, decision.delay_s)
    # Not retryable and not pausing, out of retries, or pausing for a tenant without auto-pause.
    return _dead_letter(post, _fenced(post, claimed_at), classified)


def _schedule_retry(post: Post, claimed_at: datetime, classified: ClassifiedError, delay_s: float) -> Outcome:
    now = timezone.now()
    at = now + timedelta(seconds=max(delay_s, 0))
    with transaction.atomic():
        updated = _fenced(post, claimed_at).update(
            status=Post.Status.SCHEDULED,
            next_attempt_at=at,
            last_error_code=classified.code.value,
            last_error_message=_message(classified),
            updated_at=now,
        )
        if not updated:
            return _lost_claim(post)
        failure_event_record(Source.PUBLISH, Decision.RETRY, classified, connection=post.connection, post=post)
        enqueue_post_publish(post.pk, post.tenant_id, at=at)
    logger.info(
        "publish retry scheduled",
        extra={
            "postId": post.pk,
            "tenantId": post.tenant_id,
            "errorCode": classified.code.value,
            "attempts": post.attempts,
            "delay_s": round(delay_s, 1),
        },
    )
    return Outcome.RETRY_SCHEDULED


def _pause_and_wait(post: Post, rows, classified: ClassifiedError) -> Outcome:
    """The post waits for the reconnect and its channel is paused, in one transaction (`rows`: the fenced post)."""
    with transaction.atomic():
        updated = rows.update(
            status=Post.Status.WAITING_RECONNECT,
            last_error_code=classified.code.value,
            last_error_message=_message(classified),
            next_attempt_at=None,
            updated_at=timezone.now(),
        )
        if not updated:
            return _lost_claim(post)
        failure_event_record(Source.PUBLISH, Decision.PAUSE, classified, connection=post.connection, post=post)
        _pause_connection(post.connection, classified, post.pk)
    return Outcome.WAITING_RECONNECT


def _pause_connection(connection: Connection, classified: ClassifiedError, post_id: int) -> None:
    details = {"post_id": post_id, "partner_code": classified.partner_code, "http_status": classified.http_status}
    if classified.code == ErrorCode.PERMISSION_INSUFFICIENT and classified.missing_scopes:
        mark_connection_needs_scopes(connection, classified.missing_scopes, post_id=post_id)
    else:
        auto_pause_connection(connection.tenant_id, connection.pk, classified, actor="system", extra_details=details)


def _dead_letter(post: Post, rows, classified: ClassifiedError) -> Outcome:
    now = timezone.now()
    with transaction.atomic():
        updated = rows.update(
            status=Post.Status.DEAD,
            last_error_code=classified.code.value,
            last_error_message=_message(classified),
            next_attempt_at=None,
            updated_at=now,
        )
        if not updated:
            return _lost_claim(post)
        failure_event_record(Source.PUBLISH, Decision.DEAD_LETTER, classified, connection=post.connection, post=post)
        dead_letter_create(
            job_kind=JOB_KIND_POST_PUBLISH,
            payload={"post_id": post.pk},
            tenant_id=post.tenant_id,
            connection_id=post.connection_id,
            post_id=post.pk,
            platform=post.connection.platform,
            classification=classified,
            attempts=post.attempts,
            failed_at=now,
        )
    return Outcome.DEAD


def _wait_for_reconnect_unclaimed(post: Post) -> Outcome:
    updated = Post.objects.filter(pk=post.pk, status=Post.Status.SCHEDULED, updated_at=post.updated_at).update(
        status=Post.Status.WAITING_RECONNECT, next_attempt_at=None, updated_at=timezone.now()
    )
    return Outcome.WAITING_RECONNECT if updated else Outcome.SKIPPED


def _fail_unclaimed(post: Post, classified: ClassifiedError) -> Outcome:
    """The capability check refused the post: no partner call, so no attempt and no retry."""
    rows = Post.objects.filter(pk=post.pk, status=Post.Status.SCHEDULED, updated_at=post.updated_at)
    if classified.pauses_channel and flag_is_on_for_tenant(RECOVERY_AUTOPAUSE_ENABLED, post.tenant_id):
        return _pause_and_wait(post, rows, classified)
    return _dead_letter(post, rows, classified)


def _defer(post: Post, wait_s: float) -> Outcome:
    """Run the same post later; not an attempt. Jitter spreads a crowd of deferred jobs."""
    now = timezone.now()
    at = now + timedelta(seconds=wait_s + random.uniform(0, max(1.0, wait_s * 0.2)))
    with transaction.atomic():
        updated = Post.objects.filter(pk=post.pk, status=Post.Status.SCHEDULED, updated_at=post.updated_at).update(
            next_attempt_at=at, updated_at=now
        )
        if not updated:
            return Outcome.SKIPPED
        enqueue_post_publish(post.pk, post.tenant_id, at=at)
    return Outcome.DEFERRED


def _message(classified: ClassifiedError) -> str:
    return (classified.partner_message or classified.entry.description)[:500]


def _breaker_ok(connection: Connection, breaker_was_closed: bool) -> None:
    # A closed breaker has nothing to learn from a success: skip the round trip.
    if not breaker_was_closed:
        breaker_record(connection.pk, partner_down=False)


def _breaker_outcome(connection: Connection, classified: ClassifiedError, breaker_was_closed: bool) -> None:
    if counts_as_partner_down(classified.code):
        breaker_record(connection.pk, partner_down=True)
    else:
        _breaker_ok(connection, breaker_was_closed)


def _escalate(post: Post, connection: Connection, classified: ClassifiedError, exc) -> None:
    escalate(classified, tenant_id=post.tenant_id, platform=connection.platform, post_id=post.pk, exc=exc)


# -- recovery and the ways back to scheduled -------------------------------------------


def post_recover_when_lease_ends(post_id: int) -> None:
    """After a publish job failed or was found abandoned: recover its post if it was left `publishing`.

    Now if its lease has already ended (post_recover_abandoned, which does nothing
    for a post that is not stuck), else by a recovery job planned for that moment.
    """
    post = Post.objects.filter(pk=post_id, status=Post.Status.PUBLISHING).only("updated_at").first()
    if post is None:
        return
    due = post.updated_at + timedelta(seconds=settings.PUBLISH_LEASE_S + 1)
    if due <= timezone.now():
        post_recover_abandoned(post_id)
    else:
        enqueue_post_recover(post_id, due)


class Abandoned(str, Enum):
    """How a post's publish was found abandoned (the `reason` of recovery.publish.abandoned)."""

    WORKER_DIED = "worker_died"  # its job's heartbeat ran out: no process runs it any more
    LEASE_EXPIRED = "lease_expired"  # `publishing` past PUBLISH_LEASE_S (the sweep's backstop)


def post_recover_abandoned(post_id: int, reason: Abandoned = Abandoned.LEASE_EXPIRED) -> Outcome | None:
    """Take over a post left `publishing` by a job whose worker died; None if it is not one.

    - Which posts: LEASE_EXPIRED, one `publishing` past its lease
      (settings.PUBLISH_LEASE_S exceeds the longest a job can run, so the job
      that claimed it cannot still be running); WORKER_DIED, one whose job's
      heartbeat ran out (RQ found it abandoned) and that no other publish job
      with a live heartbeat is running: every job that claims a post runs with
      a live heartbeat until it ends, and a `publishing` post cannot be claimed
      again, so then no process can still write its outcome.
    - The partner may have the post: where it offers a lookup, the post goes
      back to scheduled marked TIMEOUT, so the job looks it up before sending
      again; otherwise it becomes unconfirmed and the user decides. After a
      dead worker, the lookup waits a partner read timeout
      (PARTNER_READ_TIMEOUT_S), as long as the dead worker's last request could
      still land, as it would have after a read timeout of its own.
    - An abandoned attempt counts as a TIMEOUT failure: a post whose jobs keep
      dying (one that crashes its worker) stops once TIMEOUT's retries are used
      up and becomes unconfirmed too, instead of taking a worker down forever.
    - Counted in recovery.publish.abandoned (platform, reason, outcome).
    """
    now = timezone.now()
    with transaction.atomic():
        rows = Post.objects.select_for_update(skip_locked=True, of=("self",)).select_related("connection")
        rows = rows.filter(pk=post_id, status=Post.Status.PUBLISHING)
        if reason == Abandoned.LEASE_EXPIRED:
            rows = rows.filter(updated_at__lt=now - timedelta(seconds=settings.PUBLISH_LEASE_S))
        post = rows.first()
        if post is None or (reason == Abandoned.WORKER_DIED and post_publish_running(post_id)):
            return None
        can_look_up = get_connector_class(post.connection.platform).supports_post_lookup
        retries_left = should_retry(ErrorCode.TIMEOUT, post.attempts - 1)
        rows = Post.objects.filter(pk=post.pk)
        if can_look_up and retries_left:
            at = now
            if reason == Abandoned.WORKER_DIED:
                at = now + timedelta(seconds=settings.PARTNER_READ_TIMEOUT_S)
            rows.update(
                status=Post.Status.SCHEDULED,
                next_attempt_at=at,
                last_error_code=ErrorCode.TIMEOUT.value,
                last_error_message=ABANDONED_MESSAGE,
                updated_at=now,
            )
            enqueue_post_publish(post.pk, post.tenant_id, at=at if at > now else None)
            failure_event_record(Source.PUBLISH, Decision.RETRY, ErrorCode.TIMEOUT, connection=post.connection, post=post)
            outcome = Outcome.RETRY_SCHEDULED
        else:
            rows.update(
                status=Post.Status.UNCONFIRMED,
                last_error_code=ErrorCode.TIMEOUT.value,
                last_error_message=UNCONFIRMED_MESSAGE if not can_look_up else ABANDONED_TOO_OFTEN_MESSAGE,
                next_attempt_at=None,
                updated_at=now,
            )
            failure_event_record(Source.PUBLISH, Decision.UNCONFIRMED, ErrorCode.TIMEOUT, connection=post.connection, post=post)
            outcome = Outcome.UNCONFIRMED
    logger.warning(
        "abandoned publish recovered",
        extra={"postId": post_id, "tenantId": post.tenant_id, "outcome": outcome.value, "claimedAt": str(post.updated_at),
               "reason": reason.value},
    )
    metrics.increment(
        "recovery.publish.abandoned",
        tags={"platform": post.connection.platform, "reason": reason.value, "outcome": outcome.value},
    )
    return outcome
