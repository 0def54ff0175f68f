"""The error taxonomy holds the contract of docs/taxonomy.md (shared/taxonomy.md when beside), code by code."""

import re
from pathlib import Path

import pytest

from recovery.taxonomy import (
    NO_RETRY,
    TAXONOMY,
    ErrorAction,
    ErrorCode,
    Severity,
    get_taxonomy_entry,
    is_retryable,
    pauses_channel,
    requires_reauth,
)

REPO = Path(__file__).resolve().parents[2]
SHARED_TAXONOMY = REPO.parent / "shared" / "taxonomy.md"
DOCS_TAXONOMY = REPO / "docs" / "taxonomy.md"

# The contract table of taxonomy.md: code -> (default action, retryable, pauses channel).
CONTRACT = {
    "AUTH_EXPIRED": ("TRIGGER_RECONNECT", False, True),
    "AUTH_REVOKED": ("TRIGGER_RECONNECT", False, True),
    "AUTH_INVALID": ("TRIGGER_RECONNECT", False, True),
    "REFRESH_FAILED": ("TRIGGER_RECONNECT", False, True),
    "PERMISSION_INSUFFICIENT": ("TRIGGER_RECONNECT", False, True),
    "ACCOUNT_RESTRICTED": ("PAUSE_CHANNEL", False, True),
    "RATE_LIMIT_429": ("RETRY_AFTER_DELAY", True, False),
    "QUOTA_EXCEEDED": ("RETRY_AFTER_DELAY", True, False),
    "PARTNER_5XX": ("RETRY_WITH_BACKOFF", True, False),
    "PARTNER_UNAVAILABLE": ("RETRY_WITH_BACKOFF", True, False),
    "NETWORK_ERROR": ("RETRY_WITH_BACKOFF", True, False),
    "TIMEOUT": ("RETRY_WITH_BACKOFF", True, False),
    "SSL_ERROR": ("ESCALATE_TO_SUPPORT", False, False),
    "VALIDATION_ERROR": ("NOTIFY_USER_FIX_CONTENT", False, False),
    "CONTENT_REJECTED": ("NOTIFY_USER_FIX_CONTENT", False, False),
    "DUPLICATE_CONTENT": ("NOTIFY_USER_FIX_CONTENT", False, False),
    "MEDIA_ERROR": ("NOTIFY_USER_FIX_CONTENT", False, False),
    "RESOURCE_NOT_FOUND": ("PAUSE_CHANNEL", False, True),
    "CONFLICT": ("RETRY_WITH_BACKOFF", True, False),
    "CAPABILITY_UNSUPPORTED": ("NOTIFY_USER_FIX_CONTENT", False, False),
    "WEBHOOK_FAILURE": ("RETRY_WITH_BACKOFF", True, False),
    "UNKNOWN": ("ESCALATE_TO_SUPPORT", False, False),
}
ACTIONS = {
    "RETRY_WITH_BACKOFF", "RETRY_AFTER_DELAY", "TRIGGER_RECONNECT", "PAUSE_CHANNEL",
    "NOTIFY_USER_FIX_CONTENT", "SEND_TO_DLQ", "ESCALATE_TO_SUPPORT", "REFRESH_TOKEN",
}


def test_every_code_and_action_of_the_contract_and_nothing_else():
    assert {code.value for code in ErrorCode} == set(CONTRACT)
    assert set(TAXONOMY) == set(ErrorCode)
    assert {action.value for action in ErrorAction} == ACTIONS


@pytest.mark.parametrize("code", sorted(CONTRACT))
def test_each_code_has_its_action_flags_severity_retry_policy_and_messages(code):
    action, retryable, pauses = CONTRACT[code]
    entry = get_taxonomy_entry(code)

    assert entry.code.value == code
    assert (entry.action.value, entry.retryable, entry.pauses_channel) == (action, retryable, pauses)
    # The helpers answer from the same entry, for the enum and for its name.
    for key in (code, ErrorCode(code)):
        flags = (is_retryable(key), requires_reauth(key), pauses_channel(key))
        assert flags == (retryable, entry.requires_reauth, pauses)
    # A reconnect is asked for exactly when the default action is one.
    assert entry.requires_reauth == (action == "TRIGGER_RECONNECT")
    assert isinstance(entry.severity, Severity)
    policy = entry.retry_policy
    if retryable:
        assert policy.max_retries >= 1
        assert 0 < policy.backoff_base_s <= policy.cap_s
        assert policy.multiplier >= 1
    else:
        assert policy == NO_RETRY
    # What happened, and what to do, in plain words: sentences, no code names or jargon.
    for text in (entry.happened, entry.we_did, entry.todo, entry.user_message, entry.recovery_action):
        assert text.strip().endswith(".") and len(text) >= 20
        assert not re.search(r"\b[A-Z]+_[A-Z_]+\b|\b(HTTP|[45]\d\d|OAuth|token|scope)\b", text), text


def test_severity_follows_what_the_error_does():
    assert get_taxonomy_entry("SSL_ERROR").severity is Severity.CRITICAL
    for code, (action, _, pauses) in CONTRACT.items():
        severity = get_taxonomy_entry(code).severity
        if pauses:  # a channel stops publishing
            assert severity in (Severity.HIGH, Severity.CRITICAL), code
        if action == "NOTIFY_USER_FIX_CONTENT":  # one post, the user's to fix
            assert severity is Severity.LOW, code


@pytest.mark.parametrize("unknown", ["NOT_A_CODE", "auth_expired", ""])
def test_a_name_that_is_not_a_code_raises(unknown):
    with pytest.raises(ValueError):
        get_taxonomy_entry(unknown)
    with pytest.raises(ValueError):
        is_retryable(unknown)


@pytest.mark.parametrize("document", [DOCS_TAXONOMY, SHARED_TAXONOMY], ids=["docs", "shared"])
def test_the_contract_here_is_the_table_of_taxonomy_md(document):
    if not document.is_file():
        pytest.skip(f"no {document}")
    row = r"^\| ([A-Z_0-9]+) \| [^|]+ \| ([A-Z_]+)[^|]* \| (yes|no) \| (yes|no) \|$"
    rows = re.findall(row, document.read_text(), re.M)

    assert {code: (action, retry == "yes", pause == "yes") for code, action, retry, pause in rows} == CONTRACT
