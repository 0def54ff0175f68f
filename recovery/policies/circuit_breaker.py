"""A circuit breaker per connection, its state shared by every worker through Redis.

States and rules (settings.CIRCUIT_BREAKER):
- closed: calls go through. A failure that says the partner is down (see
  PARTNER_DOWN_CODES) is counted; `failures` of them within `window_s` open it.
- open: calls are refused (the publish job defers them, not an attempt) until
  `cooldown_s` after it opened.
- half_open: after the cool-down exactly one call, the probe, goes through;
  the others keep waiting. The probe's success closes the breaker, its
  partner-down failure opens it again for another cool-down. A probe that
  never reports (its worker was killed) frees the slot after `probe_timeout_s`.
- Any answer from the partner that is not a partner-down failure (a 400, an
  auth error, a 429) is a success for the breaker: the partner is up.
- Every change of state is logged and written as a ConnectionAudit row
  (breaker_open, breaker_half_open, breaker_closed) exactly once: each change
  happens inside one Lua script, so exactly one caller sees it.

Why our own ~50 lines of Lua and not pybreaker + CircuitRedisStorage:
pybreaker counts consecutive failures rather than failures within a window,
its Redis storage reads and writes with separate commands (two workers can
both probe a half-open circuit, and both see and audit the same change), and
its `call()` wrapper would decide what counts as a failure by exception type,
while ours is decided by the classifier's code.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings

from config.metrics import metrics
from connections.models import Connection, ConnectionAudit
from recovery.policies import get_redis, run_script
from recovery.taxonomy import ErrorCode

logger = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"

# Failures that say the partner (or the way to it) is down, not that our request was wrong.
PARTNER_DOWN_CODES = frozenset(
    {ErrorCode.PARTNER_5XX, ErrorCode.PARTNER_UNAVAILABLE, ErrorCode.NETWORK_ERROR, ErrorCode.TIMEOUT}
)

# KEYS[1] state hash {state, opened_at, probe_until}; a closed breaker has no hash.
# ARGV: cooldown_ms, probe_ms. Returns {allowed 0|1, state, wait_ms, transition}.
_ALLOW_LUA = """
local v = redis.call('HMGET', KEYS[1], 'state', 'opened_at', 'probe_until')
local state = v[1]
if not state then return {1, 'closed', 0, ''} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cooldown, probe = tonumber(ARGV[1]), tonumber(ARGV[2])
if state == 'open' then
  local ready = tonumber(v[2]) + cooldown
  if now < ready then return {0, 'open', ready - now, ''} end
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_until', now + probe)
  return {1, 'half_open', 0, 'open>half_open'}
end
local probe_until = tonumber(v[3]) or 0
if now >= probe_until then
  redis.call('HSET', KEYS[1], 'probe_until', now + probe)
  return {1, 'half_open', 0, ''}
end
return {0, 'half_open', probe_until - now, ''}
"""

# KEYS[1] state hash, KEYS[2] failure times (sorted set).
# ARGV: outcome (ok|down), window_ms, threshold, a unique member. Returns {state, transition, failures}.
_RECORD_LUA = """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] == 'ok' then
  if state == 'half_open' then
    redis.call('DEL', KEYS[1], KEYS[2])
    return {'closed', 'half_open>closed', 0}
  end
  return {state, '', 0}
end
if state == 'half_open' then
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now, 'probe_until', 0)
  return {'open', 'half_open>open', 0}
end
if state == 'open' then return {'open', '', 0} end
local window = tonumber(ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('PEXPIRE', KEYS[2], window)
local failures = redis.call('ZCARD', KEYS[2])
if failures >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'opened_at', now, 'probe_until', 0)
  redis.call('DEL', KEYS[2])
  return {'open', 'closed>open', failures}
end
return {'closed', '', failures}
"""

_RELEASE_PROBE_LUA = """
if redis.call('HGET', KEYS[1], 'state') == 'half_open' then redis.call('HSET', KEYS[1], 'probe_until', 0) end
return 1
"""

_AUDIT_ACTIONS = {
    OPEN: ConnectionAudit.Action.BREAKER_OPEN,
    HALF_OPEN: ConnectionAudit.Action.BREAKER_HALF_OPEN,
    CLOSED: ConnectionAudit.Action.BREAKER_CLOSED,
}


@dataclass(frozen=True)
class BreakerDecision:
    allowed: bool
    state: str  # the state the call goes (or is refused) under
    wait_s: float  # when refused: until the cool-down ends or the probe slot frees

    @property
    def is_probe(self) -> bool:
        return self.allowed and self.state == HALF_OPEN


def _keys(connection_id: int) -> list[str]:
    return [f"cb:conn:{connection_id}", f"cb:conn:{connection_id}:failures"]


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def breaker_allow(connection_id: int) -> BreakerDecision:
    """May a call to this connection's partner go out now? One round trip; audits open -> half_open."""
    config = settings.CIRCUIT_BREAKER
    allowed, state, wait_ms, transition = run_script(
        _ALLOW_LUA,
        _keys(connection_id)[:1],
        [int(config["cooldown_s"] * 1000), int(config["probe_timeout_s"] * 1000)],
    )
    decision = BreakerDecision(bool(allowed), _text(state), int(wait_ms) / 1000)
    if transition:
        _audit_change(connection_id, _text(transition), failures=None)
    return decision


def breaker_record(connection_id: int, *, partner_down: bool) -> str:
    """Report a call's outcome; returns the breaker's state after it. Audits every change of state."""
    config = settings.CIRCUIT_BREAKER
    state, transition, failures = run_script(
        _RECORD_LUA,
        _keys(connection_id),
        ["down" if partner_down else "ok", int(config["window_s"] * 1000), int(config["failures"]), uuid.uuid4().hex],
    )
    if transition:
        _audit_change(connection_id, _text(transition), failures=int(failures) or None)
    return _text(state)


def breaker_release_probe(connection_id: int) -> None:
    """Give back a half-open probe slot that was granted but not used (the call was deferred for another reason)."""
    run_script(_RELEASE_PROBE_LUA, _keys(connection_id)[:1], [])


def breaker_state(connection_id: int) -> str:
    """The breaker's current state, for pages and tests (a read; changes nothing)."""
    return _text(get_redis().hget(_keys(connection_id)[0], "state") or CLOSED)


def breakers_end_cooldowns() -> int:
    """Let every open breaker's cool-down end now (its next call is the half-open probe); returns how many.

    For ops once a partner outage is known to be over, and for tests that let time pass.
    """
    client = get_redis()
    ended = 0
    for key in client.scan_iter("cb:conn:*"):
        if client.type(key) == b"hash" and client.hget(key, "state") == OPEN.encode():
            client.hset(key, "opened_at", 0)
            ended += 1
    return ended


def counts_as_partner_down(code: ErrorCode | str) -> bool:
    return ErrorCode(code) in PARTNER_DOWN_CODES


def _audit_change(connection_id: int, transition: str, failures: int | None) -> None:
    before, after = transition.split(">")
    config = settings.CIRCUIT_BREAKER
    details = {"from": before, "to": after}
    if after == OPEN:
        details.update(cooldown_s=config["cooldown_s"], window_s=config["window_s"], threshold=config["failures"])
        if failures:
            details["failures"] = failures
    log = logger.warning if after == OPEN else logger.info
    log("circuit breaker %s -> %s", before, after, extra={"connectionId": connection_id, **details})
    ConnectionAudit.objects.create(
        connection_id=connection_id, action=_AUDIT_ACTIONS[after], details=details, actor="system"
    )
    # A change of state is rare: one query for the platform tag costs nothing that matters.
    platform = Connection.objects.filter(pk=connection_id).values_list("platform", flat=True).first() or "unknown"
    metrics.increment("recovery.breaker.transition", tags={"platform": platform, "to_state": after})
