"""Escalation: the classified failures that go to people, and how they are sent (Sentry).

Which failures escalate is the taxonomy's rule (TaxonomyEntry.escalates: the
action is ESCALATE_TO_SUPPORT, or the severity is critical); every service
that meets a failure asks `classified.escalates` and calls `escalate`.
"""

from __future__ import annotations

import sentry_sdk

from recovery.taxonomy import ClassifiedError


def escalate(classified: ClassifiedError, *, tenant_id: int, platform: str, post_id: int | None = None, exc=None) -> None:
    """Report an escalated or critical failure: tags code/platform/tenant_id, one fingerprint per code.

    No-op when Sentry is not started. `exc`, when given, is sent with its
    traceback (masked by config.sentry.before_send); otherwise a message is.
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
