"""What a secret looks like, and how it is masked: the one list and the one marker.

Everything that writes text or data somewhere a person can read it masks it
here first: Sentry events (config/sentry.py), partner messages kept in dead
letters, audit rows and unmapped-error samples (the classifier and
recovery/unmapped.py), connector log lines and the bodies of the errors they
raise (connections/platforms/base.py), and the sandbox partners' request log.

- `is_secret_key(name)`: a field, header, variable or parameter whose value is
  always a secret (access_token, client_secret, Authorization, cookie...).
- `mask_text(text)`: the secrets inside free text (exception messages, URLs,
  log lines, reprs, partner messages): Authorization values, name=value pairs
  naming a secret, OAuth codes in URLs, JWTs, Fernet ciphertext, the partners'
  token shapes, and long opaque runs of letters and digits.
- `mask_value(value)`: a copy of a dict/list/str structure with every secret
  key's value and every secret in text masked.
- `mask_known(text, values)`: the exact values given (the tokens of the
  connection in hand) masked wherever they appear, whatever their shape.

Pure: standard library only, no Django and no app code, so settings-time code (config/sentry.py)
and the sandbox partners, which import nothing of the product, use it too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "[redacted]"

_MAX_DEPTH = 12
# A value shorter than this is not masked by `mask_known` (it would mask ordinary words).
_KNOWN_MIN_CHARS = 6

# Names (keys, headers, variables, parameters) whose value is a secret wherever it appears.
_SECRET_KEY = re.compile(
    r"token|secret|passw|authorization|api[_-]?key|apikey|cookie|session|signature|private|credential|"
    r"fernet|encryption_key|dsn|code_verifier|signed_request",
    re.IGNORECASE,
)
# Exact names that are secrets though the pattern above would not say so: an OAuth authorization code.
_SECRET_NAMES = frozenset({"code", "hub.verify_token"})

_SECRET_PARAM_NAMES = (
    r"access_token|refresh_token|id_token|fb_exchange_token|input_token|client_secret|app_secret|appsecret_proof|"
    r"code_verifier|signed_request|api_?key|apikey|password|secret|token"
)

# The list: what a secret looks like inside text. Each entry: (substrings, one of which the lower-cased
# text must hold for the pattern to be worth running, or () to always run it; pattern; replacement).
_TEXT_PATTERNS: list[tuple[tuple[str, ...], re.Pattern, str]] = [
    # Authorization header values: "Bearer ya29...", "OAuth EAAB...", "Basic dXNlcjpw..." (a value with a digit,
    # so prose such as "OAuth access token" stays readable).
    (
        ("bearer", "oauth", "basic"),
        re.compile(r"(?i)\b(bearer|oauth|basic)\s+(?=[A-Za-z0-9._~+/=-]*\d)[A-Za-z0-9._~+/-]{6,}=*"),
        rf"\1 {MASK}",
    ),
    # name=value (query strings, forms), "name": "value" and 'name': 'value' (JSON, reprs) naming a secret.
    (
        ("=", ":"),
        re.compile(rf"(?i)\b({_SECRET_PARAM_NAMES})(\s*=\s*|[\"']\s*:\s*[\"'])([^\s\"'&,;)}}]+)"),
        rf"\1\2{MASK}",
    ),
    # An OAuth authorization code in a URL.
    (("code=",), re.compile(r"([?&]code=)[^&\s\"']+"), rf"\1{MASK}"),
    # JWTs (id tokens, signed Pub/Sub pushes) and Fernet ciphertext (our encrypted token columns).
    (("eyj",), re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), MASK),
    (("gaaaaa",), re.compile(r"gAAAAA[A-Za-z0-9_\-]{20,}=*"), MASK),
    # Partner token shapes: Meta (EAA...), Google (ya29. and 1//), TikTok (act. / rft.), Mailchimp keys (<hex>-usN).
    (
        (),
        re.compile(
            r"\b(?:EAA[A-Za-z0-9]{20,}|ya29\.[A-Za-z0-9_\-.]{10,}|1//[A-Za-z0-9_\-]{10,}|"
            r"(?:act|rft)\.[A-Za-z0-9_\-.!*]{10,}|[0-9a-f]{32}-us\d{1,2})"
        ),
        MASK,
    ),
]
# Long runs of token characters: masked when they mix letters and digits (tokens, keys, signed blobs);
# a long word or a path without digits stays.
_OPAQUE = re.compile(r"(?<![A-Za-z0-9_\-+=])[A-Za-z0-9_\-+=]{20,}")


def is_secret_key(name: Any) -> bool:
    """Whether a value under this name (a key, header, variable or parameter) is a secret."""
    if not isinstance(name, str):
        return False
    return name.lower() in _SECRET_NAMES or bool(_SECRET_KEY.search(name))


def mask_opaque(text: str, replacement: str = MASK) -> str:
    """Long runs of token characters that mix letters and digits replaced (long words and paths stay)."""

    def opaque(found: re.Match) -> str:
        run = found.group(0)
        return replacement if any(c.isdigit() for c in run) and any(c.isalpha() for c in run) else run

    return _OPAQUE.sub(opaque, text)


def mask_text(text: str) -> str:
    """`text` with every secret-looking part replaced by MASK (patterns in the module docstring).

    Each pattern with a cheap substring test runs only when the test passes: this runs on
    every classification's partner message and every log line.
    """
    if not text:
        return text
    lowered = text.lower()
    for needles, pattern, replacement in _TEXT_PATTERNS:
        if not needles or any(needle in lowered for needle in needles):
            text = pattern.sub(replacement, text)
    return mask_opaque(text)


def mask_value(value: Any, keep: frozenset = frozenset(), _depth: int = 0) -> Any:
    """A copy of `value` (dicts, lists, tuples, strings) with secret keys' values and secrets in text masked.

    `keep`: keys whose values are left as they are, at any depth (data that cannot hold a secret
    and must stay readable, such as a stack frame's file and function names).
    """
    if _depth > _MAX_DEPTH:
        return MASK
    if isinstance(value, dict):
        return {
            key: item if key in keep
            else MASK if is_secret_key(key) and item not in (None, "", [], {})
            else mask_value(item, keep, _depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask_value(item, keep, _depth + 1) for item in value]
    if isinstance(value, tuple):
        return tuple(mask_value(item, keep, _depth + 1) for item in value)
    if isinstance(value, str):
        return mask_text(value)
    return value


def mask_pairs(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Query-string or form pairs with each secret parameter's value masked."""
    return [(name, MASK if is_secret_key(name) and value else value) for name, value in pairs]


def mask_known(text: str, values: Iterable[str]) -> str:
    """`text` with each of these exact values (long enough to be a secret) masked, longest first."""
    for value in sorted({v for v in values if v and len(v) >= _KNOWN_MIN_CHARS}, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text
