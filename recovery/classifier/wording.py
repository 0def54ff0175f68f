"""What each partner writes when it refuses a token or a permission, whatever the body's shape.

The rule of last resort for an answer no partner rule could read as the partner's
JSON: plain text, an HTML page, JSON cut short before its code, or an envelope the
rules do not know. It runs only when no partner code decided and the answer is not
an HTTP 5xx (a server failure stays one, e.g. LinkedIn's documented 500 for a token
check that failed downstream).

Rules:
- The phrases are each partner's own: its documented messages and codes and the
  wording of its real answers (docs/classifier.md lists the sources). The first
  family that matches decides, in the order account restriction, refresh failure,
  revocation, expiry, invalid token, missing permission.
- A proxy's, CDN's or firewall's generic words are never a partner's: "403
  Forbidden", "Access Denied", "You don't have permission to access /x on this
  server". A page made only of those carries nothing of the partner's, and the
  partner module's rule for a bare 403 decides (partner.py).
"""

from __future__ import annotations

import re

from recovery.taxonomy import ErrorCode as E

# Codes are matched as written (LinkedIn's ACCESS_DENIED is a code; a page titled "Access
# denied" is not LinkedIn's). Words are matched in any case: their patterns are written in
# lower case and read the lower-cased text, which is twice as fast as re.IGNORECASE.
_CODES = "codes"
_WORDS = "words"


def _family(code: E, kind: str, *patterns: str) -> tuple[E, str, re.Pattern]:
    return code, kind, re.compile("|".join(f"(?:{p})" for p in patterns))


# One subject that lacks a permission, access or a role, in the partners' wording ("the
# caller", "User", "Viewer", "Application", "The user"); "You" is the generic proxy
# page's subject.
_SUBJECT_LACKS = (
    r"\b(?:caller|user|viewer|member|application|app|token|client)\s+"
    r"(?:(?:does\s+not|doesn'?t|do\s+not|don'?t|has\s+not|hasn'?t)\s+(?:have\s+)?|lacks?\s+)"
    r"(?:the\s+|an?\s+)?(?:sufficient\s+|enough\s+|required\s+|necessary\s+)?"
    r"(?:permissions?|access|authori[sz]ed|capability|role)\b"
)

WORDING: dict[str, list[tuple[E, str, re.Pattern]]] = {
    "meta": [
        _family(E.ACCOUNT_RESTRICTED, _WORDS, r"checkpoint", r"not a confirmed user",
                r"log in to www\.(?:facebook|instagram)\.com and follow the instructions"),
        _family(E.AUTH_REVOKED, _WORDS, r"has not authori[sz]ed application", r"changed (?:their|the) password",
                r"session is invalid because the user logged out", r"session has been invalidated"),
        _family(E.AUTH_EXPIRED, _WORDS, r"session has expired", r"access token has expired", r"expired access token"),
        _family(E.AUTH_INVALID, _WORDS, r"error validating access token", r"invalid oauth (?:2\.0 )?access token",
                r"malformed access token", r"cannot parse access token", r"an active access token must be used",
                r"invalid_token"),
        _family(E.PERMISSION_INSUFFICIENT, _CODES, r"OAuthForbiddenException"),
        _family(E.PERMISSION_INSUFFICIENT, _WORDS, r"\(#10\)", r"\(#2\d\d\)", _SUBJECT_LACKS,
                r"requires? (?:the )?(?:extended )?permission", r"permissions? error", r"missing permissions?\b",
                r"hasn'?t authori[sz]ed the application", r"must be an? (?:admin|administrator|editor|moderator)\b",
                r"insufficient (?:administrative )?permission", r"don'?t have permission to upload",
                r"permissions?(?:\(s\))? must be granted", r"not a sandbox user of this client"),
    ],
    "linkedin": [
        _family(E.REFRESH_FAILED, _WORDS, r"refresh token is invalid, expired or revoked"),
        _family(E.AUTH_REVOKED, _CODES, r"REVOKED_ACCESS_TOKEN"),
        _family(E.AUTH_REVOKED, _WORDS, r"token used in the request has been revoked", r"token has been revoked"),
        _family(E.AUTH_INVALID, _CODES, r"INVALID_ACCESS_TOKEN", r"EMPTY_ACCESS_TOKEN"),
        _family(E.AUTH_INVALID, _WORDS, r"invalid access token", r"empty oauth2[_ ]access[_ ]token",
                r"unable to verify access token", r"unknown authentication schem",
                r"authori[sz]ation code (?:not found|expired)", r"does not match authori[sz]ation code"),
        _family(E.AUTH_EXPIRED, _CODES, r"EXPIRED_ACCESS_TOKEN"),
        _family(E.AUTH_EXPIRED, _WORDS, r"token used in the request (?:has )?(?:is )?expired", r"expired access token"),
        _family(E.PERMISSION_INSUFFICIENT, _CODES, r"ACCESS_DENIED"),
        _family(E.PERMISSION_INSUFFICIENT, _WORDS, r"not enough permissions to access", _SUBJECT_LACKS,
                r"unauthorized_scope_error", r"\baccess to [\w ]{1,40} denied\b", r"scope not_?authorized"),
    ],
    "tiktok": [
        _family(E.REFRESH_FAILED, _CODES, r"invalid_grant"),
        _family(E.REFRESH_FAILED, _WORDS, r"refresh token is invalid or expired"),
        _family(E.AUTH_REVOKED, _CODES, r"\bauth_removed\b"),
        _family(E.PERMISSION_INSUFFICIENT, _CODES, r"scope_not_authorized", r"scope_permission_missed",
                r"token_not_authorized_for_specified_publish_id"),
        _family(E.PERMISSION_INSUFFICIENT, _WORDS, r"did not authori[sz]e the scope", r"need(?:s)? additional scopes?",
                r"does not have authori[sz]ation to"),
        _family(E.AUTH_EXPIRED, _CODES, r"access_token_invalid"),
        _family(E.AUTH_INVALID, _WORDS, r"access token is invalid", r"invalid access token"),
    ],
    "gbp": [
        _family(E.REFRESH_FAILED, _CODES, r"\binvalid_grant\b"),
        _family(E.REFRESH_FAILED, _WORDS, r"token has been expired or revoked"),
        _family(E.AUTH_EXPIRED, _CODES, r"ACCESS_TOKEN_EXPIRED", r"\bauthError\b"),
        _family(E.AUTH_EXPIRED, _WORDS, r"invalid authentication credentials", r"\binvalid credentials\b"),
        _family(E.AUTH_INVALID, _CODES, r"CREDENTIALS_MISSING", r"ACCESS_TOKEN_TYPE_UNSUPPORTED", r"UNAUTHENTICATED",
                r"API_KEY_INVALID", r"\bkeyInvalid\b"),
        _family(E.AUTH_INVALID, _WORDS, r"missing required authentication credential", r"\blogin required\b",
                r"api key not valid"),
        _family(E.PERMISSION_INSUFFICIENT, _CODES, r"PERMISSION_DENIED", r"ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                r"SERVICE_DISABLED", r"IAM_PERMISSION_DENIED", r"\binsufficientPermissions\b", r"\baccessNotConfigured\b"),
        _family(E.PERMISSION_INSUFFICIENT, _WORDS, r"insufficient authentication scopes", _SUBJECT_LACKS,
                r"insufficient permission", r"has not been used in project \S+ before or it is disabled"),
    ],
    "mailchimp": [
        _family(E.ACCOUNT_RESTRICTED, _WORDS, r"\buser disabled\b", r"account has been deactivated",
                r"\bcompliance related\b", r"this method has been disabled"),
        _family(E.AUTH_INVALID, _WORDS, r"api key (?:invalid|missing)", r"\bwrong datacenter\b",
                r"your api key may be invalid", r"did not include an api key",
                r"api key provided is linked to a different data ?center"),
        _family(E.PERMISSION_INSUFFICIENT, _WORDS, r"not permitted to access this resource", r"user action not permitted",
                r"does not have access to the requested operation", _SUBJECT_LACKS),
    ],
}


def partner_wording(platform: str, text: str) -> E | None:
    """The auth or permission code the partner's own words in `text` give; None when they say none."""
    if not text:
        return None
    lowered = text.lower()
    for code, kind, pattern in WORDING.get(platform, ()):
        if pattern.search(lowered if kind == _WORDS else text):
            return code
    return None
