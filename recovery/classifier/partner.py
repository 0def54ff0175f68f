"""classify_partner_error: one partner answer -> one taxonomy code, and what the partner said.

Steps:
1. Fold header names to lower case and decode the body (dict, list, JSON text,
   truncated JSON, HTML, bytes, "" or None all accepted); a one-element list
   around the partner's object is taken off.
2. The partner's module (meta, linkedin, tiktok, gbp, mailchimp; each states
   its rules) decides on the body's own codes first.
3. When the body is not in the partner's envelope (text, an HTML page, a log
   line, a gateway's or a client's envelope around it), the partner's JSON
   inside it decides: whole, or cut short and read again from the members it
   still carries (parsing.inner_json; when what is left gives no token or
   permission failure but the partner's words there do, the words decide, as
   the members that named it may be the ones cut off). Still nothing, and not
   an HTTP 5xx: the partner's own words about a token or a permission decide, whatever the
   shape (wording.py), before any rule that reads the HTTP status alone.
4. An RFC 6750 `WWW-Authenticate: Bearer error=...` challenge decides when the
   body carried no partner code.
5. A 403 that carries nothing of the partner's (a proxy's or firewall's page, an
   empty body) is PARTNER_UNAVAILABLE, retried with backoff; Mailchimp documents
   its own meaning for one (`BARE_403`). Then, if nothing decided, the HTTP
   status (`status_fallback`); nothing fits -> UNKNOWN.
6. context="refresh" (the call was a token refresh or exchange) turns any
   token failure into REFRESH_FAILED.
7. A Retry-After header (seconds or HTTP date) wins over any delay read from
   the body or the partner's usage headers.
8. The partner's message is kept for ops with anything token-like masked
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
    inner_json,
    readable_text,
    retry_after_header,
    short,
    string_members,
)
from recovery.classifier.wording import partner_wording
from recovery.taxonomy import ClassifiedError, ErrorCode

logger = logging.getLogger(__name__)

PARTNERS = {
    "meta": meta,
    "linkedin": linkedin,
    "tiktok": tiktok,
    "gbp": gbp,
    "mailchimp": mailchimp,
}

# What a 403 that carries nothing of the partner's means, where the partner documents it;
# elsewhere it is a proxy's or firewall's refusal, retried (PARTNER_UNAVAILABLE).
BARE_403 = {"mailchimp": mailchimp.BARE_403}

# Other names callers use for the same partners.
ALIASES = {"facebook": "meta", "instagram": "meta", "google": "gbp", "gmb": "gbp", "google_business": "gbp"}

REFRESH_CONTEXT = "refresh"
_TOKEN_FAILURES = {ErrorCode.AUTH_EXPIRED, ErrorCode.AUTH_INVALID, ErrorCode.AUTH_REVOKED}
_REAUTH_OR_RESTRICTED = _TOKEN_FAILURES | {
    ErrorCode.REFRESH_FAILED,
    ErrorCode.PERMISSION_INSUFFICIENT,
    ErrorCode.ACCOUNT_RESTRICTED,
}


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
    if isinstance(decoded, list) and len(decoded) == 1 and isinstance(decoded[0], dict):
        decoded = decoded[0]  # a client or a front end wrapped the partner's object in a list
    module = PARTNERS.get(platform)
    match = (module.classify(status, decoded, headers, context) if module is not None else None) or Match()
    if not match.partner_code:
        match = _outside_the_envelope(platform, module, status, decoded, headers, context, match)
    if "www-authenticate" in headers:
        challenge = bearer_challenge(headers)
        if not match.missing_scopes:
            match.missing_scopes = challenge_scopes(challenge)
        # The resource server's challenge is more specific than a status: it decides
        # unless the body carried a partner code of its own.
        from_challenge = challenge_code(challenge)
        if from_challenge and (match.code is None or not match.partner_code):
            match.code = from_challenge
    if match.code is None and match.partner_code and not _server_error(status):
        # The envelope named a code no rule knows: the partner's words may still say what it is.
        # (Without a partner code, step 3 has already read them.)
        match.code = partner_wording(platform, readable_text(decoded))
    if match.code is None and status == 403 and not isinstance(decoded, (dict, list)):
        match.code = BARE_403.get(platform, ErrorCode.PARTNER_UNAVAILABLE)
        match.partner_code = "403"
        match.partner_message = "403 without the partner's error body (a proxy, firewall or edge refused the call)"
    if match.code is None:
        match.code = status_fallback(status)
    if match.retry_after_s is not None and match.retry_after_s < 0:
        match.retry_after_s = None
    return match


def _outside_the_envelope(platform, module, status, decoded, headers, context, match: Match) -> Match:
    """The body did not carry the partner's codes where its envelope keeps them: the partner's
    JSON inside the text (whole or cut short), then the partner's own words (step 3)."""
    if module is not None:
        texts = [decoded] if isinstance(decoded, str) else string_members(decoded)
        for text in texts:
            if "{" not in text:
                continue
            inner, fields = inner_json(text)
            candidate = inner if inner is not None else (module.from_fields(fields) if fields else None)
            found = module.classify(status, candidate, headers, context) if candidate is not None else None
            if found is not None and found.code is not None and found.partner_code:
                if inner is None and found.code not in _REAUTH_OR_RESTRICTED and not _server_error(status):
                    # Cut short: the members that would have named the token or permission
                    # failure may be lost, but the partner's words about it are still there.
                    found.code = partner_wording(platform, readable_text(text)) or found.code
                return found
    if match.code not in _REAUTH_OR_RESTRICTED and not _server_error(status):
        text = readable_text(decoded)
        worded = partner_wording(platform, text)
        if worded is not None:
            return Match(
                code=worded,
                partner_message=match.partner_message or short(text),
                retry_after_s=match.retry_after_s,
                missing_scopes=match.missing_scopes,
            )
    return match


def _server_error(status: int | None) -> bool:
    return status is not None and 500 <= status <= 599
