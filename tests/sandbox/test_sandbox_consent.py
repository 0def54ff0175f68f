"""The sandbox partners' consent pages check redirect_uri against the client's registered ones and
take CSRF like every other form, as the real partners' pages do.

Attacks, before and after:
- An authorize link with our client id and an attacker's redirect_uri, sent to a user: the page
  offered Allow and then redirected the code to the attacker. Now: the partner's error page (400),
  no code is made, nothing redirects (Deny neither: no open redirect).
- A page elsewhere that auto-submits Allow to the consent form (login CSRF on the partner): the form
  took it. Now: 403 without the page's CSRF token.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from connections.platforms.base import get_connector_class
from sandbox.core import get_partner, registered_redirect_uris
from sandbox.models import SandboxAccount, SandboxAuthCode

PLATFORMS = ["meta", "linkedin", "tiktok", "gbp", "mailchimp"]
ATTACKER = "https://attacker.example/steal"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sandbox_in_process(settings):
    settings.PARTNERS_USE_SANDBOX = True
    settings.SITE_URL = "http://testserver"


def callback(platform):
    """The product's own callback URL on SITE_URL, as its connect and reconnect flows send it."""
    return f"http://testserver/connections/callback/{platform}/"


def authorize_path(platform, redirect_uri):
    url = get_connector_class(platform).authorize_url(state="st-1", redirect_uri=redirect_uri,
                                                      scopes=get_partner(platform).default_scopes)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def allow(client, platform, redirect_uri, **extra):
    """POST Allow straight to the consent form (what a forged form or a script sends)."""
    path = authorize_path(platform, redirect_uri)
    query = {name: values[0] for name, values in parse_qs(urlsplit(path).query).items()}
    return client.post(urlsplit(path).path, {**query, "account": "acct-1", "action": "allow", **extra})


@pytest.fixture
def account():
    def make(platform):
        return SandboxAccount.objects.create(platform=platform, account_id="acct-1", name="Demo")
    return make


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_products_callback_is_registered_and_gets_the_code(client, account, platform):
    account(platform)
    assert callback(platform) in registered_redirect_uris(platform)

    page = client.get(authorize_path(platform, callback(platform)))
    assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content

    answer = allow(client, platform, callback(platform))
    assert answer.status_code == 302 and answer["Location"].startswith(callback(platform) + "?code=")


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("action", ["allow", "deny"])
def test_an_unregistered_redirect_uri_gets_the_partners_error_page_and_never_a_code(client, account, platform, action):
    account(platform)

    page = client.get(authorize_path(platform, ATTACKER))
    posted = allow(client, platform, ATTACKER, action=action)

    for response in (page, posted):
        assert response.status_code == 400
        assert "Location" not in response
        assert get_partner(platform).redirect_uri_refused.encode() in response.content.replace(b"&#x27;", b"'")
    assert b'name="action"' not in page.content  # no Allow button to press
    assert not SandboxAuthCode.objects.exists()


@pytest.mark.parametrize("near_miss", [
    "http://testserver/connections/callback/meta",             # no trailing slash
    "https://testserver/connections/callback/meta/",           # another scheme
    "http://testserver/connections/callback/meta/?next=x",     # a query added
    "http://testserver/connections/callback/meta/../../evil",  # a path climbing out
    "http://testserver/connections/callback/meta/more",        # a longer path (no prefix matching)
    "http://testserver.attacker.example/connections/callback/meta/",
    "http://testserver/connections/callback/linkedin/",        # another partner's
])
def test_only_an_exact_registered_uri_is_accepted(client, account, near_miss):
    account("meta")

    assert client.get(authorize_path("meta", near_miss)).status_code == 400
    assert allow(client, "meta", near_miss).status_code == 400
    assert not SandboxAuthCode.objects.exists()


def test_the_registered_uris_are_configurable_and_follow_site_url(settings, client, account):
    account("tiktok")
    settings.SANDBOX_REDIRECT_URIS = ["https://app.example.org/oauth/{platform}", "/elsewhere/"]
    settings.SITE_URL = "http://127.0.0.1:8123/"

    assert registered_redirect_uris("tiktok") == ["https://app.example.org/oauth/tiktok", "http://127.0.0.1:8123/elsewhere/"]
    assert client.get(authorize_path("tiktok", "https://app.example.org/oauth/tiktok")).status_code == 200
    assert client.get(authorize_path("tiktok", callback("tiktok"))).status_code == 400


@pytest.mark.parametrize("platform", PLATFORMS)
def test_allow_without_the_pages_csrf_token_is_refused(account, platform):
    account(platform)
    browser = Client(enforce_csrf_checks=True)

    forged = allow(browser, platform, callback(platform))
    assert forged.status_code == 403 and not SandboxAuthCode.objects.exists()

    page = browser.get(authorize_path(platform, callback(platform)))
    token = page.context["csrf_token"]
    answer = allow(browser, platform, callback(platform), csrfmiddlewaretoken=str(token))
    assert answer.status_code == 302 and "code=" in answer["Location"]


def test_linkedin_still_grants_every_requested_scope_or_none(client, account):
    account("linkedin")

    answer = allow(client, "linkedin", callback("linkedin"), grant="openid")  # an untick LinkedIn does not offer

    code = parse_qs(urlsplit(answer["Location"]).query)["code"][0]
    assert code and SandboxAuthCode.objects.get().scopes == get_partner("linkedin").default_scopes


@pytest.mark.parametrize("field, value", [
    ("state", "st\x00"), ("scope", "openid\x00"), ("account", "acct\x00"), ("new_account_id", "\x00"),
])
def test_a_nul_byte_in_any_field_gets_the_partners_error_page(client, account, field, value):
    account("linkedin")

    response = allow(client, "linkedin", callback("linkedin"), **{field: value})

    assert response.status_code == 400 and "Location" not in response
    assert not SandboxAuthCode.objects.exists()


@pytest.mark.parametrize("field, length", [("new_account_id", 201), ("new_account_name", 301), ("new_account_type", 41)])
def test_an_overlong_new_account_is_refused_not_a_crash(client, field, length):
    fields = {"new_account_id": "new-1", field: "x" * length}

    response = allow(client, "tiktok", callback("tiktok"), account="", **fields)

    assert response.status_code == 400 and b"Choose an account" in response.content
    assert not SandboxAccount.objects.exists()
