"""Errors to people: Sentry, when SENTRY_DSN is set (init_sentry is called at the end of config/settings.py).

- Django and RQ integrations: request errors and jobs that fail for good.
- The publish pipeline reports escalated and critical failures itself
  (capture_classified_error) with the error code, platform and tenant as
  tags, and one fingerprint per code, so each code is one Sentry issue.
- Expected partner failures (auth, permission, rate limits, 5xx... anything
  the taxonomy does not escalate) are not sent as exceptions when they escape
  a job or a request: they are handled by the pipeline and show up in the
  audit log, the dead-letter queue and metrics instead.
- Tokens and secrets never leave: Sentry's own scrubber only matches exact key
  names and sends `access_token=...`, `refresh_token` variables and "Bearer ..."
  text in clear (ecosystem.md §6.2), so before_send/before_breadcrumb mask
  every value under a secret-looking key and every secret-looking string.

No django.conf.settings here: init_sentry runs while settings are loading.
"""

from __future__ import annotations

import re
from typing import Any

import sentry_sdk
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

FILTERED = "[Filtered]"

# A key whose value is always masked, wherever it appears in an event (vars, extra, request, contexts).
SECRET_KEY_RE = re.compile(
    r"token|secret|passw|authorization|api[_-]?key|apikey|cookie|session|signature|private|credential|"
    r"fernet|encryption_key|dsn",
    re.IGNORECASE,
)
# Secrets inside free text: exception messages, log lines, reprs, URLs.
SECRET_TEXT_RES = [
    # Authorization header values: "Bearer ya29...", "OAuth EAAB..."
    (re.compile(r"(?i)\b(bearer|oauth|basic)\s+[A-Za-z0-9\-._~+/]{6,}=*"), r"\1 " + FILTERED),
    # key=value and "key": "value" pairs naming a secret (query strings, form bodies, JSON, reprs).
    (
        re.compile(
            r"(?i)([\"']?\b(?:access_token|refresh_token|id_token|fb_exchange_token|client_secret|app_secret|"
            r"code_verifier|api_?key|password|secret|token)[\"']?\s*[=:]\s*[\"']?)([^\s\"'&,;)}]+)"
        ),
        r"\1" + FILTERED,
    ),
    # An OAuth authorization code in a URL.
    (re.compile(r"([?&]code=)[^&\s\"']+"), r"\1" + FILTERED),
    # Fernet ciphertext (our encrypted token columns) and JWTs.
    (re.compile(r"gAAAAA[A-Za-z0-9_\-]{20,}=*"), FILTERED),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"), FILTERED),
    # Partner token shapes: Meta (EAA...), Google (ya29. / 1//), TikTok (act. / rft.), Mailchimp keys (<hex>-usN).
    (re.compile(r"\b(?:EAA[A-Za-z0-9]{20,}|ya29\.[A-Za-z0-9_\-.]{10,}|1//[A-Za-z0-9_\-]{10,}|"
                r"(?:act|rft)\.[A-Za-z0-9_\-.!*]{10,}|[0-9a-f]{32}-us\d{1,2})"), FILTERED),
]
# Tags are ours (code, platform, tenant_id) and never secret: left as they are.
_UNTOUCHED_TOP_LEVEL = {"tags", "fingerprint", "level", "platform", "sdk", "event_id", "timestamp", "release"}


def mask_text(text: str) -> str:
    for pattern, replacement in SECRET_TEXT_RES:
        text = pattern.sub(replacement, text)
    return text


def mask(value: Any) -> Any:
    """A copy of `value` with secret-looking keys' values and secret-looking strings masked."""
    if isinstance(value, dict):
        return {
            key: FILTERED if isinstance(key, str) and SECRET_KEY_RE.search(key) and value[key] else mask(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [mask(item) for item in value]
    if isinstance(value, tuple):
        return tuple(mask(item) for item in value)
    if isinstance(value, str):
        return mask_text(value)
    return value


def _is_expected(hint: dict | None) -> bool:
    """An escaped exception the taxonomy handles without escalation (auth, rate limit, 5xx...)."""
    exc_info = (hint or {}).get("exc_info")
    if not exc_info or exc_info[1] is None:
        return False
    exc = exc_info[1]
    try:
        from connections.platforms.base import PartnerError

        if isinstance(exc, PartnerError):
            classified = exc.classify()
        else:
            import requests

            if not isinstance(exc, requests.RequestException):
                return False
            from recovery.classifier import classify_system_error

            classified = classify_system_error(exc)
        return not is_escalated(classified)
    except Exception:  # noqa: BLE001 - when in doubt, send it
        return False


def is_escalated(classified) -> bool:
    """Whether a classified failure goes to people: the taxonomy escalates it, or it is critical."""
    from recovery.taxonomy import ErrorAction, Severity

    return classified.action == ErrorAction.ESCALATE_TO_SUPPORT or classified.severity == Severity.CRITICAL


def before_send(event: dict, hint: dict | None) -> dict | None:
    if _is_expected(hint):
        return None
    return {key: (value if key in _UNTOUCHED_TOP_LEVEL else mask(value)) for key, value in event.items()}


def before_breadcrumb(crumb: dict, hint: dict | None) -> dict:
    return mask(crumb)


def init_sentry(dsn: str, *, environment: str = "production", release: str | None = None, transport=None) -> bool:
    """Start Sentry when a DSN is given; returns whether it did. `transport` is for tests."""
    if not dsn:
        return False
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    options = {}
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), RqIntegration()],
        # No send_default_pii: off by default, and setting it is deprecated (sentry-sdk 2.7x).
        # Request bodies carry OAuth codes and form tokens; the masking is the second line.
        max_request_body_size="never",
        event_scrubber=EventScrubber(
            denylist=[*DEFAULT_DENYLIST, "access_token", "refresh_token", "id_token", "client_secret",
                      "fb_exchange_token", "code_verifier", "app_secret"],
            recursive=True,
        ),
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
        **options,
    )
    return True


def capture_classified_error(classified, *, tenant_id: int, platform: str, post_id: int | None = None, exc=None) -> None:
    """Report an escalated or critical failure: tags code/platform/tenant_id, one fingerprint per code.

    No-op when Sentry is not started. `exc`, when given, is sent with its
    traceback (masked by before_send); otherwise a message is.
    """
    code = classified.code.value
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("code", code)
        scope.set_tag("platform", platform)
        scope.set_tag("tenant_id", str(tenant_id))
        scope.set_tag("severity", classified.severity.value)
        scope.fingerprint = ["classified-error", code]
        scope.set_context("classification", {k: v for k, v in classified.to_dict().items() if k != "user_message"})
        if post_id is not None:
            scope.set_extra("post_id", post_id)
        scope.level = "fatal" if classified.severity.value == "critical" else "error"
        if exc is not None:
            sentry_sdk.capture_exception(exc)
        else:
            sentry_sdk.capture_message(f"{code} on {platform}: {classified.entry.description}")
