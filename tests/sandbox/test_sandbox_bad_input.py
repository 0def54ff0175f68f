"""Garbage sent to the sandbox partners gets the partner's own error answer, never a crash (500).

Every path of every sandbox partner is called with an issued token, with each method, and with
bodies a careless client or a broken proxy sends: JSON of the wrong shape, invalid JSON, bytes
that are not UTF-8, a broken multipart form, and parameters of the wrong type.
"""

import json

import pytest

from connections.platforms.versions import CURRENT
from sandbox.models import SandboxRequest
from tests.sandbox.sandbox_helpers import linked_connection

LOCATION = "accounts/1092837465/locations/5550001"
V = CURRENT["meta"]
ACCOUNTS = {
    "meta": dict(account_type="facebook_page", external_account_id="104857600001"),
    "linkedin": dict(external_account_id="782bbtaQ"),
    "tiktok": dict(external_account_id="-000QW3rtyUiOpAsDfGhJkL"),
    "gbp": dict(external_account_id=LOCATION),
    "mailchimp": dict(external_account_id="a1b2c3d4e5"),
}
PATHS = {
    "meta": [f"{V}/dialog/oauth", f"{V}/oauth/access_token", f"{V}/debug_token", f"{V}/me", f"{V}/me/permissions",
             f"{V}/me/accounts", f"{V}/104857600001", f"{V}/104857600001/feed", f"{V}/104857600001/photos",
             f"{V}/104857600001/videos", f"{V}/104857600001/media", f"{V}/104857600001/media_publish",
             f"{V}/104857600001/content_publishing_limit", f"{V}/104857600001/no_such_edge/x", "v99.0/me"],
    "linkedin": ["oauth/v2/authorization", "oauth/v2/accessToken", "oauth/v2/introspectToken", "v2/userinfo",
                 "rest/posts", "rest/images", "dms-uploads/D1234", "rest/organizationAcls", "rest/organizations/1",
                 "rest/noSuchResource", "v2/me/x"],
    "tiktok": ["v2/auth/authorize/", "v2/oauth/token/", "v2/oauth/revoke/", "v2/user/info/",
               "v2/post/publish/creator_info/query/", "v2/post/publish/video/init/",
               "v2/post/publish/content/init/", "v2/post/publish/status/fetch/", "v2/no/such/path/"],
    "gbp": ["o/oauth2/v2/auth", "token", "tokeninfo", "v1/accounts", "v1/accounts/1092837465/locations",
            "v1/locations/5550001", f"v4/{LOCATION}/localPosts", f"v4/{LOCATION}/localPosts/1",
            "v4/accounts/1092837465/locations", "nothing/here"],
    "mailchimp": ["oauth2/authorize", "oauth2/token", "oauth2/metadata", "3.0/ping", "3.0/", "3.0/lists",
                  "3.0/lists/a1b2c3d4e5", "3.0/campaigns", "3.0/campaigns/abc123", "3.0/campaigns/abc123/content",
                  "3.0/campaigns/abc123/actions/send", "3.0/campaigns/abc123/actions/schedule",
                  "3.0/no-such-resource", "oauth2/nothing"],
}
CONSENT_PAGES = {f"{V}/dialog/oauth", "oauth/v2/authorization", "v2/auth/authorize/", "o/oauth2/v2/auth",
                 "oauth2/authorize"}
# Query parameters the sandboxes read as numbers, lists or names, all of the wrong type.
WRONG_PARAMS = ("limit=abc&count=-x&offset=x&pageSize=NaN&pageToken=%00&fields=%7B%7D%2C&readMask=,&action=x"
                "&grant_type=refresh_token&refresh_token=&code=&fb_exchange_token=&input_token=")
JSON_BODIES = [
    "[1, 2]", '"text"', "null", "{not json", '{"publish_id": {"a": 1}, "author": ["x"], "creation_id": []}',
    json.dumps({"initializeUploadRequest": "owner", "post_info": "x", "source_info": [], "recipients": "list",
                "settings": 5, "content": "html", "media": "photo", "summary": {"a": 1}, "schedule_time": 5,
                "type": "regular", "commentary": None, "children": 7, "media_type": 3}),
]


def _calls(path: str):
    yield "GET", f"{path}?{WRONG_PARAMS}", None, None
    yield "DELETE", path, None, None
    for method in ("POST", "PUT"):
        for body in JSON_BODIES:
            yield method, f"{path}?{WRONG_PARAMS}", body, "application/json"
        yield method, path, b"\xff\xfe\x00garbage", "application/json"
        yield method, path, b"--x\r\nbroken", "multipart/form-data; boundary=x"
        yield method, path, b"limit=abc&children=&published=maybe&attached_media[0]=%7B&url=", \
            "application/x-www-form-urlencoded"


@pytest.mark.django_db
@pytest.mark.parametrize("platform", list(PATHS))
def test_garbage_gets_the_partners_own_error_never_a_crash(client, platform):
    connection = linked_connection(platform, **ACCOUNTS[platform])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {connection.access_token}"}
    for path in PATHS[platform]:
        for method, url, body, content_type in _calls(f"/sandbox/{platform}/{path}"):
            kwargs = {"data": body, "content_type": content_type} if body is not None else {}
            response = client.generic(method, url, **kwargs, **auth)
            where = (method, url, body)
            assert response.status_code < 500, (where, response.content[:300])
            if response.status_code >= 400 and path not in CONSENT_PAGES:
                # The partner's own (JSON) error body, not a page of Django's.
                assert "json" in response["Content-Type"], (where, response["Content-Type"], response.content[:200])
    assert SandboxRequest.objects.filter(platform=platform).count() > 0


# What an attacker (or a fuzzer) sends that no client library would: each answered by the partner's own
# 4xx JSON. Before: NUL bytes reached PostgreSQL (DataError), JSON nested past the parser's depth raised
# RecursionError, a method name longer than the log's column and a body over Django's limit were not
# read as the partner would: all 500s, or Django's HTML 400.
DEEP_JSON = "[" * 100_000 + "]" * 100_000
HOSTILE = [
    ("GET", "{path}/%00", None, None),
    ("GET", "{path}?fields=%00&limit=1&id=x%00y", None, None),
    ("POST", "{path}", "message=hi%00there&url=%00", "application/x-www-form-urlencoded"),
    ("POST", "{path}", '{"commentary": "hi\\u0000", "author": "urn:li:person:\\u0000", "post_info": {"title": "\\u0000"}}',
     "application/json"),
    ("POST", "{path}", DEEP_JSON, "application/json"),
    ("POST", "{path}", '{"a": ' * 5000 + "1" + "}" * 5000, "application/json"),
    ("PROPPATCHANDMORE", "{path}", None, None),
    ("POST", "{path}", "message=" + "x" * (2 * 1024 * 1024), "application/x-www-form-urlencoded"),
    ("GET", "{path}/" + "9" * 5000, None, None),
]


@pytest.mark.django_db
@pytest.mark.parametrize("platform", list(PATHS))
def test_hostile_input_gets_the_partners_own_4xx_json(client, platform):
    connection = linked_connection(platform, **ACCOUNTS[platform])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {connection.access_token}"}
    for path in PATHS[platform]:
        if path in CONSENT_PAGES:
            continue
        for method, template, body, content_type in HOSTILE:
            url = template.format(path=f"/sandbox/{platform}/{path}")
            kwargs = {"data": body, "content_type": content_type} if body is not None else {}
            response = client.generic(method, url, **kwargs, **auth)
            where = (method, url[:120], (body or "")[:80])
            assert 400 <= response.status_code < 500 or response.status_code < 300, (where, response.content[:300])
            if response.status_code >= 400:
                assert "json" in response["Content-Type"], (where, response.content[:200])
    logged = SandboxRequest.objects.filter(platform=platform)
    assert logged.count() > 0 and not any("\x00" in row.path + row.request_body for row in logged)


@pytest.mark.django_db
@pytest.mark.parametrize("platform", list(PATHS))
def test_an_unknown_account_or_object_gets_the_partners_not_found_or_refusal(client, platform):
    connection = linked_connection(platform, **ACCOUNTS[platform])
    paths = {"meta": f"{V}/999999999999/feed", "linkedin": "rest/organizations/999999", "tiktok": "v2/user/info/",
             "gbp": "v4/accounts/1/locations/2/localPosts", "mailchimp": "3.0/lists/nosuchlist"}

    response = client.get(f"/sandbox/{platform}/{paths[platform]}", HTTP_AUTHORIZATION=f"Bearer {connection.access_token}")

    assert response.status_code < 500 and "json" in response["Content-Type"], response.content[:300]
