"""Every sandbox fault x every partner, through a real publish over HTTP (the live server),
with the classification the pipeline must get for it.

The table is checked for completeness first: every fault kind of sandbox/faults.py
appears for every platform, and so do a 429 with Retry-After and the partner's own usage
throttles where it has them (faults.RATE_LIMIT_USAGES). A fault added to the sandbox fails
this test until its row is written.
"""

from dataclasses import dataclass, field

import pytest
import requests

from connections.platforms import gbp as gbp_connector
from connections.platforms import tiktok as tiktok_connector
from connections.platforms.base import PartnerError, get_connector
from recovery.classifier import classify_system_error
from recovery.failures import classify_failure
from sandbox import faults
from sandbox.models import SandboxRequest
from tests.factories import PostFactory
from tests.sandbox.sandbox_helpers import assert_secrets_absent, linked_connection

PUBLISHED = "published"  # latency: the answer is late, and still a success


@dataclass
class Case:
    kind: str
    params: dict
    code: str
    retry_after_s: float | None = None
    header: str = ""  # a header the partner's answer must carry
    extra: dict = field(default_factory=dict)


F = faults
MATRIX = {
    "meta": [
        Case(F.EXPIRE_TOKEN, {}, "AUTH_EXPIRED", header="WWW-Authenticate"),
        Case(F.REVOKE_TOKEN, {}, "AUTH_REVOKED"),
        Case(F.REVOKE_TOKEN, {"subcode": 458}, "AUTH_REVOKED"),
        Case(F.REMOVE_SCOPE, {"scope": "pages_manage_posts"}, "PERMISSION_INSUFFICIENT"),
        Case(F.RESTRICT_ACCOUNT, {}, "ACCOUNT_RESTRICTED"),
        Case(F.DELETE_TARGET, {}, "RESOURCE_NOT_FOUND"),
        Case(F.SERVER_ERROR, {"status": 500}, "PARTNER_5XX"),
        Case(F.SERVER_ERROR, {"status": 503}, "PARTNER_5XX"),  # Graph's code 2, is_transient
        Case(F.RATE_LIMIT, {"usage": "app"}, "RATE_LIMIT_429", header="x-app-usage"),
        Case(F.RATE_LIMIT, {"usage": "business", "regain_minutes": 19}, "RATE_LIMIT_429", retry_after_s=1140,
             header="x-business-use-case-usage"),
        Case(F.RATE_LIMIT, {"status": 429, "retry_after": 30}, "RATE_LIMIT_429", retry_after_s=30,
             header="Retry-After"),
        Case(F.LATENCY, {"ms": 150}, PUBLISHED),
        Case(F.TIMEOUT, {"seconds": 1}, "TIMEOUT"),
    ],
    "linkedin": [
        Case(F.EXPIRE_TOKEN, {}, "AUTH_EXPIRED"),
        Case(F.REVOKE_TOKEN, {}, "AUTH_REVOKED"),
        Case(F.REMOVE_SCOPE, {"scope": "w_member_social"}, "PERMISSION_INSUFFICIENT"),
        # LinkedIn documents no restricted-member body; the sandbox's 403 ACCESS_DENIED pauses the channel too.
        Case(F.RESTRICT_ACCOUNT, {}, "PERMISSION_INSUFFICIENT"),
        Case(F.DELETE_TARGET, {}, "RESOURCE_NOT_FOUND"),
        Case(F.SERVER_ERROR, {"status": 500}, "PARTNER_5XX"),
        Case(F.SERVER_ERROR, {"status": 504}, "PARTNER_5XX"),  # an empty body
        Case(F.RATE_LIMIT, {}, "QUOTA_EXCEEDED"),  # LinkedIn's throttles are daily
        Case(F.RATE_LIMIT, {"retry_after": 30}, "QUOTA_EXCEEDED", retry_after_s=30, header="Retry-After"),
        Case(F.LATENCY, {"ms": 150}, PUBLISHED),
        Case(F.TIMEOUT, {"seconds": 1}, "TIMEOUT"),
    ],
    "tiktok": [
        Case(F.EXPIRE_TOKEN, {}, "AUTH_EXPIRED"),
        Case(F.REVOKE_TOKEN, {}, "AUTH_EXPIRED"),  # TikTok's one code for both: the refresh tells them apart
        Case(F.REMOVE_SCOPE, {"scope": "video.publish"}, "PERMISSION_INSUFFICIENT"),
        Case(F.RESTRICT_ACCOUNT, {}, "ACCOUNT_RESTRICTED"),
        Case(F.DELETE_TARGET, {}, "RESOURCE_NOT_FOUND"),  # at status fetch: invalid_publish_id
        Case(F.SERVER_ERROR, {"status": 500}, "PARTNER_5XX"),
        Case(F.SERVER_ERROR, {"status": 503}, "PARTNER_5XX"),  # internal_error decides, whatever the status
        Case(F.RATE_LIMIT, {}, "RATE_LIMIT_429"),
        Case(F.RATE_LIMIT, {"retry_after": 30}, "RATE_LIMIT_429", retry_after_s=30, header="Retry-After"),
        Case(F.LATENCY, {"ms": 150}, PUBLISHED),
        Case(F.TIMEOUT, {"seconds": 1}, "TIMEOUT"),
    ],
    "gbp": [
        Case(F.EXPIRE_TOKEN, {}, "AUTH_EXPIRED"),
        Case(F.REVOKE_TOKEN, {}, "AUTH_EXPIRED"),  # Google says "invalid credentials": the refresh decides
        Case(F.REMOVE_SCOPE, {"scope": "https://www.googleapis.com/auth/business.manage"}, "PERMISSION_INSUFFICIENT",
             header="WWW-Authenticate"),
        Case(F.RESTRICT_ACCOUNT, {}, "ACCOUNT_RESTRICTED"),
        Case(F.DELETE_TARGET, {}, "RESOURCE_NOT_FOUND"),
        Case(F.SERVER_ERROR, {"status": 500}, "PARTNER_5XX"),
        Case(F.SERVER_ERROR, {"status": 502}, "PARTNER_5XX"),  # Google's HTML error page
        Case(F.SERVER_ERROR, {"status": 503}, "PARTNER_UNAVAILABLE"),
        Case(F.SERVER_ERROR, {"status": 504}, "PARTNER_5XX"),
        Case(F.RATE_LIMIT, {}, "RATE_LIMIT_429"),
        Case(F.RATE_LIMIT, {"usage": "day"}, "QUOTA_EXCEEDED"),
        Case(F.RATE_LIMIT, {"retry_after": 42}, "RATE_LIMIT_429", retry_after_s=42),  # RetryInfo in the body
        Case(F.LATENCY, {"ms": 150}, PUBLISHED),
        Case(F.TIMEOUT, {"seconds": 1}, "TIMEOUT"),
    ],
    "mailchimp": [
        Case(F.EXPIRE_TOKEN, {}, "AUTH_INVALID"),  # tokens never expire: a dead one is "API Key Invalid"
        Case(F.REVOKE_TOKEN, {}, "AUTH_INVALID"),
        Case(F.REMOVE_SCOPE, {"scope": "campaigns"}, "PERMISSION_INSUFFICIENT"),  # the user's role lost access
        Case(F.RESTRICT_ACCOUNT, {}, "ACCOUNT_RESTRICTED"),
        Case(F.DELETE_TARGET, {}, "RESOURCE_NOT_FOUND"),  # the audience
        Case(F.SERVER_ERROR, {"status": 500}, "PARTNER_5XX"),
        Case(F.SERVER_ERROR, {"status": 502}, "PARTNER_5XX"),  # the edge's HTML page
        Case(F.SERVER_ERROR, {"status": 503}, "PARTNER_UNAVAILABLE"),
        Case(F.RATE_LIMIT, {}, "RATE_LIMIT_429"),
        Case(F.RATE_LIMIT, {"retry_after": 7}, "RATE_LIMIT_429", retry_after_s=7, header="Retry-After"),
        Case(F.LATENCY, {"ms": 150}, PUBLISHED),
        Case(F.TIMEOUT, {"seconds": 1}, "TIMEOUT"),
    ],
}

CONNECTIONS = {
    "meta": dict(account_type="facebook_page", external_account_id="104857600001", external_account_name="Page"),
    "linkedin": dict(external_account_id="782bbtaQ", external_account_name="Ada Lovelace"),
    "tiktok": dict(external_account_id="-000QW3rtyUiOpAsDfGhJkL", external_account_name="Creator"),
    "gbp": dict(external_account_id="accounts/1092837465/locations/5550001", external_account_name="Bakery"),
    "mailchimp": dict(external_account_id="a1b2c3d4e5", external_account_name="Newsletter"),
}


def _post(connection, base: str, n: int):
    text = f"Fresh bread, batch {n}"  # LinkedIn refuses the same text twice in 24 h
    if connection.platform == "tiktok":
        return PostFactory(connection=connection, tenant=connection.tenant, kind="video", content=text,
                           media=[{"type": "video", "url": f"{base}/sandbox/media/clip.mp4"}])
    if connection.platform == "mailchimp":
        return PostFactory(connection=connection, tenant=connection.tenant, kind="email",
                           content=f"{text}\n\nStraight from the oven.")
    return PostFactory(connection=connection, tenant=connection.tenant, kind="text", content=text)


def test_the_matrix_covers_every_fault_kind_on_every_platform():
    assert set(MATRIX) == set(faults.PLATFORMS)
    for platform, cases in MATRIX.items():
        assert {case.kind for case in cases} == set(faults.KINDS), platform
        throttles = [case.params for case in cases if case.kind == faults.RATE_LIMIT]
        assert any("retry_after" in params for params in throttles), f"{platform}: no 429 with Retry-After"
        usages = {params["usage"] for params in throttles if "usage" in params}
        assert usages == set(faults.RATE_LIMIT_USAGES.get(platform, ())), f"{platform}: usage throttles"
        for case in cases:  # every row is a fault the sandbox accepts
            faults.validate_fault(platform, case.kind, case.params)


@pytest.mark.parametrize("platform", list(MATRIX))
def test_every_fault_is_answered_as_the_partner_would_and_classified(sandbox, tenant, settings, monkeypatch,
                                                                      platform):
    # One live-server test per platform walking its rows: each such test pays a database flush.
    monkeypatch.setattr(tiktok_connector, "STATUS_POLL_INTERVAL_S", 0.01)
    monkeypatch.setattr(gbp_connector, "STATE_POLL_INTERVAL_S", 0.01)
    settings.PARTNER_READ_TIMEOUT_S = 0.5  # the timeout fault sleeps 1 s
    connection = linked_connection(platform, tenant=tenant, **CONNECTIONS[platform])
    account_id = connection.external_account_id
    if platform == "mailchimp":
        get_connector(connection).ping()  # the datacenter is known: every fault hits an API call

    for n, case in enumerate(MATRIX[platform]):
        faults.clear_faults()
        faults.set_fault(platform, case.kind, account_id=account_id, **case.params)
        post = _post(connection, sandbox, n)
        where = (platform, case.kind, case.params)

        if case.code == PUBLISHED:
            assert get_connector(connection).publish(post).partner_post_id, where
            continue
        if case.code == "TIMEOUT":
            with pytest.raises(requests.ReadTimeout) as timed_out:
                get_connector(connection).publish(post)
            assert classify_system_error(timed_out.value).code.value == "TIMEOUT"
            assert connection.access_token not in str(timed_out.value)
            continue
        with pytest.raises(PartnerError) as caught:
            get_connector(connection).publish(post)

        error = caught.value
        classified = classify_failure(error)
        assert classified.code.value == case.code, (where, error.status, error.body)
        assert SandboxRequest.objects.order_by("-id").first().fault == case.kind, where
        if case.retry_after_s is not None:
            assert classified.retry_after_s == case.retry_after_s, where
        if case.header:
            assert case.header.lower() in {name.lower() for name in error.headers}, where
        assert connection.access_token not in str(error) and connection.access_token not in repr(error.args)

    assert_secrets_absent(connection.access_token)
