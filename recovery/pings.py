"""Synthetic pings: every active connection is checked with its partner's cheapest authenticated
call every PING_MIN_INTERVAL_S to PING_MAX_INTERVAL_S (3 to 6 hours), so a broken channel is
found before a post fails.

Scheduling (`pings_enqueue_due`, a cron tick every PING_TICK_INTERVAL_S):
- Each connection has a PingSchedule row (its `next_ping_at`), made with it by
  connection_create and due at once; a resumed connection is due at the next tick
  (recovery.autopause.resume_connection).
- A tick takes due schedules oldest first, PING_TICK_BATCH at a time and at most PING_TICK_LIMIT,
  through ping_schedule_due_idx, so its cost follows the number due, not the number of
  connections. Each batch is one statement that locks the due rows with SKIP LOCKED and moves
  their `next_ping_at` to a uniformly random point of the interval: an overlapping tick or a
  second cron process takes other rows, never the same ones, and pings never come in waves.
- Jobs (ids only) go on the `pings` queue after the batch commits, for active connections of
  tenants with SYNTHETIC_PINGS_ENABLED; the others' schedules are moved on without a job, and
  looked at again an interval later (paused, revoked and inactive connections are never pinged).
- After the workers or cron were down, the overdue connections come first; the backlog is worked
  off within the partners' limits: each ping takes a token from the pipeline's buckets
  (recovery.policies.rate_limit) and waits for one when they are empty.

A ping (`connection_ping`, the job's body):
- Paused, revoked and inactive connections are not pinged, nor those of a tenant without the flag.
- An expired token with a usable refresh token is refreshed once and the ping made again
  (recovery.token_upkeep.renew_after_auth_failure).
- Success records `last_ping_at` and makes the connection healthy; after failures, a `ping_ok`
  audit row says it recovered.
- A failure is classified (recovery.failures) and decided as a publish's would be
  (recovery.classifier.decide): a code that pauses the channel pauses it (auto-pause on; else
  the connection is marked critical and stays active); any other failure is a warning, retried
  by the next ping, and critical after PING_CRITICAL_AFTER in a row; each writes a `ping_failed`
  audit row; escalated codes go to Sentry.
- Pings stay out of the circuit breaker: its half-open probe belongs to the publishes.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
from datetime import datetime, timedelta
from enum import Enum

import django_rq
from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone
from rq.timeouts import JobTimeoutException

from config.metrics import metrics
from connections.models import Connection, ConnectionAudit, PingSchedule
from connections.platforms.base import get_connector
from recovery.autopause import pause_for_failure
from recovery.classifier import decide
from recovery.escalation import escalate
from recovery.failure_events import Decision, Source, failure_event_record
from recovery.failures import classify_failure
from recovery.flags import RECOVERY_AUTOPAUSE_ENABLED, SYNTHETIC_PINGS_ENABLED, flag_is_on_for_tenant, flag_tenants_on
from recovery.policies import get_redis
from recovery.policies.rate_limit import take_token
from recovery.policies.usage_throttle import block_keys_for
from recovery.taxonomy import ClassifiedError
from recovery.token_upkeep import renew_after_auth_failure

logger = logging.getLogger(__name__)

# Dotted path: the jobs module (an interface) imports the services, never the other way round.
CONNECTION_PING_JOB = "recovery.jobs.connection_ping_job"
PING_QUEUE = "pings"


class PingOutcome(str, Enum):
    OK = "ok"
    FAILED = "failed"  # warning or critical, retried by the next ping
    PAUSED = "paused"
    DEFERRED = "deferred"  # a token bucket or usage hold said wait: the same ping runs later
    SKIPPED = "skipped"  # not active, gone, or the tenant's flag is off


def next_ping_delay() -> timedelta:
    """A uniformly random time in [PING_MIN_INTERVAL_S, PING_MAX_INTERVAL_S]."""
    return timedelta(seconds=random.uniform(settings.PING_MIN_INTERVAL_S, settings.PING_MAX_INTERVAL_S))


# -- the tick -------------------------------------------------------------------------


def pings_enqueue_due(*, batch: int | None = None, limit: int | None = None) -> int:
    """Cron: enqueue a ping job for each due connection of a tenant with pings on; returns how many jobs.

    Rules in the module docstring. A batch that finds fewer rows than it asked for ends the tick.
    A batch's jobs are enqueued once it commits, by a thread, while the next batch is claimed (_Enqueuer).
    """
    batch = batch or settings.PING_TICK_BATCH
    limit = limit or settings.PING_TICK_LIMIT
    taken = enqueued = 0
    with _Enqueuer() as enqueuer:
        while taken < limit:
            size = min(batch, limit - taken)
            with transaction.atomic():
                rows = _claim_due(timezone.now(), size)
                active = [(pk, tenant_id) for pk, tenant_id, status in rows if status == Connection.Status.ACTIVE]
                on = flag_tenants_on(SYNTHETIC_PINGS_ENABLED, {tenant_id for _, tenant_id in active}) if active else set()
                ids = [pk for pk, tenant_id in active if tenant_id in on]
                if ids:
                    transaction.on_commit(lambda ids=ids: enqueuer.put(ids))
                enqueued += len(ids)
            taken += len(rows)
            if len(rows) < size:
                break
    if taken:
        metrics.increment("recovery.ping.enqueued", enqueued)
        logger.info("pings enqueued", extra={"due": taken, "enqueued": enqueued})
    return enqueued


class _Enqueuer:
    """Puts each committed batch's ping jobs on the `pings` queue from one thread, while the tick claims the next.

    Why a thread: at a million connections, half of a tick is the claims (waiting on PostgreSQL) and
    half is RQ building each job in Python; overlapped, a tick takes about the larger half
    (bench/bench_pings.py). The thread starts with the first batch; the tick waits for it at the end
    and raises what it raised (the batches after a failure are not enqueued: their connections are
    pinged at their next time).
    """

    def __init__(self):
        self._batches: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def put(self, connection_ids: list[int]) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ping-enqueuer", daemon=True)
            self._thread.start()
        self._batches.put(connection_ids)

    def _run(self) -> None:
        while (connection_ids := self._batches.get()) is not None:
            if self._error is None:
                try:
                    enqueue_pings(connection_ids)
                except BaseException as exc:  # noqa: BLE001 - handed to the tick, which raises it
                    self._error = exc

    def __enter__(self) -> "_Enqueuer":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if self._thread is not None:
            self._batches.put(None)
            self._thread.join()
        if self._error is not None and exc_type is None:
            raise self._error


def _claim_due(now: datetime, size: int) -> list[tuple[int, int, str]]:
    """Lock up to `size` due schedules (SKIP LOCKED), oldest due first, and move each one's next ping to
    a random point of the interval; returns their connections' (id, tenant_id, status).

    Rows of connections that are not active move on too, so a paused connection costs one claim an
    interval instead of sitting at the head of the index (a resume makes it due at once).
    One statement on PostgreSQL (the tick's database cost at a million connections is in these); on
    SQLite (the local run: a handful of rows, one cron) the same in a select and an update a row.
    """
    low, spread = settings.PING_MIN_INTERVAL_S, settings.PING_MAX_INTERVAL_S - settings.PING_MIN_INTERVAL_S
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [now, size, now, low, spread])
            return cursor.fetchall()
    rows = list(
        PingSchedule.objects.select_for_update(skip_locked=True)
        .filter(next_ping_at__lte=now)
        .order_by("next_ping_at", "connection_id")
        .values_list("connection_id", "connection__tenant_id", "connection__status")[:size]
    )
    for connection_id, _, _ in rows:
        PingSchedule.objects.filter(connection_id=connection_id).update(next_ping_at=now + next_ping_delay())
    return rows


def _claim_sql() -> str:
    schedules, connections = PingSchedule._meta.db_table, Connection._meta.db_table
    return (
        f'WITH due AS (SELECT "connection_id" FROM "{schedules}" WHERE "next_ping_at" <= %s '
        f'ORDER BY "next_ping_at" LIMIT %s FOR UPDATE SKIP LOCKED), '
        f'moved AS (UPDATE "{schedules}" AS s SET "next_ping_at" = %s + make_interval(secs => %s + random() * %s) '
        'FROM due WHERE s."connection_id" = due."connection_id" RETURNING s."connection_id") '
        f'SELECT c."id", c."tenant_id", c."status" FROM moved JOIN "{connections}" AS c ON c."id" = moved."connection_id"'
    )


_CLAIM_SQL = _claim_sql()


def _ping_queue():
    return django_rq.get_queue(PING_QUEUE, connection=get_redis(), commit_mode="auto")


def _job_options(connection_id: int) -> dict:
    return {
        "timeout": settings.PING_JOB_TIMEOUT_S,
        # The outcome is in Postgres (the row, its audit); a million results a day need not sit in Redis.
        "result_ttl": 0,
        "description": f"connection_ping(connection_id={connection_id})",
    }


def enqueue_pings(connection_ids: list[int]) -> None:
    """Put a ping job for each connection on the `pings` queue, in one Redis round trip."""
    queue = _ping_queue()
    with queue.connection.pipeline() as pipe:
        queue.enqueue_many(
            [queue.prepare_data(CONNECTION_PING_JOB, args=(pk,), **_job_options(pk)) for pk in connection_ids],
            pipeline=pipe,
        )
        pipe.execute()


def _defer(connection_id: int, wait_s: float) -> None:
    """The same ping later: a bucket is empty or the account is held. Jitter spreads a backlog's retries."""
    at = timezone.now() + timedelta(seconds=wait_s + random.uniform(0, max(1.0, wait_s * 0.2)))
    options = _job_options(connection_id)
    _ping_queue().enqueue_at(
        at,
        CONNECTION_PING_JOB,
        connection_id,
        job_timeout=options["timeout"],
        result_ttl=options["result_ttl"],
        description=options["description"],
    )


def connection_schedule_ping(connection_id: int, at: datetime) -> None:
    """Plan the connection's next ping for `at` (the scheduler's first tick after it enqueues it)."""
    PingSchedule.objects.update_or_create(connection_id=connection_id, defaults={"next_ping_at": at})


# -- one ping -------------------------------------------------------------------------------


def connection_ping(connection_id: int) -> PingOutcome:
    """Ping one connection and act on the answer; the ping job's whole body (rules in the module docstring)."""
    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None or connection.status != Connection.Status.ACTIVE:
        return PingOutcome.SKIPPED
    if not flag_is_on_for_tenant(SYNTHETIC_PINGS_ENABLED, connection.tenant_id):
        return PingOutcome.SKIPPED
    tokens = take_token(
        connection.tenant_id,
        connection.platform,
        block_keys=block_keys_for(connection.platform, connection.external_account_id),
    )
    if not tokens.allowed:
        _defer(connection_id, tokens.wait_s)
        _metric(connection, PingOutcome.DEFERRED)
        return PingOutcome.DEFERRED
    failure = _ping_with_renewal(connection)
    outcome = _record_success(connection) if failure is None else _record_failure(connection, failure)
    _metric(connection, outcome)
    return outcome


def _ping_once(connection: Connection) -> ClassifiedError | None:
    try:
        get_connector(connection).ping()
    except JobTimeoutException:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure is classified and acted on
        return classify_failure(exc, connection.platform)
    return None


def _ping_with_renewal(connection: Connection) -> ClassifiedError | None:
    """None when the partner answered; else the failure to act on (after one refresh where that is the fix)."""
    failure = _ping_once(connection)
    if failure is None:
        return None
    renewal = renew_after_auth_failure(connection, failure)
    if renewal is None:
        return failure
    if renewal.connection is None:
        return renewal.failure
    return _ping_once(renewal.connection)


def _locked_active(connection_id: int) -> tuple[Connection, PingSchedule] | tuple[None, None]:
    """The connection (tokens not loaded) and its schedule, both locked, if it is still active."""
    connection = (
        Connection.objects.without_tokens()
        .select_for_update()
        .filter(pk=connection_id, status=Connection.Status.ACTIVE)
        .first()
    )
    if connection is None:
        return None, None
    schedule, _ = PingSchedule.objects.select_for_update().get_or_create(connection_id=connection_id)
    return connection, schedule


def _record_success(connection: Connection) -> PingOutcome:
    now = timezone.now()
    with transaction.atomic():
        row, schedule = _locked_active(connection.pk)
        if row is None:  # paused or revoked while we pinged: its own audit row says why
            return PingOutcome.SKIPPED
        failed = schedule.failures
        recovered = failed > 0 or row.health_status != Connection.Health.HEALTHY
        Connection.objects.filter(pk=row.pk).update(last_ping_at=now, health_status=Connection.Health.HEALTHY)
        if failed:
            PingSchedule.objects.filter(pk=schedule.pk).update(failures=0)
        if recovered:
            ConnectionAudit.objects.create(
                connection_id=row.pk,
                action=ConnectionAudit.Action.PING_OK,
                details={"previous_health": row.health_status, "failed_pings": failed},
            )
    if recovered:
        logger.info("connection healthy again", extra={"connectionId": row.pk, "platform": row.platform})
    return PingOutcome.OK


def _record_failure(connection: Connection, classified: ClassifiedError) -> PingOutcome:
    facts = {
        "code": classified.code.value,
        "http_status": classified.http_status,
        "partner_code": classified.partner_code,
    }
    with transaction.atomic():
        row, schedule = _locked_active(connection.pk)
        if row is None:
            return PingOutcome.SKIPPED
        decision = decide(classified, schedule.failures)
        if decision.pause and flag_is_on_for_tenant(RECOVERY_AUTOPAUSE_ENABLED, row.tenant_id):
            pause_for_failure(row, classified, extra_details={**facts, "found_by": "ping"})
            failure_event_record(Source.PING, Decision.PAUSE, classified, connection=row)
            outcome = PingOutcome.PAUSED
        else:
            failures = schedule.failures + 1
            critical = decision.pause or failures >= settings.PING_CRITICAL_AFTER
            health = Connection.Health.CRITICAL if critical else Connection.Health.WARNING
            Connection.objects.filter(pk=row.pk).update(health_status=health)
            PingSchedule.objects.filter(pk=schedule.pk).update(failures=failures)
            ConnectionAudit.objects.create(
                connection_id=row.pk,
                action=ConnectionAudit.Action.PING_FAILED,
                details={**facts, "failed_pings": failures, "health": health},
            )
            failure_event_record(Source.PING, Decision.FLAGGED if decision.pause else Decision.RETRY, classified, connection=row)
            outcome = PingOutcome.FAILED
    if decision.escalate:
        escalate(classified, tenant_id=row.tenant_id, platform=row.platform)
    logger.warning(
        "ping failed",
        extra={"connectionId": row.pk, "platform": row.platform, "code": classified.code.value, "outcome": outcome.value},
    )
    return outcome


def _metric(connection: Connection, outcome: PingOutcome) -> None:
    metrics.increment("recovery.ping.result", tags={"platform": connection.platform, "outcome": outcome.value})
