"""OAuth 2 token-endpoint errors (RFC 6749 §5.2), shared by every partner's token endpoint.

Body: {"error": "<code>", "error_description": "..."}. Rules:
- invalid_grant: the refresh token (or code) was rejected -> REFRESH_FAILED.
- invalid_request: LinkedIn uses it for a dead refresh token ("... refresh token is
  invalid, expired or revoked") -> REFRESH_FAILED; for an unknown authorization
  code (HTTP 401, "authorization code not found") -> AUTH_INVALID; otherwise a
  malformed request -> VALIDATION_ERROR.
- invalid_client, unauthorized_client: our client credentials -> AUTH_INVALID.
- invalid_scope, access_denied: scopes refused or consent declined -> PERMISSION_INSUFFICIENT.
- invalid_redirect_uri, unsupported_grant_type, unsupported_response_type -> VALIDATION_ERROR.
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
    "invalid_token": ErrorCode.AUTH_INVALID,
    "expired_token": ErrorCode.AUTH_EXPIRED,
    "invalid_scope": ErrorCode.PERMISSION_INSUFFICIENT,
    "insufficient_scope": ErrorCode.PERMISSION_INSUFFICIENT,
    "unauthorized_scope_error": ErrorCode.PERMISSION_INSUFFICIENT,  # LinkedIn's name for a scope not granted
    "access_denied": ErrorCode.PERMISSION_INSUFFICIENT,
    "user_cancelled_login": ErrorCode.PERMISSION_INSUFFICIENT,
    "user_cancelled_authorize": ErrorCode.PERMISSION_INSUFFICIENT,
    "invalid_redirect_uri": ErrorCode.VALIDATION_ERROR,
    "redirect_uri_mismatch": ErrorCode.VALIDATION_ERROR,
    "unsupported_grant_type": ErrorCode.VALIDATION_ERROR,
    "unsupported_response_type": ErrorCode.VALIDATION_ERROR,
    "temporarily_unavailable": ErrorCode.PARTNER_UNAVAILABLE,
    "server_error": ErrorCode.PARTNER_5XX,
}

_REFRESH_TOKEN = re.compile(r"refresh[_ ]token", re.I)
_AUTH_CODE = re.compile(r"authori[sz]ation code|\bcode\b.*\b(not found|expired|invalid|used)\b", re.I)


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
        if _REFRESH_TOKEN.search(description):
            match.code = ErrorCode.REFRESH_FAILED
        elif status == 401 or _AUTH_CODE.search(description):
            match.code = ErrorCode.AUTH_INVALID
        else:
            match.code = ErrorCode.VALIDATION_ERROR
    return match
