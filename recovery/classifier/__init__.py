"""The error classifier: partner answers and client-side failures -> taxonomy codes -> decisions.

    from recovery.classifier import classify_partner_error, classify_system_error
    from recovery.classifier import classify_and_action, decide, should_retry, get_next_retry_delay

One module per partner (meta, linkedin, tiktok, gbp, mailchimp), each stating
its rules; `partner` runs them with the status fallback; `system` handles
exceptions; `decisions` turns a classification into retry/pause/dead-letter/escalate.
"""

from recovery.classifier.decisions import (
    Decision,
    backoff_delay,
    classify_and_action,
    classify_exception_and_action,
    decide,
    get_next_retry_delay,
    should_retry,
)
from recovery.classifier.partner import REFRESH_CONTEXT, classify_partner_error, status_fallback
from recovery.classifier.system import classify_named_system_error, classify_system_error

__all__ = [
    "Decision",
    "REFRESH_CONTEXT",
    "backoff_delay",
    "classify_and_action",
    "classify_exception_and_action",
    "classify_named_system_error",
    "classify_partner_error",
    "classify_system_error",
    "decide",
    "get_next_retry_delay",
    "should_retry",
    "status_fallback",
]
