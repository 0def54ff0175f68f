"""OAuth 2 token-endpoint errors (RFC 6749 §5.2), shared by every partner's token endpoint.

Body: {"error": "<code>", "error_description": "..."}. Rules:
- invalid_grant: the refresh token (or code) was rejected -> REFRESH_FAILED.
- invalid_request, first match wins: an authorization code that does not match or
  expired ("authorization code not found") -> AUTH_INVALID; a required parameter
  missing -> VALIDATION_ERROR; LinkedIn's dead refresh token ("... refresh token is
  invalid, expired or revoked") -> REFRESH_FAILED; HTTP 401 -> AUTH_INVALID;
  otherwise a malformed request -> VALIDATION_ERROR.
- invalid_client, unauthorized_client, deleted_client (Google): our client
  credentials -> AUTH_INVALID.
- invalid_scope, access_denied, admin_policy_enforced and org_internal (Google: a
  Workspace policy or an internal-only app) -> PERMISSION_INSUFFICIENT.
- invalid_redirect_uri, redirect_uri_mismatch, unsupported_grant_type,
  unsupported_response_type, disallowed_useragent -> VALIDATION_ERROR.
- temporarily_unavailable -> PARTNER_UNAVAILABLE; server_error -> PARTNER_5XX.
- RFC 6750 codes in the same envelope: invalid_token -> AUTH_INVALID,
  insufficient_scope -> PERMISSION_INSUFFICIENT; expired_token -> AUTH_EXPIRED.
"""

from __future__ import annotations

import re
from typing import Any

from recovery.classifier.parsing import Match, as_str, short
from recovery.taxonomy import ErrorCode

_FIXED = {
    "invalid_grant": ErrorCode.REFRESH_FAILED,
    "invalid_client": ErrorCode.AUTH_INVALID,
    "unauthorized_client": ErrorCode.AUTH_INVALID,
    "deleted_client": ErrorCode.AUTH_INVALID,
    "invalid_token": ErrorCode.AUTH_INVALID,
    "expired_token": ErrorCode.AUTH_EXPIRED,
    "invalid_scope": ErrorCode.PERMISSION_INSUFFICIENT,
    "insufficient_scope": ErrorCode.PERMISSION_INSUFFICIENT,
    "unauthorized_scope_error": ErrorCode.PERMISSION_INSUFFICIENT,  # LinkedIn's name for a scope not granted
    "access_denied": ErrorCode.PERMISSION_INSUFFICIENT,
    "admin_policy_enforced": ErrorCode.PERMISSION_INSUFFICIENT,
    "org_internal": ErrorCode.PERMISSION_INSUFFICIENT,
    "user_cancelled_login": ErrorCode.PERMISSION_INSUFFICIENT,
    "user_cancelled_authorize": ErrorCode.PERMISSION_INSUFFICIENT,
    "invalid_redirect_uri": ErrorCode.VALIDATION_ERROR,
    "redirect_uri_mismatch": ErrorCode.VALIDATION_ERROR,
    "unsupported_grant_type": ErrorCode.VALIDATION_ERROR,
    "unsupported_response_type": ErrorCode.VALIDATION_ERROR,
    "disallowed_useragent": ErrorCode.VALIDATION_ERROR,
    "temporarily_unavailable": ErrorCode.PARTNER_UNAVAILABLE,
    "server_error": ErrorCode.PARTNER_5XX,
}

_REFRESH_TOKEN = re.compile(r"refresh[_ ]token", re.I)
_AUTH_CODE = re.compile(r"authori[sz]ation code|\bcode\b.*\b(not found|expired|invalid|used)\b", re.I)
_MISSING_PARAMETER = re.compile(r"required parameter .{0,40}\bis missing|\bmissing required parameter", re.I)


def is_oauth_error(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("error"), str) and bool(body["error"].strip())


def classify_oauth(status: int | None, body: dict) -> Match:
    error = body["error"].strip()
    description = as_str(body.get("error_description")) or as_str(body.get("message"))
    match = Match(partner_code=error, partner_message=short(description))
    key = error.lower()
    if key in _FIXED:
        match.code = _FIXED[key]
    elif key == "invalid_request":
        if _AUTH_CODE.search(description):
            match.code = ErrorCode.AUTH_INVALID
        elif _MISSING_PARAMETER.search(description):
            match.code = ErrorCode.VALIDATION_ERROR
        elif _REFRESH_TOKEN.search(description):
            match.code = ErrorCode.REFRESH_FAILED
        elif status == 401:
            match.code = ErrorCode.AUTH_INVALID
        else:
            match.code = ErrorCode.VALIDATION_ERROR
    return match
