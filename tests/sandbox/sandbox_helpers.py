"""Helpers for tests against the sandbox partners (use with the `sandbox` fixture).

    connection = linked_connection("meta", account_type="facebook_page", external_account_id="1001")
    url = consent(session, authorize_url, account_id="1001")      # the consent page, as a browser would
    assert_secrets_absent(connection.access_token)                 # nowhere in the sandbox's request log
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from sandbox.bridge import link_to_sandbox
from sandbox.models import SandboxAccount, SandboxRequest
from tests.factories import ConnectionFactory


def linked_connection(platform: str, scopes: list[str] | None = None, extra: dict | None = None, **fields):
    """A Connection whose tokens the sandbox partner issued (its SandboxAccount made on the way, with `extra`)."""
    connection = ConnectionFactory(platform=platform, **fields)
    link_to_sandbox(connection, scopes=scopes, extra=extra)
    if extra:
        SandboxAccount.objects.filter(platform=platform, account_id=connection.external_account_id).update(extra=extra)
    connection.refresh_from_db()
    return connection


def consent_page(session: requests.Session, url: str) -> tuple[str, dict[str, str], list[str], str | None]:
    """GET the consent page: (html, hidden fields, account ids offered, the preselected account id)."""
    response = session.get(url, timeout=10)
    assert response.status_code == 200, response.text[:500]
    html = response.text
    hidden = {
        name: unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    }
    accounts = re.findall(r'<input type="radio" name="account" value="([^"]+)"', html)
    checked = re.findall(r'<input type="radio" name="account" value="([^"]+)" checked>', html)
    return html, hidden, accounts, checked[0] if checked else None


def consent(session: requests.Session, url: str, account_id: str | None = None, grant: list[str] | None = None,
            action: str = "allow") -> dict[str, str]:
    """Pick an account (default: the preselected one) and allow (or deny); the redirect's query params."""
    _, hidden, _, preselected = consent_page(session, url)
    form = dict(hidden)
    form["account"] = account_id or preselected or ""
    form["action"] = action
    scopes = [s for s in re.split(r"[ ,]+", hidden.get("scope", "")) if s]
    form_items = list(form.items()) + [("grant", s) for s in (scopes if grant is None else grant)]
    response = session.post(url, data=form_items, headers={"Referer": url}, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:500]
    location = urljoin(url, response.headers["Location"])
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def logged_text() -> str:
    """Everything the sandbox's request log holds, as one string."""
    parts = []
    for row in SandboxRequest.objects.all():
        parts += [row.path, str(row.request_headers), row.request_body, row.response_body]
    return "\n".join(parts)


def assert_secrets_absent(*secrets: str) -> None:
    text = logged_text()
    assert SandboxRequest.objects.exists()
    for secret in secrets:
        if secret:
            assert secret not in text
