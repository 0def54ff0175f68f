"""Token buckets in Redis: one per (tenant, platform) inside one per platform for the whole app.

A partner's quota belongs to our app, not to a tenant, so every publish takes
a token from two buckets at once: the tenant's bucket for that platform (so one
tenant cannot spend everyone's quota) and the app-wide bucket (so all tenants
together stay under the partner's limit). Capacities and refill rates per
platform are in settings.PUBLISH_RATE_LIMITS.

Rules:
- A token is taken from both buckets or from neither: a refusal by the app
  bucket costs the tenant nothing, and the other way round.
- A refusal says how long until the short bucket has the token (wait_s), so
  the job is deferred exactly that long instead of polling.
- Keys listed in `block_keys` (usage_throttle's "stop calling until" keys)
  refuse the call while they exist, for as long as they live; they spend
  nothing. They are checked in the same script to keep one round trip.
- Time is Redis' clock (TIME), the same for every worker on every machine.

Why our own Lua and not a library: `limits` has no token bucket, and
throttled-py's token bucket refills in whole seconds (too coarse for rates
like TikTok's 6 a minute) and takes one key per call, so taking from two
buckets atomically would need two calls and a refund on the second refusal.
The script is ~40 lines and tested in tests/recovery/test_rate_limit*.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from recovery.policies import get_redis, run_script

# KEYS: [1] tenant bucket, [2] app bucket, [3..] block keys.
# ARGV: [1] cost, [2] tenant capacity, [3] tenant tokens/s, [4] app capacity, [5] app tokens/s.
# Returns {allowed 0|1, wait_ms, reason}; reason is ok | tenant | app | throttled.
# A bucket is a hash {tokens, ts}; a missing bucket is full.
TAKE_TOKEN_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cost = tonumber(ARGV[1])

local blocked = 0
for i = 3, #KEYS do
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl > blocked then blocked = ttl end
end
if blocked > 0 then return {0, blocked, 'throttled'} end

local function level(key, capacity, rate)
  local v = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens, ts = tonumber(v[1]), tonumber(v[2])
  if tokens == nil or ts == nil then return capacity end
  local filled = tokens + math.max(0, now - ts) * rate / 1000
  if filled > capacity then filled = capacity end
  return filled
end

local tcap, trate = tonumber(ARGV[2]), tonumber(ARGV[3])
local acap, arate = tonumber(ARGV[4]), tonumber(ARGV[5])
local tlevel = level(KEYS[1], tcap, trate)
local alevel = level(KEYS[2], acap, arate)
local twait, await = 0, 0
if tlevel < cost then twait = math.ceil((cost - tlevel) * 1000 / trate) end
if alevel < cost then await = math.ceil((cost - alevel) * 1000 / arate) end
if twait > 0 or await > 0 then
  if twait >= await then return {0, twait, 'tenant'} end
  return {0, await, 'app'}
end

local function store(key, tokens, capacity, rate)
  redis.call('HSET', key, 'tokens', tokens, 'ts', now)
  -- Once it would be full again the bucket is the same as no bucket: let it expire.
  redis.call('PEXPIRE', key, math.ceil((capacity - tokens) * 1000 / rate) + 1000)
end
store(KEYS[1], tlevel - cost, tcap, trate)
store(KEYS[2], alevel - cost, acap, arate)
return {1, 0, 'ok'}
"""


@dataclass(frozen=True)
class BucketSpec:
    capacity: float  # the burst: tokens a full bucket holds
    per_second: float  # refill rate

    def __post_init__(self):
        if self.capacity < 1 or self.per_second <= 0:
            raise ValueError(f"A bucket needs capacity >= 1 and a positive refill rate, not {self}.")


@dataclass(frozen=True)
class BucketLevel:
    tokens: float  # what the bucket held at its last change (a missing bucket is full)
    expires_in_s: float | None  # when it would be full again and is dropped; None for a full (missing) bucket


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    wait_s: float  # 0 when allowed; otherwise how long until a token (or the throttle) frees up
    reason: str  # "ok", "tenant", "app" or "throttled"


def bucket_specs(platform: str) -> tuple[BucketSpec, BucketSpec]:
    """(tenant bucket, app bucket) for a platform, from settings.PUBLISH_RATE_LIMITS ("default" otherwise)."""
    limits = settings.PUBLISH_RATE_LIMITS
    spec = limits.get(platform) or limits["default"]
    return BucketSpec(**spec["tenant"]), BucketSpec(**spec["app"])


def tenant_bucket_key(tenant_id: int, platform: str) -> str:
    return f"rl:{platform}:tenant:{tenant_id}"


def app_bucket_key(platform: str) -> str:
    return f"rl:{platform}:app"


def take_token(tenant_id: int, platform: str, *, block_keys: tuple[str, ...] = (), cost: int = 1) -> RateDecision:
    """Take `cost` tokens from the tenant's and the app's bucket for `platform`, atomically.

    - Allowed: both buckets had the tokens, and both lost them.
    - Refused: neither bucket changed; wait_s says when the shorter one will
      have them (reason "tenant" or "app"), or when the longest-living block
      key expires (reason "throttled").
    """
    tenant_spec, app_spec = bucket_specs(platform)
    keys = [tenant_bucket_key(tenant_id, platform), app_bucket_key(platform), *block_keys]
    allowed, wait_ms, reason = run_script(
        TAKE_TOKEN_LUA,
        keys,
        [cost, tenant_spec.capacity, tenant_spec.per_second, app_spec.capacity, app_spec.per_second],
    )
    reason = reason.decode() if isinstance(reason, bytes) else reason
    return RateDecision(bool(allowed), int(wait_ms) / 1000, reason)


def bucket_levels(tenant_id: int, platform: str) -> tuple[BucketLevel, BucketLevel]:
    """(tenant bucket, app bucket) for a platform as Redis holds them: for ops' pages and tests; changes nothing."""
    tenant_spec, app_spec = bucket_specs(platform)
    pipeline = get_redis().pipeline(transaction=False)
    for key in (tenant_bucket_key(tenant_id, platform), app_bucket_key(platform)):
        pipeline.hget(key, "tokens")
        pipeline.pttl(key)
    tenant_tokens, tenant_ttl, app_tokens, app_ttl = pipeline.execute()

    def level(tokens, ttl_ms, spec: BucketSpec) -> BucketLevel:
        if tokens is None:
            return BucketLevel(spec.capacity, None)
        return BucketLevel(float(tokens), ttl_ms / 1000 if ttl_ms and ttl_ms > 0 else None)

    return level(tenant_tokens, tenant_ttl, tenant_spec), level(app_tokens, app_ttl, app_spec)


def buckets_refill_all() -> int:
    """Fill every bucket again (a missing bucket is full), as if the partners' windows had passed; returns how many.

    For ops after a false alarm, and for tests that let time pass.
    """
    client = get_redis()
    keys = list(client.scan_iter("rl:*"))
    return client.delete(*keys) if keys else 0
