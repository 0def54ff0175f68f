"""Mailchimp's own client against the sandbox Mailchimp: mailchimp-marketing (ping, audiences,
campaigns: create, content, send) with an OAuth token; requests-oauthlib for the OAuth flow
(with its own mailchimp_compliance_fix). Only the host changes: the client builds every URL from
`client.api_client.host` ("https://server.api.mailchimp.com/3.0", "server" swapped for the `server`
it is given), so that attribute is set to the sandbox; the client has no other way to name a host."""

import json

import mailchimp_marketing
import pytest
import requests
from django.conf import settings
from mailchimp_marketing.api_client import ApiClientError
from requests_oauthlib import OAuth2Session
from requests_oauthlib.compliance_fixes import mailchimp_compliance_fix

from sandbox.models import SandboxObject
from tests.contract.conftest import REDIRECT_URI, browser_consent
from tests.sandbox.sandbox_helpers import linked_connection

LIST_ID = "f00dcafe01"


@pytest.fixture
def audience(sandbox, tenant):
    return linked_connection("mailchimp", tenant=tenant, external_account_id=LIST_ID, external_account_name="Newsletter",
                             extra={"dc": "us19", "from_name": "Acme Bakery", "from_email": "news@acme.example"})


def client_for(sandbox, token):
    client = mailchimp_marketing.Client()
    client.set_config({"access_token": token, "server": "us19"})
    client.api_client.host = f"{sandbox}/sandbox/mailchimp/3.0"
    return client


def test_ping_lists_and_a_campaign_sent_with_mailchimps_client(audience, sandbox):
    """https://mailchimp.com/developer/marketing/api/ping/, https://mailchimp.com/developer/marketing/api/lists/get-lists-info/,
    https://mailchimp.com/developer/marketing/api/campaigns/add-campaign/,
    https://mailchimp.com/developer/marketing/api/campaign-content/set-campaign-content/ and
    https://mailchimp.com/developer/marketing/api/campaigns/send-campaign/ (204, no body)."""
    client = client_for(sandbox, audience.access_token)
    assert client.ping.get() == {"health_status": "Everything's Chimpy!"}
    assert [a["id"] for a in client.lists.get_all_lists()["lists"]] == [LIST_ID]
    campaign = client.campaigns.create({
        "type": "regular", "recipients": {"list_id": LIST_ID},
        "settings": {"subject_line": "Fresh bread", "from_name": "Acme Bakery", "reply_to": "news@acme.example"}})
    assert campaign["status"] == "save"
    client.campaigns.set_content(campaign["id"], {"html": "<p>At 7</p>"})
    sent = client.campaigns.send(campaign["id"])
    assert sent.status_code == 204
    assert SandboxObject.objects.get(object_id=campaign["id"]).data["status"] == "sent"


def test_mailchimps_errors_reach_the_client_as_problem_documents(audience, sandbox):
    """https://mailchimp.com/developer/marketing/docs/errors/ (problem+json: type, title, status, detail)."""
    with pytest.raises(ApiClientError) as caught:
        client_for(sandbox, "not-a-token").ping.get()
    assert caught.value.status_code == 401
    assert json.loads(caught.value.text)["title"] == "API Key Invalid"
    with pytest.raises(ApiClientError) as missing:
        client_for(sandbox, audience.access_token).campaigns.send("abc123")
    assert missing.value.status_code == 404


def test_the_oauth_flow_with_requests_oauthlib(audience, sandbox, oauthlib_env):
    """https://mailchimp.com/developer/marketing/guides/access-user-data-oauth-2/ (authorize, exchange
    the code with client_id and client_secret in the body, then the metadata call with
    `Authorization: OAuth <token>` for the account's dc; tokens never expire: no refresh)."""
    oauth = mailchimp_compliance_fix(OAuth2Session(settings.MAILCHIMP_CLIENT_ID, redirect_uri=REDIRECT_URI))
    url, _ = oauth.authorization_url(f"{sandbox}/sandbox/mailchimp/oauth2/authorize")
    token = oauth.fetch_token(f"{sandbox}/sandbox/mailchimp/oauth2/token",
                              authorization_response=browser_consent(url, account_id=LIST_ID),
                              client_secret=settings.MAILCHIMP_CLIENT_SECRET, include_client_id=True)
    assert "refresh_token" not in token
    metadata = requests.get(f"{sandbox}/sandbox/mailchimp/oauth2/metadata", timeout=10,
                            headers={"Authorization": f"OAuth {token['access_token']}"}).json()
    assert (metadata["dc"], metadata["api_endpoint"]) == ("us19", "https://us19.api.mailchimp.com")
    assert client_for(sandbox, token["access_token"]).ping.get()["health_status"] == "Everything's Chimpy!"
