"""What to do about a classified failure: the one place the publish pipeline, pings and jobs ask.

Rules (docs/taxonomy.md, "Rules that never bend"):
- `attempt` counts the failures so far, 0 for the first. A code is retried
  while attempt < its policy's max_retries, never when it requires
  re-authentication (auth and permission) or is not retryable.
- The delay is exponential backoff with full jitter,
  uniform(0, min(cap, base * multiplier**attempt)); when the partner said when
  to retry (Retry-After, usage headers, RetryInfo, a daily reset), that wins,
  plus a small positive jitter so a fleet does not retry in the same second,
  never less than what the partner asked (bounded at 7 days, past which the
  header is broken rather than meant).
- pause: the code pauses its channel (auth, permission, restricted, gone).
  A paused job waits for the reconnect and is never dead-lettered.
- dead_letter: not retried and not paused (not retryable, or retries used up).
- escalate: the action is ESCALATE_TO_SUPPORT or the severity is critical.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from recovery.classifier.parsing import Headers, retry_after_header
from recovery.classifier.partner import classify_partner_error
from recovery.classifier.system import classify_system_error
from recovery.taxonomy import ClassifiedError, ErrorCode, get_taxonomy_entry

# The partner's delay gets up to this share on top (bounded by the cap below),
# so connections throttled together do not all come back at the same instant.
RETRY_AFTER_JITTER_SHARE = 0.1
RETRY_AFTER_JITTER_CAP_S = 30.0
# A partner delay past this is a broken header (a date in the year 9999), not a
# plan: wait this long at most, then ask again.
MAX_PARTNER_DELAY_S = 7 * 86_400.0
# Past this exponent the backoff is at its cap anyway; it keeps base * m**n finite.
_MAX_EXPONENT = 64


@dataclass(frozen=True)
class Decision:
    """The classification of one failure and what to do about it."""

    error: ClassifiedError
    attempt: int
    retry: bool
    delay_s: float | None  # seconds until the retry; None when not retried
    pause: bool
    dead_letter: bool
    escalate: bool

    @property
    def code(self) -> ErrorCode:
        return self.error.code

    def to_dict(self) -> dict:
        return {
            **self.error.to_dict(),
            "attempt": self.attempt,
            "retry": self.retry,
            "delay_s": self.delay_s,
            "pause": self.pause,
            "dead_letter": self.dead_letter,
            "escalate": self.escalate,
        }


def _code_of(code: ErrorCode | str | ClassifiedError) -> ErrorCode | str:
    return code.code if isinstance(code, ClassifiedError) else code


def should_retry(code: ErrorCode | str | ClassifiedError, attempt: int) -> bool:
    """Whether a failure with this code (or classification), after `attempt` earlier failures, is retried."""
    entry = get_taxonomy_entry(_code_of(code))
    if entry.requires_reauth or not entry.retryable:
        return False
    return 0 <= attempt < entry.retry_policy.max_retries


def backoff_delay(code: ErrorCode | str | ClassifiedError, attempt: int, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff for this code's policy."""
    policy = get_taxonomy_entry(_code_of(code)).retry_policy
    exponent = min(max(attempt, 0), _MAX_EXPONENT)
    ceiling = min(policy.cap_s, policy.backoff_base_s * policy.multiplier**exponent)
    return (rng or random).uniform(0, ceiling)


def get_next_retry_delay(
    code: ErrorCode | str | ClassifiedError,
    attempt: int,
    headers: Any = None,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait before retry number attempt+1; None for a code that is never retried.

    The partner's word (a Retry-After header, else `retry_after_s`, else the
    classification's own retry_after_s when a ClassifiedError is given) wins
    over the backoff and is never undercut.
    """
    if isinstance(code, ClassifiedError):
        retry_after_s = retry_after_s if retry_after_s is not None else code.retry_after_s
        code = code.code
    entry = get_taxonomy_entry(code)
    if entry.requires_reauth or not entry.retryable:
        return None
    header_delay = retry_after_header(Headers.of(headers)) if headers else None
    partner_delay = header_delay if header_delay is not None else retry_after_s
    if partner_delay is not None and partner_delay >= 0:
        partner_delay = min(partner_delay, MAX_PARTNER_DELAY_S)
        jitter = min(partner_delay * RETRY_AFTER_JITTER_SHARE, RETRY_AFTER_JITTER_CAP_S)
        return partner_delay + (rng or random).uniform(0, jitter)
    return backoff_delay(code, attempt, rng)


def decide(error: ClassifiedError, attempt: int, rng: random.Random | None = None) -> Decision:
    """What to do about this classified failure at this attempt (rules in the module docstring)."""
    entry = error.entry
    retry = should_retry(error.code, attempt)
    pause = entry.pauses_channel
    return Decision(
        error=error,
        attempt=attempt,
        retry=retry,
        delay_s=get_next_retry_delay(error.code, attempt, retry_after_s=error.retry_after_s, rng=rng) if retry else None,
        pause=pause,
        dead_letter=not retry and not pause,
        escalate=entry.escalates,
    )


def classify_and_action(
    platform: str,
    status: int | None,
    body: Any,
    headers: Any = None,
    attempt: int = 0,
    *,
    context: str | None = None,
    rng: random.Random | None = None,
) -> Decision:
    """Classify a partner answer and decide what to do about it."""
    return decide(classify_partner_error(platform, status, body, headers, context=context), attempt, rng)


def classify_exception_and_action(exc: BaseException, attempt: int = 0, *, platform: str = "system", rng=None) -> Decision:
    """The same for a client-side failure (no answer): timeout, network, TLS."""
    return decide(classify_system_error(exc, platform=platform), attempt, rng)
