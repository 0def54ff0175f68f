"""Token buckets per (tenant, platform) and per platform for the app, and the usage throttle, in real Redis."""

import json
import threading
import time

import pytest

from recovery.policies.rate_limit import bucket_levels, take_token
from recovery.policies.usage_throttle import (
    account_block_key,
    app_block_key,
    block,
    block_account,
    block_keys_for,
    held_accounts,
    record_usage,
)


@pytest.fixture
def limits(settings):
    def set_limits(tenant=(3, 1.0), app=(5, 1.0), platform="meta"):
        settings.PUBLISH_RATE_LIMITS = {
            **settings.PUBLISH_RATE_LIMITS,
            platform: {
                "tenant": {"capacity": tenant[0], "per_second": tenant[1]},
                "app": {"capacity": app[0], "per_second": app[1]},
            },
        }

    return set_limits


def takes(tenant_id, n, platform="meta", **kwargs):
    return [take_token(tenant_id, platform, **kwargs) for _ in range(n)]


def test_a_tenant_gets_its_burst_then_waits_for_the_refill(limits):
    limits(tenant=(3, 2.0), app=(100, 100.0))

    decisions = takes(1, 4)

    assert [d.allowed for d in decisions] == [True, True, True, False]
    refused = decisions[-1]
    assert refused.reason == "tenant"
    assert 0.3 < refused.wait_s <= 0.5  # one token at 2 a second


def test_one_tenant_cannot_spend_the_apps_quota(limits):
    limits(tenant=(3, 0.01), app=(5, 0.01))

    noisy = takes(1, 10)
    quiet = takes(2, 3)

    assert sum(d.allowed for d in noisy) == 3  # its own bucket stops it at 3 of the app's 5
    assert [d.allowed for d in quiet] == [True, True, False]  # the app bucket has 2 left for everyone else
    assert quiet[-1].reason == "app"


def test_a_refusal_by_the_app_bucket_costs_the_tenant_nothing(limits):
    limits(tenant=(3, 0.01), app=(1, 0.01))
    assert take_token(1, "meta").allowed  # the app's only token

    assert not take_token(2, "meta").allowed

    tenant_bucket, _ = bucket_levels(2, "meta")
    assert tenant_bucket.tokens == 3  # tenant 2's bucket untouched (or not even created)


def test_buckets_are_per_platform(limits):
    limits(tenant=(1, 0.01), app=(1, 0.01), platform="meta")
    limits(tenant=(1, 0.01), app=(1, 0.01), platform="tiktok")

    assert take_token(1, "meta").allowed
    assert not take_token(1, "meta").allowed
    assert take_token(1, "tiktok").allowed


def test_tokens_come_back_with_time(limits):
    limits(tenant=(2, 20.0), app=(100, 100.0))
    assert all(d.allowed for d in takes(1, 2))
    assert not take_token(1, "meta").allowed

    time.sleep(0.12)  # 20 a second: two tokens back

    assert [d.allowed for d in takes(1, 3)] == [True, True, False]


def test_concurrent_takers_never_get_more_than_the_bucket_holds(limits):
    limits(tenant=(20, 0.001), app=(1000, 0.001))
    allowed = []

    def hammer():
        allowed.extend(d.allowed for d in takes(1, 25))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(allowed) == 20 and len(allowed) == 200


def test_an_idle_bucket_expires_once_it_would_be_full(limits):
    limits(tenant=(2, 1.0), app=(100, 100.0))
    take_token(1, "meta")

    tenant_bucket, app_bucket = bucket_levels(1, "meta")

    assert 0 < tenant_bucket.expires_in_s <= 2  # one token to refill at 1/s, plus a second
    assert app_bucket.expires_in_s > 0


def test_a_block_key_refuses_for_as_long_as_it_lives(limits):
    limits(tenant=(10, 10.0), app=(100, 100.0))
    block(account_block_key("meta", "page-1"), 30)

    refused = take_token(1, "meta", block_keys=block_keys_for("meta", "page-1"))
    other_account = take_token(1, "meta", block_keys=block_keys_for("meta", "page-2"))

    assert not refused.allowed and refused.reason == "throttled" and 29 < refused.wait_s <= 30
    assert other_account.allowed
    assert bucket_levels(1, "meta")[0].tokens == 9  # the refusal took nothing


def test_a_block_never_shortens_a_longer_one():
    block(app_block_key("meta"), 60)
    block(app_block_key("meta"), 5)
    assert held_accounts([("meta", "any-page")])[("meta", "any-page")] > 55


def test_meta_app_usage_past_90_percent_holds_the_whole_app(settings, limits):
    limits(tenant=(10, 10.0), app=(100, 100.0))
    headers = {"X-App-Usage": json.dumps({"call_count": 91, "total_cputime": 10, "total_time": 12})}

    held = record_usage("meta", headers)

    assert held == settings.USAGE_THROTTLE["app_backoff_s"]
    decision = take_token(7, "meta", block_keys=block_keys_for("meta", "any-page"))
    assert not decision.allowed and decision.reason == "throttled"


def test_meta_business_usage_holds_the_account_until_the_estimated_regain(limits):
    limits(tenant=(10, 10.0), app=(100, 100.0))
    headers = {
        "x-business-use-case-usage": json.dumps(
            {"1001": [{"type": "pages", "call_count": 95, "total_cputime": 3, "total_time": 4,
                       "estimated_time_to_regain_access": 19}]}
        )
    }

    assert record_usage("meta", headers) == 19 * 60

    held = take_token(1, "meta", block_keys=block_keys_for("meta", "1001"))
    free = take_token(1, "meta", block_keys=block_keys_for("meta", "2002"))
    assert not held.allowed and 1130 < held.wait_s <= 1140
    assert free.allowed


def test_usage_below_the_threshold_holds_nothing():
    headers = {
        "x-app-usage": json.dumps({"call_count": 89, "total_cputime": 1, "total_time": 1}),
        "x-business-use-case-usage": json.dumps({"1001": [{"call_count": 12, "estimated_time_to_regain_access": 0}]}),
    }
    assert record_usage("meta", headers) == 0
    assert held_accounts([("meta", "1001")]) == {}


def test_unreadable_usage_headers_are_ignored():
    assert record_usage("meta", {"x-app-usage": "{not json", "x-business-use-case-usage": "[]"}) == 0


def test_held_accounts_names_only_the_held_ones_with_their_time():
    block_account("meta", "1001", 30, reason="RATE_LIMIT_429")
    block(app_block_key("tiktok"), 90)

    held = held_accounts([("meta", "1001"), ("meta", "2002"), ("tiktok", "creator-1")])

    assert set(held) == {("meta", "1001"), ("tiktok", "creator-1")}
    assert 29 < held[("meta", "1001")] <= 30 and 89 < held[("tiktok", "creator-1")] <= 90


def test_block_account_is_what_a_429_sets(limits):
    limits(tenant=(10, 10.0), app=(100, 100.0))
    block_account("tiktok", "creator-1", 61, reason="RATE_LIMIT_429")

    decision = take_token(1, "tiktok", block_keys=block_keys_for("tiktok", "creator-1"))

    assert not decision.allowed and 60 < decision.wait_s <= 61
