"""The error taxonomy: every code, its action, retry policy and user message.

This is the contract of docs/taxonomy.md. The names never change; a code
is added only where a real case needs one. The classifier, auto-pause, the
dead-letter queue, metrics and dashboards all speak these codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class ErrorCode(str, Enum):
    AUTH_EXPIRED = "AUTH_EXPIRED"
    AUTH_REVOKED = "AUTH_REVOKED"
    AUTH_INVALID = "AUTH_INVALID"
    REFRESH_FAILED = "REFRESH_FAILED"
    PERMISSION_INSUFFICIENT = "PERMISSION_INSUFFICIENT"
    ACCOUNT_RESTRICTED = "ACCOUNT_RESTRICTED"
    RATE_LIMIT_429 = "RATE_LIMIT_429"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    PARTNER_5XX = "PARTNER_5XX"
    PARTNER_UNAVAILABLE = "PARTNER_UNAVAILABLE"
    NETWORK_ERROR = "NETWORK_ERROR"
    TIMEOUT = "TIMEOUT"
    SSL_ERROR = "SSL_ERROR"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    CONTENT_REJECTED = "CONTENT_REJECTED"
    DUPLICATE_CONTENT = "DUPLICATE_CONTENT"
    MEDIA_ERROR = "MEDIA_ERROR"
    RESOURCE_NOT_FOUND = "RESOURCE_NOT_FOUND"
    CONFLICT = "CONFLICT"
    CAPABILITY_UNSUPPORTED = "CAPABILITY_UNSUPPORTED"
    WEBHOOK_FAILURE = "WEBHOOK_FAILURE"
    UNKNOWN = "UNKNOWN"


class ErrorAction(str, Enum):
    RETRY_WITH_BACKOFF = "RETRY_WITH_BACKOFF"
    RETRY_AFTER_DELAY = "RETRY_AFTER_DELAY"
    TRIGGER_RECONNECT = "TRIGGER_RECONNECT"
    PAUSE_CHANNEL = "PAUSE_CHANNEL"
    NOTIFY_USER_FIX_CONTENT = "NOTIFY_USER_FIX_CONTENT"
    SEND_TO_DLQ = "SEND_TO_DLQ"
    ESCALATE_TO_SUPPORT = "ESCALATE_TO_SUPPORT"
    REFRESH_TOKEN = "REFRESH_TOKEN"


class Severity(str, Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: base * multiplier**attempt seconds, capped, at most max_retries times."""

    max_retries: int = 0
    backoff_base_s: float = 0.0
    multiplier: float = 2.0
    cap_s: float = 0.0


NO_RETRY = RetryPolicy()


@dataclass(frozen=True)
class TaxonomyEntry:
    """One code's rules, and what the user reads about it, in three parts pages put together as they need:

    - `happened`: what went wrong, in the user's words ("Your connection has expired.");
    - `we_did`: what the product did about it ("We paused posting to this account.");
    - `todo`: what the user should do ("Click Reconnect to sign in again...").

    `user_message` (happened + we_did) and `recovery_action` (todo) are the contract's names
    for them (taxonomy.md, the classify command, dead letters).
    """

    code: ErrorCode
    description: str
    action: ErrorAction
    severity: Severity
    happened: str
    we_did: str
    todo: str
    retry_policy: RetryPolicy = NO_RETRY
    requires_reauth: bool = False
    pauses_channel: bool = False

    @property
    def retryable(self) -> bool:
        return self.retry_policy.max_retries > 0

    @property
    def escalates(self) -> bool:
        """Whether a failure with this code goes to people (Sentry): the taxonomy escalates it, or it is critical."""
        return self.action is ErrorAction.ESCALATE_TO_SUPPORT or self.severity is Severity.CRITICAL

    @property
    def user_message(self) -> str:
        return f"{self.happened} {self.we_did}"

    @property
    def recovery_action(self) -> str:
        return self.todo


def _reauth(code, description, severity, happened, todo):
    return TaxonomyEntry(
        code,
        description,
        ErrorAction.TRIGGER_RECONNECT,
        severity,
        happened,
        _PAUSED,
        todo,
        requires_reauth=True,
        pauses_channel=True,
    )


_PAUSED = "We paused posting to it."
_RETRYING = "We will retry your post automatically."
_RECONNECT = "Click Reconnect to sign in again; your scheduled posts are kept and go out once you do."
_NOTHING_WE_RETRY = "Nothing to do: we retry with increasing delays."

TAXONOMY: dict[ErrorCode, TaxonomyEntry] = {
    entry.code: entry
    for entry in [
        _reauth(
            ErrorCode.AUTH_EXPIRED,
            "The access token expired.",
            Severity.HIGH,
            "Your connection to this account has expired.",
            _RECONNECT,
        ),
        _reauth(
            ErrorCode.AUTH_REVOKED,
            "The user or partner withdrew the app's access.",
            Severity.HIGH,
            "Access to this account was removed (for example the app was disconnected or the password changed).",
            _RECONNECT,
        ),
        _reauth(
            ErrorCode.AUTH_INVALID,
            "The access token is malformed, unknown or invalidated.",
            Severity.HIGH,
            "The partner no longer accepts this connection's sign-in.",
            _RECONNECT,
        ),
        _reauth(
            ErrorCode.REFRESH_FAILED,
            "The refresh token was rejected.",
            Severity.HIGH,
            "We could not renew this connection's sign-in automatically.",
            _RECONNECT,
        ),
        _reauth(
            ErrorCode.PERMISSION_INSUFFICIENT,
            "A scope, role or page permission is missing.",
            Severity.HIGH,
            "This connection is missing a permission it needs to post (one not approved when it was connected, "
            "or your role on the page or organisation).",
            "Click Reconnect and approve every permission asked for; if you lost your role on the page, "
            "ask its admin to restore it first.",
        ),
        TaxonomyEntry(
            ErrorCode.ACCOUNT_RESTRICTED,
            "The partner account is checkpointed, locked, blocked or suspended.",
            ErrorAction.PAUSE_CHANNEL,
            Severity.HIGH,
            "The partner has restricted this account.",
            _PAUSED,
            "Sign in to the partner's site and clear the restriction (a security check, a policy review or a "
            "billing issue), then resume the channel.",
            pauses_channel=True,
        ),
        TaxonomyEntry(
            ErrorCode.RATE_LIMIT_429,
            "The partner throttled requests for a short window.",
            ErrorAction.RETRY_AFTER_DELAY,
            Severity.LOW,
            "The partner asked us to slow down.",
            "Your post is queued and will be retried automatically.",
            "Nothing to do: we retry when the partner allows it.",
            retry_policy=RetryPolicy(max_retries=6, backoff_base_s=60, multiplier=2, cap_s=3600),
        ),
        TaxonomyEntry(
            ErrorCode.QUOTA_EXCEEDED,
            "A daily or post-count quota is used up.",
            ErrorAction.RETRY_AFTER_DELAY,
            Severity.MEDIUM,
            "This account reached the partner's posting limit for now.",
            "Your post will be retried once the limit resets.",
            "Nothing to do, unless it is urgent: then post fewer items to this account today.",
            retry_policy=RetryPolicy(max_retries=3, backoff_base_s=3600, multiplier=2, cap_s=86400),
        ),
        TaxonomyEntry(
            ErrorCode.PARTNER_5XX,
            "The partner answered with a server error.",
            ErrorAction.RETRY_WITH_BACKOFF,
            Severity.MEDIUM,
            "The partner had a server problem.",
            _RETRYING,
            _NOTHING_WE_RETRY,
            retry_policy=RetryPolicy(max_retries=5, backoff_base_s=30, multiplier=2, cap_s=1800),
        ),
        TaxonomyEntry(
            ErrorCode.PARTNER_UNAVAILABLE,
            "The partner is temporarily unavailable or hit a transient error.",
            ErrorAction.RETRY_WITH_BACKOFF,
            Severity.MEDIUM,
            "The partner is temporarily unavailable.",
            _RETRYING,
            _NOTHING_WE_RETRY,
            retry_policy=RetryPolicy(max_retries=5, backoff_base_s=30, multiplier=2, cap_s=1800),
        ),
        TaxonomyEntry(
            ErrorCode.NETWORK_ERROR,
            "The connection was refused or reset, or DNS failed.",
            ErrorAction.RETRY_WITH_BACKOFF,
            Severity.MEDIUM,
            "We could not reach the partner.",
            _RETRYING,
            _NOTHING_WE_RETRY,
            retry_policy=RetryPolicy(max_retries=5, backoff_base_s=10, multiplier=2, cap_s=900),
        ),
        TaxonomyEntry(
            ErrorCode.TIMEOUT,
            "The partner did not answer in time.",
            ErrorAction.RETRY_WITH_BACKOFF,
            Severity.MEDIUM,
            "The partner took too long to answer.",
            _RETRYING,
            _NOTHING_WE_RETRY,
            retry_policy=RetryPolicy(max_retries=4, backoff_base_s=15, multiplier=2, cap_s=900),
        ),
        TaxonomyEntry(
            ErrorCode.SSL_ERROR,
            "The TLS handshake or certificate check failed.",
            ErrorAction.ESCALATE_TO_SUPPORT,
            Severity.CRITICAL,
            "We could not open a secure connection to the partner.",
            "Our team has been alerted.",
            "Nothing to do: our support team is looking into it.",
        ),
        TaxonomyEntry(
            ErrorCode.VALIDATION_ERROR,
            "The request or its content is malformed.",
            ErrorAction.NOTIFY_USER_FIX_CONTENT,
            Severity.LOW,
            "The partner did not accept this post as written.",
            "It was not published.",
            "Edit the post (text length, links, fields) and schedule it again.",
        ),
        TaxonomyEntry(
            ErrorCode.CONTENT_REJECTED,
            "The partner refused the content by policy.",
            ErrorAction.NOTIFY_USER_FIX_CONTENT,
            Severity.LOW,
            "The partner refused this post under its content rules.",
            "It was not published.",
            "Review the post against the partner's community guidelines, change it and schedule it again.",
        ),
        TaxonomyEntry(
            ErrorCode.DUPLICATE_CONTENT,
            "The partner already has this post.",
            ErrorAction.NOTIFY_USER_FIX_CONTENT,
            Severity.LOW,
            "The partner says this post is a duplicate of one already published.",
            "It was not published again.",
            "Change the text or media if you meant to post it again.",
        ),
        TaxonomyEntry(
            ErrorCode.MEDIA_ERROR,
            "A media upload, format, size, duration or processing step failed.",
            ErrorAction.NOTIFY_USER_FIX_CONTENT,
            Severity.LOW,
            "The partner could not process this post's image or video.",
            "It was not published.",
            "Check the media's format, size and length against the partner's limits, replace it and schedule "
            "again.",
        ),
        TaxonomyEntry(
            ErrorCode.RESOURCE_NOT_FOUND,
            "The page, location, list or post is gone.",
            ErrorAction.PAUSE_CHANNEL,
            Severity.HIGH,
            "The page, location or audience this connection posts to no longer exists.",
            _PAUSED,
            "Check the account on the partner's site; reconnect it to another page, location or audience.",
            pauses_channel=True,
        ),
        TaxonomyEntry(
            ErrorCode.CONFLICT,
            "A concurrent modification was refused.",
            ErrorAction.RETRY_WITH_BACKOFF,
            Severity.LOW,
            "The partner was busy with another change to this item.",
            "We will retry automatically.",
            "Nothing to do: we retry shortly.",
            retry_policy=RetryPolicy(max_retries=3, backoff_base_s=5, multiplier=2, cap_s=120),
        ),
        TaxonomyEntry(
            ErrorCode.CAPABILITY_UNSUPPORTED,
            "This post type or feature is not available for this account or platform.",
            ErrorAction.NOTIFY_USER_FIX_CONTENT,
            Severity.LOW,
            "This kind of post is not available for this account on this platform.",
            "It was not sent to the partner.",
            "Choose a post type the platform supports for this account.",
        ),
        TaxonomyEntry(
            ErrorCode.WEBHOOK_FAILURE,
            "A webhook could not be verified or processed.",
            ErrorAction.RETRY_WITH_BACKOFF,
            Severity.MEDIUM,
            "A notification from the partner could not be processed yet.",
            "We will retry automatically.",
            "Nothing to do: we retry processing.",
            retry_policy=RetryPolicy(max_retries=5, backoff_base_s=30, multiplier=2, cap_s=3600),
        ),
        TaxonomyEntry(
            ErrorCode.UNKNOWN,
            "An error nothing else fits.",
            ErrorAction.ESCALATE_TO_SUPPORT,
            Severity.HIGH,
            "Something unexpected went wrong with this post.",
            "Our team has been alerted.",
            "Nothing to do: our support team is looking into it.",
        ),
    ]
}


def _as_code(code: ErrorCode | str) -> ErrorCode:
    return code if isinstance(code, ErrorCode) else ErrorCode(code)


def get_taxonomy_entry(code: ErrorCode | str) -> TaxonomyEntry:
    return TAXONOMY[_as_code(code)]


def is_retryable(code: ErrorCode | str) -> bool:
    return get_taxonomy_entry(code).retryable


def requires_reauth(code: ErrorCode | str) -> bool:
    return get_taxonomy_entry(code).requires_reauth


def pauses_channel(code: ErrorCode | str) -> bool:
    return get_taxonomy_entry(code).pauses_channel


@dataclass
class ClassifiedError:
    """One failure, classified. `entry` carries the taxonomy's rules for its code.

    `partner_code` is the partner's own code (e.g. "190/463", "65601",
    "access_token_invalid") and `partner_message` its message, both for ops;
    `retry_after_s` is what the partner said about when to retry, if anything.
    """

    code: ErrorCode
    platform: str
    http_status: int | None = None
    partner_code: str = ""
    partner_message: str = ""
    retry_after_s: float | None = None
    missing_scopes: list[str] = field(default_factory=list)

    @property
    def entry(self) -> TaxonomyEntry:
        return TAXONOMY[self.code]

    @property
    def action(self) -> ErrorAction:
        return self.entry.action

    @property
    def severity(self) -> Severity:
        return self.entry.severity

    @property
    def retryable(self) -> bool:
        return self.entry.retryable

    @property
    def requires_reauth(self) -> bool:
        return self.entry.requires_reauth

    @property
    def pauses_channel(self) -> bool:
        return self.entry.pauses_channel

    @property
    def user_message(self) -> str:
        return self.entry.user_message

    @property
    def escalates(self) -> bool:
        return self.entry.escalates

    def to_dict(self) -> dict:
        """A JSON-safe form, for dead letters, audit rows and the classify command."""
        return {
            "code": self.code.value,
            "action": self.action.value,
            "severity": self.severity.value,
            "platform": self.platform,
            "http_status": self.http_status,
            "partner_code": self.partner_code,
            "partner_message": self.partner_message,
            "retryable": self.retryable,
            "pauses_channel": self.pauses_channel,
            "requires_reauth": self.requires_reauth,
            "retry_after_s": self.retry_after_s,
            "missing_scopes": list(self.missing_scopes),
            "user_message": self.user_message,
            "recovery_action": self.entry.recovery_action,
        }
