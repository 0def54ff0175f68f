"""Google Business Profile (My Business APIs, v4 localPosts): error rules.

Bodies (docs/classifier.md, docs/partners/errors.md §4; Google API design guide
"Errors", google.rpc.Code, google.api.ErrorReason, GBP Shared.Types/ErrorCode):
google.rpc.Status {"error":
{"code", "message", "status", "details": [ErrorInfo {reason}, RetryInfo
{retryDelay}, QuotaFailure, google.mybusiness.v4.ValidationError {errorDetails:
[{code, field}]}, ...], "errors": [{"reason", "domain", "message"}] (legacy v4)}},
sometimes wrapped in a JSON list; Google's OAuth endpoint {"error": "invalid_grant",
...}; an HTML 404 from the front end; sometimes only a GBP ErrorCode name as text; a
LocalPost whose `state` is REJECTED with HTTP 200.

Rules, first match wins:
1. OAuth errors: the shared OAuth rules (invalid_grant -> REFRESH_FAILED,
   Google's only revocation signal).
2. A LocalPost with state REJECTED -> CONTENT_REJECTED.
3. 429 RESOURCE_EXHAUSTED (or a rate-limit reason): a limit of 0 (the project was
   never granted GBP access) -> PERMISSION_INSUFFICIENT; a per-day limit ->
   QUOTA_EXCEEDED; else the reason's own code (RATE_LIMIT_429 by default).
4. ErrorInfo reasons (google.api.ErrorReason, every documented one), GBP
   ErrorCode names or numbers (ValidationError details or a bare text body; a
   number by its documented range), legacy errors[].reason, from `_REASONS`.
5. 401 UNAUTHENTICATED: "missing required authentication credential" ->
   AUTH_INVALID; "invalid authentication credentials" -> AUTH_EXPIRED (expired
   or invalid: Google does not say which, access tokens live an hour, and the
   fix either way starts with a refresh).
6. By google.rpc status (or, when it is missing, the code's HTTP status):
   `_STATUSES`; NOT_FOUND "Method not found." -> CAPABILITY_UNSUPPORTED.
7. Transient (INTERNAL, UNKNOWN, DATA_LOSS, DEADLINE_EXCEEDED, CANCELLED,
   backendError, OPERATION_EXECUTION_ERROR): PARTNER_5XX on an HTTP 5xx answer,
   PARTNER_UNAVAILABLE when Google reports it in a 2xx or 4xx body.
8. An HTML 404 page ("The requested URL ... was not found on this server") is
   a malformed path -> VALIDATION_ERROR.
Missing scopes come from `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`.
Retry delay: RetryInfo.retryDelay; else for a per-minute limit the next minute
boundary, for a per-day limit the next midnight Pacific time (Google's quota
day; not re-checked against a live answer).
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
    parse_duration,
    seconds_until_next_midnight_in,
    seconds_until_next_minute,
    short,
)
from recovery.taxonomy import ErrorCode as E

# Retry-later answers: which code depends on the HTTP status (rule 7).
TRANSIENT = "transient"

# google.api.ErrorReason (the googleapis.com domain's documented ErrorInfo reasons),
# GBP ErrorCode names (Shared.Types/ErrorCode), the notification-setup ErrorCode
# names, and the legacy errors[].reason values (upper-cased).
_REASONS: dict[str, E | str] = {
    # -- google.api.ErrorReason
    "SERVICE_DISABLED": E.PERMISSION_INSUFFICIENT,  # the API is not enabled for the project
    "BILLING_DISABLED": E.PERMISSION_INSUFFICIENT,  # the project's billing account is disabled
    "API_KEY_INVALID": E.AUTH_INVALID,
    "API_KEY_SERVICE_BLOCKED": E.PERMISSION_INSUFFICIENT,  # key restrictions deny this API
    "API_KEY_HTTP_REFERRER_BLOCKED": E.PERMISSION_INSUFFICIENT,
    "API_KEY_IP_ADDRESS_BLOCKED": E.PERMISSION_INSUFFICIENT,
    "API_KEY_ANDROID_APP_BLOCKED": E.PERMISSION_INSUFFICIENT,
    "API_KEY_IOS_APP_BLOCKED": E.PERMISSION_INSUFFICIENT,
    "RATE_LIMIT_EXCEEDED": E.RATE_LIMIT_429,  # per-day limits and a 0 limit are decided first (rule 3)
    "RESOURCE_QUOTA_EXCEEDED": E.QUOTA_EXCEEDED,
    "LOCATION_TAX_POLICY_VIOLATED": E.PERMISSION_INSUFFICIENT,  # a policy denies the caller
    "USER_PROJECT_DENIED": E.PERMISSION_INSUFFICIENT,
    "CONSUMER_SUSPENDED": E.ACCOUNT_RESTRICTED,  # the project is suspended
    "CONSUMER_INVALID": E.PERMISSION_INSUFFICIENT,
    "SECURITY_POLICY_VIOLATED": E.PERMISSION_INSUFFICIENT,  # VPC Service Controls
    "ACCESS_TOKEN_EXPIRED": E.AUTH_EXPIRED,
    "ACCESS_TOKEN_SCOPE_INSUFFICIENT": E.PERMISSION_INSUFFICIENT,
    "ACCOUNT_STATE_INVALID": E.ACCOUNT_RESTRICTED,  # the token's account is disabled or deleted
    "ACCESS_TOKEN_TYPE_UNSUPPORTED": E.AUTH_INVALID,
    "CREDENTIALS_MISSING": E.AUTH_INVALID,
    "RESOURCE_PROJECT_INVALID": E.VALIDATION_ERROR,  # the project in the request is malformed
    "SESSION_COOKIE_INVALID": E.AUTH_INVALID,
    "USER_BLOCKED_BY_ADMIN": E.PERMISSION_INSUFFICIENT,  # a Workspace admin blocks the service
    "RESOURCE_USAGE_RESTRICTION_VIOLATED": E.PERMISSION_INSUFFICIENT,
    "SYSTEM_PARAMETER_UNSUPPORTED": E.VALIDATION_ERROR,
    "ORG_RESTRICTION_VIOLATION": E.PERMISSION_INSUFFICIENT,
    "ORG_RESTRICTION_HEADER_INVALID": E.VALIDATION_ERROR,
    "SERVICE_NOT_VISIBLE": E.PERMISSION_INSUFFICIENT,
    "GCP_SUSPENDED": E.ACCOUNT_RESTRICTED,
    "LOCATION_POLICY_VIOLATED": E.PERMISSION_INSUFFICIENT,
    "MISSING_ORIGIN": E.VALIDATION_ERROR,
    "OVERLOADED_CREDENTIALS": E.VALIDATION_ERROR,  # two kinds of credential in one request
    "LOCATION_ORG_POLICY_VIOLATED": E.PERMISSION_INSUFFICIENT,
    "TLS_ORG_POLICY_VIOLATED": E.SSL_ERROR,  # TLS 1.0/1.1 refused: our side must upgrade
    "EMULATOR_QUOTA_EXCEEDED": E.QUOTA_EXCEEDED,
    "CREDENTIAL_ANDROID_APP_INVALID": E.AUTH_INVALID,
    "IAM_PERMISSION_DENIED": E.PERMISSION_INSUFFICIENT,
    "JWT_TOKEN_INVALID": E.AUTH_INVALID,
    "CREDENTIAL_TYPE_UNSUPPORTED": E.AUTH_INVALID,
    "ACCOUNT_TYPE_UNSUPPORTED": E.AUTH_INVALID,  # sign in with an account of another kind
    "ENDPOINT_USAGE_RESTRICTION_VIOLATED": E.PERMISSION_INSUFFICIENT,
    "TLS_CIPHER_RESTRICTION_VIOLATED": E.SSL_ERROR,
    "MCP_SERVER_DISABLED": E.PERMISSION_INSUFFICIENT,
    # -- GBP ErrorCode (1-199 general, 1000s photos, 1100s address, 1200s category, 1300s operation)
    "MISSING_VALUE": E.VALIDATION_ERROR,
    "INVALID_VALUE": E.VALIDATION_ERROR,
    "INVALID_CHARACTERS": E.VALIDATION_ERROR,
    "TOO_MANY_ITEMS": E.VALIDATION_ERROR,
    "READ_ONLY": E.VALIDATION_ERROR,
    "OVERLAPPING_RANGES": E.VALIDATION_ERROR,
    "INVERTED_RANGE": E.VALIDATION_ERROR,
    "VALUE_OUTSIDE_ALLOWED_RANGE": E.VALIDATION_ERROR,
    "MISSING_DEPENDENT_FIELD": E.VALIDATION_ERROR,
    "FIELD_HAS_DEPENDENCIES": E.VALIDATION_ERROR,
    "UNSUPPORTED_VALUE": E.VALIDATION_ERROR,
    "EXPIRED_VALUE": E.VALIDATION_ERROR,
    "PHOTO_FETCH_FAILED": E.MEDIA_ERROR,
    "PHOTO_UPLOAD_FAILED": E.MEDIA_ERROR,
    "GEOCODE_ERROR": E.VALIDATION_ERROR,
    "LAT_LNG_OUTSIDE_COUNTRY": E.VALIDATION_ERROR,
    "LAT_LNG_REQUIRED": E.VALIDATION_ERROR,
    "LAT_LNG_TOO_FAR_FROM_ADDRESS": E.VALIDATION_ERROR,
    "CATEGORY_NOT_VERIFIED": E.VALIDATION_ERROR,
    "OPERATION_EXECUTION_ERROR": TRANSIENT,  # a general operation failure on Google's side
    "OPERATION_UNSUPPORTED_UNDER_ACCOUNT_CONDITION": E.ACCOUNT_RESTRICTED,
    "LOCATION_DISABLED_FOR_LOCAL_POST_API": E.CAPABILITY_UNSUPPORTED,
    "STALE_DATA": E.CONFLICT,
    # -- notification setup (NotificationSetting ErrorCode)
    "INVALID_PUBSUB_TOPIC": E.WEBHOOK_FAILURE,
    "PUBSUB_TOPIC_NOT_IN_CALLER_PROJECT": E.WEBHOOK_FAILURE,
    "SHARES_PUBSUB_TOPIC_MESSAGE_ACROSS_VERSIONS": E.WEBHOOK_FAILURE,
    "PUBLISH_PERMISSIONS_MISSING_FOR_PUBSUB_TOPIC": E.WEBHOOK_FAILURE,
    # -- legacy errors[].reason
    "AUTHERROR": E.AUTH_EXPIRED,  # "Invalid Credentials": expired or invalid (see rule 5)
    "KEYINVALID": E.AUTH_INVALID,
    "INSUFFICIENTPERMISSIONS": E.PERMISSION_INSUFFICIENT,
    "FORBIDDEN": E.PERMISSION_INSUFFICIENT,
    "ACCESSNOTCONFIGURED": E.PERMISSION_INSUFFICIENT,  # the legacy name of SERVICE_DISABLED
    "IPREFERERBLOCKED": E.PERMISSION_INSUFFICIENT,
    "RATELIMITEXCEEDED": E.RATE_LIMIT_429,
    "USERRATELIMITEXCEEDED": E.RATE_LIMIT_429,
    "DAILYLIMITEXCEEDED": E.QUOTA_EXCEEDED,
    "QUOTAEXCEEDED": E.QUOTA_EXCEEDED,
    "BACKENDERROR": TRANSIENT,
    "INTERNALERROR": TRANSIENT,
    "DUPLICATE": E.DUPLICATE_CONTENT,
    "CONFLICT": E.CONFLICT,
}
_THROTTLE_REASONS = {"RATE_LIMIT_EXCEEDED", "RATELIMITEXCEEDED", "USERRATELIMITEXCEEDED"}

# google.rpc.Code (every code but OK).
_STATUSES: dict[str, E | str] = {
    "CANCELLED": TRANSIENT,
    "UNKNOWN": TRANSIENT,
    "INVALID_ARGUMENT": E.VALIDATION_ERROR,
    "DEADLINE_EXCEEDED": TRANSIENT,
    "NOT_FOUND": E.RESOURCE_NOT_FOUND,
    "ALREADY_EXISTS": E.DUPLICATE_CONTENT,
    "PERMISSION_DENIED": E.PERMISSION_INSUFFICIENT,
    "RESOURCE_EXHAUSTED": E.RATE_LIMIT_429,
    "FAILED_PRECONDITION": E.VALIDATION_ERROR,
    "ABORTED": E.CONFLICT,
    "OUT_OF_RANGE": E.VALIDATION_ERROR,
    "UNIMPLEMENTED": E.CAPABILITY_UNSUPPORTED,
    "INTERNAL": TRANSIENT,
    "UNAVAILABLE": E.PARTNER_UNAVAILABLE,
    "DATA_LOSS": TRANSIENT,
    "UNAUTHENTICATED": E.AUTH_INVALID,
}
# The google.rpc status an HTTP status stands for, when the body names none.
_HTTP_STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_ENUM_NAME = re.compile(r"^[A-Z][A-Z0-9_]{2,80}$")
_PER_DAY = re.compile(r"per ?day|perday|daily", re.I)
_PER_MINUTE = re.compile(r"per ?minute|perminute", re.I)
QUOTA_RESET_ZONE = "America/Los_Angeles"
_MISSING_CREDENTIAL = re.compile(r"missing required authentication credential", re.I)
_INVALID_CREDENTIALS = re.compile(r"invalid authentication credentials|invalid credentials", re.I)
_METHOD_NOT_FOUND = re.compile(r"method not found", re.I)
_URL_NOT_FOUND = re.compile(r"requested URL .* was not found on this server", re.I | re.S)


def from_fields(fields: dict[str, list]) -> dict:
    """Google's envelope around members salvaged from a body cut short: an OAuth error, or
    google.rpc.Status with every salvaged `reason` as a legacy errors[] entry."""
    flat = {key: values[0] for key, values in fields.items()}
    if isinstance(flat.get("error"), str):
        return flat
    error = {key: flat[key] for key in ("code", "message", "status") if key in flat}
    error["errors"] = [{"reason": reason} for reason in fields.get("reason", []) if isinstance(reason, str)]
    return {"error": error}


def classify(status: int | None, body: Any, headers: Headers, context: str | None) -> Match | None:
    if isinstance(body, list) and len(body) == 1 and isinstance(body[0], dict):
        body = body[0]  # some Google front ends wrap the Status in a one-element list
    if is_oauth_error(body):
        return classify_oauth(status, body)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return _classify_status(status, body["error"])
    if isinstance(body, dict) and as_str(body.get("state")).upper() == "REJECTED":
        return Match(code=E.CONTENT_REJECTED, partner_code="localPost/REJECTED", partner_message="local post rejected")
    if isinstance(body, str):
        text = body.strip()[:MAX_SCAN_CHARS]
        if _ENUM_NAME.match(text) and text in _REASONS:
            return Match(code=_by_status(_REASONS[text], status), partner_code=text, partner_message=text)
        readable = html_text(text) if looks_like_html(text) else text
        if status == 404 and _URL_NOT_FOUND.search(readable):
            return Match(code=E.VALIDATION_ERROR, partner_code="404", partner_message=short(readable))
        if status == 404 and _METHOD_NOT_FOUND.search(readable):
            return Match(code=E.CAPABILITY_UNSUPPORTED, partner_code="404", partner_message=short(readable))
    return None


def _classify_status(status: int | None, error: dict) -> Match:
    rpc_status = as_str(error.get("status")).upper()
    if not rpc_status:
        rpc_status = _HTTP_STATUSES.get(as_int(error.get("code")) or status or 0, "")
    message = as_str(error.get("message"))
    details = [d for d in error.get("details") or [] if isinstance(d, dict)] if isinstance(error.get("details"), list) else []
    reasons, quota_limits, retry_after = [], [], None
    for detail in details:
        kind = as_str(detail.get("@type"))
        if kind.endswith("google.rpc.ErrorInfo"):
            reasons.append(as_str(detail.get("reason")).upper())
            metadata = detail.get("metadata") if isinstance(detail.get("metadata"), dict) else {}
            quota_limits.append(metadata)
        elif kind.endswith("google.rpc.RetryInfo"):
            retry_after = parse_duration(detail.get("retryDelay"))
        elif kind.endswith("ValidationError"):
            for item in detail.get("errorDetails") or []:
                if isinstance(item, dict):
                    reasons.append(_error_code_name(item.get("code")))
        elif kind.endswith("google.rpc.QuotaFailure"):
            for violation in detail.get("violations") or []:
                if isinstance(violation, dict):
                    quota_limits.append({"quota_limit": as_str(violation.get("subject")) + as_str(violation.get("description"))})
    legacy = error.get("errors") if isinstance(error.get("errors"), list) else []
    reasons.extend(as_str(e.get("reason")).upper() for e in legacy if isinstance(e, dict))
    reasons = [r for r in reasons if r]

    match = Match(
        partner_code="/".join(x for x in (rpc_status or as_str(error.get("code")), *reasons[:1]) if x),
        partner_message=short(message),
        retry_after_s=retry_after,
    )
    match.code = _by_status(_rule(status, rpc_status, message, reasons, quota_limits), status)
    if match.retry_after_s is None and match.code is E.QUOTA_EXCEEDED:
        # Google's daily quotas reset at midnight Pacific time.
        match.retry_after_s = seconds_until_next_midnight_in(QUOTA_RESET_ZONE)
    elif match.retry_after_s is None and match.code is E.RATE_LIMIT_429 and _PER_MINUTE.search(_limits_text(quota_limits) + " " + message):
        match.retry_after_s = seconds_until_next_minute()
    return match


def _rule(status, rpc_status, message, reasons, quota_limits) -> E | str | None:
    throttled = rpc_status == "RESOURCE_EXHAUSTED" or status == 429 or any(r in _THROTTLE_REASONS for r in reasons)
    if throttled:
        if any(as_str(m.get("quota_limit_value")) == "0" for m in quota_limits):
            return E.PERMISSION_INSUFFICIENT  # a limit of 0: the project was never granted GBP API access
        if _PER_DAY.search(_limits_text(quota_limits)) or _PER_DAY.search(message):
            return E.QUOTA_EXCEEDED
    for reason in reasons:
        if reason in _REASONS:
            found = _REASONS[reason]
            if found is E.AUTH_EXPIRED and _MISSING_CREDENTIAL.search(message):
                return E.AUTH_INVALID
            return found
    if rpc_status == "UNAUTHENTICATED" or status == 401:
        if _MISSING_CREDENTIAL.search(message):
            return E.AUTH_INVALID
        if _INVALID_CREDENTIALS.search(message):
            return E.AUTH_EXPIRED
        return E.AUTH_INVALID
    if rpc_status == "NOT_FOUND" or (status == 404 and not rpc_status):
        return E.CAPABILITY_UNSUPPORTED if _METHOD_NOT_FOUND.search(message) else E.RESOURCE_NOT_FOUND
    return _STATUSES.get(rpc_status)


def _by_status(found: E | str | None, status: int | None) -> E | None:
    """A transient answer is PARTNER_5XX on an HTTP 5xx, PARTNER_UNAVAILABLE in a 2xx or 4xx body."""
    if found == TRANSIENT:
        return E.PARTNER_5XX if status is not None and 500 <= status <= 599 else E.PARTNER_UNAVAILABLE
    return found


def _limits_text(quota_limits: list[dict]) -> str:
    return " ".join(as_str(m.get("quota_limit")) + " " + as_str(m.get("quota_location")) for m in quota_limits)


def _error_code_name(code: Any) -> str:
    """A GBP ErrorCode given as a name, or as a number read by its documented range."""
    name = as_str(code).upper()
    number = as_int(code)
    if number is None:
        return name
    if 1000 <= number <= 1099:
        return "PHOTO_UPLOAD_FAILED"  # 1000s: photos
    if number == 1301:
        return "OPERATION_UNSUPPORTED_UNDER_ACCOUNT_CONDITION"
    if 1 <= number <= 1299:
        return "INVALID_VALUE"  # general, address and category fields
    return ""
