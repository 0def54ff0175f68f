"""What every partner rule needs: a decoded body, case-insensitive headers, retry hints.

Partner answers arrive in every shape: a decoded dict, a list, raw JSON text,
truncated JSON, HTML, bytes, an empty string or None. Nothing here raises on
any of them; a body that cannot be decoded stays text, and rules read text
with the helpers below.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recovery.taxonomy import ErrorCode

# Bodies past this size are not JSON-decoded or scanned whole: a partner error
# is a few KB, and a runaway body (an HTML page, a dump) must not cost seconds.
MAX_DECODE_CHARS = 2_000_000
# Rules that look into text (messages, HTML) read at most this much of it.
MAX_SCAN_CHARS = 8_192
# partner_message is for ops; keep it short.
MAX_MESSAGE_CHARS = 500


@dataclass
class Match:
    """What a partner module found. `code` None means no partner rule decided:
    the HTTP status does, keeping the partner code and message for ops."""

    code: ErrorCode | None = None
    partner_code: str = ""
    partner_message: str = ""
    retry_after_s: float | None = None
    missing_scopes: list[str] = field(default_factory=list)


class Headers(dict):
    """Header names folded to lower case; values as text ("" for what cannot be read)."""

    @classmethod
    def of(cls, headers: Any) -> "Headers":
        folded = cls()
        if not headers:
            return folded
        try:
            items = headers.items() if isinstance(headers, Mapping) or hasattr(headers, "items") else headers
            for name, value in items:
                folded[_text(name).strip().lower()] = _header_value(value)
        except Exception:  # not a mapping nor pairs (or a broken one): no headers, never an error
            return cls()
        return folded


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)


def _header_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return "" if value is None else _text(value)


def decode_body(body: Any) -> Any:
    """The body as a dict or list when it is JSON (decoded or as text), else stripped text, else None.

    Truncated or otherwise broken JSON stays text, so text rules still apply to it.
    """
    if body is None:
        return None
    if isinstance(body, (dict, list)):
        return body
    if isinstance(body, (bytes, bytearray, memoryview)):
        body = bytes(body[:MAX_DECODE_CHARS]).decode("utf-8", errors="replace")
    elif not isinstance(body, str):
        return _text(body)
    text = body.strip().lstrip("\ufeff")
    if not text:
        return ""
    if text[0] in "{[\"" and len(text) <= MAX_DECODE_CHARS:
        try:
            return json.loads(text)
        except (ValueError, RecursionError):  # broken, truncated or absurdly nested
            return text
    return text


def as_int(value: Any) -> int | None:
    """An int from an int or a numeric string; None for anything else (bools included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,12}\s*", value):
        return int(value)
    return None


def as_str(value: Any) -> str:
    """Text from a str (or a number); "" for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def body_text(body: Any) -> str:
    """Some text to scan for a rule: the body if text, else its JSON, bounded."""
    if body is None:
        return ""
    if isinstance(body, str):
        return body[:MAX_SCAN_CHARS]
    try:
        return json.dumps(body, ensure_ascii=False, default=str)[:MAX_SCAN_CHARS]
    except (TypeError, ValueError):
        return ""


# A JSON member whose value is a scalar: "key": "text" | number | true | false | null.
_JSON_SCALAR = re.compile(r'"([A-Za-z_@][\w@.-]{0,60})"\s*:\s*("(?:[^"\\]|\\.){0,2000}"|-?\d+(?:\.\d+)?|true|false|null)')


def salvage_fields(text: str) -> dict[str, list[Any]]:
    """The scalar members of JSON that could not be decoded (cut short by a client, a log or a
    proxy), by key, in the order they appear: {"code": [190], "message": ["..."]}.

    A body cut at any byte still carries the partner's code in its first members; this lets
    the partner's own rules read them. Nesting is lost: each partner module rebuilds its envelope.
    """
    if not text.lstrip().startswith(("{", "[")):
        return {}
    fields: dict[str, list[Any]] = {}
    scanned = text[:MAX_SCAN_CHARS].rstrip()
    for found in _JSON_SCALAR.finditer(scanned):
        key, raw = found.groups()
        if found.end() == len(scanned) and not raw.startswith('"'):
            continue  # a number or literal at the very end may be cut short itself: 190 read as 1
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        fields.setdefault(key, []).append(value)
    return fields


_DECODER = json.JSONDecoder()
# How many string members of an unknown envelope are searched for the partner's JSON inside.
MAX_INNER_STRINGS = 32


def inner_json(text: str) -> tuple[Any, dict[str, list[Any]]]:
    """The JSON inside text (an HTML error page, a log line, a gateway's message): the first
    object there that decodes whole, else the members salvaged from it cut short.

    (object, {}) or (None, fields); (None, {}) when the text carries no JSON object.
    """
    readable = readable_text(text)
    start = readable.find("{")
    if start < 0:
        return None, {}
    try:
        value, _ = _DECODER.raw_decode(readable, start)
    except (ValueError, RecursionError):
        value = None
    if isinstance(value, dict):
        return value, {}
    return None, salvage_fields(readable[start:])


def string_members(body: Any) -> list[str]:
    """The string values inside a decoded body (breadth first, bounded): where a gateway or a
    client that wrapped the partner's answer keeps it, as text."""
    found: list[str] = []
    queue, seen = [body], 0
    while queue and len(found) < MAX_INNER_STRINGS and seen < 10 * MAX_INNER_STRINGS:
        item = queue.pop(0)
        seen += 1
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            queue.extend(item.values())
        elif isinstance(item, list):
            queue.extend(item)
    return found


def first(fields: Mapping[str, list[Any]], key: str) -> Any:
    """The first value salvaged for `key`, or None."""
    values = fields.get(key)
    return values[0] if values else None


def readable_text(body: Any) -> str:
    """The words of any decoded body, for wording rules: HTML without its tags, JSON as text."""
    if isinstance(body, str):
        return html_text(body) if looks_like_html(body) else body[:MAX_SCAN_CHARS]
    return body_text(body)


def looks_like_html(text: str) -> bool:
    head = text[:200].lower()
    return "<html" in head or "<!doctype" in head or "<body" in head or "<head" in head


def html_text(text: str) -> str:
    """The readable words of an HTML error page (tags dropped, entities such as &quot; decoded)."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", text[:MAX_SCAN_CHARS])).split())


# -- retry hints ------------------------------------------------------------


def parse_retry_after(value: str, now: datetime | None = None) -> float | None:
    """RFC 9110 Retry-After: delay-seconds or an HTTP-date; None when neither."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is not None:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def retry_after_header(headers: Headers) -> float | None:
    return parse_retry_after(headers.get("retry-after", ""))


def parse_duration(value: Any) -> float | None:
    """A google.protobuf.Duration in its JSON form ("19s", "1.5s") or object form ({"seconds": 19, "nanos": 0})."""
    if isinstance(value, str):
        found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)s\s*", value)
        return float(found.group(1)) if found else None
    if isinstance(value, Mapping):
        seconds = as_int(value.get("seconds")) or 0
        nanos = as_int(value.get("nanos")) or 0
        total = seconds + nanos / 1e9
        return total if total >= 0 else None
    return None


def seconds_until_next_utc_midnight(now: datetime | None = None) -> float:
    now = now or datetime.now(timezone.utc)
    midnight = datetime(now.year, now.month, now.day, tzinfo=timezone.utc)
    return 86_400.0 - (now - midnight).total_seconds()


def seconds_until_next_midnight_in(zone: str, now: datetime | None = None) -> float | None:
    """Seconds until the next local midnight of an IANA zone; None if the zone is unknown here."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    local = (now or datetime.now(timezone.utc)).astimezone(tz)
    next_midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return max(0.0, (next_midnight - local).total_seconds())


def seconds_until_next_minute(now: datetime | None = None) -> float:
    now = now or datetime.now(timezone.utc)
    return 60.0 - (now.second + now.microsecond / 1e6)


# -- RFC 6750 Bearer challenges ------------------------------------------------

_CHALLENGE_PARAM = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def bearer_challenge(headers: Headers) -> dict[str, str]:
    """The parameters of a `WWW-Authenticate: Bearer ...` challenge (error, scope, ...); {} if none."""
    value = headers.get("www-authenticate", "")
    if not value or not value.lstrip().lower().startswith("bearer"):
        return {}
    return {
        name.lower(): (quoted if quoted is not None and quoted != "" else bare or "")
        for name, quoted, bare in _CHALLENGE_PARAM.findall(value)
    }


def challenge_code(challenge: Mapping[str, str]) -> ErrorCode | None:
    """RFC 6750 §3.1 error codes: the resource server's own word on the token."""
    error = challenge.get("error", "").lower()
    if error == "insufficient_scope":
        return ErrorCode.PERMISSION_INSUFFICIENT
    if error == "invalid_token":
        description = challenge.get("error_description", "").lower()
        return ErrorCode.AUTH_EXPIRED if "expired" in description else ErrorCode.AUTH_INVALID
    return None


def challenge_scopes(challenge: Mapping[str, str]) -> list[str]:
    if challenge.get("error", "").lower() != "insufficient_scope":
        return []
    return challenge.get("scope", "").split()
