"""LinkedIn (Community Management / Marketing APIs, /rest and /v2): error rules.

Bodies (docs/classifier.md, docs/partners/errors.md §2; LinkedIn API error-handling page): {"status",
"serviceErrorCode", "code", "message"} on /rest (older /v2 has no `code`; the
documented sample carries serviceErrorCode 401); 422 validation
{"errorDetailType", "errorDetails": {"inputErrors": [{"code": ...}]}}; retired v1
{"errorCode", "message", "requestId", ...}; {"error": {"message"}}; the OAuth
endpoint's RFC 6749 {"error", "error_description"}; plain text; nothing.

Rules, first match wins:
1. OAuth token-endpoint errors: the shared OAuth rules (LinkedIn says
   `invalid_request` for a dead refresh token).
2. serviceErrorCode 65602 / EXPIRED_ACCESS_TOKEN -> AUTH_EXPIRED; 65601 /
   REVOKED_ACCESS_TOKEN -> AUTH_REVOKED; 65600 and the other 656xx /
   INVALID_ACCESS_TOKEN / EMPTY_ACCESS_TOKEN -> AUTH_INVALID; 100 / ACCESS_DENIED
   -> PERMISSION_INSUFFICIENT.
3. inputErrors (or the message) say DUPLICATE_POST -> DUPLICATE_CONTENT.
4. By status: 401 -> revoked or invalid when the message says so, otherwise
   AUTH_EXPIRED (LinkedIn tokens die of age after 60 days, and the seed reads a bare
   "Unauthorized" so); 403 "Throttle limit" (retired v1) -> QUOTA_EXCEEDED, else
   PERMISSION_INSUFFICIENT when LinkedIn's JSON says it (a 403 in text is left to the
   partners' wording rule, wording.py); 404 "Resource <name> does not exist"
   (product not provisioned for the app) -> PERMISSION_INSUFFICIENT, other 404 ->
   RESOURCE_NOT_FOUND; 409 CONFLICT; 410 (API retired) and 426 NONEXISTENT_VERSION
   -> CAPABILITY_UNSUPPORTED; 400/422 about media assets -> MEDIA_ERROR, else
   VALIDATION_ERROR; 405, 411, 413, 415 -> VALIDATION_ERROR; 429 -> QUOTA_EXCEEDED
   (limits are daily), retry at the next 00:00 UTC.
5. 5xx: left to the HTTP status (503 -> PARTNER_UNAVAILABLE, else PARTNER_5XX).
"""

from __future__ import annotations

import re
from typing import Any

from recovery.classifier.oauth import classify_oauth, is_oauth_error
from recovery.classifier.parsing import (
    MAX_SCAN_CHARS,
    Headers,
    Match,
    as_int,
    as_str,
    html_text,
    looks_like_html,
    seconds_until_next_utc_midnight,
    short,
)
from recovery.taxonomy import ErrorCode as E

_SERVICE_CODES = {65600: E.AUTH_INVALID, 65601: E.AUTH_REVOKED, 65602: E.AUTH_EXPIRED, 100: E.PERMISSION_INSUFFICIENT}
_CODES = {
    "EXPIRED_ACCESS_TOKEN": E.AUTH_EXPIRED,
    "REVOKED_ACCESS_TOKEN": E.AUTH_REVOKED,
    "INVALID_ACCESS_TOKEN": E.AUTH_INVALID,
    "EMPTY_ACCESS_TOKEN": E.AUTH_INVALID,
    "ACCESS_DENIED": E.PERMISSION_INSUFFICIENT,
    "NONEXISTENT_VERSION": E.CAPABILITY_UNSUPPORTED,
    "VERSION_MISSING": E.VALIDATION_ERROR,
    "DUPLICATE_POST": E.DUPLICATE_CONTENT,
    "TOO_MANY_REQUESTS": E.QUOTA_EXCEEDED,
}

_RESTRICTED_RESOURCE = re.compile(r"\bResource \S+ does not exist\b", re.I)
_REVOKED = re.compile(r"\brevoked\b", re.I)
_INVALID_TOKEN = re.compile(
    r"invalid access token|unable to verify access token|empty oauth2[_ ]access[_ ]token|unknown authentication schem|"
    r"malformed|not valid",
    re.I,
)
_THROTTLE = re.compile(r"throttle limit", re.I)
_MEDIA = re.compile(r"\bassets?\b|urn:li:(image|video|document|digitalmediaAsset)|\bupload", re.I)
_DUPLICATE = re.compile(r"\bDUPLICATE_POST\b|content is a duplicate", re.I)
_SCOPE_NAME = re.compile(r"\b([rw]_[a-z_]+|rw_[a-z_]+)\b")


def classify(status: int | None, body: Any, headers: Headers, context: str | None) -> Match | None:
    if is_oauth_error(body):
        match = classify_oauth(status, body)
        if match.code is None:  # an OAuth error name the shared rules do not know: the status decides
            match.code = _rule(status, None, "", [], match.partner_message)
        return _with_daily_reset(match)
    if isinstance(body, dict):
        nested = body.get("error") if isinstance(body.get("error"), dict) else {}
        service_code = as_int(body.get("serviceErrorCode"))
        if service_code is None:
            service_code = as_int(body.get("errorCode")) or None  # retired v1; 0 says nothing
        code = (as_str(body.get("code")) or as_str(nested.get("code"))).strip().upper()
        message = as_str(body.get("message")) or as_str(nested.get("message"))
        input_codes = _input_error_codes(body)
    else:
        # Text, nothing, or a list: only the message (if any) and the status speak.
        text = body if isinstance(body, str) else ""
        service_code, code, input_codes = None, "", []
        message = html_text(text) if looks_like_html(text) else text[:MAX_SCAN_CHARS]

    # LinkedIn's JSON always carries its `status`: with no code, that marks the envelope as LinkedIn's.
    envelope_status = as_int(body.get("status")) if isinstance(body, dict) else None
    match = Match(
        partner_code="/".join(x for x in (str(service_code) if service_code else "", code) if x)
        or (str(envelope_status) if envelope_status else ""),
        partner_message=short(message),
        missing_scopes=sorted(set(_SCOPE_NAME.findall(message))) if status == 403 else [],
    )
    match.code = _rule(status, service_code, code, input_codes, message)
    if status == 403 and match.code is E.PERMISSION_INSUFFICIENT and not isinstance(body, dict):
        match.code = None  # a 403 without LinkedIn's JSON is not LinkedIn's answer: the shared rule decides
    return _with_daily_reset(match)


def from_fields(fields: dict[str, list]) -> dict:
    """LinkedIn's flat envelope from members salvaged from a body cut short."""
    return {key: values[0] for key, values in fields.items()}


def _with_daily_reset(match: Match) -> Match:
    if match.code is E.QUOTA_EXCEEDED:
        # Daily limits reset at midnight UTC; retrying sooner keeps failing.
        match.retry_after_s = seconds_until_next_utc_midnight()
    return match


def _input_error_codes(body: dict) -> list[str]:
    details = body.get("errorDetails")
    errors = details.get("inputErrors") if isinstance(details, dict) else None
    if not isinstance(errors, list):
        return []
    return [as_str(e.get("code")).upper() for e in errors if isinstance(e, dict) and as_str(e.get("code"))]


def _rule(status, service_code, code, input_codes, message) -> E | None:
    if service_code in _SERVICE_CODES:
        return _SERVICE_CODES[service_code]
    if service_code is not None and 65600 <= service_code <= 65699:
        return E.AUTH_INVALID
    if "DUPLICATE_POST" in input_codes or _DUPLICATE.search(message):
        return E.DUPLICATE_CONTENT
    if code in _CODES:
        return _CODES[code]
    lowered = message.lower()
    if status == 401:
        if _REVOKED.search(message):
            return E.AUTH_REVOKED
        if _INVALID_TOKEN.search(message) and "expired" not in lowered:
            return E.AUTH_INVALID
        return E.AUTH_EXPIRED
    if status == 403:
        return E.QUOTA_EXCEEDED if _THROTTLE.search(message) else E.PERMISSION_INSUFFICIENT
    if status == 404:
        return E.PERMISSION_INSUFFICIENT if _RESTRICTED_RESOURCE.search(message) else E.RESOURCE_NOT_FOUND
    if status == 409:
        return E.CONFLICT
    if status in (410, 426):
        return E.CAPABILITY_UNSUPPORTED
    if status in (400, 422):
        return E.MEDIA_ERROR if _MEDIA.search(message) else E.VALIDATION_ERROR
    if status in (405, 411, 413, 415):
        return E.VALIDATION_ERROR
    if status == 429:
        return E.QUOTA_EXCEEDED
    return None
