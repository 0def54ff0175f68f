"""TikTok (Content Posting API, Login Kit v2): error rules.

Bodies (docs/classifier.md, docs/partners/errors.md §3; TikTok v2 error-handling, Content Posting API
reference, OAuth error-handling pages): every v2 answer is
{"data": {...}, "error": {"code": "ok" | "<code>", "message", "log_id"}}; the
OAuth endpoint answers RFC 6749 {"error", "error_description", "log_id"};
publishing is asynchronous, so a failure also arrives as HTTP 200 with
error.code "ok" and data.status "FAILED" + data.fail_reason; the
`authorization.removed` webhook carries content.reason.

Rules, first match wins:
1. OAuth errors: the shared OAuth rules (invalid_grant -> REFRESH_FAILED).
2. error.code (or fail_reason) from `_CODES`; access_token_invalid is
   AUTH_EXPIRED on HTTP 401 (TikTok uses one code for expired and invalid,
   and a refresh is the fix) but AUTH_INVALID on HTTP 200, where TikTok sends
   it for a token that was never valid.
3. Families: *_check_failed and *_pull_failed -> MEDIA_ERROR; other
   spam_risk_* -> CONTENT_REJECTED.
4. authorization.removed reasons: 4 banned and 3 age change ->
   ACCOUNT_RESTRICTED, others AUTH_REVOKED.
Retry delay: 429 rate_limit_exceeded sends no header; the window is one
minute, so at least 60 s.
"""

from __future__ import annotations

import json
import re
from typing import Any

from recovery.classifier.oauth import classify_oauth, is_oauth_error
from recovery.classifier.parsing import Headers, Match, as_int, as_str, short
from recovery.taxonomy import ErrorCode as E

RATE_LIMIT_WINDOW_S = 60.0

_CODES = {
    "scope_not_authorized": E.PERMISSION_INSUFFICIENT,
    "scope_permission_missed": E.PERMISSION_INSUFFICIENT,
    "token_not_authorized_for_specified_publish_id": E.PERMISSION_INSUFFICIENT,
    "rate_limit_exceeded": E.RATE_LIMIT_429,
    "spam_risk_too_many_posts": E.QUOTA_EXCEEDED,
    "spam_risk_too_many_pending_share": E.QUOTA_EXCEEDED,
    "reached_active_user_cap": E.QUOTA_EXCEEDED,
    "spam_risk_user_banned_from_posting": E.ACCOUNT_RESTRICTED,
    "unaudited_client_can_only_post_to_private_accounts": E.CAPABILITY_UNSUPPORTED,
    "app_version_check_failed": E.CAPABILITY_UNSUPPORTED,
    "invalid_param": E.VALIDATION_ERROR,
    "invalid_params": E.VALIDATION_ERROR,
    "privacy_level_option_mismatch": E.VALIDATION_ERROR,
    "url_ownership_unverified": E.VALIDATION_ERROR,
    "invalid_file_upload": E.MEDIA_ERROR,
    "invalid_publish_id": E.RESOURCE_NOT_FOUND,
    "auth_removed": E.AUTH_REVOKED,
    "internal": E.PARTNER_UNAVAILABLE,  # fail_reason: "some parts of the server may be unavailable"
}

_SCOPE_NAME = re.compile(r"\b((?:user\.info|video|artist|research|portability)\.[a-z_.]+)\b")


def from_fields(fields: dict[str, list]) -> dict:
    """TikTok's envelope around members salvaged from a body cut short: an OAuth error, or
    {"error": {"code", "message"}} with the status fetch's {"data": {"status", "fail_reason"}}."""
    flat = {key: values[0] for key, values in fields.items()}
    if isinstance(flat.get("error"), str):
        return flat
    data = {key: flat[key] for key in ("status", "fail_reason") if key in flat}
    return {"error": {key: flat[key] for key in ("code", "message", "log_id") if key in flat}, "data": data}


def classify(status: int | None, body: Any, headers: Headers, context: str | None) -> Match | None:
    if is_oauth_error(body):
        return classify_oauth(status, body)
    if not isinstance(body, dict):
        return None
    if as_str(body.get("event")) == "authorization.removed":
        return _authorization_removed(body)
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    code = as_str(error.get("code")).strip().lower()
    message = as_str(error.get("message"))
    if code in ("", "ok") and as_str(data.get("status")).upper() == "FAILED":
        code = as_str(data.get("fail_reason")).strip().lower()
        message = message or f"publish failed: {code}"
    if code in ("", "ok"):
        return None
    match = Match(partner_code=code, partner_message=short(message))
    match.code = _rule(status, code)
    if match.code is E.PERMISSION_INSUFFICIENT:
        match.missing_scopes = sorted(set(_SCOPE_NAME.findall(message)))
    if match.code is E.RATE_LIMIT_429:
        match.retry_after_s = RATE_LIMIT_WINDOW_S
    return match


def _rule(status: int | None, code: str) -> E | None:
    if code == "access_token_invalid":
        return E.AUTH_INVALID if status == 200 else E.AUTH_EXPIRED
    if code in _CODES:
        return _CODES[code]
    if code == "internal_error":
        return E.PARTNER_UNAVAILABLE if status is not None and status < 500 else E.PARTNER_5XX
    if code.endswith("_check_failed") or code.endswith("_pull_failed"):
        return E.MEDIA_ERROR
    if code.startswith("spam_risk"):
        return E.CONTENT_REJECTED
    return None


def _authorization_removed(body: dict) -> Match:
    content = body.get("content")
    if isinstance(content, str):  # TikTok sends content as a JSON string
        try:
            content = json.loads(content)
        except ValueError:
            content = {}
    reason = as_int(content.get("reason")) if isinstance(content, dict) else None
    code = E.ACCOUNT_RESTRICTED if reason in (3, 4) else E.AUTH_REVOKED
    return Match(code=code, partner_code=f"authorization.removed/{reason}", partner_message="authorization removed")
