"""The TikTok connector against the sandbox TikTok over real HTTP."""

import json
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from connections.models import Connection
from connections.platforms.base import PartnerError, get_connector, get_connector_class
from recovery.failures import classify_failure
from sandbox import faults
from sandbox.models import SandboxAccount, SandboxRequest
from tests.factories import PostFactory
from tests.sandbox.sandbox_helpers import assert_secrets_absent, consent, linked_connection

OPEN_ID = "-000QW3rtyUiOpAsDfGhJkL"


@pytest.fixture
def creator(sandbox, tenant):
    return linked_connection("tiktok", tenant=tenant, external_account_id=OPEN_ID,
                             external_account_name="Acme on TikTok")


def publish(connection, **fields):
    post = PostFactory(connection=connection, tenant=connection.tenant, **fields)
    return get_connector(connection).publish(post)


def video(base, query=""):
    return [{"type": "video", "url": f"{base}/sandbox/media/clip.mp4{query}"}]


def test_video_post_queries_the_creator_then_inits_and_waits_for_completion(creator, sandbox):
    result = publish(creator, kind="video", content="Our new oven #bakery", media=video(sandbox))

    assert result.partner_post_id.isdigit()
    paths = [r.path for r in SandboxRequest.objects.all()]
    assert paths == ["/v2/post/publish/creator_info/query/", "/v2/post/publish/video/init/",
                     "/v2/post/publish/status/fetch/", "/v2/post/publish/status/fetch/"]
    init = json.loads(SandboxRequest.objects.get(path="/v2/post/publish/video/init/").request_body)
    assert init["post_info"]["privacy_level"] == "PUBLIC_TO_EVERYONE"
    assert init["source_info"] == {"source": "PULL_FROM_URL", "video_url": f"{sandbox}/sandbox/media/clip.mp4"}


def test_photo_post_goes_to_content_init(creator, sandbox):
    images = [{"type": "image", "url": f"{sandbox}/sandbox/media/{n}.jpg"} for n in range(2)]
    publish(creator, kind="carousel", content="Two loaves", media=images)
    sent = json.loads(SandboxRequest.objects.get(path="/v2/post/publish/content/init/").request_body)
    assert sent["media_type"] == "PHOTO" and sent["post_mode"] == "DIRECT_POST"
    assert len(sent["source_info"]["photo_images"]) == 2


def test_an_unaudited_app_posts_privately(creator, sandbox):
    SandboxAccount.objects.filter(account_id=OPEN_ID).update(extra={"privacy_level_options": ["SELF_ONLY"]})
    publish(creator, kind="video", content="Private", media=video(sandbox))
    sent = json.loads(SandboxRequest.objects.get(path="/v2/post/publish/video/init/").request_body)
    assert sent["post_info"]["privacy_level"] == "SELF_ONLY"


@pytest.mark.parametrize("reason, expected", [
    ("file_format_check_failed", "MEDIA_ERROR"),
    ("spam_risk_text", "CONTENT_REJECTED"),
    ("internal", "PARTNER_UNAVAILABLE"),
])
def test_a_publish_that_fails_later_reports_the_fail_reason(creator, sandbox, reason, expected):
    images = [{"type": "image", "url": f"{sandbox}/sandbox/media/a.jpg?fail_reason={reason}"}]
    with pytest.raises(PartnerError) as caught:
        publish(creator, kind="image", content="Will fail", media=images)
    assert caught.value.status == 200 and caught.value.body["data"]["fail_reason"] == reason
    assert classify_failure(caught.value).code.value == expected


def test_ping_and_account_info(creator):
    assert get_connector(creator).ping().account_id == OPEN_ID
    info = get_connector(creator).account_info()
    assert (info.name, info.scopes) == ("Acme on TikTok", ["user.info.basic", "video.publish", "video.upload"])


def test_refresh_rotates_the_refresh_token(creator):
    tokens = get_connector(creator).refresh()
    assert tokens.access_token != creator.access_token
    assert tokens.refresh_token and tokens.refresh_token != creator.refresh_token
    # TikTok's current token page: access tokens last 2 hours, refresh tokens 180 days.
    assert timezone.now() + timedelta(minutes=119) < tokens.expires_at <= timezone.now() + timedelta(hours=2)
    assert tokens.refresh_expires_at > timezone.now() + timedelta(days=179)
    # The spent refresh token is dead: a second (losing) refresh with it fails.
    with pytest.raises(PartnerError) as caught:
        get_connector(creator).refresh()
    assert caught.value.body["error"] == "invalid_grant"
    assert classify_failure(caught.value).code.value == "REFRESH_FAILED"
    assert_secrets_absent(tokens.access_token, tokens.refresh_token, creator.refresh_token)


def test_expired_access_token_is_auth_expired_and_a_refresh_heals_it(creator):
    faults.set_fault("tiktok", faults.EXPIRE_TOKEN, account_id=OPEN_ID)
    with pytest.raises(PartnerError) as caught:
        get_connector(creator).ping()
    assert caught.value.status == 401
    assert classify_failure(caught.value).code.value == "AUTH_EXPIRED"
    creator.access_token = get_connector(creator).refresh().access_token
    assert get_connector(creator).ping().account_id == OPEN_ID


def test_revoked_access_looks_expired_until_the_refresh_fails(creator):
    faults.set_fault("tiktok", faults.REVOKE_TOKEN, account_id=OPEN_ID)
    with pytest.raises(PartnerError) as caught:
        get_connector(creator).ping()
    assert classify_failure(caught.value).code.value == "AUTH_EXPIRED"  # TikTok's one code for both
    with pytest.raises(PartnerError) as caught:
        get_connector(creator).refresh()
    assert classify_failure(caught.value).code.value == "REFRESH_FAILED"


def test_oauth_round_trip(sandbox, tenant):
    SandboxAccount.objects.create(platform="tiktok", account_id="-000creatorA", name="Creator A")
    connector_class = get_connector_class("tiktok")
    redirect_uri = "https://app.example.com/connections/callback/tiktok"
    url = connector_class.authorize_url(state="st-tt", redirect_uri=redirect_uri,
                                        scopes=connector_class.default_scopes())
    assert url.startswith(f"{sandbox}/sandbox/tiktok/v2/auth/authorize/?client_key=")

    answer = consent(requests.Session(), url)
    assert answer["state"] == "st-tt"
    tokens = connector_class.exchange_code(code=answer["code"], redirect_uri=redirect_uri)
    assert tokens.access_token.startswith("act.") and tokens.refresh_token.startswith("rft.")
    assert tokens.scopes == ["user.info.basic", "video.publish", "video.upload"]
    connection = Connection(tenant=tenant, platform="tiktok", access_token=tokens.access_token,
                            granted_scopes=tokens.scopes)
    info = connector_class(connection).account_info()
    assert (info.account_id, info.name) == ("-000creatorA", "Creator A")
    with pytest.raises(PartnerError) as caught:
        connector_class.exchange_code(code=answer["code"], redirect_uri=redirect_uri)
    assert caught.value.body["error"] == "invalid_grant"
    assert_secrets_absent(tokens.access_token, tokens.refresh_token, answer["code"], "dev-tiktok-secret")


def test_deleted_publish_is_resource_not_found_at_status_fetch(creator, sandbox):
    faults.set_fault("tiktok", faults.DELETE_TARGET, account_id=OPEN_ID)
    with pytest.raises(PartnerError) as caught:
        publish(creator, kind="video", content="Gone", media=video(sandbox))
    assert caught.value.body["error"]["code"] == "invalid_publish_id"
    assert classify_failure(caught.value).code.value == "RESOURCE_NOT_FOUND"


def test_rate_limit_waits_at_least_the_window(creator):
    faults.set_fault("tiktok", faults.RATE_LIMIT)
    with pytest.raises(PartnerError) as caught:
        get_connector(creator).ping()
    assert classify_failure(caught.value).retry_after_s >= 60


def test_an_unknown_token_is_a_401_that_only_a_refresh_tells_apart(creator):
    # TikTok's v2 error-handling page: access_token_invalid is HTTP 401 for a token that is
    # expired, revoked or was never issued; the refresh answer is what tells them apart.
    creator.access_token = "act.never-issued"
    with pytest.raises(PartnerError) as caught:
        get_connector(creator).ping()
    assert caught.value.status == 401 and caught.value.body["error"]["code"] == "access_token_invalid"
    assert classify_failure(caught.value).code.value == "AUTH_EXPIRED"
    creator.refresh_token = "rft.never-issued"
    with pytest.raises(PartnerError) as refused:
        get_connector(creator).refresh()
    assert refused.value.body["error"] == "invalid_grant"
    assert classify_failure(refused.value).code.value == "REFRESH_FAILED"


