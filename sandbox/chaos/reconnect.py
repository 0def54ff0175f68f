"""The product's real reconnect path, over HTTP, as the channel's owner would take it in a browser.

1. sign in on the product's login page (its CSRF token, then the form);
2. POST the channel's Reconnect button: a signed, single-use link to the partner's sign-in
   (recovery/reconnect.py reconnect_start);
3. consent on the sandbox partner's page (sandbox/consent_client.py), which sends back a code;
4. GET the product's callback with the partner's answer: the tokens are stored and the channel resumed.
"""

from __future__ import annotations

import re
from html import unescape

import requests
from django.conf import settings
from django.urls import reverse

from sandbox.consent_client import consent

TIMEOUT = 15


class ReconnectFailed(RuntimeError):
    """A step of the reconnect path did not answer as it should."""


def _url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def sign_in(username: str, password: str) -> requests.Session:
    session = requests.Session()
    login = _url(settings.LOGIN_URL)
    session.get(login, timeout=TIMEOUT)
    answer = session.post(login, data={"username": username, "password": password,
                                       "csrfmiddlewaretoken": session.cookies.get("csrftoken", "")},
                          headers={"Referer": login}, allow_redirects=False, timeout=TIMEOUT)
    if answer.status_code != 302:
        raise ReconnectFailed(f"sign-in as {username} answered {answer.status_code}")
    return session


def reconnect_over_http(session: requests.Session, connection_id: int, account_id: str) -> str:
    """Reconnect the channel through the product's pages and the sandbox consent, picking the channel's partner
    account (`account_id`) as its owner would where the partner does not preselect it; where the callback sent the user."""
    button = _url(reverse("connections:reconnect", args=[connection_id]))
    answer = session.post(button, data={"csrfmiddlewaretoken": session.cookies.get("csrftoken", "")},
                          headers={"Referer": button}, allow_redirects=False, timeout=TIMEOUT)
    if answer.status_code != 302 or "/sandbox/" not in answer.headers.get("Location", ""):
        raise ReconnectFailed(f"Reconnect of connection {connection_id} answered {answer.status_code} "
                              f"to {answer.headers.get('Location', '')!r}, not the partner's sign-in")
    query = consent(requests.Session(), answer.headers["Location"], account_id=account_id)
    back = session.get(_url(reverse("connections:reconnect_callback")), params=query, allow_redirects=False,
                       timeout=TIMEOUT)
    if back.status_code != 302:
        said = re.search(r'<p class="problem">(.*?)</p>', back.text, re.S)
        raise ReconnectFailed(f"the reconnect callback of connection {connection_id} answered {back.status_code}: "
                              f"{unescape(said.group(1)).strip() if said else back.text[:200]}")
    return back.headers["Location"]
