"""TikTok's Login Kit flow with a generic OAuth 2 client (requests-oauthlib) against the sandbox
TikTok. TikTok publishes no official Python client; its flow differs from RFC 6749 in the client's
name (client_key, not client_id) and comma-separated scopes, which requests-oauthlib's documented
compliance hooks adapt, as any TikTok integration built on it must."""

import pytest
import requests
from django.conf import settings
from requests_oauthlib import OAuth2Session

from tests.contract.conftest import REDIRECT_URI, browser_consent
from tests.sandbox.sandbox_helpers import linked_connection

SCOPES = ["user.info.basic", "video.publish"]
OPEN_ID = "-000QW3rtyUiOpAsDfGhJkL"


@pytest.fixture
def creator(sandbox, tenant):
    return linked_connection("tiktok", tenant=tenant, external_account_id=OPEN_ID, external_account_name="Acme")


def _client_key_instead_of_client_id(url, headers, request_kwargs):
    """TikTok names the client `client_key` in the token request (requests-oauthlib's
    access_token_request hook gets the form as request_kwargs["data"])."""
    form = request_kwargs["data"]
    form["client_key"] = form.pop("client_id")
    return url, headers, request_kwargs


def test_login_kit_flow_with_requests_oauthlib(creator, sandbox, oauthlib_env):
    """https://developers.tiktok.com/doc/login-kit-web (authorize: client_key, comma-separated scope),
    https://developers.tiktok.com/doc/oauth-get-a-user-access-token (client_key and client_secret in
    the form body) and https://developers.tiktok.com/docs/en/oauth-refresh-a-user-access-token
    (2-hour access tokens; each refresh returns a new refresh token and the old one stops working)."""
    oauth = OAuth2Session(settings.TIKTOK_CLIENT_KEY, redirect_uri=REDIRECT_URI, scope=[",".join(SCOPES)])
    oauth.register_compliance_hook("access_token_request", _client_key_instead_of_client_id)
    url, _ = oauth.authorization_url(f"{sandbox}/sandbox/tiktok/v2/auth/authorize/",
                                     client_key=settings.TIKTOK_CLIENT_KEY)
    token_url = f"{sandbox}/sandbox/tiktok/v2/oauth/token/"
    token = oauth.fetch_token(token_url, authorization_response=browser_consent(url, account_id=OPEN_ID),
                              client_secret=settings.TIKTOK_CLIENT_SECRET, include_client_id=True)
    assert token["expires_in"] == 2 * 3600 and token["refresh_expires_in"] == 180 * 24 * 3600
    assert token["scope"] == [",".join(SCOPES)]  # TikTok lists the grant comma-separated
    user = oauth.get(f"{sandbox}/sandbox/tiktok/v2/user/info/", params={"fields": "open_id,display_name"}, timeout=10)
    assert user.status_code == 200 and user.json()["data"]["user"]["open_id"] == OPEN_ID

    refreshed = oauth.refresh_token(token_url, client_key=settings.TIKTOK_CLIENT_KEY,
                                    client_secret=settings.TIKTOK_CLIENT_SECRET)
    assert refreshed["refresh_token"] != token["refresh_token"]
    spent = requests.post(token_url, timeout=10, data={
        "client_key": settings.TIKTOK_CLIENT_KEY, "client_secret": settings.TIKTOK_CLIENT_SECRET,
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"]})
    assert (spent.status_code, spent.json()["error"]) == (400, "invalid_grant")


def test_an_unknown_token_is_401_as_the_v2_error_page_lists(sandbox, db):
    """https://developers.tiktok.com/doc/tiktok-api-v2-error-handling (access_token_invalid: 401)."""
    response = requests.get(f"{sandbox}/sandbox/tiktok/v2/user/info/", params={"fields": "open_id"}, timeout=10,
                            headers={"Authorization": "Bearer act.never-issued"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "access_token_invalid"
