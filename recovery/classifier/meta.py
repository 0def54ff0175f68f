"""Meta Graph API (Facebook Pages, Instagram publishing): error rules.

Body: {"error": {"code", "error_subcode", "type", "message", "is_transient",
"error_user_title", "error_user_msg", "fbtrace_id"}}, mostly with HTTP 400; the
legacy REST envelope {"error_code", "error_msg"} can come with HTTP 200; an
Instagram container the connector polled is {"id", "status_code": "ERROR" |
"EXPIRED"}. The tables below are Meta's documented ones (docs/classifier.md,
docs/partners/errors.md §1: Graph API error handling and rate limiting, Instagram
error codes, Video API error codes), plus the code-368 subcodes and link subcodes
seen in real answers.

Rules, first match wins:
1. A subcode in a table decides (`_SUBCODES`; for codes 190 and 102, `_TOKEN_SUBCODES`).
2. A subcode in no table falls back on what its code means (`_CODE_FAMILIES` and the
   rules below), never on a guess from the subcode's number range.
3. Token codes 190 and 102 with no known subcode: the message decides (checkpoint,
   a permission or Page role missing, revocation, expiry), else AUTH_INVALID. A 463 from the token exchange
   (fb_exchange_token) is REFRESH_FAILED.
4. Code 368 (temporarily blocked for policy) with no known subcode: the message
   decides (duplicate, posting too fast, restricted), else CONTENT_REJECTED.
5. Code 10 and 200-299: permission missing -> PERMISSION_INSUFFICIENT, unless the
   account kind cannot do it (not an Instagram business account) -> CAPABILITY_UNSUPPORTED.
6. Code 100 (invalid parameter): naming the permission the endpoint requires ->
   PERMISSION_INSUFFICIENT; subcode 33 or "does not exist" -> RESOURCE_NOT_FOUND;
   else VALIDATION_ERROR. Code 9: a publishing cap -> QUOTA_EXCEEDED, else RATE_LIMIT_429.
7. Transient (codes 1, 2, -1, the documented retry-later subcodes, or is_transient):
   PARTNER_5XX on an HTTP 5xx answer, PARTNER_UNAVAILABLE when Meta reports it in a
   2xx or 4xx body.
8. Container status ERROR -> MEDIA_ERROR (Meta says the media failed); EXPIRED ->
   RESOURCE_NOT_FOUND (the container is gone).
9. No body code, but Meta's `WWW-Authenticate: OAuth "Facebook Platform" "invalid_token"`
   challenge: AUTH_EXPIRED when its message says expired, else AUTH_INVALID.

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

# Retry-later answers: which code depends on the HTTP status (rule 7), so they are
# marked here rather than given a code.
TRANSIENT = "transient"

# Subcodes that decide alone, whatever the code.
_SUBCODES: dict[int, E | str] = {
    # Instagram error codes (every row of Meta's table: code / subcode)
    2207003: E.MEDIA_ERROR,  # -2: media download took too long
    2207020: E.MEDIA_ERROR,  # -2: the media expired, upload it again
    2207001: TRANSIENT,  # -1: Instagram server error, try again
    2207032: E.MEDIA_ERROR,  # -1: creating the media container failed
    2207053: E.MEDIA_ERROR,  # -1: unknown upload error, new container needed
    2207057: E.VALIDATION_ERROR,  # 1: thumbnail offset out of the video's range
    2207051: E.ACCOUNT_RESTRICTED,  # 4: publishing blocked as suspected spam
    2207042: E.QUOTA_EXCEEDED,  # 9: daily publishing cap (moving 24 h)
    2207006: E.RESOURCE_NOT_FOUND,  # 24: the media (container) cannot be found
    2207008: E.MEDIA_ERROR,  # 24: media builder expired; a new container is needed
    2207050: E.ACCOUNT_RESTRICTED,  # 25: Instagram account inactive, checkpointed or restricted
    2207023: E.VALIDATION_ERROR,  # 100: unknown media type
    2207028: E.VALIDATION_ERROR,  # 100: a carousel needs 2-10 items
    2207035: E.VALIDATION_ERROR,  # 100: product tag positions on a video
    2207036: E.VALIDATION_ERROR,  # 100: product tag positions required on a photo
    2207037: E.VALIDATION_ERROR,  # 100: product tags not found or not allowed
    2207040: E.VALIDATION_ERROR,  # 100: too many @ tags
    2207026: E.MEDIA_ERROR,  # 352: video format not supported
    2207052: E.MEDIA_ERROR,  # 9004: media could not be fetched from the URI
    2207027: E.MEDIA_ERROR,  # 9007: media not ready for publishing
    2207004: E.MEDIA_ERROR,  # 36000: image too large
    2207005: E.MEDIA_ERROR,  # 36001: image format not supported
    2207009: E.MEDIA_ERROR,  # 36003: aspect ratio out of range
    2207010: E.VALIDATION_ERROR,  # 36004: caption too long, too many hashtags or tags
    # Video API error codes (the rows of Meta's table we could read)
    1363042: E.PERMISSION_INSUFFICIENT,  # no permission to upload a video here
    1363023: E.MEDIA_ERROR,  # video too large
    1363022: E.MEDIA_ERROR,  # video too small
    1363030: E.MEDIA_ERROR,  # video upload timed out
    1363019: E.MEDIA_ERROR,  # problem uploading the video
    1363037: E.MEDIA_ERROR,  # upload chunk at a wrong offset
    1363047: TRANSIENT,  # video service temporarily unavailable
    # Code 368 blocks, as real answers carry them
    1390008: E.RATE_LIMIT_429,  # "You are posting too fast" / "We limit how often you can post"
    1404006: E.ACCOUNT_RESTRICTED,  # security check required
    1404078: E.ACCOUNT_RESTRICTED,  # Page Publishing Authorization required
    4854002: E.ACCOUNT_RESTRICTED,  # confirm your identity
    1404082: E.DUPLICATE_CONTENT,  # already posted
    1404102: E.CONTENT_REJECTED,  # violates Community Standards
    1346003: E.CONTENT_REJECTED,  # reported as abusive
    # Feed and link errors, as real answers carry them
    1609005: E.VALIDATION_ERROR,  # problem scraping the link (documented as a code too)
    1609008: E.VALIDATION_ERROR,  # cannot post facebook.com links
    1609010: TRANSIENT,  # temporary, retry
    2061006: E.VALIDATION_ERROR,  # invalid URL
    1349125: E.VALIDATION_ERROR,  # invalid content format
    1366046: E.MEDIA_ERROR,  # photo too large or of the wrong type
}

# Authentication subcodes of codes 190 and 102 (the documented table, plus 490 and 493).
_TOKEN_SUBCODES: dict[int, E] = {
    458: E.AUTH_REVOKED,  # app not installed: the user removed it
    459: E.ACCOUNT_RESTRICTED,  # user checkpointed
    460: E.AUTH_REVOKED,  # password changed
    463: E.AUTH_EXPIRED,
    464: E.ACCOUNT_RESTRICTED,  # unconfirmed user
    467: E.AUTH_REVOKED,  # invalid access token: the session was killed (logged out)
    490: E.ACCOUNT_RESTRICTED,  # blocking, logged-in checkpoint
    492: E.PERMISSION_INSUFFICIENT,  # invalid session: no role on the Page any more
    493: E.AUTH_EXPIRED,  # 90-day data-access expiry: needs a new login
}

# What a code means when its subcode is in no table (or there is none): the families of
# Meta's documented codes. Codes with a rule of their own (190, 102, 368, 10, 200-299,
# 100, 9) are not here.
_CODE_FAMILIES: dict[int, E | str] = {
    1: TRANSIENT,  # API Unknown: possibly downtime
    2: TRANSIENT,  # API Service: downtime
    -1: TRANSIENT,  # Instagram server-side errors
    -2: E.MEDIA_ERROR,  # Instagram media download failed or expired
    3: E.CAPABILITY_UNSUPPORTED,  # API Method: capability missing
    4: E.RATE_LIMIT_429,  # app throttle
    17: E.RATE_LIMIT_429,  # user throttle
    32: E.RATE_LIMIT_429,  # Page throttle
    341: E.RATE_LIMIT_429,  # application limit reached
    613: E.RATE_LIMIT_429,  # custom rate limit
    24: E.RESOURCE_NOT_FOUND,  # Instagram media not found
    25: E.ACCOUNT_RESTRICTED,  # Instagram account restricted
    352: E.MEDIA_ERROR,  # Instagram video format
    506: E.DUPLICATE_CONTENT,  # duplicate post
    6000: E.MEDIA_ERROR,  # Video API: problem uploading the video file
    9004: E.MEDIA_ERROR,  # Instagram media fetch failed
    9007: E.MEDIA_ERROR,  # Instagram media not ready
    36000: E.MEDIA_ERROR,  # Instagram image too large
    36001: E.MEDIA_ERROR,  # Instagram image format
    36003: E.MEDIA_ERROR,  # Instagram aspect ratio
    36004: E.VALIDATION_ERROR,  # Instagram caption
    12: E.CAPABILITY_UNSUPPORTED,  # deprecated API
    104: E.AUTH_INVALID,  # incorrect signature
    2500: E.AUTH_INVALID,  # an active access token must be used
    803: E.RESOURCE_NOT_FOUND,  # an alias does not exist
    33: E.RESOURCE_NOT_FOUND,  # "This object does not exist or does not support this action" (real answers)
    1609005: E.VALIDATION_ERROR,  # error posting a link
}
# Business Use Case throttles (Graph API rate limiting: 80000-80014).
_BUC_THROTTLES = range(80000, 80015)
_WEBHOOK_CODES = range(2200, 2210)  # subscription and callback verification

_CHECKPOINT = re.compile(r"checkpoint|follow the instructions|not a confirmed user|log in to www\.", re.I)
_EXPIRED = re.compile(r"has expired|session has expired|expired on", re.I)
_REVOKED = re.compile(r"changed (their|the) password|has not authorized|logged out|deauthori[sz]ed", re.I)
_PAGE_PERMISSION = re.compile(
    r"permission\(?s?\)? must be granted|must be an? (admin|administrator|editor|moderator)\b|role on the page", re.I
)
_DUPLICATE = re.compile(r"already posted|same content|duplicate", re.I)
_TOO_FAST = re.compile(r"too fast|posting too (much|often)|temporarily blocked from|limit how often", re.I)
_RESTRICTED = re.compile(r"restricted from|confirm your identity|security check|account (is )?(disabled|locked)", re.I)
_NOT_BUSINESS = re.compile(
    r"not an? instagram (business|professional|creator)|not a business account|requires? an? (instagram )?business",
    re.I,
)
_NOT_FOUND = re.compile(r"does not exist|cannot be found|not found", re.I)
# Code 100 that names the permission the endpoint needs: "This endpoint requires the
# 'manage_pages' or 'pages_read_engagement' permission".
_ENDPOINT_PERMISSION = re.compile(r"requires? the '[\w.]+'(?: or '[\w.]+')* permission", re.I)
_PUBLISHING_CAP = re.compile(r"maximum number of posts|publishing limit|content publishing", re.I)
_PERMISSION_NAME = re.compile(
    r"\b((?:pages|instagram|publish|business|ads|read|manage|user|groups|leads|whatsapp|catalog)_[a-z_]+)\b"
)
_OAUTH_CHALLENGE = re.compile(r'^\s*OAuth\b.*"invalid_token"(?:\s*,?\s*"(?P<message>[^"]*)")?', re.I)
_CONTAINER_FAILURES = {"ERROR": E.MEDIA_ERROR, "EXPIRED": E.RESOURCE_NOT_FOUND}


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


def from_fields(fields: dict[str, list]) -> dict:
    """The Graph envelope around members salvaged from a body cut short (parsing.salvage_fields)."""
    flat = {key: values[0] for key, values in fields.items()}
    return flat if "error_code" in flat else {"error": flat}


def classify(status: int | None, body: Any, headers: Headers, context: str | None) -> Match | None:
    error = _error_object(body)
    if error is None:
        return _container_status(body) or _challenge(headers)
    code = as_int(error.get("code"))
    subcode = as_int(error.get("error_subcode"))
    message = as_str(error.get("message"))
    user_title, user_message = as_str(error.get("error_user_title")), as_str(error.get("error_user_msg"))
    if user_title or user_message:
        message = " ".join(part for part in (message, user_title, user_message) if part)
    match = Match(
        partner_code="/".join(str(x) for x in (code, subcode) if x is not None) if subcode is not None else as_str(code),
        partner_message=short(message),
        missing_scopes=_permission_names(code, message),
    )
    found = _rule(code, subcode, error, message, headers)
    if found == TRANSIENT or (found is None and error.get("is_transient") is True):
        found = E.PARTNER_5XX if status is not None and 500 <= status <= 599 else E.PARTNER_UNAVAILABLE
    match.code = found
    if "x-business-use-case-usage" in headers or "x-ad-account-usage" in headers:
        match.retry_after_s = usage_retry_after(headers)
    return match


def _rule(code, subcode, error, message, headers) -> E | str | None:
    # Some errors put the long code in `code` and no subcode (1609005): look at both.
    for detail in (subcode, code):
        if detail is not None and detail in _SUBCODES:
            return _SUBCODES[detail]
    if code in (190, 102):
        return _token_rule(subcode, error, message, headers)
    if code == 368:
        if _DUPLICATE.search(message):
            return E.DUPLICATE_CONTENT
        if _TOO_FAST.search(message):
            return E.RATE_LIMIT_429
        if _RESTRICTED.search(message):
            return E.ACCOUNT_RESTRICTED
        return E.CONTENT_REJECTED
    if code == 10 or (code is not None and 200 <= code <= 299):
        return E.CAPABILITY_UNSUPPORTED if _NOT_BUSINESS.search(message) else E.PERMISSION_INSUFFICIENT
    if code == 100:
        if _ENDPOINT_PERMISSION.search(message):
            return E.PERMISSION_INSUFFICIENT
        return E.RESOURCE_NOT_FOUND if subcode == 33 or _NOT_FOUND.search(message) else E.VALIDATION_ERROR
    if code == 9:
        return E.QUOTA_EXCEEDED if _PUBLISHING_CAP.search(message) else E.RATE_LIMIT_429
    if code in _CODE_FAMILIES:
        return _CODE_FAMILIES[code]
    if code in _BUC_THROTTLES:
        return E.RATE_LIMIT_429
    if code in _WEBHOOK_CODES:
        return E.WEBHOOK_FAILURE
    return None


def _token_rule(subcode, error, message, headers) -> E:
    if subcode in _TOKEN_SUBCODES:
        found = _TOKEN_SUBCODES[subcode]
        if subcode == 463 and _from_token_exchange(error, headers):
            return E.REFRESH_FAILED
        return found
    if _CHECKPOINT.search(message):
        return E.ACCOUNT_RESTRICTED
    if _PAGE_PERMISSION.search(message):
        return E.PERMISSION_INSUFFICIENT  # the token is fine; the user lacks a permission or role on the Page
    if _REVOKED.search(message):
        return E.AUTH_REVOKED
    if _EXPIRED.search(message):
        return E.AUTH_EXPIRED
    return E.AUTH_INVALID


def _from_token_exchange(error: dict, headers: Headers) -> bool:
    """Whether a 190/463 came from the token exchange (fb_exchange_token), not a Graph call.

    Inferred, because Meta sends the same body to both: a Graph resource call
    answers a dead token with the `WWW-Authenticate: OAuth "Facebook Platform"
    "invalid_token"` challenge (RFC 6750 style) and a request trace id; the
    exchange answer in the corpus has neither. Callers that know they were
    refreshing pass context="refresh" instead, which decides outright.
    """
    return "www-authenticate" not in headers and not error.get("fbtrace_id")


def _container_status(body: Any) -> Match | None:
    """An Instagram container that failed (ERROR) or was never published in time (EXPIRED)."""
    if not isinstance(body, dict):
        return None
    status = as_str(body.get("status_code")).upper()
    if status not in _CONTAINER_FAILURES:
        return None
    detail = as_str(body.get("status")) or f"container {status}"
    return Match(code=_CONTAINER_FAILURES[status], partner_code=f"container/{status}", partner_message=short(detail))


def _challenge(headers: Headers) -> Match | None:
    """Meta's own `WWW-Authenticate: OAuth "Facebook Platform" "invalid_token" "<message>"`."""
    found = _OAUTH_CHALLENGE.match(headers.get("www-authenticate", ""))
    if not found:
        return None
    message = found.group("message") or ""
    code = E.AUTH_EXPIRED if _EXPIRED.search(message) else E.AUTH_INVALID
    return Match(code=code, partner_code="invalid_token", partner_message=short(message))


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
