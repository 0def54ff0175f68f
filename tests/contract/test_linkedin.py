"""LinkedIn's own client against the sandbox LinkedIn: linkedin-api-client's AuthClient (the
3-legged flow, refresh, introspection) and RestliClient (/v2/userinfo, /rest/posts with the
LinkedIn-Version header); requests-oauthlib for the same flow.

linkedin-api-client reads its hosts from module constants (linkedin_api.common.constants) with no
setting to change them; what it does offer is each client's `session` ("Session attributes can be
modified, which will affect all requests"), so the calls go to the sandbox through a requests
transport adapter mounted on that session (conftest.PartnerHost), not a patch of the library.
The member authorization URL it builds is a string the browser follows: its host is swapped.
"""

import jwt
import pytest
from django.conf import settings
from linkedin_api.clients.auth.client import AuthClient
from linkedin_api.clients.restli.client import RestliClient
from requests_oauthlib import OAuth2Session

from connections.platforms.versions import CURRENT
from sandbox.models import SandboxObject, SandboxRequest
from tests.contract.conftest import REDIRECT_URI, PartnerHost, browser_consent
from tests.sandbox.sandbox_helpers import linked_connection

MEMBER = "782bbtaQ"
SCOPES = ["openid", "profile", "email", "w_member_social"]


@pytest.fixture
def member(sandbox, tenant):
    return linked_connection("linkedin", tenant=tenant, external_account_id=MEMBER, external_account_name="Ada Lovelace",
                             scopes=SCOPES + ["r_member_social"])


@pytest.fixture
def auth_client(sandbox):
    client = AuthClient(settings.LINKEDIN_CLIENT_ID, settings.LINKEDIN_CLIENT_SECRET, REDIRECT_URI)
    client.session.mount("https://www.linkedin.com/", PartnerHost("https://www.linkedin.com", f"{sandbox}/sandbox/linkedin"))
    return client


@pytest.fixture
def restli(sandbox):
    client = RestliClient()
    client.session.mount("https://api.linkedin.com/", PartnerHost("https://api.linkedin.com", f"{sandbox}/sandbox/linkedin"))
    return client


def test_the_auth_flow_with_linkedins_client(member, auth_client, sandbox):
    """https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow
    (authorize, exchange the code: client_id and client_secret in the form body),
    https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens
    (refresh keeps the refresh token's life) and
    https://learn.microsoft.com/en-us/linkedin/shared/authentication/token-introspection."""
    url = auth_client.generate_member_auth_url(scopes=SCOPES, state="st-1")
    url = url.replace("https://www.linkedin.com/oauth/v2", f"{sandbox}/sandbox/linkedin/oauth/v2")
    code = browser_consent(url, account_id=MEMBER).split("code=")[1].split("&")[0]

    issued = auth_client.exchange_auth_code_for_access_token(code)
    assert issued.status_code == 200 and issued.expires_in == 60 * 24 * 3600
    assert sorted(issued.scope.split(",")) == sorted(SCOPES)  # all requested scopes, or none
    id_token = issued.response.json()["id_token"]
    assert jwt.decode(id_token, options={"verify_signature": False})["sub"] == MEMBER

    refreshed = auth_client.exchange_refresh_token_for_access_token(issued.refresh_token)
    assert refreshed.status_code == 200 and refreshed.access_token != issued.access_token
    assert refreshed.refresh_token == issued.refresh_token
    assert refreshed.refresh_token_expires_in <= issued.refresh_token_expires_in

    introspected = auth_client.introspect_access_token(refreshed.access_token)
    assert introspected.active is True and introspected.status == "active"


def test_rest_posts_with_the_version_header(member, restli):
    """https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api
    (POST /rest/posts, 201 with the post URN in x-restli-id) and
    https://learn.microsoft.com/en-us/linkedin/marketing/versioning (the LinkedIn-Version header,
    YYYYMM or YYYYMM.RR)."""
    userinfo = restli.get(resource_path="/userinfo", access_token=member.access_token)
    assert userinfo.status_code == 200 and userinfo.entity["sub"] == MEMBER
    post = {"author": f"urn:li:person:{MEMBER}", "commentary": "Hello from the official client",
            "visibility": "PUBLIC", "lifecycleState": "PUBLISHED", "isReshareDisabledByAuthor": False,
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []}}
    created = restli.create(resource_path="/posts", entity=post, access_token=member.access_token,
                            version_string=CURRENT["linkedin"])
    assert created.status_code == 201 and created.entity_id.startswith("urn:li:share:")
    assert SandboxObject.objects.get(object_id=created.entity_id).data["commentary"] == post["commentary"]
    [call] = SandboxRequest.objects.filter(path="/rest/posts", method="POST")
    assert call.request_headers["LinkedIn-Version"] == CURRENT["linkedin"]

    revision = restli.create(resource_path="/posts", entity={**post, "commentary": "A revision"},
                             access_token=member.access_token, version_string=CURRENT["linkedin"] + ".01")
    assert revision.status_code == 201

    found = restli.finder(resource_path="/posts", finder_name="author", access_token=member.access_token,
                          query_params={"author": f"urn:li:person:{MEMBER}"}, version_string=CURRENT["linkedin"])
    assert {element["id"] for element in found.elements} == {created.entity_id, revision.entity_id}


def test_a_sunset_version_gets_426_through_the_client(member, restli):
    """https://learn.microsoft.com/en-us/linkedin/marketing/integrations/migrations (202510 sunset
    on October 15, 2026) and https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling."""
    refused = restli.create(resource_path="/posts", access_token=member.access_token, version_string="202510",
                            entity={"author": f"urn:li:person:{MEMBER}", "commentary": "Too late"})
    assert refused.status_code == 426
    assert refused.response.json()["code"] == "NONEXISTENT_VERSION"


def test_the_auth_flow_with_requests_oauthlib(member, sandbox, oauthlib_env):
    """https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow
    (client credentials in the form body, not HTTP Basic) and
    https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens."""
    oauth = OAuth2Session(settings.LINKEDIN_CLIENT_ID, redirect_uri=REDIRECT_URI, scope=SCOPES)
    url, _ = oauth.authorization_url(f"{sandbox}/sandbox/linkedin/oauth/v2/authorization")
    token_url = f"{sandbox}/sandbox/linkedin/oauth/v2/accessToken"
    token = oauth.fetch_token(token_url, authorization_response=browser_consent(url, account_id=MEMBER),
                              client_secret=settings.LINKEDIN_CLIENT_SECRET, include_client_id=True)
    assert token["token_type"] == "Bearer" and "id_token" in token
    assert oauth.get(f"{sandbox}/sandbox/linkedin/v2/userinfo", timeout=10).json()["sub"] == MEMBER
    refreshed = oauth.refresh_token(token_url, client_id=settings.LINKEDIN_CLIENT_ID,
                                    client_secret=settings.LINKEDIN_CLIENT_SECRET)
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] == token["refresh_token"]
