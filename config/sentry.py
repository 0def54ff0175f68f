"""Errors to people: Sentry, when SENTRY_DSN is set (init_sentry is called at the end of config/settings.py).

- Django and RQ integrations: request errors and jobs that fail for good.
- The services report escalated and critical failures themselves
  (recovery/escalation.py) with the error code, platform and tenant as tags.
- Expected partner failures (auth, permission, rate limits, 5xx... anything
  the taxonomy does not escalate) are not sent as exceptions when they escape
  a job or a request: they are handled by the pipeline and show up in the
  audit log, the dead-letter queue and metrics instead. Which exceptions are
  expected is the taxonomy's decision; the recovery app hands that test over
  at start-up (`set_expected_failure_test`, from RecoveryConfig.ready), so
  this module, which runs while settings load, imports no app code.
- Tokens and secrets never leave: Sentry's own scrubber only matches exact key
  names and sends `access_token=...`, `refresh_token` variables and "Bearer ..."
  text in clear, so before_send/before_breadcrumb mask every value under a
  secret key and every secret in text, with config/redaction.py.
"""

from __future__ import annotations

from collections.abc import Callable

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.rq import RqIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

from config.redaction import mask_value

# Tags are ours (code, platform, tenant_id) and never secret; the rest is Sentry's own bookkeeping.
_UNTOUCHED_TOP_LEVEL = {"tags", "fingerprint", "level", "platform", "sdk", "event_id", "timestamp", "release"}
# Stack frame fields that hold code locations, not data: left readable.
_FRAME_LOCATION_KEYS = frozenset({"filename", "abs_path", "module", "function", "lineno", "colno", "in_app", "package"})

# exception -> True when the taxonomy handles it without escalation (set at start-up).
_expected_failure: Callable[[BaseException], bool] | None = None


def set_expected_failure_test(test: Callable[[BaseException], bool] | None) -> None:
    """Hand over the test that says an escaped exception is an expected, handled failure (not sent)."""
    global _expected_failure
    _expected_failure = test


def _is_expected(hint: dict | None) -> bool:
    exc_info = (hint or {}).get("exc_info")
    if not exc_info or exc_info[1] is None or _expected_failure is None:
        return False
    try:
        return _expected_failure(exc_info[1])
    except Exception:  # noqa: BLE001 - when in doubt, send it
        return False


def before_send(event: dict, hint: dict | None) -> dict | None:
    if _is_expected(hint):
        return None
    return {key: (value if key in _UNTOUCHED_TOP_LEVEL else mask_value(value, _FRAME_LOCATION_KEYS)) for key, value in event.items()}


def before_breadcrumb(crumb: dict, hint: dict | None) -> dict:
    return mask_value(crumb)


def init_sentry(dsn: str, *, environment: str = "production", release: str | None = None, transport=None) -> bool:
    """Start Sentry when a DSN is given; returns whether it did. `transport` is for tests."""
    if not dsn:
        return False
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
