"""The record of partner errors the classifier could only call UNKNOWN.

`record_unmapped_error` is the one way in. The classifier is pure, so its
callers record: recovery.failures.classify_failure does it for every partner
answer it classifies UNKNOWN (the publish pipeline, pings, token upkeep), and
so does the classify command. Rules:
- One row per (platform, HTTP status, signature). The signature is a SHA-256
  of the body's normalised shape: for JSON, its keys and its values with ids,
  uuids, timestamps, hex, tokens and digits stripped (small integers, which are
  partner codes, kept); for text, digits and long hex/base64 runs stripped and
  whitespace folded. Two answers that differ only in ids or times share a row.
- A repeat adds one to `count` in the database (an F() update; a concurrent
  first insert loses the unique constraint race and updates instead), so
  workers never lose counts.
- `sample_body` is the first answer seen, at most 2 KB, with secrets masked
  (config/redaction.py) and email addresses masked too.
- Recording never breaks classification: a database error (or no database,
  as in a test without one) is logged and dropped; it runs in a savepoint, so
  the caller's transaction is untouched; `recording_disabled()` turns it off
  (benchmarks).
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import re
from contextlib import contextmanager
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from config.redaction import MASK, mask_opaque, mask_text, mask_value
from recovery.classifier.parsing import decode_body
from recovery.models import UnmappedError

logger = logging.getLogger(__name__)

SAMPLE_MAX_BYTES = 2048
_TEXT_SHAPE_MAX_CHARS = 500
_MAX_DEPTH = 12
_MAX_ITEMS = 50

_recording = contextvars.ContextVar("record_unmapped_errors", default=True)


@contextmanager
def recording_disabled():
    """Classify without writing UnmappedError rows (benchmarks, dry runs)."""
    token = _recording.set(False)
    try:
        yield
    finally:
        _recording.reset(token)


def record_unmapped_error(platform: str, http_status: int | None, body: Any) -> None:
    """Count one UNKNOWN partner error under its signature. Never raises."""
    if not _recording.get():
        return
    try:
        if connection.in_atomic_block and connection.needs_rollback:
            return  # the caller's transaction is already broken: a query would only raise
        _upsert(
            platform=str(platform or "")[:20],
            http_status=http_status if isinstance(http_status, int) and 0 <= http_status <= 32767 else None,
            signature=body_signature(body),
            sample=sample_body(body),
        )
    except Exception as exc:  # recording is best effort; classification goes on
        logger.warning("unmapped error not recorded (%s: %s)", type(exc).__name__, str(exc)[:200])


def _upsert(platform: str, http_status: int | None, signature: str, sample: str) -> None:
    key = {"platform": platform, "http_status": http_status, "signature": signature}
    rows = UnmappedError.objects.filter(**key)
    with transaction.atomic():
        if rows.update(count=F("count") + 1, last_seen_at=timezone.now()):
            return
        try:
            with transaction.atomic():
                UnmappedError.objects.create(**key, sample_body=sample)
        except IntegrityError:
            # Another worker inserted the same signature first: count on its row.
            rows.update(count=F("count") + 1, last_seen_at=timezone.now())


# -- signature ------------------------------------------------------------------

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"
    r"|\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*,? \d{1,2}[- ][a-z]{3}[- ]\d{2,4} \d{2}:\d{2}:\d{2}( [A-Z]{2,4})?",
    re.I,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_HEX = re.compile(r"\b(0x)?[0-9a-f]{8,}\b", re.I)
_DIGITS = re.compile(r"\d+")
_ID_KEYS = re.compile(
    r"(^|_)(id|ids|uuid|guid|trace|instance|timestamp|time|date|created|updated|expires|token|signature|email|url)$"
    r"|[a-z]Id$|_at$|[a-z]Time$",
)
_LONG_NUMBER = 10**7  # partner codes (190, 2207042, 65601) stay; ids and epoch times go


def normalise_text(text: str) -> str:
    # Only the first _TEXT_SHAPE_MAX_CHARS survive; the slack covers what the
    # substitutions remove, and bounds the work on a huge body.
    text = _UUID.sub("<uuid>", text[: _TEXT_SHAPE_MAX_CHARS * 16])
    text = _TIMESTAMP.sub("<time>", text)
    text = _EMAIL.sub("<email>", text)
    text = mask_opaque(text, "<opaque>")
    text = _HEX.sub("<hex>", text)
    text = _DIGITS.sub("#", text)
    return " ".join(text.split())[:_TEXT_SHAPE_MAX_CHARS]


def _shape(value: Any, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        return "<deep>"
    if isinstance(value, dict):
        return {
            str(k): ("<id>" if _ID_KEYS.search(str(k)) else _shape(v, depth + 1))
            for k, v in list(value.items())[:_MAX_ITEMS]
        }
    if isinstance(value, list):
        # A list's length varies (one input error or three): keep its distinct item shapes.
        shapes = {json.dumps(_shape(v, depth + 1), sort_keys=True) for v in value[:_MAX_ITEMS]}
        return sorted(shapes)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if abs(value) < _LONG_NUMBER else "<number>"
    if isinstance(value, float):
        return "<number>"
    if isinstance(value, str):
        return normalise_text(value)
    return type(value).__name__


def body_signature(body: Any) -> str:
    """SHA-256 hex of the body's normalised shape (see the module docstring)."""
    decoded = decode_body(body)
    if isinstance(decoded, (dict, list)):
        shape = {"json": _shape(decoded)}
    else:
        shape = {"text": normalise_text(decoded or "")}
    return hashlib.sha256(json.dumps(shape, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# -- sample ---------------------------------------------------------------------

def sample_body(body: Any) -> str:
    """The body as text for ops: secrets and email addresses masked, at most SAMPLE_MAX_BYTES of UTF-8."""
    decoded = decode_body(body)
    if isinstance(decoded, (dict, list)):
        text = json.dumps(mask_value(decoded), ensure_ascii=False, default=str)
    else:
        text = decoded or ""
    # Mask before cutting (a token cut in half would no longer look like one),
    # but bound the work on a huge body first.
    text = _EMAIL.sub(MASK, mask_text(text[: SAMPLE_MAX_BYTES * 4]))
    encoded = text.encode("utf-8")
    if len(encoded) <= SAMPLE_MAX_BYTES:
        return text
    return encoded[: SAMPLE_MAX_BYTES - 3].decode("utf-8", errors="ignore") + "…"


def unmapped_mark_mapped(rows) -> int:
    """Mark UnmappedError rows (a queryset) as mapped: a rule and a test now cover them. Returns the count."""
    return rows.filter(mapped=False).update(mapped=True)
