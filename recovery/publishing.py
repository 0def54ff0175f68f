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
- A post left `publishing` past settings.PUBLISH_LEASE_S lost its job (the
  worker was killed): post_recover_abandoned treats it as an unknown outcome.
- Jobs are enqueued after commit, with ids only (enqueue_post_publish).
"""

from __future__ import annotations

import logging
import random
import threading
from datetime import datetime, timedelta
from enum import Enum

import django_rq
import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from rq import Callback, Retry
from rq.rate_limit import RateLimit
from rq.timeouts import JobTimeoutException

from config.sentry import capture_classified_error, is_escalated
from connections.capabilities import check_post, mark_connection_needs_scopes
from connections.models import Connection, Post
from connections.platforms.base import PartnerError, get_connector, get_connector_class
from recovery.autopause import auto_pause_connection
from recovery.classifier import classify_system_error, decide, should_retry
from recovery.deadletter import JOB_KIND_POST_PUBLISH, dead_letter_create, register_requeue_handler
from recovery.flags import RECOVERY_AUTOPAUSE_ENABLED, flag_is_on_for_tenant
from recovery.policies import get_redis
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
from recovery.taxonomy import ClassifiedError, ErrorCode

logger = logging.getLogger(__name__)

# Last errors after which the partner may have the post: look it up before sending again.
LOOKUP_FIRST_CODES = frozenset({ErrorCode.TIMEOUT.value, ErrorCode.NETWORK_ERROR.value, ErrorCode.UNKNOWN.value})
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


# -- enqueueing -------------------------------------------------------------------

# Dotted paths: recovery.jobs imports this module, not the other way round.
POST_PUBLISH_JOB = "recovery.jobs.post_publish_job"

_queues = threading.local()


def publish_queue():
    """The `publish` queue on the policies' cached Redis client.

    commit_mode="auto": enqueue_post_publish already defers to the commit
    itself (django-rq would defer enqueue() but not enqueue_at()).
    """
    client = get_redis()
    queue = getattr(_queues, "publish", None)
    if queue is None or queue.connection is not client:
        queue = django_rq.get_queue("publish", connection=client, commit_mode="auto")
        _queues.publish = queue
    return queue


def _enqueue_now_or_at(post_id: int, tenant_id: int, at: datetime | None) -> None:
    options = {
        "job_timeout": settings.PUBLISH_JOB_TIMEOUT_S,
        # Tenant isolation: at most N of a tenant's publish jobs queued or running; the
        # rest wait in RQ's rate-limited set, so a tenant's backlog never sits in front
        # of another tenant's posts.
        "rate_limit": RateLimit(key=f"publish:tenant:{tenant_id}", concurrency=settings.PUBLISH_TENANT_CONCURRENCY),
        # Partner failures never raise out of the job (they are classified and scheduled
        # with the classifier's delay); this retries only what escapes it, a database or
        # Redis outage, and the job is idempotent.
        "retry": Retry(max=3, interval=[5, 30, 120]),
        "on_failure": Callback("recovery.jobs.post_publish_failed"),
        "description": f"post_publish(post_id={post_id})",
    }
    queue = publish_queue()
    if at is None or at <= timezone.now():
        queue.enqueue(POST_PUBLISH_JOB, post_id, **options)
    else:
        queue.enqueue_at(at, POST_PUBLISH_JOB, post_id, **options)


def enqueue_post_publish(post_id: int, tenant_id: int, at: datetime | None = None) -> None:
    """Enqueue the post's publish job once the current transaction commits (now, or at `at`)."""
    transaction.on_commit(lambda: _enqueue_now_or_at(post_id, tenant_id, at))


# -- the service -------------------------------------------------------------------


def post_publish(post_id: int) -> Outcome:
    """Run one publish attempt for a post; the job's whole body.

    1. Load the post; do nothing unless it is scheduled and due.
    2. Connection not active: the post waits for the reconnect.
    3. Capability check: a post the account cannot publish fails without a call.
    4. Breaker, usage throttle and token buckets: if any says wait, defer the
       job (same post, later) without counting an attempt.
    5. Claim (scheduled -> publishing, attempts + 1).
    6. Look the post up first if the last attempt's outcome was unknown; else publish.
    7. Act on the outcome: published, retry, pause, dead-letter, escalate, unconfirmed.
    """
    now = timezone.now()
    post = Post.objects.select_related("connection").filter(pk=post_id).first()
    if post is None or post.status != Post.Status.SCHEDULED:
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

    claimed_at = timezone.now()
    claimed = Post.objects.filter(pk=post.pk, status=Post.Status.SCHEDULED, updated_at=post.updated_at).update(
        status=Post.Status.PUBLISHING, attempts=post.attempts + 1, updated_at=claimed_at
    )
    if not claimed:
        if probe:
            breaker_release_probe(connection.pk)
        return Outcome.SKIPPED
    post.status, post.attempts, post.updated_at = Post.Status.PUBLISHING, post.attempts + 1, claimed_at
    return _send(post, connection, claimed_at, breaker_was_closed=not probe)


def _guards(post: Post, connection: Connection) -> tuple[float | None, bool]:
    """(seconds to wait or None, whether this call is the breaker's half-open probe)."""
    breaker = breaker_allow(connection.pk)
    if not breaker.allowed:
        return breaker.wait_s, False
    tokens = take_token(
        post.tenant_id,
        connection.platform,
        block_keys=block_keys_for(connection.platform, connection.external_account_id),
    )
    if not tokens.allowed:
        if breaker.is_probe:
            breaker_release_probe(connection.pk)
        return tokens.wait_s, False
    return None, breaker.state != CLOSED


def _send(post: Post, connection: Connection, claimed_at: datetime, *, breaker_was_closed: bool) -> Outcome:
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
        classified = exc.classify()
        _breaker_outcome(connection, classified, breaker_was_closed)
        return _handle_failure(post, connection, claimed_at, classified)
    except JobTimeoutException:
        # Out of time: the post stays claimed and is recovered once its lease ends.
        raise
    except Exception as exc:  # noqa: BLE001 - every failure is classified; nothing escapes unrecorded
        classified = classify_system_error(exc, platform=connection.platform)
        _breaker_outcome(connection, classified, breaker_was_closed)
        if outcome_unknown(exc):
            return _handle_unknown_outcome(post, connection, connector, claimed_at, classified, exc)
        return _handle_failure(post, connection, claimed_at, classified, exc=exc)
    _breaker_ok(connection, breaker_was_closed)
    return _mark_published(post, claimed_at, result, via="publish")


_usage_hooks: dict[str, object] = {}


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
    logger.info(
        "post published",
        extra={"postId": post.pk, "tenantId": post.tenant_id, "attempts": post.attempts, "via": via},
    )
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
    if is_escalated(classified):  # e.g. a bug of ours around the call: the user decides, and we are told
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
    capture_classified_error(
        classified, tenant_id=post.tenant_id, platform=connection.platform, post_id=post.pk, exc=exc
    )


# -- recovery and the ways back to scheduled -------------------------------------------


def post_recover_abandoned(post_id: int) -> Outcome | None:
    """Take over a post left `publishing` past its lease (its job's worker died); None if it is not one.

    - The partner may have the post: where it offers a lookup, the post goes
      back to scheduled marked TIMEOUT, so the job looks it up before sending
      again; otherwise it becomes unconfirmed and the user decides.
    - An abandoned attempt counts as a TIMEOUT failure: a post whose jobs keep
      dying (one that crashes its worker) stops once TIMEOUT's retries are used
      up and becomes unconfirmed too, instead of taking a worker down forever.
    - The lease (settings.PUBLISH_LEASE_S) exceeds the job timeout, so the job
      that claimed the post cannot still be running.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.PUBLISH_LEASE_S)
    with transaction.atomic():
        post = (
            Post.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("connection")
            .filter(pk=post_id, status=Post.Status.PUBLISHING, updated_at__lt=cutoff)
            .first()
        )
        if post is None:
            return None
        can_look_up = get_connector_class(post.connection.platform).supports_post_lookup
        retries_left = should_retry(ErrorCode.TIMEOUT, post.attempts - 1)
        rows = Post.objects.filter(pk=post.pk)
        if can_look_up and retries_left:
            rows.update(
                status=Post.Status.SCHEDULED,
                next_attempt_at=now,
                last_error_code=ErrorCode.TIMEOUT.value,
                last_error_message=ABANDONED_MESSAGE,
                updated_at=now,
            )
            enqueue_post_publish(post.pk, post.tenant_id)
            outcome = Outcome.RETRY_SCHEDULED
        else:
            rows.update(
                status=Post.Status.UNCONFIRMED,
                last_error_code=ErrorCode.TIMEOUT.value,
                last_error_message=UNCONFIRMED_MESSAGE if not can_look_up else ABANDONED_TOO_OFTEN_MESSAGE,
                next_attempt_at=None,
                updated_at=now,
            )
            outcome = Outcome.UNCONFIRMED
    logger.warning(
        "abandoned publish recovered",
        extra={"postId": post_id, "tenantId": post.tenant_id, "outcome": outcome.value, "claimedAt": str(post.updated_at)},
    )
    return outcome


def posts_release_waiting(connection_id: int) -> list[int]:
    """After a resume: the connection's waiting_reconnect posts go back to scheduled; returns their ids.

    - Posts already due are enqueued once the caller's transaction commits;
      posts whose time has not come are left for the due-post enqueuer.
    - Each gets a fresh set of retries (attempts 0); a last error that means
      "the partner may have it" is kept so the job looks it up first.
    """
    now = timezone.now()
    released = []
    with transaction.atomic():
        posts = list(
            Post.objects.select_for_update()
            .filter(connection_id=connection_id, status=Post.Status.WAITING_RECONNECT)
            .order_by("scheduled_at", "pk")
            .only("pk", "tenant_id", "scheduled_at", "last_error_code")
        )
        for post in posts:
            due = post.scheduled_at <= now
            keep_error = post.last_error_code in LOOKUP_FIRST_CODES
            Post.objects.filter(pk=post.pk).update(
                status=Post.Status.SCHEDULED,
                attempts=0,
                next_attempt_at=now if due else None,
                last_error_code=post.last_error_code if keep_error else "",
                last_error_message=F("last_error_message") if keep_error else "",
                updated_at=now,
            )
            if due:
                enqueue_post_publish(post.pk, post.tenant_id)
            released.append(post.pk)
    if released:
        logger.info("waiting posts released", extra={"connectionId": connection_id, "count": len(released)})
    return released


def post_publish_again(post: Post, actor: str) -> bool:
    """The user says an unconfirmed post did not go out: send it again (no lookup is possible). False if not unconfirmed."""
    now = timezone.now()
    with transaction.atomic():
        updated = Post.objects.filter(pk=post.pk, status=Post.Status.UNCONFIRMED).update(
            status=Post.Status.SCHEDULED,
            attempts=0,
            next_attempt_at=now,
            last_error_code="",
            last_error_message="",
            updated_at=now,
        )
        if updated:
            enqueue_post_publish(post.pk, post.tenant_id)
    if updated:
        logger.info("unconfirmed post sent again", extra={"postId": post.pk, "actor": actor})
    return bool(updated)


def post_confirm_published(post: Post, actor: str) -> bool:
    """The user says an unconfirmed post is on the partner: mark it published. False if not unconfirmed."""
    now = timezone.now()
    updated = Post.objects.filter(pk=post.pk, status=Post.Status.UNCONFIRMED).update(
        status=Post.Status.PUBLISHED,
        published_at=now,
        last_error_code="",
        last_error_message="",
        updated_at=now,
    )
    if updated:
        logger.info("unconfirmed post confirmed published", extra={"postId": post.pk, "actor": actor})
    return bool(updated)


def _requeue_post_publish(letter) -> None:
    """dead_letter_requeue's handler: the dead post goes back to scheduled, with a fresh set of retries."""
    now = timezone.now()
    updated = Post.objects.filter(pk=letter.post_id, status=Post.Status.DEAD).update(
        status=Post.Status.SCHEDULED, attempts=0, next_attempt_at=now, updated_at=now
    )
    if updated:
        enqueue_post_publish(letter.post_id, letter.tenant_id)


register_requeue_handler(JOB_KIND_POST_PUBLISH, _requeue_post_publish)
