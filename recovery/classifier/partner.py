"""classify_partner_error: one partner answer -> one taxonomy code, and what the partner said.

Steps:
1. Fold header names to lower case and decode the body (dict, list, JSON text,
   truncated JSON, HTML, bytes, "" or None all accepted).
2. The partner's module (meta, linkedin, tiktok, gbp, mailchimp; each states
   its rules) decides on the body's own codes first.
3. An RFC 6750 `WWW-Authenticate: Bearer error=...` challenge decides when the
   body carried no partner code; a 403 without a JSON body (a proxy's or
   firewall's page) is PARTNER_UNAVAILABLE; then, if nothing decided, the HTTP
   status (`status_fallback`); nothing fits -> UNKNOWN.
4. context="refresh" (the call was a token refresh or exchange) turns any
   token failure into REFRESH_FAILED.
5. A Retry-After header (seconds or HTTP date) wins over any delay read from
   the body or the partner's usage headers.
6. The partner's message is kept for ops with anything token-like masked
   (config/redaction.py). Pure: recording an UNKNOWN (recovery.unmapped) is
   the caller's job.
A bug in a rule or a body no rule expected never raises: it is logged and the
HTTP status decides.
"""

from __future__ import annotations

import logging
from typing import Any

from config.redaction import mask_text
from recovery.classifier import gbp, linkedin, mailchimp, meta, tiktok
from recovery.classifier.parsing import (
    Headers,
    Match,
    as_int,
    bearer_challenge,
    challenge_code,
    challenge_scopes,
    decode_body,
    retry_after_header,
)
from recovery.taxonomy import ClassifiedError, ErrorCode

logger = logging.getLogger(__name__)

PARTNERS = {
    "meta": meta,
    "linkedin": linkedin,
    "tiktok": tiktok,
    "gbp": gbp,
    "mailchimp": mailchimp,
}

# Other names callers use for the same partners.
ALIASES = {"facebook": "meta", "instagram": "meta", "google": "gbp", "gmb": "gbp", "google_business": "gbp"}

REFRESH_CONTEXT = "refresh"
_TOKEN_FAILURES = {ErrorCode.AUTH_EXPIRED, ErrorCode.AUTH_INVALID, ErrorCode.AUTH_REVOKED}


def status_fallback(status: int | None) -> ErrorCode:
    """The code the HTTP status alone gives, when no partner rule decided."""
    if status is None:
        return ErrorCode.UNKNOWN
    if status == 401:
        return ErrorCode.AUTH_INVALID
    if status == 403:
        return ErrorCode.PERMISSION_INSUFFICIENT
    if status in (404, 410):
        return ErrorCode.RESOURCE_NOT_FOUND
    if status == 408:
        return ErrorCode.TIMEOUT
    if status == 409:
        return ErrorCode.CONFLICT
    if status == 429:
        return ErrorCode.RATE_LIMIT_429
    if status == 503:
        return ErrorCode.PARTNER_UNAVAILABLE
    if 500 <= status <= 599:
        return ErrorCode.PARTNER_5XX
    if status in (400, 405, 411, 413, 414, 415, 422):
        return ErrorCode.VALIDATION_ERROR
    return ErrorCode.UNKNOWN


def classify_partner_error(
    platform: str,
    status: int | None,
    body: Any,
    headers: Any = None,
    *,
    context: str | None = None,
) -> ClassifiedError:
    """One partner error answer, classified (steps in the module docstring). Never raises."""
    platform_key = str(platform or "").strip().lower()
    platform_key = ALIASES.get(platform_key, platform_key)
    http_status = as_int(status)
    folded = Headers.of(headers)
    try:
        match = _partner_match(platform_key, http_status, body, folded, context)
    except Exception:
        logger.exception("classifier rule failed for %s HTTP %s; the status decides", platform_key, http_status)
        match = Match(code=status_fallback(http_status))
    if context == REFRESH_CONTEXT and match.code in _TOKEN_FAILURES:
        match.code = ErrorCode.REFRESH_FAILED

    header_delay = retry_after_header(folded)
    classified = ClassifiedError(
        code=match.code or ErrorCode.UNKNOWN,
        platform=platform_key,
        http_status=http_status,
        partner_code=match.partner_code,
        partner_message=mask_text(match.partner_message),  # it goes to dead letters and audit rows
        retry_after_s=header_delay if header_delay is not None else match.retry_after_s,
        missing_scopes=list(match.missing_scopes),
    )
    return classified


def _partner_match(platform: str, status: int | None, body: Any, headers: Headers, context: str | None) -> Match:
    decoded = decode_body(body)
    module = PARTNERS.get(platform)
    match = (module.classify(status, decoded, headers, context) if module else None) or Match()
    challenge = bearer_challenge(headers)
    if not match.missing_scopes:
        match.missing_scopes = challenge_scopes(challenge)
    # The resource server's challenge is more specific than a status: it decides
    # unless the body carried a partner code of its own.
    from_challenge = challenge_code(challenge)
    if from_challenge and (match.code is None or not match.partner_code):
        match.code = from_challenge
    if match.code is None and status == 403 and not isinstance(decoded, (dict, list)):
        # Every partner API refuses a permission with a JSON error. A 403 without
        # one (an HTML page, an empty body) comes from a proxy, WAF or CDN in
        # front of it: pausing the channel and asking for a reconnect would not
        # help, so it is retried with backoff (Mailchimp's own rule, its edge
        # throttling, already decided above).
        match.code = ErrorCode.PARTNER_UNAVAILABLE
        match.partner_code = "403"
        match.partner_message = "403 without the partner's error body (a proxy or firewall refused the call)"
    if match.code is None:
        match.code = status_fallback(status)
    if match.retry_after_s is not None and match.retry_after_s < 0:
        match.retry_after_s = None
    return match
