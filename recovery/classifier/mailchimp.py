"""Mailchimp Marketing API v3: error rules.

Body (docs/classifier.md, docs/partners/errors.md §5; Mailchimp "Errors"
glossary): RFC 7807 problem+json {"type", "title", "status", "detail",
"instance", "errors"?}. The `type` URL has changed over the years and is
sometimes absent, so rules match `title` and `status`, never `type`. A /batches
result wraps the same problem as a JSON string in `response`.

Rules, first match wins:
1. Titles from `_TITLES` (compared case- and space-insensitively): every title of
   the glossary, plus the ones real answers carry outside it.
2. "Invalid Resource" is validation, except three details: the per-email signup
   throttle ("signed up to a lot of lists very recently") -> QUOTA_EXCEEDED, an
   address already on the list (Member Exists under another title) -> CONFLICT,
   and a webhook URL that failed Mailchimp's GET check -> WEBHOOK_FAILURE.
3. A 403 that carries nothing of Mailchimp's (empty, HTML or other non-JSON) is its
   edge throttling under load -> RATE_LIMIT_429 (`BARE_403`; partner.py applies it
   after the partners' wording rule, so a 403 whose text is Mailchimp's own
   refusal is still a permission failure).
4. Anything else: the HTTP status decides. Keys and OAuth tokens never expire,
   so a 401 is AUTH_INVALID, never AUTH_EXPIRED.
"""

from __future__ import annotations

import json
import re
from typing import Any

from recovery.classifier.parsing import Headers, Match, as_int, as_str, short
from recovery.taxonomy import ErrorCode as E

_TITLES = {
    "api key missing": E.AUTH_INVALID,
    "api key invalid": E.AUTH_INVALID,
    "wrong datacenter": E.AUTH_INVALID,
    "forbidden": E.PERMISSION_INSUFFICIENT,
    "user action not permitted": E.PERMISSION_INSUFFICIENT,  # outside the glossary, seen in real answers
    "user disabled": E.ACCOUNT_RESTRICTED,
    "compliance related": E.ACCOUNT_RESTRICTED,  # a 503 that is not transient
    "resource not found": E.RESOURCE_NOT_FOUND,
    "member exists": E.CONFLICT,
    "member in compliance state": E.CONTENT_REJECTED,
    "forgotten email not subscribed": E.CONTENT_REJECTED,
    "bad request": E.VALIDATION_ERROR,
    "invalid resource": E.VALIDATION_ERROR,
    "json parse error": E.VALIDATION_ERROR,
    "method not allowed": E.VALIDATION_ERROR,
    "invalid method override": E.VALIDATION_ERROR,
    "requested fields invalid": E.VALIDATION_ERROR,
    "resource nesting too deep": E.VALIDATION_ERROR,
    "invalid action": E.VALIDATION_ERROR,
    "upgrade required": E.SSL_ERROR,  # HTTPS / TLS 1.2 required
    "too many requests": E.RATE_LIMIT_429,
    "internal server error": E.PARTNER_5XX,
    "service unavailable": E.PARTNER_UNAVAILABLE,
}

_SIGNUP_THROTTLE = re.compile(r"signed up to a lot of lists very recently", re.I)
_WEBHOOK_CHECK = re.compile(r"couldn'?t verify the URL is working", re.I)
_ALREADY_MEMBER = re.compile(r"is already (?:in this list|a list member)", re.I)

# What a 403 without Mailchimp's problem body means: its documented edge throttling.
BARE_403 = E.RATE_LIMIT_429


def classify(status: int | None, body: Any, headers: Headers, context: str | None) -> Match | None:
    body = _unwrap_batch_result(body)
    if isinstance(body, dict) and ("title" in body or "detail" in body):
        title = " ".join(as_str(body.get("title")).split())
        detail = as_str(body.get("detail"))
        match = Match(partner_code=title, partner_message=short(detail or title))
        match.code = _rule(title.lower(), detail, body)
        return match
    return None


def from_fields(fields: dict[str, list]) -> dict:
    """Mailchimp's flat problem body from members salvaged from a body cut short."""
    return {key: values[0] for key, values in fields.items()}


def _rule(title: str, detail: str, body: dict) -> E | None:
    if _SIGNUP_THROTTLE.search(detail):
        return E.QUOTA_EXCEEDED
    if _WEBHOOK_CHECK.search(detail):
        return E.WEBHOOK_FAILURE
    if title == "invalid resource" and _ALREADY_MEMBER.search(_field_messages(body)):
        return E.CONFLICT
    return _TITLES.get(title)


def _field_messages(body: dict) -> str:
    errors = body.get("errors") if isinstance(body.get("errors"), list) else []
    return " ".join(as_str(e.get("message")) for e in errors if isinstance(e, dict))


def _unwrap_batch_result(body: Any) -> Any:
    """A /batches operation result {"status_code", "operation_id", "response": "<problem JSON>"} -> the problem."""
    if isinstance(body, dict) and "operation_id" in body and isinstance(body.get("response"), str):
        try:
            inner = json.loads(body["response"])
        except ValueError:
            return body
        if isinstance(inner, dict):
            inner.setdefault("status", as_int(body.get("status_code")))
            return inner
    return body
