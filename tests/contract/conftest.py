"""What the contract tests share: the partners' official client libraries pointed at the sandbox
partners with only their host changed (docs/partners/sandbox.md, "The partners' own clients", says how, per client).

    url = browser_consent(authorization_url, account_id="1001")   # the user's browser: consent, Allow,
                                                                  # and the redirect back (the callback URL)
    session.mount("https://api.linkedin.com/", PartnerHost("https://api.linkedin.com", f"{sandbox}/sandbox/linkedin"))
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.sandbox.sandbox_helpers import consent

REDIRECT_URI = "https://app.example.com/oauth/callback"


@pytest.fixture
def oauthlib_env(monkeypatch):
    """oauthlib's own documented switches: the sandbox's live server speaks plain http (oauthlib
    refuses a token URL that is not https), and LinkedIn and TikTok list granted scopes
    comma-separated where oauthlib compares space-separated ones (it would raise "Scope has changed")."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")


def browser_consent(authorization_url: str, account_id: str | None = None) -> str:
    """What the user's browser does with an authorization URL: the consent page, Allow, and the
    redirect to our callback; returns that callback URL (code and state in its query)."""
    params = consent(requests.Session(), authorization_url, account_id=account_id)
    return f"{REDIRECT_URI}?{urlencode(params)}"


class PartnerHost(HTTPAdapter):
    """A requests transport adapter (requests' documented way to customise where a Session's calls
    go) that sends calls meant for a partner's host to the sandbox: for clients whose host is a
    module constant but whose `session` is theirs to configure (linkedin-api-client)."""

    def __init__(self, real: str, sandbox: str):
        super().__init__()
        self.real, self.sandbox = real.rstrip("/"), sandbox.rstrip("/")

    def send(self, request, **kwargs):
        if request.url.startswith(self.real):
            request.url = self.sandbox + request.url[len(self.real):]
        return super().send(request, **kwargs)
