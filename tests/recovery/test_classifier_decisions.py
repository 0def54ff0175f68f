"""What the pipeline does with a failure: retry (when, how long), pause, dead-letter, escalate."""

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from recovery.classifier import (
    classify_and_action,
    classify_partner_error,
    decide,
    get_next_retry_delay,
    should_retry,
)
from recovery.taxonomy import TAXONOMY, ClassifiedError, get_taxonomy_entry
from recovery.taxonomy import ErrorCode as E

pytestmark = pytest.mark.django_db

REAUTH_CODES = [code for code, entry in TAXONOMY.items() if entry.requires_reauth]
RETRYABLE_CODES = [code for code, entry in TAXONOMY.items() if entry.retryable]

META_EXPIRED = {"error": {"message": "Session has expired", "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id": "A"}}


@pytest.mark.parametrize("code", REAUTH_CODES)
def test_auth_and_permission_errors_pause_and_are_never_retried(code):
    for attempt in range(0, 12):
        assert should_retry(code, attempt) is False
        decision = decide(ClassifiedError(code=code, platform="meta", retry_after_s=5), attempt)
        assert (decision.retry, decision.delay_s, decision.pause, decision.dead_letter) == (False, None, True, False)
        assert get_next_retry_delay(code, attempt) is None


def test_expired_meta_token_pauses_the_channel_even_with_retry_after():
    decision = classify_and_action("meta", 400, META_EXPIRED, {"Retry-After": "10"}, attempt=0)
    assert decision.error.code is E.AUTH_EXPIRED
    assert decision.pause and not decision.retry and not decision.dead_letter and not decision.escalate


@pytest.mark.parametrize("code", RETRYABLE_CODES)
def test_retryable_code_is_retried_until_its_retries_are_used_up(code):
    max_retries = get_taxonomy_entry(code).retry_policy.max_retries
    for attempt in range(max_retries):
        decision = decide(ClassifiedError(code=code, platform="gbp"), attempt)
        assert decision.retry and not decision.dead_letter and not decision.pause
        assert decision.delay_s is not None
    used_up = decide(ClassifiedError(code=code, platform="gbp"), max_retries)
    assert not used_up.retry and used_up.dead_letter and used_up.delay_s is None


def test_first_failure_is_attempt_zero():
    assert should_retry(E.PARTNER_5XX, 0)
    assert not should_retry(E.PARTNER_5XX, TAXONOMY[E.PARTNER_5XX].retry_policy.max_retries)


@pytest.mark.parametrize("code", [E.VALIDATION_ERROR, E.CONTENT_REJECTED, E.DUPLICATE_CONTENT, E.MEDIA_ERROR, E.CAPABILITY_UNSUPPORTED])
def test_content_problems_are_dead_lettered_at_once_without_escalation(code):
    decision = decide(ClassifiedError(code=code, platform="linkedin"), 0)
    assert (decision.retry, decision.pause, decision.dead_letter, decision.escalate) == (False, False, True, False)


@pytest.mark.parametrize("code", [E.UNKNOWN, E.SSL_ERROR])
def test_unknown_and_tls_failures_escalate_and_are_dead_lettered(code):
    decision = decide(ClassifiedError(code=code, platform="system"), 0)
    assert decision.escalate and decision.dead_letter and not decision.retry and not decision.pause


def test_paused_codes_are_never_dead_lettered():
    for code, entry in TAXONOMY.items():
        if entry.pauses_channel:
            for attempt in (0, 3, 50):
                assert not decide(ClassifiedError(code=code, platform="gbp"), attempt).dead_letter


@pytest.mark.parametrize("attempt", [0, 1, 2, 3, 4])
def test_backoff_is_full_jitter_within_its_bounds(attempt):
    policy = TAXONOMY[E.PARTNER_5XX].retry_policy
    ceiling = min(policy.cap_s, policy.backoff_base_s * policy.multiplier**attempt)
    rng = random.Random(attempt)
    delays = [get_next_retry_delay(E.PARTNER_5XX, attempt, rng=rng) for _ in range(2000)]
    assert all(0 <= d <= ceiling for d in delays)
    # full jitter: spread over the whole range, not bunched at the top
    assert min(delays) < ceiling * 0.05 and max(delays) > ceiling * 0.95


def test_backoff_never_passes_the_cap_even_at_absurd_attempts():
    cap = TAXONOMY[E.NETWORK_ERROR].retry_policy.cap_s
    rng = random.Random(7)
    for attempt in (10, 64, 1000, 10**9):
        assert 0 <= get_next_retry_delay(E.NETWORK_ERROR, attempt, rng=rng) <= cap


def test_retry_after_header_wins_and_is_not_jittered_below():
    rng = random.Random(1)
    for attempt in range(4):
        decision = classify_and_action("gbp", 503, None, {"Retry-After": "120"}, attempt=attempt, rng=rng)
        assert decision.error.code is E.PARTNER_UNAVAILABLE
        assert 120 <= decision.delay_s <= 120 + 12


def test_retry_after_http_date_wins():
    when = datetime.now(timezone.utc) + timedelta(seconds=300)
    decision = classify_and_action("mailchimp", 429, None, {"retry-after": format_datetime(when, usegmt=True)}, attempt=0)
    assert decision.delay_s >= 298


def test_partner_reset_time_from_the_body_wins():
    usage = '{"1": [{"type": "pages", "estimated_time_to_regain_access": 19}]}'
    body = {"error": {"message": "(#80001) too many calls", "code": 80001}}
    decision = classify_and_action("meta", 400, body, {"X-Business-Use-Case-Usage": usage}, attempt=0)
    assert decision.retry and decision.delay_s >= 1140


def test_get_next_retry_delay_reads_headers_and_classifications():
    assert get_next_retry_delay(E.RATE_LIMIT_429, 0, headers={"RETRY-AFTER": "45"}) >= 45
    classified = classify_partner_error("tiktok", 429, {"error": {"code": "rate_limit_exceeded"}})
    assert get_next_retry_delay(classified, 0) >= 60
    assert should_retry(classified, 0)


def test_decision_serialises_for_dead_letters():
    data = classify_and_action("linkedin", 500, None, None, attempt=99).to_dict()
    assert data["code"] == "PARTNER_5XX" and data["dead_letter"] is True and data["attempt"] == 99


def test_absurd_partner_delay_is_bounded():
    from recovery.classifier.decisions import MAX_PARTNER_DELAY_S

    decision = classify_and_action("gbp", 503, None, {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}, attempt=0)
    assert MAX_PARTNER_DELAY_S <= decision.delay_s <= MAX_PARTNER_DELAY_S + 30
