"""The sandbox partners' consent page, answered as a browser would (tests and the chaos suite's reconnects).

    html, hidden, accounts, preselected = consent_page(session, authorize_url)
    query = consent(session, authorize_url, account_id="1001")   # the query the partner sends back
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urljoin, urlsplit

import requests


class ConsentError(AssertionError):
    """The consent page did not answer as a partner's does (a test's failure, hence an AssertionError)."""


def consent_page(session: requests.Session, url: str) -> tuple[str, dict[str, str], list[str], str | None]:
    """GET the consent page: (html, hidden fields, account ids offered, the preselected account id)."""
    response = session.get(url, timeout=10)
    if response.status_code != 200:
        raise ConsentError(response.text[:500])
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
    if response.status_code != 302:
        raise ConsentError(response.text[:500])
    location = urljoin(url, response.headers["Location"])
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
