"""No input gets a 5xx: arbitrary paths, query strings, bodies and form fields at every URL.

Every URL pattern the resolver knows (the product's pages, the admin, django-rq's dashboard and
every sandbox partner route) is walked, and hypothesis builds requests for it: a path its
pattern matches (arbitrary text where the pattern takes any, NUL bytes included), any method,
arbitrary query parameters, and a body that is a form, JSON (up to 100,000 levels deep),
or bytes; as an anonymous visitor, a tenant's owner and a staff operator. The answer may be
anything but a server error. The sandbox partners must answer the way the partner would: a 4xx
of theirs is JSON (the consent pages answer with HTML, as the partners' own pages do).

Requests are made in process (Django's test client) with the database in autocommit, as in
production, so a failed statement fails only its own request. 300 examples a property, a fixed
seed (the same run every time; a failure found once is found again): about 15 s.

What it found, and what answers now: NUL bytes in sandbox paths and fields (PostgreSQL refused
them: 500; now the partner's 400), JSON nested past the parser's depth (RecursionError: 500; now
the partner's 400), django-rq's pages for a queue, worker, scheduler or job that does not exist
(500; now 404). The admin's NUL cases, which random draws rarely reach, are enumerated below.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connections.platforms.versions import CURRENT
from tests.sandbox.sandbox_helpers import linked_connection

PLATFORM_ACCOUNTS = {
    "meta": dict(account_type="facebook_page", external_account_id="104857600001"),
    "linkedin": dict(external_account_id="782bbtaQ"),
    "tiktok": dict(external_account_id="-000QW3rtyUiOpAsDfGhJkL"),
    "gbp": dict(external_account_id="accounts/1092837465/locations/5550001"),
    "mailchimp": dict(external_account_id="a1b2c3d4e5"),
}
CONSENT_VIEWS = "sandbox.core.authorize_view.<locals>.view"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# Text as a client can send it: any Unicode that UTF-8 can carry (NUL, controls and astral planes included).
ANY_TEXT = st.characters(codec="utf-8")


def url_patterns(resolver=None, prefix=()):
    """(the regexes of the pattern and its includes, in order, the URLPattern) for every URL the resolver knows."""
    for pattern in (resolver or get_resolver()).url_patterns:
        regexes = (*prefix, pattern.pattern.regex.pattern)
        if isinstance(pattern, URLResolver):
            yield from url_patterns(pattern, regexes)
        elif isinstance(pattern, URLPattern):
            yield regexes, pattern


def _view_name(pattern: URLPattern) -> str:
    callback = pattern.callback
    return f"{callback.__module__}.{callback.__qualname__}"


def paths_matching(regexes) -> st.SearchStrategy[str]:
    """A URL path each piece of which its regex matches in full."""
    pieces = [st.from_regex(regex, fullmatch=True, alphabet=ANY_TEXT) for regex in regexes]
    return st.tuples(*pieces).map(lambda parts: "/" + "".join(parts))


def _deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(ANY_TEXT, max_size=30))
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(ANY_TEXT, max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(
    ["code", "grant_type", "refresh_token", "client_id", "client_secret", "redirect_uri", "state", "scope", "account",
     "action", "message", "caption", "image_url", "children", "creation_id", "fields", "limit", "id", "q", "o", "p",
     "username", "password", "next", "_selected_action", "index", "post_info", "source_info", "settings", "params",
     "remaining", "platform", "kind", "status", "reason", "tenant", "_save", "post", "select_across", "e", "_changelist_filters"]
) | st.text(ANY_TEXT, min_size=1, max_size=12)
FIELD_VALUES = st.text(ANY_TEXT, max_size=40) | st.sampled_from(["\x00", "x" * 5000, "-1", "1e400", "[]", "{}", "NaN"])
FORMS = st.lists(st.tuples(FIELD_NAMES, FIELD_VALUES), max_size=6)


@st.composite
def bodies(draw):
    """(body bytes, content type) of every kind a client may send, or (None, None) for none."""
    kind = draw(st.sampled_from(["none", "form", "json", "deep-json", "bytes", "multipart"]))
    if kind == "none":
        return None, None
    if kind == "form":
        return urlencode(draw(FORMS)).encode(), "application/x-www-form-urlencoded"
    if kind == "json":
        return json.dumps(draw(JSON_VALUES)).encode(), "application/json"
    if kind == "deep-json":
        return _deep_json(draw(st.sampled_from([100, 1000, 5000, 100_000]))).encode(), "application/json"
    if kind == "multipart":
        return draw(st.binary(max_size=200)), "multipart/form-data; boundary=x"
    return draw(st.binary(max_size=200)), draw(st.sampled_from(["application/json", "text/plain", "application/octet-stream"]))


@st.composite
def requests_for(draw, patterns):
    regexes, pattern = draw(st.sampled_from(patterns))
    path = draw(paths_matching(regexes))
    query = draw(st.lists(st.tuples(FIELD_NAMES, FIELD_VALUES), max_size=4))
    body, content_type = draw(bodies())
    return pattern, draw(st.sampled_from(METHODS)), path, query, body, content_type


def _send(client: Client, method, path, query, body, content_type, **headers):
    url = quote(path, safe="/:@!$&'()*+,;=-._~")
    if query:
        url += "?" + urlencode(query)
    kwargs = {"data": body, "content_type": content_type} if body is not None else {}
    return client.generic(method, url, **kwargs, **headers)


SANDBOX_PATTERNS = [(regexes, pattern) for regexes, pattern in url_patterns() if regexes[0] == "^sandbox/"]
PRODUCT_PATTERNS = [(regexes, pattern) for regexes, pattern in url_patterns() if regexes[0] != "^sandbox/"]
PROPERTY = settings(
    max_examples=300, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture
def sandbox_tokens(transactional_db):
    return {platform: linked_connection(platform, **fields).access_token for platform, fields in PLATFORM_ACCOUNTS.items()}


@pytest.mark.django_db(transaction=True)
@PROPERTY
@given(request=requests_for(SANDBOX_PATTERNS), with_token=st.booleans())
def test_the_sandbox_partners_answer_any_request_as_the_partner_would(sandbox_tokens, request, with_token):
    pattern, method, path, query, body, content_type = request
    platform = path.split("/")[2]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {sandbox_tokens[platform]}"} if with_token and platform in sandbox_tokens else {}

    response = _send(Client(raise_request_exception=False), method, path, query, body, content_type, **headers)

    assert response.status_code < 500, (method, path, query, body and body[:200], response.content[:300])
    if response.status_code >= 400 and platform in sandbox_tokens and _view_name(pattern) != CONSENT_VIEWS:
        assert "json" in response["Content-Type"], (method, path, response["Content-Type"], response.content[:200])


@pytest.mark.django_db(transaction=True)
@PROPERTY
@given(request=requests_for(PRODUCT_PATTERNS), who=st.sampled_from(["anonymous", "owner", "operator"]))
def test_no_product_url_answers_any_request_with_a_server_error(owner, operator, request, who):
    pattern, method, path, query, body, content_type = request
    client = Client(raise_request_exception=False)
    if who != "anonymous":
        client.force_login({"owner": owner, "operator": operator}[who])

    response = _send(client, method, path, query, body, content_type)

    assert response.status_code < 500, (who, method, path, query, body and body[:200], response.content[:300])


def test_every_url_is_covered():
    """The two properties above draw from every URL pattern: none is left out by the split."""
    assert len(SANDBOX_PATTERNS) + len(PRODUCT_PATTERNS) == len(list(url_patterns()))
    assert any(_view_name(p) == CONSENT_VIEWS for _, p in SANDBOX_PATTERNS)
    assert {regexes[1] for regexes, _ in SANDBOX_PATTERNS} >= {f"^{platform}/" for platform in PLATFORM_ACCOUNTS}
    assert CURRENT["meta"]


def _admin_requests_with_a_nul():
    """For every model in the admin: its list with a NUL in the search, the ordering, the page and each
    list filter, an action on a NUL id, and its add form with NUL in every field. (Before the NUL
    middleware, each of these that reached PostgreSQL answered 500.)"""
    from django.contrib import admin

    for model, model_admin in admin.site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        filters = [name for name in model_admin.list_filter if isinstance(name, str)]
        queries = ["q=%00", "o=%00", "p=%00", *(f"{name}=%00" for name in filters), *(f"{name}__exact=%00" for name in filters)]
        for query in queries:
            yield "GET", f"{base}?{query}", None
        yield "POST", base, {"action": "delete_selected", "_selected_action": ["\x00"], "index": "0"}
        yield "POST", f"{base}add/", {field.name: "\x00" for field in model._meta.fields}


@pytest.mark.django_db
def test_a_nul_byte_anywhere_in_the_admin_is_a_bad_request_not_a_server_error(operator):
    client = Client(raise_request_exception=False)
    client.force_login(operator)
    answered = [(method, url, _send_admin(client, method, url, data).status_code) for method, url, data in _admin_requests_with_a_nul()]

    assert len(answered) > 100
    assert [entry for entry in answered if entry[2] != 400] == []


def _send_admin(client, method, url, data):
    return client.get(url) if method == "GET" else client.post(url, data)
