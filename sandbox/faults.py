"""Faults the sandbox partners inject, and the Python API to set and clear them.

    from sandbox import faults
    faults.set_fault("meta", faults.EXPIRE_TOKEN, account_id="1234")       # one account
    faults.set_fault("tiktok", faults.SERVER_ERROR, status=503, count=2)    # whole platform, twice
    faults.set_fault("meta", faults.RATE_LIMIT, usage="business", regain_minutes=19)
    faults.clear_faults("meta")                                            # or clear_faults() for all

Kinds and their params:
- expire_token: the account's tokens issued before the fault answer as expired.
- revoke_token: the user withdrew access (meta: param `subcode`, 460 password changed
  by default, or 458 app removed / 467 logged out); refresh tokens die too.
- remove_scope(scope): the tokens issued before the fault lose `scope`.
- restrict_account: the account is checkpointed / banned / suspended.
- delete_target: the page, location, list or post the call names is gone.
- server_error(status=500): a 5xx in the partner's shape (any HTTP error status, 400-599).
- rate_limit(retry_after=None, usage=None, regain_minutes=None, status=None): a throttle
  in the partner's shape and status (`status` overrides it, e.g. 429); `retry_after`
  adds a Retry-After header (seconds; GBP puts it in the body's RetryInfo); `usage` picks
  the partner's throttle where it has several: meta "app" (x-app-usage, code 4) or
  "business" (x-business-use-case-usage, 80001/80002, estimated_time_to_regain_access =
  regain_minutes), gbp "day" (the per-day quota); other partners take no `usage`.
- latency(ms): answer normally, that much later.
- timeout(seconds=None): sleep past the client's read timeout
  (PARTNER_READ_TIMEOUT_S + 1 s by default; never over SANDBOX_MAX_SLEEP_S), then answer 504.

`count` limits how many requests a fault answers (1 or more); without it the fault stays until cleared.
Values that make no sense (a status that is not an HTTP error status, a negative or non-numeric
delay, a count of 0, a subcode or usage the partner does not have) are refused with FaultError.
The same faults are set from the admin (Sandbox faults) and from
`manage.py sandbox_fault set|clear|list`.
"""

from __future__ import annotations

import math

from django.db import transaction
from django.db.models import F, Q

from sandbox.models import SandboxAccount, SandboxFault

EXPIRE_TOKEN = "expire_token"
REVOKE_TOKEN = "revoke_token"
REMOVE_SCOPE = "remove_scope"
RESTRICT_ACCOUNT = "restrict_account"
DELETE_TARGET = "delete_target"
SERVER_ERROR = "server_error"
RATE_LIMIT = "rate_limit"
LATENCY = "latency"
TIMEOUT = "timeout"

# kind -> the params it accepts (and which are required).
KINDS: dict[str, dict[str, bool]] = {
    EXPIRE_TOKEN: {},
    REVOKE_TOKEN: {"subcode": False, "reason": False},
    REMOVE_SCOPE: {"scope": True},
    RESTRICT_ACCOUNT: {},
    DELETE_TARGET: {},
    SERVER_ERROR: {"status": False},
    RATE_LIMIT: {"retry_after": False, "usage": False, "regain_minutes": False, "status": False},
    LATENCY: {"ms": True},
    TIMEOUT: {"seconds": False},
}
# rate_limit's `usage`: the partners that have more than one throttle, and what each is called.
RATE_LIMIT_USAGES = {"meta": ("app", "business"), "gbp": ("day",)}
# revoke_token's `subcode`: the partners that say why a token was revoked, and their subcodes.
REVOKE_SUBCODES = {"meta": (458, 460, 467)}
# The statuses an error fault may answer with: an HTTP error status (a 4xx where a partner answers a
# throttle with one, or to make an answer nobody documented, such as 418).
ERROR_STATUSES = range(400, 600)
# Numeric params: (whole numbers only, the unit said in the message).
NUMBER_PARAMS = {"retry_after": (True, "seconds"), "regain_minutes": (True, "minutes"), "ms": (False, "milliseconds"),
                 "seconds": (False, "seconds")}
# Faults that hit tokens, not the account: they spare tokens issued after them (a reconnect heals).
TOKEN_KINDS = {EXPIRE_TOKEN, REVOKE_TOKEN, REMOVE_SCOPE}

PLATFORMS = ("meta", "linkedin", "tiktok", "gbp", "mailchimp")


class FaultError(ValueError):
    """A fault that cannot be set: unknown platform, kind, param or account."""


def validate_fault(platform: str, kind: str, params: dict) -> None:
    """Raise FaultError unless platform, kind and params make a fault."""
    if platform not in PLATFORMS:
        raise FaultError(f"Unknown platform {platform!r}; one of {', '.join(PLATFORMS)}.")
    if kind not in KINDS:
        raise FaultError(f"Unknown fault kind {kind!r}; one of {', '.join(KINDS)}.")
    allowed = KINDS[kind]
    unknown = set(params) - set(allowed)
    if unknown:
        raise FaultError(f"{kind} takes no param {', '.join(sorted(unknown))}.")
    missing = [name for name, required in allowed.items() if required and name not in params]
    if missing:
        raise FaultError(f"{kind} needs {', '.join(missing)}.")
    if kind == RATE_LIMIT and "usage" in params:
        usages = RATE_LIMIT_USAGES.get(platform, ())
        if params["usage"] not in usages:
            known = f"one of {', '.join(usages)}" if usages else "none (it has one throttle)"
            raise FaultError(f"{platform} rate_limit usage {params['usage']!r} is not the partner's; {known}.")
    if "status" in params and (not _is_number(params["status"], whole=True) or params["status"] not in ERROR_STATUSES):
        raise FaultError(f"{kind} status {params['status']!r} is not an HTTP error status; one from 400 to 599 (5xx for a "
                         "partner's failure, 429 or the partner's own for a throttle).")
    for name, (whole, unit) in NUMBER_PARAMS.items():
        if name in params and not (_is_number(params[name], whole=whole) and params[name] >= 0):
            kind_of_number = "a whole number" if whole else "a number"
            raise FaultError(f"{kind} {name} {params[name]!r} must be {kind_of_number} of {unit}, 0 or more.")
    if "subcode" in params:
        subcodes = REVOKE_SUBCODES.get(platform, ())
        if params["subcode"] not in subcodes or not _is_number(params["subcode"], whole=True):
            known = f"one of {', '.join(map(str, subcodes))}" if subcodes else "none (it gives no reason)"
            raise FaultError(f"{platform} revoke_token subcode {params['subcode']!r} is not the partner's; {known}.")
    for name in ("scope", "reason"):
        if name in params and not (isinstance(params[name], str) and params[name].strip()):
            raise FaultError(f"{kind} {name} must be a non-empty text, got {params[name]!r}.")


def validate_count(count) -> None:
    """Raise FaultError unless `count` is None (until cleared) or a whole number of requests, 1 or more."""
    if count is not None and not (_is_number(count, whole=True) and count >= 1):
        raise FaultError(f"count {count!r} must be a whole number of requests, 1 or more (or none: until cleared).")


def _is_number(value, *, whole: bool) -> bool:
    """A finite int (or float, unless `whole`); never a bool, a string or NaN."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return not whole and isinstance(value, float) and math.isfinite(value)


def set_fault(platform: str, kind: str, account_id: str | None = None, *, count: int | None = None, **params) -> SandboxFault:
    """Inject a fault on one sandbox account (account_id) or on the whole platform.

    - The account must exist (sandbox_open_account or the OAuth consent page creates it).
    - `count` answers that many requests, then the fault is gone; None: until cleared.
    """
    validate_fault(platform, kind, params)
    validate_count(count)
    account = None
    if account_id is not None:
        account = SandboxAccount.objects.filter(platform=platform, account_id=str(account_id)).first()
        if account is None:
            raise FaultError(f"No sandbox {platform} account {account_id!r}.")
    return SandboxFault.objects.create(platform=platform, account=account, kind=kind, params=params, remaining=count)


def clear_faults(platform: str | None = None, account_id: str | None = None, kind: str | None = None) -> int:
    """Remove faults: all, one platform's, or one account's (only those of `kind` when given). Returns how many."""
    faults = SandboxFault.objects.all()
    if platform:
        faults = faults.filter(platform=platform)
    if account_id is not None:
        faults = faults.filter(account__account_id=str(account_id))
    if kind:
        faults = faults.filter(kind=kind)
    deleted, _ = faults.delete()
    return deleted


def list_faults(platform: str | None = None) -> list[SandboxFault]:
    faults = SandboxFault.objects.select_related("account")
    if platform:
        faults = faults.filter(platform=platform)
    return list(faults)


def active_faults(platform: str, account: SandboxAccount | None) -> list[SandboxFault]:
    """The faults that apply to a request for `account` (platform-wide ones included), oldest first."""
    scope = Q(account__isnull=True)
    if account is not None:
        scope |= Q(account=account)
    return list(SandboxFault.objects.filter(scope, platform=platform).exclude(remaining=0))


def consume(fault: SandboxFault) -> None:
    """A fault answered one request: count it down (concurrent requests each take one)."""
    if fault.remaining is None:
        return
    with transaction.atomic():
        SandboxFault.objects.filter(pk=fault.pk, remaining__gt=0).update(remaining=F("remaining") - 1)
        SandboxFault.objects.filter(pk=fault.pk, remaining=0).delete()
