"""Processing stored webhook events: the partner's word turned into the same actions as the classifier's.

`webhook_events_drain()` (the `webhooks` queue's job, requested by every receiver, see
webhooks.queue) processes every due pending event, oldest first, each on its own:

`webhook_event_process(event_id)`:
1. claims the event: its row locked (SKIP LOCKED) while it is still pending, so two
   jobs for one event process it once and a processed event is never processed again;
2. maps it to intents (webhooks.mapping) and finds the connections of the accounts
   it names, in every tenant that connected them;
3. for each, and only where RECOVERY_AUTOPAUSE_ENABLED is on for its tenant (as for
   every path that would pause a channel), calls recovery.autopause:
   revoke_connection, auto_pause_connection (with the taxonomy code) or
   mark_connection_needs_scopes, with actor "partner:<platform>";
4. records the outcome (applied, no_change, ignored, unknown_account), in the same
   transaction as the actions: both commit or neither.
A failure (an exception anywhere in 1-4) rolls all of it back and is classified
WEBHOOK_FAILURE: retried after the taxonomy's backoff while its retries last (the event
is due again at `next_attempt_at`, and a drain is scheduled for then), then the event is
`dead` and dead-lettered (job kind `webhook_event_process`, against the first connection
it names; an event naming none is left for ops in the webhook admin).

`webhook_events_sweep()` (cron) requests a drain when due events have waited past
WEBHOOK_SWEEP_GRACE_S (received while Redis was down, or their drain was lost).
`webhook_events_replay(ids)` (the admin) and `webhook_event_requeue_dead(letter)` (the
DLQ) run an event through the same service.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.metrics import metrics
from config.redaction import mask_text
from connections.models import Connection
from recovery.autopause import auto_pause_connection, mark_connection_needs_scopes, revoke_connection
from recovery.classifier import decide
from recovery.deadletter import dead_letter_create
from recovery.failure_events import Decision, Source, failure_event_record
from recovery.flags import RECOVERY_AUTOPAUSE_ENABLED, flag_is_on_for_tenant
from recovery.models import DeadLetter
from recovery.taxonomy import ClassifiedError, ErrorCode
from webhooks.mapping import Action, Intent, intents_for
from webhooks.models import WebhookEvent
from webhooks.queue import request_drain, request_drain_on_commit, silence_doorbell

logger = logging.getLogger(__name__)

JOB_KIND_WEBHOOK_EVENT = "webhook_event_process"
DRAIN_BATCH = 100
DRAIN_TIME_BUDGET_S = 60  # then the drain hands over to a new job (webhooks.queue.JOB_TIMEOUT_S is 120)
Outcome = WebhookEvent.Outcome
_IGNORED_DETAILS = {"note": "this event type changes no connection"}


def partner_actor(platform: str) -> str:
    return f"partner:{platform}"


# -- processing --------------------------------------------------------------------------------


def webhook_event_process(event_id: int) -> str | None:
    """Process one stored event (steps in the module docstring); its outcome, or None when there was nothing to do.

    None: the event is not pending (processed before, dead) or another job holds it.
    "retrying" / "dead": processing failed and was rescheduled / dead-lettered.
    """
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.select_for_update(skip_locked=True).filter(
                pk=event_id, outcome=Outcome.PENDING
            ).first()
            if event is None:
                return None
            outcome, details = _apply(event)
            processed_at = timezone.now()
            WebhookEvent.objects.filter(pk=event.pk).update(
                outcome=outcome, details=details, processed_at=processed_at, next_attempt_at=None
            )
    except Exception as exc:  # noqa: BLE001  every failure is classified, retried, then dead-lettered
        return _record_failure(event_id, exc)
    metrics.increment("recovery.webhook.processed", tags={"platform": event.platform, "outcome": outcome})
    metrics.timing("recovery.webhook.lag", (processed_at - event.received_at).total_seconds() * 1000,
                   tags={"platform": event.platform})
    return outcome


def connections_for_account(platform: str, account_id: str):
    """The connections (any tenant, tokens not loaded) of a partner account, or of the partner user who signed in.

    An event names either: Meta's Deauthorize, Data Deletion and permissions webhooks name the
    Facebook user (its app-scoped id, the connection's `partner_user_id`), a TikTok event the
    account itself; one user's deauthorization reaches every Page they connected. A GBP
    notification may name a location as "locations/{l}" where the connection holds v4's
    "accounts/{a}/locations/{l}". An empty id names nothing.
    """
    if not account_id:
        return Connection.objects.none()
    match = Q(external_account_id=account_id) | Q(partner_user_id=account_id)
    if platform == "gbp" and account_id.startswith("locations/"):
        match |= Q(external_account_id__endswith=f"/{account_id}")
    return (
        Connection.objects.filter(match, platform=platform)
        .only("id", "tenant_id", "platform", "status", "external_account_id")
        .order_by("pk")
    )


def _apply(event: WebhookEvent) -> tuple[str, dict]:
    intents = intents_for(event.platform, event.event_type, event.payload)
    if not intents:
        return Outcome.IGNORED, _IGNORED_DETAILS
    actions, unknown = [], []
    for intent in intents:
        connections = list(connections_for_account(event.platform, intent.account_id))
        if not connections:
            unknown.append(intent.account_id)
        for connection in connections:
            actions.append(_apply_intent(event, intent, connection))
    if not actions:
        return Outcome.UNKNOWN_ACCOUNT, {"accounts": unknown}
    details = {"actions": actions, **({"unknown_accounts": unknown} if unknown else {})}
    return (Outcome.APPLIED if any(action["changed"] for action in actions) else Outcome.NO_CHANGE), details


def _apply_intent(event: WebhookEvent, intent: Intent, connection: Connection) -> dict:
    record = {
        "connection_id": connection.pk,
        "tenant_id": connection.tenant_id,
        "action": intent.action.value,
        "code": intent.code.value if intent.code else ErrorCode.AUTH_REVOKED.value,
        "why": intent.why,
    }
    if not flag_is_on_for_tenant(RECOVERY_AUTOPAUSE_ENABLED, connection.tenant_id):
        return {**record, "changed": False, "note": "RECOVERY_AUTOPAUSE_ENABLED is off for the tenant"}
    actor = partner_actor(event.platform)
    extra = {"webhook_event_id": event.pk, "event_type": event.event_type, "partner_signal": intent.why}
    if intent.action is Action.REVOKE:
        result = revoke_connection(connection.tenant_id, connection.pk, actor=actor, extra_details=extra)
    elif intent.action is Action.NEEDS_SCOPES:
        result = mark_connection_needs_scopes(connection, list(intent.scopes), actor=actor)
        record["scopes"] = list(intent.scopes)
    else:
        result = auto_pause_connection(connection.tenant_id, connection.pk, intent.code, actor=actor, extra_details=extra)
    return {**record, "changed": result.changed, "status": result.connection.status}


# -- failures ----------------------------------------------------------------------------------


def _record_failure(event_id: int, exc: BaseException) -> str | None:
    """Classify a failed processing (WEBHOOK_FAILURE) and retry it later, or dead-letter it when its retries are used up."""
    message = mask_text(f"{type(exc).__name__}: {exc}")[:1000]
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().filter(pk=event_id, outcome=Outcome.PENDING).first()
        if event is None:
            return None
        classified = ClassifiedError(ErrorCode.WEBHOOK_FAILURE, event.platform, partner_code=type(exc).__name__,
                                     partner_message=message)
        decision = decide(classified, attempt=event.attempts)
        event.attempts += 1
        event.last_error = message
        now = timezone.now()
        if decision.retry:
            event.next_attempt_at = now + timedelta(seconds=decision.delay_s)
            event.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            request_drain_on_commit(at=event.next_attempt_at)
            outcome = "retrying"
        else:
            event.outcome, event.processed_at, event.next_attempt_at = Outcome.DEAD, now, None
            event.save(update_fields=["attempts", "last_error", "outcome", "processed_at", "next_attempt_at"])
            _dead_letter(event, decision.to_dict())
            outcome = Outcome.DEAD
        failure_event_record(Source.WEBHOOK, Decision.RETRY if decision.retry else Decision.DEAD_LETTER, classified)
    logger.warning("webhook event processing failed", extra={
        "webhookEventId": event_id, "platform": event.platform, "attempts": event.attempts, "outcome": outcome,
        "error": type(exc).__name__})
    metrics.increment("recovery.webhook.processed", tags={"platform": event.platform, "outcome": outcome})
    return outcome


def _dead_letter(event: WebhookEvent, classification: dict) -> DeadLetter | None:
    """The event's dead letter, against the first connection it names; None when it names none of ours."""
    for intent in intents_for(event.platform, event.event_type, event.payload):
        connection = connections_for_account(event.platform, intent.account_id).first()
        if connection is not None:
            return dead_letter_create(
                job_kind=JOB_KIND_WEBHOOK_EVENT, tenant_id=connection.tenant_id, connection_id=connection.pk,
                platform=event.platform, classification=classification, attempts=event.attempts,
                payload={"webhook_event_id": event.pk, "event_type": event.event_type},
            )
    logger.error("webhook event dead, naming no connection to dead-letter against: see the webhook admin",
                 extra={"webhookEventId": event.pk, "platform": event.platform})
    return None


def _reset_to_pending(event_ids) -> list[WebhookEvent]:
    """Events (locked) back to pending with a fresh set of retries, in the caller's transaction."""
    events = list(WebhookEvent.objects.select_for_update().filter(pk__in=list(event_ids)).order_by("pk"))
    for event in events:
        event.outcome, event.attempts, event.next_attempt_at, event.processed_at = Outcome.PENDING, 0, None, None
        event.save(update_fields=["outcome", "attempts", "next_attempt_at", "processed_at"])
    return events


def webhook_event_requeue_dead(letter: DeadLetter) -> None:
    """The DLQ's requeue of a `webhook_event_process` letter: the event pending again, enqueued after commit."""
    if _reset_to_pending([letter.payload.get("webhook_event_id")]):
        request_drain_on_commit()


def webhook_events_replay(event_ids, actor: str = "system") -> dict[str, int]:
    """Run events through processing again, whatever they came to before (ops' replay); {outcome: count}.

    Each is put back to pending with fresh retries and processed at once by the same
    service as the queue's job (a failure is retried from the queue as usual).
    """
    with transaction.atomic():
        events = _reset_to_pending(event_ids)
    counts: dict[str, int] = {}
    for event in events:
        outcome = webhook_event_process(event.pk) or "skipped"
        counts[outcome] = counts.get(outcome, 0) + 1
    logger.info("webhook events replayed", extra={"count": len(events), "actor": actor, "outcomes": counts})
    return counts


# -- draining and sweeping ---------------------------------------------------------------------


def _due_pending(now):
    return WebhookEvent.objects.filter(outcome=Outcome.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def webhook_events_drain(batch: int = DRAIN_BATCH, time_budget_s: float = DRAIN_TIME_BUDGET_S) -> int:
    """Process every due pending event, oldest first; returns how many were processed.

    1. silences the doorbell (webhooks.queue) before reading: an event stored from then
       on rings it again and gets a drain of its own, so none is left behind;
    2. reads due events in id order, a batch at a time, from where the last batch
       ended (an event another worker holds, or one failing now, is not read twice);
    3. processes the batch's events that ask something of a connection one by one
       (webhook_event_process), then records the rest (most partner traffic: reviews,
       comments, audience changes) as ignored in one statement;
    4. past its time budget, requests another drain and stops.
    """
    silence_doorbell()
    deadline = time.monotonic() + time_budget_s
    after, done = 0, 0
    while True:
        rows = list(
            _due_pending(timezone.now()).filter(pk__gt=after).order_by("pk")
            .values_list("pk", "platform", "event_type", "payload", "received_at")[:batch]
        )
        if not rows:
            return done
        ignorable = []
        for pk, platform, event_type, payload, received_at in rows:
            if intents_for(platform, event_type, payload):
                done += webhook_event_process(pk) is not None
            else:
                ignorable.append((pk, platform, received_at))
        done += _record_ignored(ignorable)
        after = rows[-1][0]
        if time.monotonic() > deadline:
            request_drain(force=True)
            return done


def _record_ignored(events: list[tuple]) -> int:
    """Events that change no connection, recorded `ignored` in one statement (those still pending)."""
    if not events:
        return 0
    now = timezone.now()
    changed = WebhookEvent.objects.filter(pk__in=[pk for pk, _, _ in events], outcome=Outcome.PENDING).update(
        outcome=Outcome.IGNORED, processed_at=now, next_attempt_at=None,
        details=_IGNORED_DETAILS,
    )
    for _, platform, received_at in events:
        metrics.increment("recovery.webhook.processed", tags={"platform": platform, "outcome": Outcome.IGNORED})
        metrics.timing("recovery.webhook.lag", (now - received_at).total_seconds() * 1000, tags={"platform": platform})
    return changed


def webhook_events_sweep() -> int:
    """Request a drain when due events have waited past WEBHOOK_SWEEP_GRACE_S; returns how many wait.

    They were stored while Redis was down, or their drain was lost with Redis. With
    Redis still down nothing is requested; the next run tries again.
    """
    due_before = timezone.now() - timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE_S)
    waiting = _due_pending(due_before).filter(received_at__lte=due_before).count()
    if waiting and request_drain(force=True):
        logger.info("webhook events waiting: drain requested by the sweeper", extra={"count": waiting})
    return waiting
