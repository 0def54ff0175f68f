"""Where the sandbox partners once differed from the real ones (issue 13): API versions, Meta's
appsecret_proof and Instagram containers, LinkedIn's consent and id_token, client authentication
at the token endpoints, and paths the sandbox does not model."""

import base64
import hashlib
import hmac
import json

import jwt
import pytest
import requests
from django.conf import settings
from django.utils import timezone

from connections.platforms import versions
from sandbox.models import SandboxObject
from tests.sandbox.sandbox_helpers import consent, linked_connection

PAGE_ID = "104857600001"
IG_ID = "17841400000000001"
CURRENT_META = versions.CURRENT["meta"]


@pytest.fixture
def page(sandbox, tenant):
    return linked_connection("meta", tenant=tenant, account_type="facebook_page", external_account_id=PAGE_ID)


@pytest.fixture
def instagram(sandbox, tenant):
    return linked_connection("meta", tenant=tenant, account_type="instagram_business", external_account_id=IG_ID)


@pytest.fixture
def member(sandbox, tenant):
    return linked_connection("linkedin", tenant=tenant, external_account_id="m-1", external_account_name="Ada Lovelace")


def graph(sandbox, method, path, token, **params):
    return requests.request(method, f"{sandbox}/sandbox/meta/{path}", params=params if method == "GET" else None,
                            data=params if method != "GET" else None, headers={"Authorization": f"Bearer {token}"},
                            timeout=10)


# ------------------------------------------------------------------ Meta versions


def test_a_current_graph_version_answers_as_itself(page, sandbox):
    response = graph(sandbox, "GET", f"{CURRENT_META}/me", page.access_token)
    assert response.status_code == 200 and response.headers["facebook-api-version"] == CURRENT_META


def test_a_retired_graph_version_is_served_by_the_oldest_available_one(page, sandbox):
    # Meta's Platform Versioning page: calls to an expired version go to the next oldest usable one.
    oldest = versions.meta_oldest_active(timezone.now().date())
    for path in ("v2.8/me", "v20.0/me", "me"):
        response = graph(sandbox, "GET", path, page.access_token)
        assert response.status_code == 200, path
        assert response.headers["facebook-api-version"] == oldest, path


def test_a_version_graph_never_had_is_an_unknown_path(page, sandbox):
    for path in ("v99.0/me", "v21.5/me"):
        response = graph(sandbox, "GET", path, page.access_token)
        assert response.status_code == 400
        error = response.json()["error"]
        assert (error["code"], error["type"], error["message"]) == (2500, "OAuthException", "Unknown path components: /me")


def test_object_reads_take_a_trailing_slash_as_graph_does(page, sandbox):
    response = graph(sandbox, "GET", f"{CURRENT_META}/{PAGE_ID}/", page.access_token, fields="id,name")
    assert response.status_code == 200 and response.json()["id"] == PAGE_ID


def test_a_wrong_appsecret_proof_is_refused_and_the_right_one_accepted(page, sandbox):
    right = hmac.new(settings.META_APP_SECRET.encode(), page.access_token.encode(), hashlib.sha256).hexdigest()
    response = graph(sandbox, "GET", f"{CURRENT_META}/me", page.access_token, appsecret_proof="0" * 64)
    assert response.status_code == 400
    assert response.json()["error"] | {"fbtrace_id": "x"} == {
        "message": "Invalid appsecret_proof provided in the API argument", "type": "GraphMethodException",
        "code": 100, "fbtrace_id": "x"}
    assert graph(sandbox, "GET", f"{CURRENT_META}/me", page.access_token, appsecret_proof=right).status_code == 200


# ------------------------------------------------------------------ Instagram containers


def _container(sandbox, instagram, **params):
    response = graph(sandbox, "POST", f"{CURRENT_META}/{IG_ID}/media", instagram.access_token, **params)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def test_a_container_publishes_once_then_reads_published(instagram, sandbox):
    container = _container(sandbox, instagram, image_url=f"{sandbox}/sandbox/media/a.jpg", caption="Once")
    first = graph(sandbox, "POST", f"{CURRENT_META}/{IG_ID}/media_publish", instagram.access_token,
                  creation_id=container)
    assert first.status_code == 200
    again = graph(sandbox, "POST", f"{CURRENT_META}/{IG_ID}/media_publish", instagram.access_token,
                  creation_id=container)
    assert again.status_code == 400 and again.json()["error"]["code"] == 9007
    assert SandboxObject.objects.filter(kind="media").count() == 1
    status = graph(sandbox, "GET", f"{CURRENT_META}/{container}", instagram.access_token, fields="status_code")
    assert status.json()["status_code"] == "PUBLISHED"


def test_carousel_children_must_be_this_accounts_carousel_items(instagram, sandbox):
    children = [_container(sandbox, instagram, image_url=f"{sandbox}/sandbox/media/{n}.jpg", is_carousel_item="true")
                for n in range(2)]
    unknown = graph(sandbox, "POST", f"{CURRENT_META}/{IG_ID}/media", instagram.access_token, media_type="CAROUSEL",
                    children=f"{children[0]},17800000000000000")
    assert unknown.status_code == 400
    assert (unknown.json()["error"]["code"], unknown.json()["error"]["error_subcode"]) == (100, 33)
    # Graph takes the list comma-separated or as a JSON array (what Meta's SDK sends).
    for value in (",".join(children), json.dumps(children)):
        _container(sandbox, instagram, media_type="CAROUSEL", children=value)


# ------------------------------------------------------------------ LinkedIn


def _rest_post(sandbox, member, version):
    return requests.post(f"{sandbox}/sandbox/linkedin/rest/posts", timeout=10, json={
        "author": "urn:li:person:m-1", "commentary": f"Version {version}", "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED"}, "lifecycleState": "PUBLISHED"},
        headers={"Authorization": f"Bearer {member.access_token}", "LinkedIn-Version": version,
                 "X-Restli-Protocol-Version": "2.0.0"})


def test_linkedin_serves_the_rolling_window_of_versions(member, sandbox):
    retired = _rest_post(sandbox, member, "202510")
    assert retired.status_code == 426
    assert retired.json() == {"status": 426, "code": "NONEXISTENT_VERSION",
                              "message": "Requested version 20251001 is not active"}
    assert _rest_post(sandbox, member, f"{int(timezone.now().strftime('%Y')) + 1}01").status_code == 426
    assert _rest_post(sandbox, member, versions.CURRENT["linkedin"]).status_code == 201
    assert _rest_post(sandbox, member, versions.CURRENT["linkedin"] + ".01").status_code == 201


def _linkedin_authorize_url(sandbox, scopes):
    return (f"{sandbox}/sandbox/linkedin/oauth/v2/authorization?response_type=code"
            f"&client_id={settings.LINKEDIN_CLIENT_ID}&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb"
            f"&state=s1&scope={'%20'.join(scopes)}")


def _linkedin_code_exchange(sandbox, code):
    return requests.post(f"{sandbox}/sandbox/linkedin/oauth/v2/accessToken", timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "https://app.example.com/cb",
        "client_id": settings.LINKEDIN_CLIENT_ID, "client_secret": settings.LINKEDIN_CLIENT_SECRET})


def test_linkedin_members_accept_all_requested_scopes_or_none(member, sandbox):
    scopes = ["openid", "profile", "w_member_social"]
    answer = consent(requests.Session(), _linkedin_authorize_url(sandbox, scopes), account_id="m-1",
                     grant=["openid"])  # unticking is not something LinkedIn's page offers
    body = _linkedin_code_exchange(sandbox, answer["code"]).json()
    assert sorted(body["scope"].split(",")) == sorted(scopes)


def test_linkedin_sends_a_signed_id_token_for_openid(member, sandbox):
    answer = consent(requests.Session(), _linkedin_authorize_url(sandbox, ["openid", "profile", "email"]),
                     account_id="m-1")
    body = _linkedin_code_exchange(sandbox, answer["code"]).json()
    key = jwt.PyJWKClient(f"{sandbox}/sandbox/linkedin/oauth/openid/jwks").get_signing_key_from_jwt(body["id_token"])
    claims = jwt.decode(body["id_token"], key.key, algorithms=["RS256"], audience=settings.LINKEDIN_CLIENT_ID,
                        issuer="https://www.linkedin.com/oauth")
    assert (claims["sub"], claims["name"], claims["email_verified"]) == ("m-1", "Ada Lovelace", True)
    without = consent(requests.Session(), _linkedin_authorize_url(sandbox, ["w_member_social"]), account_id="m-1")
    assert "id_token" not in _linkedin_code_exchange(sandbox, without["code"]).json()


# ------------------------------------------------------------------ client authentication


def _basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def test_google_takes_http_basic_client_authentication(sandbox, tenant):
    location = linked_connection("gbp", tenant=tenant, external_account_id="accounts/1/locations/2")
    response = requests.post(f"{sandbox}/sandbox/gbp/token", timeout=10,
                             headers=_basic(settings.GBP_CLIENT_ID, settings.GBP_CLIENT_SECRET),
                             data={"grant_type": "refresh_token", "refresh_token": location.refresh_token})
    assert response.status_code == 200 and response.json()["access_token"].startswith("ya29.")
    wrong = requests.post(f"{sandbox}/sandbox/gbp/token", timeout=10, headers=_basic(settings.GBP_CLIENT_ID, "nope"),
                          data={"grant_type": "refresh_token", "refresh_token": location.refresh_token})
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")


@pytest.mark.parametrize("path, client_id, secret, status, error", [
    ("linkedin/oauth/v2/accessToken", "LINKEDIN_CLIENT_ID", "LINKEDIN_CLIENT_SECRET", 401, "invalid_client"),
    ("tiktok/v2/oauth/token/", "TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET", 401, "invalid_client"),
    ("mailchimp/oauth2/token", "MAILCHIMP_CLIENT_ID", "MAILCHIMP_CLIENT_SECRET", 401, "invalid_client"),
])
def test_partners_that_document_body_credentials_refuse_basic_only(sandbox, path, client_id, secret, status, error):
    response = requests.post(f"{sandbox}/sandbox/{path}", timeout=10,
                             headers=_basic(getattr(settings, client_id), getattr(settings, secret)),
                             data={"grant_type": "authorization_code", "code": "x", "redirect_uri": "https://a.example/cb"})
    assert (response.status_code, response.json()["error"]) == (status, error)


def test_meta_refuses_basic_only_client_authentication(sandbox):
    response = requests.post(f"{sandbox}/sandbox/meta/{CURRENT_META}/oauth/access_token", timeout=10,
                             headers=_basic(settings.META_APP_ID, settings.META_APP_SECRET), data={"code": "x"})
    assert response.status_code == 400 and response.json()["error"]["message"] == "Error validating client secret."


# ------------------------------------------------------------------ paths the sandbox does not model


@pytest.mark.parametrize("path, status, shape", [
    (f"meta/{CURRENT_META}/{PAGE_ID}/no_such_edge/x", 400, lambda b: b["error"]["code"] == 2500),
    ("linkedin/rest/noSuchResource", 404, lambda b: b == {"status": 404, "message": "Resource noSuchResource does not exist"}),
    ("tiktok/v2/no/such/path/", 404, lambda b: b["error"]["code"] == "not_found" and "log_id" in b["error"]),
    ("gbp/v4/accounts/1/locations", 404, lambda b: b["error"] == {"code": 404, "message": "Method not found.",
                                                                  "status": "NOT_FOUND"}),
    ("mailchimp/3.0/no-such-resource", 404, lambda b: b["title"] == "Resource Not Found" and b["status"] == 404),
])
def test_an_unmodelled_path_answers_the_partners_json_error(sandbox, path, status, shape):
    for method in ("GET", "POST"):
        response = requests.request(method, f"{sandbox}/sandbox/{path}", timeout=10)
        assert response.status_code == status and "json" in response.headers["Content-Type"], (method, response.text)
        assert shape(response.json()), response.text
