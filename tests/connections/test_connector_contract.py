"""What every connector promises, checked for all five over real HTTP:

- the authorize URL carries exactly the partner's parameters, and an account hint only where the
  partner has one (Google's login_hint: an email or sub);
- no token, code or client secret appears in any URL a connector calls, any log line (ours,
  requests', urllib3's, the sandbox's) or any exception text, over a whole lifecycle;
- whatever a partner (or a proxy in front of it) answers, a connector raises PartnerError that
  classifies, never a TypeError, KeyError or JSON error.
"""

import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.utils import timezone

from connections.models import Connection, Post
from connections.platforms import gbp as gbp_connector
from connections.platforms import tiktok as tiktok_connector
from connections.platforms.base import PartnerError, PostRefused, get_connector, get_connector_class
from connections.platforms.mailchimp import RefreshNotSupported
from recovery.classifier import classify_system_error
from recovery.failures import classify_failure
from recovery.taxonomy import ClassifiedError, ErrorCode
from sandbox import faults
from sandbox.models import SandboxAccount
from tests.sandbox.sandbox_helpers import consent

PLATFORMS = ["meta", "linkedin", "tiktok", "gbp", "mailchimp"]
REDIRECT_URI = "https://app.example.com/connections/callback"
HINT = "owner@acme.example"

# The query parameters each partner's authorize page takes (the connector modules' docstrings).
AUTHORIZE_PARAMS = {
    "meta": {"client_id", "redirect_uri", "state", "scope", "response_type", "auth_type"},
    "linkedin": {"response_type", "client_id", "redirect_uri", "state", "scope"},
    "tiktok": {"client_key", "response_type", "scope", "redirect_uri", "state"},
    "gbp": {"client_id", "redirect_uri", "response_type", "scope", "state", "access_type", "prompt",
            "include_granted_scopes", "login_hint"},
    "mailchimp": {"response_type", "client_id", "redirect_uri", "state"},
}

ACCOUNTS = {
    "meta": ("104857600001", "facebook_page"),
    "linkedin": ("782bbtaQ", ""),
    "tiktok": ("-000QW3rtyUiOpAsDfGhJkL", ""),
    "gbp": ("accounts/1092837465/locations/5550001", ""),
    "mailchimp": ("a1b2c3d4e5", ""),
}


def _post(platform: str, base: str = "https://cdn.example.com") -> Post:
    if platform == "tiktok":
        return Post(kind="video", content="New oven", media=[{"type": "video", "url": f"{base}/sandbox/media/v.mp4"}],
                    scheduled_at=timezone.now())
    if platform == "mailchimp":
        return Post(kind="email", content="Spring menu\n\nAsparagus tart.", scheduled_at=timezone.now())
    return Post(kind="text", content="Fresh bread at dawn", scheduled_at=timezone.now())


# ------------------------------------------------------------------ authorize URLs


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_authorize_url_carries_the_partners_parameters_and_a_hint_only_where_it_has_one(platform):
    connector_class = get_connector_class(platform)
    url = connector_class.authorize_url(state="st", redirect_uri=REDIRECT_URI, scopes=["a", "b"], account_hint=HINT)
    query = parse_qs(urlsplit(url).query)
    assert set(query) == AUTHORIZE_PARAMS[platform]
    assert query["state"] == ["st"] and query["redirect_uri"] == [REDIRECT_URI]
    # Meta, LinkedIn, TikTok and Mailchimp document no account hint: the hint goes nowhere.
    assert [name for name, values in query.items() if HINT in values] == (["login_hint"] if platform == "gbp" else [])


# ------------------------------------------------------------------ refusals on our side

REFUSED = {  # platform -> (a kind its connector cannot send, a kind sent without the media it needs)
    "meta": ("story", "image"),
    "linkedin": ("video", "image"),
    "tiktok": ("text", "video"),
    "gbp": ("video", "image"),
    "mailchimp": ("text", None),
}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_post_the_connector_cannot_send_is_refused_before_any_call_and_classifies(settings, platform):
    settings.SANDBOX_ENABLED = settings.PARTNERS_USE_SANDBOX = True
    settings.SITE_URL = "http://127.0.0.1:9"  # a call would be a ConnectionError
    account_id, account_type = ACCOUNTS[platform]
    connector = get_connector(Connection(platform=platform, account_type=account_type, external_account_id=account_id,
                                         access_token="t"))
    unsupported, without_media = REFUSED[platform]
    with pytest.raises(PostRefused) as caught:
        connector.publish(Post(kind=unsupported, content="x", scheduled_at=timezone.now()))
    classified = classify_failure(caught.value)
    assert (classified.code, classified.http_status) == (ErrorCode.CAPABILITY_UNSUPPORTED, None)
    assert unsupported in classified.partner_message and not classified.retryable
    if without_media:
        with pytest.raises(PostRefused) as caught:
            connector.publish(Post(kind=without_media, content="x", media=[{"type": "image"}],
                                   scheduled_at=timezone.now()))
        assert classify_failure(caught.value).code == ErrorCode.VALIDATION_ERROR
        assert "URL" in classify_failure(caught.value).partner_message


# ------------------------------------------------------------------ secrets


@pytest.fixture
def seen_urls():
    """Every URL the connectors' Sessions called (a requests response hook), redirects included."""
    urls: list[str] = []

    def hook(response, *args, **kwargs):
        urls.extend([r.url for r in response.history] + [response.request.url])

    sessions = [get_connector_class(platform).session() for platform in PLATFORMS]
    for session in sessions:
        session.hooks["response"].append(hook)
    yield urls
    for session in sessions:
        session.hooks["response"].remove(hook)


def _lifecycle(platform: str, tenant, base: str) -> tuple[Connection, list[str], list[BaseException]]:
    """OAuth, account, ping, refresh, publish, a revoked token, a used code: (connection, secrets, errors)."""
    account_id, account_type = ACCOUNTS[platform]
    SandboxAccount.objects.create(platform=platform, account_id=account_id, name="Acme", account_type=account_type)
    connector_class = get_connector_class(platform)
    scopes = connector_class.default_scopes(account_type)
    url = connector_class.authorize_url(state="st", redirect_uri=REDIRECT_URI, scopes=scopes)
    code = consent(requests.Session(), url, account_id=account_id)["code"]
    tokens = connector_class.exchange_code(code=code, redirect_uri=REDIRECT_URI)
    connection = Connection(tenant=tenant, platform=platform, account_type=account_type,
                            external_account_id=account_id, access_token=tokens.access_token,
                            refresh_token=tokens.refresh_token, granted_scopes=tokens.scopes or scopes)
    secrets = [code, tokens.access_token, tokens.refresh_token]
    connector = connector_class(connection)
    connector.account_info()
    connector.ping()
    if platform == "meta":
        secrets.append(connector._page_token())
    if platform != "mailchimp":
        refreshed = connector.refresh()
        secrets += [refreshed.access_token, refreshed.refresh_token]
        connection.access_token = refreshed.access_token
        connection.refresh_token = refreshed.refresh_token or connection.refresh_token
    connector.publish(_post(platform, base))

    errors: list[BaseException] = []
    faults.set_fault(platform, faults.REVOKE_TOKEN, account_id=account_id)
    with pytest.raises(PartnerError) as revoked:
        connector.publish(_post(platform, base))
    errors.append(revoked.value)
    if platform != "mailchimp":
        with pytest.raises(PartnerError) as refused:
            connector.refresh()
        errors.append(refused.value)
    with pytest.raises(PartnerError) as bad_code:
        connector_class.exchange_code(code=code, redirect_uri=REDIRECT_URI)  # used already
    errors.append(bad_code.value)
    return connection, [s for s in secrets if s], errors


@pytest.mark.parametrize("platform", PLATFORMS)
def test_no_secret_in_any_url_log_line_or_exception_over_a_whole_lifecycle(sandbox, tenant, settings, caplog,
                                                                         seen_urls, monkeypatch, platform):
    monkeypatch.setattr(tiktok_connector, "STATUS_POLL_INTERVAL_S", 0.01)
    monkeypatch.setattr(gbp_connector, "STATE_POLL_INTERVAL_S", 0.01)
    caplog.set_level(logging.DEBUG)  # urllib3 logs every request line, query string included
    connection, secrets, errors = _lifecycle(platform, tenant, sandbox)

    settings.SITE_URL = "http://127.0.0.1:9"  # nothing listens: requests' own exception names the URL
    with pytest.raises(requests.ConnectionError) as unreachable:
        get_connector(connection).ping()
    assert classify_system_error(unreachable.value).code.value == "NETWORK_ERROR"
    errors.append(unreachable.value)

    secrets.append(getattr(settings, {"meta": "META_APP_SECRET", "linkedin": "LINKEDIN_CLIENT_SECRET",
                                      "tiktok": "TIKTOK_CLIENT_SECRET", "gbp": "GBP_CLIENT_SECRET",
                                      "mailchimp": "MAILCHIMP_CLIENT_SECRET"}[platform]))
    assert len(seen_urls) > 5
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "partner call" in logged
    for secret in secrets:
        assert not any(secret in url for url in seen_urls)
        assert secret not in logged
        for error in errors:
            assert secret not in str(error) and secret not in repr(error)


# ------------------------------------------------------------------ what a partner or a proxy may answer


class _Garbage(BaseHTTPRequestHandler):
    """Answers every request with the one (status, content type, body) it is set to."""

    answer = (200, "text/html", b"")

    def _reply(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, content_type, body = self.answer
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _reply  # noqa: N815 (http.server's names)

    def log_message(self, *args):
        pass


@pytest.fixture
def garbage(settings):
    server = HTTPServer(("127.0.0.1", 0), _Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SANDBOX_ENABLED = settings.PARTNERS_USE_SANDBOX = True
    settings.SITE_URL = f"http://127.0.0.1:{server.server_port}"
    yield _Garbage
    server.shutdown()
    server.server_close()


ANSWERS = {
    "a proxy's HTML page with 200": (200, "text/html", b"<html><body>Please sign in to the Wi-Fi</body></html>"),
    "an empty 200": (200, "application/json", b""),
    "a JSON list": (200, "application/json", b"[]"),
    "a JSON string": (200, "application/json", b'"ok"'),
    "truncated JSON": (200, "application/json", b'{"id": "12'),
    "an object without the documented fields": (200, "application/json", b'{"unexpected": true}'),
    "a proxy's HTML 502": (502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
    "an empty 503": (503, "text/plain", b""),
}


def _operations(platform):
    account_id, account_type = ACCOUNTS[platform]
    connection = Connection(platform=platform, account_type=account_type, external_account_id=account_id,
                            access_token="tok-" + platform, refresh_token="ref-" + platform)
    connector_class = get_connector_class(platform)
    operations = {
        "ping": lambda: get_connector(connection).ping(),
        "account_info": lambda: get_connector(connection).account_info(),
        "publish": lambda: get_connector(connection).publish(_post(platform)),
        "exchange_code": lambda: connector_class.exchange_code(code="c", redirect_uri=REDIRECT_URI),
    }
    if platform != "mailchimp":
        operations["refresh"] = lambda: get_connector(connection).refresh()
    return operations


@pytest.mark.parametrize("platform", PLATFORMS)
def test_whatever_comes_back_is_a_partner_error_that_classifies(garbage, platform):
    for name, answer in ANSWERS.items():
        garbage.answer = answer
        for operation, call in _operations(platform).items():
            if platform == "gbp" and operation == "ping" and answer[2].startswith(b"{\"unexpected"):
                continue  # the ping reads nothing from the list it asks for: any JSON object is an answer
            try:
                call()
            except PartnerError as error:
                classified = classify_failure(error)
                assert isinstance(classified, ClassifiedError) and classified.code in ErrorCode
                if answer[0] >= 500:
                    assert classified.code in (ErrorCode.PARTNER_5XX, ErrorCode.PARTNER_UNAVAILABLE), (name, operation)
                assert str(error) == f"{platform} answered HTTP {answer[0]}"
            else:
                pytest.fail(f"{platform} {operation} took {name} for an answer")


def test_an_answer_missing_a_field_is_reported_without_the_tokens_it_holds(garbage):
    garbage.answer = (200, "application/json", b'{"data": [{"name": "Page", "access_token": "EAAPpage-token"}]}')
    connection = Connection(platform="meta", account_type="facebook_page", external_account_id="1", access_token="t")
    with pytest.raises(PartnerError) as caught:
        get_connector(connection).account_info()  # the entry has no "id"
    assert caught.value.body == {"data": [{"name": "Page", "access_token": "[redacted]"}]}


def test_mailchimp_says_plainly_that_it_has_nothing_to_refresh(garbage):
    connection = Connection(platform="mailchimp", external_account_id="a1b2c3d4e5", access_token="t")
    with pytest.raises(RefreshNotSupported):
        get_connector(connection).refresh()
