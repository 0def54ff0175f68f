"""The LinkedIn connector against the sandbox LinkedIn over real HTTP."""

import json
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from connections.models import Connection
from connections.platforms.base import PartnerError, get_connector, get_connector_class
from connections.platforms.versions import CURRENT
from recovery.failures import classify_failure
from sandbox import faults
from sandbox.models import SandboxAccount, SandboxObject, SandboxRequest
from tests.factories import PostFactory
from tests.sandbox.sandbox_helpers import assert_secrets_absent, consent, consent_page, linked_connection

MEMBER = "782bbtaQ"
ORG = "2414183"


@pytest.fixture
def member(sandbox, tenant):
    return linked_connection("linkedin", tenant=tenant, external_account_id=MEMBER,
                             external_account_name="Ada Lovelace")


@pytest.fixture
def organization(sandbox, tenant):
    return linked_connection("linkedin", tenant=tenant, account_type="organization", external_account_id=ORG,
                             external_account_name="Acme Corp",
                             scopes=["openid", "profile", "rw_organization_admin", "w_organization_social"])


def publish(connection, **fields):
    post = PostFactory(connection=connection, tenant=connection.tenant, **fields)
    return get_connector(connection).publish(post)


def test_member_text_post_goes_to_rest_posts_with_the_version_header(member):
    result = publish(member, content="Hello LinkedIn")

    assert result.partner_post_id.startswith("urn:li:share:")
    [call] = SandboxRequest.objects.filter(path="/rest/posts")
    assert call.status == 201
    assert call.request_headers["LinkedIn-Version"] == CURRENT["linkedin"]
    assert call.request_headers["X-Restli-Protocol-Version"] == "2.0.0"
    sent = json.loads(call.request_body)
    assert sent["author"] == f"urn:li:person:{MEMBER}" and sent["commentary"] == "Hello LinkedIn"
    assert sent["lifecycleState"] == "PUBLISHED" and sent["distribution"]["feedDistribution"] == "MAIN_FEED"


def test_link_post_carries_an_article(member):
    publish(member, content="Read this", media=[{"type": "link", "url": "https://example.com/a", "title": "A"}])
    stored = SandboxObject.objects.get(kind="post")
    assert stored.data["content"] == {"article": {"source": "https://example.com/a", "title": "A"}}


def test_image_post_uploads_the_image_first(member, sandbox):
    publish(member, kind="image", content="Look", media=[{"type": "image", "url": f"{sandbox}/sandbox/media/a.png"}])

    image = SandboxObject.objects.get(kind="image")
    assert image.data["uploaded"] is True and image.data["bytes"] > 0
    assert SandboxObject.objects.get(kind="post").data["content"]["media"]["id"] == image.object_id
    assert [r.path.split("?")[0] for r in SandboxRequest.objects.all()] == [
        "/rest/images", f"/dms-uploads/{image.object_id.rsplit(':', 1)[-1]}", "/rest/posts"]


def test_organization_post_is_authored_by_the_organization(organization):
    publish(organization, content="Company news")
    assert json.loads(SandboxRequest.objects.get(path="/rest/posts").request_body)["author"] == \
        f"urn:li:organization:{ORG}"


def test_same_text_twice_is_a_duplicate(member):
    publish(member, content="Same words")
    with pytest.raises(PartnerError) as caught:
        publish(member, content="Same words")
    assert caught.value.status == 422
    assert classify_failure(caught.value).code.value == "DUPLICATE_CONTENT"


def test_a_sunset_api_version_is_refused(member, settings):
    settings.LINKEDIN_API_VERSION = "202401"
    with pytest.raises(PartnerError) as caught:
        publish(member, content="Old version")
    assert caught.value.status == 426 and caught.value.body["code"] == "NONEXISTENT_VERSION"
    assert classify_failure(caught.value).code.value == "CAPABILITY_UNSUPPORTED"


def test_ping_and_account_info(member, organization):
    assert get_connector(member).ping().name == "Ada Lovelace"
    info = get_connector(member).account_info()
    assert (info.account_id, sorted(info.scopes)) == (MEMBER, ["email", "openid", "profile", "w_member_social"])
    org = get_connector(organization).account_info()
    assert (org.account_id, org.name) == (ORG, "Acme Corp")
    assert get_connector(organization).ping().account_id == ORG


def test_refresh_gives_a_new_access_token_and_keeps_the_refresh_tokens_life(member):
    tokens = get_connector(member).refresh()

    assert tokens.access_token != member.access_token
    assert tokens.refresh_token == member.refresh_token  # LinkedIn returns the same refresh token
    assert tokens.expires_at > timezone.now() + timedelta(days=59)
    assert tokens.refresh_expires_at <= member.refresh_token_expires_at
    member.access_token = tokens.access_token
    assert get_connector(member).ping().account_id == MEMBER
    assert_secrets_absent(tokens.access_token, member.refresh_token)


def test_an_expired_access_token_still_refreshes(member):
    faults.set_fault("linkedin", faults.EXPIRE_TOKEN, account_id=MEMBER)
    with pytest.raises(PartnerError) as caught:
        get_connector(member).ping()
    assert classify_failure(caught.value).code.value == "AUTH_EXPIRED"
    member.access_token = get_connector(member).refresh().access_token
    assert get_connector(member).ping().account_id == MEMBER


def test_refresh_after_revocation_fails_as_refresh_failed(member):
    faults.set_fault("linkedin", faults.REVOKE_TOKEN, account_id=MEMBER)
    with pytest.raises(PartnerError) as caught:
        get_connector(member).refresh()
    assert caught.value.body["error"] == "invalid_request"
    assert classify_failure(caught.value).code.value == "REFRESH_FAILED"


def test_oauth_round_trip(sandbox, tenant):
    SandboxAccount.objects.create(platform="linkedin", account_id="m-1", name="Grace Hopper")
    SandboxAccount.objects.create(platform="linkedin", account_id="m-2", name="Alan Turing")
    connector_class = get_connector_class("linkedin")
    redirect_uri = "https://app.example.com/connections/callback/linkedin"
    scopes = connector_class.default_scopes()
    url = connector_class.authorize_url(state="st-li", redirect_uri=redirect_uri, scopes=scopes)
    assert url.startswith(f"{sandbox}/sandbox/linkedin/oauth/v2/authorization?")

    browser = requests.Session()
    html, hidden, offered, preselected = consent_page(browser, url)
    assert hidden["scope"] == " ".join(scopes) and offered == ["m-2", "m-1"]
    answer = consent(browser, url, account_id="m-1")
    assert answer["state"] == "st-li"
    tokens = connector_class.exchange_code(code=answer["code"], redirect_uri=redirect_uri)
    assert tokens.refresh_token and sorted(tokens.scopes) == sorted(scopes)

    connection = Connection(tenant=tenant, platform="linkedin", access_token=tokens.access_token)
    info = connector_class(connection).account_info()
    assert (info.account_id, info.name) == ("m-1", "Grace Hopper")
    assert consent_page(browser, url)[3] == "m-1"  # the member's session is remembered
    with pytest.raises(PartnerError) as caught:  # codes are single use
        connector_class.exchange_code(code=answer["code"], redirect_uri=redirect_uri)
    assert caught.value.status == 401
    assert_secrets_absent(tokens.access_token, tokens.refresh_token, answer["code"], "dev-linkedin-secret")


def test_daily_throttle_waits_for_midnight_utc(member):
    faults.set_fault("linkedin", faults.RATE_LIMIT, account_id=MEMBER)
    with pytest.raises(PartnerError) as caught:
        get_connector(member).ping()
    now = timezone.now()
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert abs(classify_failure(caught.value).retry_after_s - (midnight - now).total_seconds()) < 120


def test_rate_limit_with_retry_after_header(member):
    faults.set_fault("linkedin", faults.RATE_LIMIT, retry_after=30)  # the whole platform
    with pytest.raises(PartnerError) as caught:
        get_connector(member).ping()
    assert caught.value.headers["Retry-After"] == "30"
    assert classify_failure(caught.value).retry_after_s == 30


def test_unknown_token_is_auth_invalid(member):
    member.access_token = "AQVnot-issued"
    with pytest.raises(PartnerError) as caught:
        get_connector(member).ping()
    assert caught.value.body["serviceErrorCode"] == 65600
    assert classify_failure(caught.value).code.value == "AUTH_INVALID"


