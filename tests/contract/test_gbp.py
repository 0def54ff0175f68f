"""Google's own clients against the sandbox Google Business Profile: google-auth credentials
(refreshing on a 401) with google-api-python-client's discovery clients for the Account
Management and Business Information APIs; requests-oauthlib for the OAuth flow with HTTP Basic
client authentication. Only the host changes: the credentials' documented `token_uri` and the
discovery client's documented `client_options={"api_endpoint": ...}`."""

import pytest
from django.conf import settings
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from sandbox import faults
from sandbox.models import SandboxRequest
from tests.contract.conftest import REDIRECT_URI, browser_consent
from tests.sandbox.sandbox_helpers import linked_connection

SCOPE = "https://www.googleapis.com/auth/business.manage"
LOCATION = "accounts/1092837465/locations/5550001"


@pytest.fixture
def location(sandbox, tenant):
    return linked_connection("gbp", tenant=tenant, external_account_id=LOCATION, external_account_name="Acme Bakery")


def service(sandbox, name, credentials):
    return build(name, "v1", credentials=credentials, static_discovery=True,
                 client_options={"api_endpoint": f"{sandbox}/sandbox/gbp/"})


def test_a_stale_token_is_refreshed_on_401_then_accounts_and_locations_are_listed(location, sandbox):
    """https://developers.google.com/identity/protocols/oauth2/web-server#offline (refresh_token grant
    at the token endpoint), https://developers.google.com/my-business/reference/accountmanagement/rest/v1/accounts/list
    and https://developers.google.com/my-business/reference/businessinformation/rest/v1/accounts.locations/list
    (readMask required)."""
    credentials = Credentials(token="ya29.a0-stale", refresh_token=location.refresh_token,
                              token_uri=f"{sandbox}/sandbox/gbp/token", client_id=settings.GBP_CLIENT_ID,
                              client_secret=settings.GBP_CLIENT_SECRET, scopes=[SCOPE])
    accounts = service(sandbox, "mybusinessaccountmanagement", credentials).accounts().list().execute()
    assert accounts["accounts"][0]["name"] == "accounts/1092837465"
    assert credentials.token != "ya29.a0-stale" and credentials.valid
    calls = [(r.path.split("?")[0], r.status) for r in SandboxRequest.objects.order_by("id")]
    assert calls == [("/v1/accounts", 401), ("/token", 200), ("/v1/accounts", 200)]

    info = service(sandbox, "mybusinessbusinessinformation", credentials)
    locations = info.accounts().locations().list(parent="accounts/1092837465", readMask="name,title").execute()
    assert locations["locations"] == [{"name": "locations/5550001", "title": "Acme Bakery"}]
    with pytest.raises(HttpError) as caught:
        info.accounts().locations().list(parent="accounts/1092837465").execute()
    assert caught.value.status_code == 400 and caught.value.reason == "Request contains an invalid argument."


def test_a_revoked_grant_fails_the_refresh_as_google_says(location, sandbox):
    """https://developers.google.com/identity/protocols/oauth2/web-server#httprest_7 (invalid_grant
    "Token has been expired or revoked.")."""
    faults.set_fault("gbp", faults.REVOKE_TOKEN, account_id=LOCATION)
    credentials = Credentials(token=location.access_token, refresh_token=location.refresh_token,
                              token_uri=f"{sandbox}/sandbox/gbp/token", client_id=settings.GBP_CLIENT_ID,
                              client_secret=settings.GBP_CLIENT_SECRET, scopes=[SCOPE])
    with pytest.raises(RefreshError, match="invalid_grant"):
        service(sandbox, "mybusinessaccountmanagement", credentials).accounts().list().execute()


def test_the_oauth_flow_with_requests_oauthlib_and_http_basic(location, sandbox, oauthlib_env):
    """https://developers.google.com/identity/protocols/oauth2/web-server (access_type=offline,
    prompt=consent) and https://developers.google.com/identity/protocols/oauth2/openid-connect#discovery
    (token_endpoint_auth_methods_supported: client_secret_post and client_secret_basic: requests-oauthlib's
    default, HTTP Basic)."""
    oauth = OAuth2Session(settings.GBP_CLIENT_ID, redirect_uri=REDIRECT_URI, scope=[SCOPE])
    url, _ = oauth.authorization_url(f"{sandbox}/sandbox/gbp/o/oauth2/v2/auth", access_type="offline", prompt="consent")
    token_url = f"{sandbox}/sandbox/gbp/token"
    token = oauth.fetch_token(token_url, authorization_response=browser_consent(url, account_id=LOCATION),
                              client_secret=settings.GBP_CLIENT_SECRET)
    assert token["expires_in"] == 3599 and token["refresh_token"]
    [exchange] = SandboxRequest.objects.filter(path="/token")
    assert exchange.request_headers["Authorization"] == "Basic [redacted]"
    assert "client_secret" not in exchange.request_body
    refreshed = oauth.refresh_token(token_url, auth=HTTPBasicAuth(settings.GBP_CLIENT_ID, settings.GBP_CLIENT_SECRET))
    assert refreshed["access_token"] != token["access_token"]
    accounts = oauth.get(f"{sandbox}/sandbox/gbp/v1/accounts", timeout=10)
    assert accounts.status_code == 200
