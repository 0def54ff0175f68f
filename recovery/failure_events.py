"""The failure log: one row for each classified failure a service acted on, and each publish held back.

`failure_event_record` is the one way in, called where a service acts on a classified failure:
- the publish pipeline (recovery/publishing.py): each retry, pause, dead letter and unconfirmed
  outcome, capability refusals included (their code is the refusal's, their partner_code the rule),
  an abandoned publish taken over by the sweep (TIMEOUT), and each deferral by a token bucket or
  usage hold (RATE_LIMIT_429, "deferred:rate_limit") or by an open circuit breaker
  (PARTNER_UNAVAILABLE, "deferred:breaker"), through failure_event_deferred;
- pings (recovery/pings.py): each failed ping;
- token upkeep (recovery/token_upkeep.py): each planned refresh the partner refused or that failed
  for now. A refresh tried because a publish or a ping met an expired token is not recorded here:
  the publish's or the ping's own failure says what came of it;
- webhook processing: each processing failure (WEBHOOK_FAILURE).

Rules:
- One INSERT, in the caller's transaction where it has one (the failure's record commits with its
  outcome, or neither does); never called when nothing failed.
- Ping deferrals are not recorded (a backlog of pings after downtime would write a row per try;
  recovery.ping.result counts them), nor the due-post enqueuer's holds (it plans those posts' jobs
  for the end of the hold without trying them).
- What the weekly summary reads from it: failures by code, platform and source (deferrals apart),
  the share of partner errors classified UNKNOWN (refusals before any call apart: OUR_REFUSALS),
  and the deferrals.
"""

from __future__ import annotations

from django.db.models import Q

from config.redaction import mask_text
from connections.models import Connection
from recovery.models import FailureEvent
from recovery.taxonomy import ClassifiedError, ErrorCode

Source = FailureEvent.Source
Decision = FailureEvent.Decision

# A deferral's code and partner_code, by what held the publish back (the reason tag of recovery.ratelimit.deferred).
DEFERRALS = {
    "rate_limit": (ErrorCode.RATE_LIMIT_429, "deferred:rate_limit"),  # a token bucket or a usage hold
    "breaker": (ErrorCode.PARTNER_UNAVAILABLE, "deferred:breaker"),  # the connection's circuit breaker is open
}

# Failures that are our own refusal before any partner call (capability rules, a connector's refusal):
# not partner errors, so not in the share of partner errors classified UNKNOWN.
OUR_REFUSALS = Q(partner_code__startswith="capability:") | Q(partner_code="connector:refused")


def failure_event_record(
    source: str,
    decision: str,
    failure: ClassifiedError | ErrorCode,
    *,
    connection: Connection | None = None,
    post=None,
    tenant_id: int | None = None,
    platform: str = "",
    partner_code: str = "",
) -> FailureEvent:
    """Record one failure (`failure`: a classification, or the code of a deferral) and what was done with it.

    The tenant, connection and platform come from `connection` (or `tenant_id` and `platform` when
    there is none); `post` is the post being published, if any. One INSERT.
    """
    if isinstance(failure, ClassifiedError):
        code, partner_code, platform = failure.code.value, partner_code or failure.partner_code, platform or failure.platform
    else:
        code = ErrorCode(failure).value
    if connection is not None:
        tenant_id, platform = connection.tenant_id, connection.platform
    return FailureEvent.objects.create(
        tenant_id=tenant_id,
        connection_id=connection.pk if connection is not None else None,
        post_id=post.pk if post is not None else None,
        platform=(platform or "")[:20],
        source=source,
        code=code,
        partner_code=mask_text(partner_code or "")[:64],  # a partner's text: masked like its messages
        decision=decision,
    )


def failure_event_deferred(reason: str, *, connection: Connection, post) -> FailureEvent:
    """Record a publish held back before any call; `reason`: a key of DEFERRALS ("rate_limit", "breaker")."""
    code, partner_code = DEFERRALS[reason]
    return failure_event_record(Source.PUBLISH, Decision.DEFERRED, code, connection=connection, post=post, partner_code=partner_code)
