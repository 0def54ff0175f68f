"""Throttle before the 429: stop calling an app or account the partner says is nearly out of quota.

Meta reports usage on its Graph responses (partners.md §1, "Rate-limit headers"):
- `X-App-Usage: {"call_count", "total_cputime", "total_time"}`: percentages of
  the app's rolling hourly limit. No reset time is given, so past the threshold
  every call of the app waits USAGE_THROTTLE["app_backoff_s"].
- `X-Business-Use-Case-Usage: {"<object id>": [{"type", "call_count",
  "total_cputime", "total_time", "estimated_time_to_regain_access"}]}`: per
  Page or Instagram account; the estimate is in minutes. Past the threshold
  that account waits the estimate (at least USAGE_THROTTLE["min_backoff_s"]).

And after any partner's 429 or quota error, the account that hit it is blocked
for the delay the classifier worked out, so that account's other posts wait
instead of hitting the same wall: a 429 storm stays with the tenant whose
account it is and does not spend the app's quota.

A block is a Redis key with a TTL: while it exists the calls wait, its PTTL
says how long. rate_limit.take_token checks the keys of `block_keys_for` in
the same round trip as the token buckets. A new block never shortens a
longer one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from django.conf import settings

from recovery.policies import get_redis, run_script

logger = logging.getLogger(__name__)

# KEYS[1] the block key; ARGV[1] ms. Extends, never shortens (PEXPIRE GT needs Redis 7).
_BLOCK_LUA = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return redis.call('PTTL', KEYS[1])
"""

_USAGE_FIELDS = ("call_count", "total_cputime", "total_time")
# Partners that report usage on their answers.
USAGE_REPORTING_PLATFORMS = frozenset({"meta"})


def app_block_key(platform: str) -> str:
    return f"throttle:{platform}:app"


def account_block_key(platform: str, account_id: str) -> str:
    return f"throttle:{platform}:acct:{account_id}"


def block_keys_for(platform: str, account_id: str) -> tuple[str, str]:
    """The keys that, while they exist, hold calls for this app and this partner account."""
    return app_block_key(platform), account_block_key(platform, account_id)


def held_accounts(accounts) -> dict[tuple[str, str], float]:
    """Of these (platform, account id) pairs, the held ones and for how many more seconds (one round trip)."""
    accounts = list(accounts)
    if not accounts:
        return {}
    pipeline = get_redis().pipeline(transaction=False)
    for platform, account_id in accounts:
        for key in block_keys_for(platform, account_id):
            pipeline.pttl(key)
    ttls = pipeline.execute()
    held = {}
    for index, account in enumerate(accounts):
        longest = max(ttls[2 * index], ttls[2 * index + 1])
        if longest > 0:
            held[account] = longest / 1000
    return held


def block(key: str, seconds: float) -> None:
    """Hold calls under `key` for `seconds` (or longer, if a longer block is already there)."""
    ms = int(seconds * 1000)
    if ms > 0:
        run_script(_BLOCK_LUA, [key], [ms])


def block_account(platform: str, account_id: str, seconds: float, reason: str) -> None:
    """Hold this partner account's calls for `seconds`: after a 429 or a quota error, or usage past the threshold."""
    block(account_block_key(platform, account_id), seconds)
    logger.info(
        "partner account throttled",
        extra={"platform": platform, "accountId": account_id, "seconds": round(seconds, 1), "reason": reason},
    )


def _header(headers: Mapping, name: str):
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _json_header(headers: Mapping, name: str):
    raw = _header(headers, name)
    if raw is None or isinstance(raw, (dict, list)):
        return raw
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        logger.warning("unreadable usage header", extra={"header": name})
        return None


def _peak(usage: Mapping) -> float:
    values = []
    for name in _USAGE_FIELDS:
        try:
            values.append(float(usage.get(name) or 0))
        except (TypeError, ValueError):
            continue
    return max(values, default=0.0)


def record_usage(platform: str, headers: Mapping | None) -> float:
    """Read a partner's usage headers after a call; block what is past the threshold.

    Returns the longest block set, in seconds (0 when nothing is near its limit).
    Only Meta sends usage headers; for other partners this reads nothing.
    """
    if not headers or platform not in USAGE_REPORTING_PLATFORMS:
        return 0.0
    config = settings.USAGE_THROTTLE
    threshold = float(config["threshold_pct"])
    longest = 0.0

    app_usage = _json_header(headers, "x-app-usage")
    if isinstance(app_usage, Mapping) and _peak(app_usage) >= threshold:
        longest = float(config["app_backoff_s"])
        block(app_block_key(platform), longest)
        logger.warning("partner app usage past threshold", extra={"platform": platform, "usage": app_usage})

    buc = _json_header(headers, "x-business-use-case-usage")
    if isinstance(buc, Mapping):
        for object_id, entries in buc.items():
            for entry in entries if isinstance(entries, list) else [entries]:
                if not isinstance(entry, Mapping) or _peak(entry) < threshold:
                    continue
                try:
                    eta_s = float(entry.get("estimated_time_to_regain_access") or 0) * 60
                except (TypeError, ValueError):
                    eta_s = 0.0
                seconds = max(eta_s, float(config["min_backoff_s"]))
                # The object is the Page or Instagram account the connection posts to;
                # if it is not this connection's account, it is another connection's.
                block_account(platform, str(object_id), seconds, reason="business use case usage")
                longest = max(longest, seconds)
    return longest


def holds_release_all() -> int:
    """End every hold now (app and account), as if they had run out; returns how many. Ops and tests."""
    client = get_redis()
    keys = list(client.scan_iter("throttle:*"))
    return client.delete(*keys) if keys else 0
