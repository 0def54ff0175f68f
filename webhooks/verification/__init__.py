"""Verifying partner webhooks: each partner's scheme in its own module, the shared pieces here.

Every verifier takes the raw body (the exact bytes received) and the header or
parameter that carries the partner's proof, checks the proof before parsing
anything, and returns a `Delivery` (what is stored) or raises `Rejected` (what
the receiver answers instead). Signatures are compared in constant time
(`hmac.compare_digest`) over the raw body, never over re-serialised JSON.

Parsing refuses (400, "malformed") what the database could not store as JSON:
NaN and infinities, NUL characters, lone surrogates, nesting past a depth; so
a body that passed its signature check can never turn into a 500 at insert.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

MAX_DEPTH = 32  # nesting of a stored payload; the partners' documented bodies use 4 or 5 levels
MAX_FORM_FIELDS = 1000
MAX_EVENT_ID_CHARS = 200  # a partner id longer than this is not an id: the body's hash stands in


class Rejected(Exception):
    """A delivery refused: `status` is the answer (400, 401, 403, 413, 503), `reason` the metric's tag."""

    def __init__(self, status: int, reason: str, message: str = ""):
        super().__init__(message or reason)
        self.status = status
        self.reason = reason


def forged(message: str = "signature mismatch") -> Rejected:
    """A missing or wrong signature: 403, nothing stored."""
    return Rejected(403, "signature", message)


def malformed(message: str = "malformed body") -> Rejected:
    return Rejected(400, "malformed", message)


@dataclass(frozen=True)
class Delivery:
    """A verified delivery, ready to store: unique per (platform, event_id)."""

    platform: str
    event_id: str
    event_type: str
    payload: dict


def hex_hmac_sha256(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def same(given: str | bytes, expected: str | bytes) -> bool:
    """Constant-time equality of a received proof and the expected one (any text, no exception)."""
    if isinstance(given, str):
        given = given.encode("utf-8", "backslashreplace")
    if isinstance(expected, str):
        expected = expected.encode("utf-8", "backslashreplace")
    return hmac.compare_digest(given, expected)


def body_event_id(raw: bytes, scope: str = "") -> str:
    """The id of a delivery whose partner sends none: the body's SHA-256 (a redelivery sends the same bytes)."""
    return f"{scope}sha256:{hashlib.sha256(raw).hexdigest()}"


def partner_event_id(value, raw: bytes) -> str:
    """The partner's id when it is a plain, short string or integer; otherwise the body's hash."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return body_event_id(raw)
    text = str(value)
    if not text or len(text) > MAX_EVENT_ID_CHARS or not storable_text(text):
        return body_event_id(raw)
    return text


def event_type_of(value, default: str = "") -> str:
    """An event type to store and show: the partner's string, cut to the column's size."""
    if not isinstance(value, str) or not storable_text(value):
        return default
    return value[:200]


def storable_text(text: str) -> bool:
    """Whether PostgreSQL's jsonb and text columns take it: no NUL, no lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON a database can store")


def _storable(value, depth: int = 0) -> bool:
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return all(storable_text(key) and _storable(item, depth + 1) for key, item in value.items())
    if isinstance(value, list):
        return all(_storable(item, depth + 1) for item in value)
    return True


# In valid JSON a NUL or a lone surrogate can only come as an escape; nesting needs brackets.
_NUL_OR_SURROGATE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def _surely_storable(raw: bytes) -> bool:
    """A fast yes for most bodies: no escape that could hide a NUL or surrogate, too few brackets to nest deep."""
    return (not _NUL_OR_SURROGATE_ESCAPE.search(raw)) and raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH


def parse_json(raw: bytes | str):
    """Any JSON value the database can store, else Rejected 400 (bad encoding, syntax, depth, NaN, NUL...)."""
    try:
        value = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise malformed(f"not JSON: {type(exc).__name__}") from None
    if not (isinstance(raw, bytes) and _surely_storable(raw)) and not _storable(value):
        raise malformed("JSON a database cannot store")
    return value


def parse_json_object(raw: bytes | str) -> dict:
    value = parse_json(raw)
    if not isinstance(value, dict):
        raise malformed("not a JSON object")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("an infinite number")
    return value


def parse_form(raw: bytes) -> list[tuple[str, str]]:
    """An application/x-www-form-urlencoded body as (name, value) pairs, else Rejected 400."""
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:  # bad UTF-8, too many fields
        raise malformed("not a form") from None
    if not all(storable_text(name) and storable_text(value) for name, value in pairs):
        raise malformed("a form a database cannot store")
    return pairs
