"""Meta Graph API (Facebook Pages, Instagram publishing): error rules.

Body: {"error": {"code", "error_subcode", "type", "message", "is_transient",
"error_user_title", "error_user_msg", "fbtrace_id"}}, mostly with HTTP 400; the
legacy REST envelope {"error_code", "error_msg"} can come with HTTP 200.
Classify on code and subcode first (docs/partners/errors.md §1; Graph API
error-handling, rate-limiting and Instagram error-code pages), then on the
message only where Meta sends no distinguishing subcode.

Rules, first match wins:
1. A subcode Meta documents on its own (the table `_SUBCODES`), then the
   Instagram publishing family 2207xxx by its code, the video-upload family
   1363xxx -> MEDIA_ERROR, link errors 1609xxx -> VALIDATION_ERROR.
2. Token codes 190 and 102: 463/493 expired, 458/460/467 revoked, 459/464/490
   checkpoint or unconfirmed -> ACCOUNT_RESTRICTED, 492 lost Page role ->
   PERMISSION_INSUFFICIENT; no subcode (or 0, Instagram Login): the message
   decides (checkpoint, expiry, revocation), else AUTH_INVALID.
3. Code 368 (temporarily blocked for policy) without a known subcode: the
   message decides (duplicate, posting too fast, restricted), else CONTENT_REJECTED.
4. Code 10 and 200-299: permission missing -> PERMISSION_INSUFFICIENT, unless
   the account kind cannot do it (not an Instagram business account) ->
   CAPABILITY_UNSUPPORTED. Code 3: capability missing.
5. Throttles 4, 17, 32, 613, 341 and the Business Use Case range 80000-80099
   -> RATE_LIMIT_429.
6. 1 and 2 (unknown/temporary service error): HTTP 5xx -> PARTNER_5XX, else
   PARTNER_UNAVAILABLE; any other error marked is_transient -> PARTNER_UNAVAILABLE.
7. 506 duplicate; 100 invalid parameter (subcode 33 or "does not exist" ->
   RESOURCE_NOT_FOUND); 803 unknown alias; 2200-2209 webhook subscription.

Retry delay: X-Business-Use-Case-Usage `estimated_time_to_regain_access`
(minutes; the largest over all entries) x 60, or X-Ad-Account-Usage
`reset_time_duration` (seconds). X-App-Usage carries no reset time: none.
"""

from __future__ import annotations

import json
import re
from typing import Any

from recovery.classifier.parsing import Headers, Match, as_int, as_str, short
from recovery.taxonomy import ErrorCode as E

# Subcodes that decide alone, whatever the code. Sources: Graph API
# error-handling page (190 subcodes), Instagram error-codes page (2207xxx),
# and the corpus notes (368 subcodes as public schedulers handle them).
_SUBCODES: dict[int, E] = {
    # 368 temporary blocks
    1390008: E.RATE_LIMIT_429,  # "You are posting too fast"
    1404006: E.ACCOUNT_RESTRICTED,  # security check required
    1404078: E.ACCOUNT_RESTRICTED,  # Page Publishing Authorization required
    4854002: E.ACCOUNT_RESTRICTED,  # confirm your identity
    1404082: E.DUPLICATE_CONTENT,  # already posted
    1404102: E.CONTENT_REJECTED,  # violates Community Standards
    1346003: E.CONTENT_REJECTED,  # reported as abusive
    # feed/link errors
    1609005: E.VALIDATION_ERROR,  # problem scraping the link
    1609008: E.VALIDATION_ERROR,  # cannot post facebook.com links
    1609010: E.PARTNER_UNAVAILABLE,  # temporary, retry
    2061006: E.VALIDATION_ERROR,  # invalid URL
    1349125: E.VALIDATION_ERROR,  # invalid content format
    1366046: E.MEDIA_ERROR,  # photo too large / wrong type
    1363047: E.PARTNER_UNAVAILABLE,  # video service temporarily unavailable
    # Instagram Content Publishing
    2207001: E.PARTNER_5XX,  # Instagram server error, retry
    2207003: E.MEDIA_ERROR,  # media download took too long
    2207004: E.MEDIA_ERROR,  # image too large
    2207005: E.MEDIA_ERROR,  # image format not supported
    2207006: E.MEDIA_ERROR,  # container not found / expired
    2207008: E.MEDIA_ERROR,  # media builder expired
    2207009: E.MEDIA_ERROR,  # aspect ratio
    2207010: E.VALIDATION_ERROR,  # caption too long / too many hashtags or tags
    2207020: E.MEDIA_ERROR,  # media expired
    2207023: E.VALIDATION_ERROR,  # unknown media type
    2207026: E.MEDIA_ERROR,  # video format
    2207027: E.MEDIA_ERROR,  # media not ready for publishing
    2207028: E.VALIDATION_ERROR,  # carousel needs 2-10 items
    2207032: E.MEDIA_ERROR,  # create media failed
    2207035: E.VALIDATION_ERROR,  # product tags on video
    2207036: E.VALIDATION_ERROR,  # product tag positions required
    2207037: E.VALIDATION_ERROR,  # products not found
    2207040: E.VALIDATION_ERROR,  # too many tags
    2207042: E.QUOTA_EXCEEDED,  # daily publishing cap (moving 24 h)
    2207050: E.ACCOUNT_RESTRICTED,  # IG account inactive, checkpointed or restricted
    2207051: E.ACCOUNT_RESTRICTED,  # action blocked as spam
    2207052: E.MEDIA_ERROR,  # media could not be fetched from the URI
    2207053: E.MEDIA_ERROR,  # unknown upload error
    2207057: E.VALIDATION_ERROR,  # thumbnail offset invalid
}

# Token subcodes for codes 190 and 102.
_TOKEN_SUBCODES: dict[int, E] = {
    463: E.AUTH_EXPIRED,
    493: E.AUTH_EXPIRED,  # 90-day data-access expiry: needs a new login
    458: E.AUTH_REVOKED,
    460: E.AUTH_REVOKED,
    467: E.AUTH_REVOKED,
    459: E.ACCOUNT_RESTRICTED,
    464: E.ACCOUNT_RESTRICTED,
    490: E.ACCOUNT_RESTRICTED,
    492: E.PERMISSION_INSUFFICIENT,
}

_THROTTLE_CODES = {4, 17, 32, 341, 613}
_IG_MEDIA_CODES = {-2, 24, 25, 352, 9004, 9007, 36000, 36001, 36002, 36003}

_CHECKPOINT = re.compile(r"checkpoint|follow the instructions|not a confirmed user|log in to www\.", re.I)
_EXPIRED = re.compile(r"has expired|session has expired|expired on", re.I)
_REVOKED = re.compile(r"changed (their|the) password|has not authorized|logged out|deauthori[sz]ed", re.I)
_DUPLICATE = re.compile(r"already posted|same content|duplicate", re.I)
_TOO_FAST = re.compile(r"too fast|posting too (much|often)|temporarily blocked from", re.I)
_RESTRICTED = re.compile(r"restricted from|confirm your identity|security check|account (is )?(disabled|locked)", re.I)
_NOT_BUSINESS = re.compile(
    r"not an? instagram (business|professional|creator)|not a business account|requires? an? (instagram )?business",
    re.I,
)
_NOT_FOUND = re.compile(r"does not exist|cannot be found|not found", re.I)
_PERMISSION_NAME = re.compile(
    r"\b((?:pages|instagram|publish|business|ads|read|manage|user|groups|leads|whatsapp|catalog)_[a-z_]+)\b"
)


def _error_object(body: Any) -> dict | None:
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        return error
    if "error_code" in body or "error_msg" in body:  # legacy REST envelope, possibly with HTTP 200
        return {
            "code": body.get("error_code"),
            "error_subcode": body.get("error_subcode"),
            "message": body.get("error_msg"),
            "type": body.get("error_type"),
        }
    return None


def classify(status: int | None, body: Any, headers: Headers, context: str | None) -> Match | None:
    error = _error_object(body)
    if error is None:
        return None
    code = as_int(error.get("code"))
    subcode = as_int(error.get("error_subcode"))
    message = " ".join(
        part
        for part in (
            as_str(error.get("message")),
            as_str(error.get("error_user_title")),
            as_str(error.get("error_user_msg")),
        )
        if part
    )
    match = Match(
        partner_code="/".join(str(x) for x in (code, subcode) if x is not None),
        partner_message=short(message),
        missing_scopes=_permission_names(code, message),
    )
    match.code = _rule(status, code, subcode, error, message, headers)
    match.retry_after_s = usage_retry_after(headers)
    return match


def _rule(status, code, subcode, error, message, headers) -> E | None:
    # Some errors put the long code in `code` and no subcode (1609005): look at both.
    for detail in (subcode, code):
        if detail is None:
            continue
        if detail in _SUBCODES:
            return _SUBCODES[detail]
        if 2207000 <= detail <= 2207999:
            # Instagram publishing family not in the table: the code says which kind.
            if code == 100:
                return E.VALIDATION_ERROR
            if code in _THROTTLE_CODES:
                return E.RATE_LIMIT_429
            return E.MEDIA_ERROR
        if 1363000 <= detail <= 1363999:
            return E.MEDIA_ERROR  # video upload family
        if 1609000 <= detail <= 1609999:
            return E.VALIDATION_ERROR  # link posting family
    if code in (190, 102):
        if subcode in _TOKEN_SUBCODES:
            found = _TOKEN_SUBCODES[subcode]
            if found is E.AUTH_EXPIRED and subcode == 463 and _from_token_exchange(error, headers):
                return E.REFRESH_FAILED
            return found
        if _CHECKPOINT.search(message):
            return E.ACCOUNT_RESTRICTED
        if _REVOKED.search(message):
            return E.AUTH_REVOKED
        if _EXPIRED.search(message):
            return E.AUTH_EXPIRED
        return E.AUTH_INVALID
    if code == 368:
        if _DUPLICATE.search(message):
            return E.DUPLICATE_CONTENT
        if _TOO_FAST.search(message):
            return E.RATE_LIMIT_429
        if _RESTRICTED.search(message):
            return E.ACCOUNT_RESTRICTED
        return E.CONTENT_REJECTED
    if code == 10 or (code is not None and 200 <= code <= 299):
        if _NOT_BUSINESS.search(message):
            return E.CAPABILITY_UNSUPPORTED
        return E.PERMISSION_INSUFFICIENT
    if code == 3:
        return E.CAPABILITY_UNSUPPORTED
    if code == 12:
        return E.CAPABILITY_UNSUPPORTED  # deprecated API
    if code in _THROTTLE_CODES or (code is not None and 80000 <= code <= 80099):
        return E.RATE_LIMIT_429
    if code == 9 and _is_quota_message(message):
        return E.QUOTA_EXCEEDED
    if code in (1, 2):
        # Meta's "unknown" / "temporarily unavailable": a server error when the
        # HTTP status is 5xx (as the corpus labels code 1 at 500), else transient.
        return E.PARTNER_5XX if status is not None and 500 <= status <= 599 else E.PARTNER_UNAVAILABLE
    if code == 506:
        return E.DUPLICATE_CONTENT
    if code in _IG_MEDIA_CODES:
        return E.MEDIA_ERROR
    if code == 100:
        if subcode == 33 or _NOT_FOUND.search(message):
            return E.RESOURCE_NOT_FOUND
        return E.VALIDATION_ERROR
    if code == 803:
        return E.RESOURCE_NOT_FOUND
    if code is not None and 2200 <= code <= 2209:
        return E.WEBHOOK_FAILURE
    if code in (104, 2500):
        return E.AUTH_INVALID  # no or bad signature / no access token
    if error.get("is_transient") is True:
        return E.PARTNER_UNAVAILABLE
    return None


def _from_token_exchange(error: dict, headers: Headers) -> bool:
    """Whether a 190/463 came from the token exchange (fb_exchange_token), not a Graph call.

    Inferred, because Meta sends the same body to both: a Graph resource call
    answers a dead token with the `WWW-Authenticate: OAuth "Facebook Platform"
    "invalid_token"` challenge (RFC 6750 style) and a request trace id; the
    exchange answer in the corpus has neither. Callers that know they were
    refreshing pass context="refresh" instead, which decides outright.
    """
    return "www-authenticate" not in headers and not error.get("fbtrace_id")


def _is_quota_message(message: str) -> bool:
    return bool(re.search(r"maximum number of posts|publishing limit|content publishing", message, re.I))


def _permission_names(code: int | None, message: str) -> list[str]:
    if code != 10 and not (code is not None and 200 <= code <= 299):
        return []
    return sorted(set(_PERMISSION_NAME.findall(message)))


def usage_retry_after(headers: Headers) -> float | None:
    """Seconds until Meta says access returns, from its usage headers; None when it does not say."""
    waits = []
    business = _json_header(headers.get("x-business-use-case-usage"))
    if isinstance(business, dict):
        for entries in business.values():
            for entry in entries if isinstance(entries, list) else [entries]:
                if isinstance(entry, dict):
                    minutes = entry.get("estimated_time_to_regain_access")
                    if isinstance(minutes, (int, float)) and not isinstance(minutes, bool) and minutes > 0:
                        waits.append(float(minutes) * 60)
    ad_account = _json_header(headers.get("x-ad-account-usage"))
    if isinstance(ad_account, dict):
        seconds = ad_account.get("reset_time_duration")
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0:
            waits.append(float(seconds))
    return max(waits) if waits else None


def _json_header(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None
