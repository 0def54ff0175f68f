"""Meta's own clients against the sandbox Meta: the Facebook Business SDK (facebook-business) for
Graph reads, Page posts, Instagram containers, publishing and status polling; requests-oauthlib for
the Login flow. Only the host changes: FacebookSession.GRAPH, the SDK's documented Graph URL
attribute, and the dialog and token URLs given to requests-oauthlib."""

import hashlib
import hmac

import pytest
import requests
from django.conf import settings
from facebook_business.adobjects.iguser import IGUser
from facebook_business.adobjects.page import Page
from facebook_business.adobjects.shadowigmediabuilder import ShadowIGMediaBuilder
from facebook_business.adobjects.user import User
from facebook_business.api import FacebookAdsApi, FacebookSession
from facebook_business.exceptions import FacebookRequestError
from requests_oauthlib import OAuth2Session
from requests_oauthlib.compliance_fixes import facebook_compliance_fix

from connections.platforms.versions import CURRENT
from sandbox.models import SandboxObject, SandboxRequest
from tests.contract.conftest import REDIRECT_URI, browser_consent
from tests.sandbox.sandbox_helpers import linked_connection

PAGE_ID = "104857600001"
IG_ID = "17841400000000001"
VERSION = CURRENT["meta"]
SCOPES = ["pages_show_list", "pages_read_engagement", "pages_manage_posts"]


def graph_api(sandbox, token, app_secret=None):
    """The SDK as its README sets it up (FacebookAdsApi over a FacebookSession), with the app
    secret (so every call carries appsecret_proof), crash reports off, and the sandbox's host."""
    session = FacebookSession(settings.META_APP_ID, app_secret or settings.META_APP_SECRET, token)
    session.GRAPH = f"{sandbox}/sandbox/meta"
    return FacebookAdsApi(session, api_version=VERSION)


@pytest.fixture
def page(sandbox, tenant):
    return linked_connection("meta", tenant=tenant, account_type="facebook_page", external_account_id=PAGE_ID,
                             external_account_name="Acme Bakery")


@pytest.fixture
def instagram(sandbox, tenant):
    return linked_connection("meta", tenant=tenant, account_type="instagram_business", external_account_id=IG_ID,
                             external_account_name="acme.bakery", extra={"page_id": "", "username": "acme.bakery"})


def test_graph_object_reads_with_the_sdk(page, sandbox):
    """https://developers.facebook.com/docs/graph-api/reference/page/ (Reading: fields, access_token)
    and https://developers.facebook.com/docs/graph-api/securing-requests/ (appsecret_proof)."""
    api = graph_api(sandbox, page.access_token)
    me = User(fbid="me", api=api).api_get(fields=["id", "name"])
    # /me is the Facebook user the token was issued to, whose app-scoped id is not the Page's.
    assert (me["id"], me["name"]) == (page.partner_user_id, "Sandbox Page Admin") and me["id"] != PAGE_ID
    read = Page(PAGE_ID, api=api).api_get(fields=["name", "access_token"])
    assert read["name"] == "Acme Bakery" and read["access_token"].startswith("EAAP")
    # The SDK reads objects at "/<version>/<id>/" and signs every call with appsecret_proof.
    paths = [r.path.split("?")[0] for r in SandboxRequest.objects.order_by("id")]
    assert paths == [f"/{VERSION}/me/", f"/{VERSION}/{PAGE_ID}/"]
    proof = hmac.new(settings.META_APP_SECRET.encode(), page.access_token.encode(), hashlib.sha256).hexdigest()
    assert all(f"appsecret_proof={proof}" in r.path for r in SandboxRequest.objects.all())


def test_a_wrong_app_secret_is_refused_as_meta_refuses_it(page, sandbox):
    """https://developers.facebook.com/docs/graph-api/securing-requests/ (a proof made with another
    secret is refused) and https://developers.facebook.com/docs/graph-api/guides/error-handling/."""
    api = graph_api(sandbox, page.access_token, app_secret="not-our-secret")
    with pytest.raises(FacebookRequestError) as caught:
        User(fbid="me", api=api).api_get(fields=["id"])
    assert caught.value.http_status() == 400 and caught.value.api_error_code() == 100
    assert caught.value.api_error_message() == "Invalid appsecret_proof provided in the API argument"


def test_page_posts_with_the_page_token(page, sandbox):
    """https://developers.facebook.com/docs/pages-api/posts/ (POST /{page-id}/feed with a Page
    access token; photos with POST /{page-id}/photos url, caption)."""
    page_token = Page(PAGE_ID, api=graph_api(sandbox, page.access_token)).api_get(fields=["access_token"])[
        "access_token"]
    page_api = graph_api(sandbox, page_token)
    post = Page(PAGE_ID, api=page_api).create_feed(params={"message": "Fresh bread at 7"})
    assert post["id"].startswith(f"{PAGE_ID}_")
    photo = Page(PAGE_ID, api=page_api).create_photo(params={"url": f"{sandbox}/sandbox/media/a.jpg",
                                                             "caption": "Croissants"})
    assert photo["post_id"].startswith(f"{PAGE_ID}_")
    feed = Page(PAGE_ID, api=page_api).get_feed(fields=["id", "message"])
    assert {row["message"] for row in feed} == {"Fresh bread at 7", "Croissants"}


def test_an_instagram_image_container_is_polled_published_once_and_reads_published(instagram, sandbox):
    """https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login/content-publishing
    (create a container, check status_code, media_publish; a published container's status_code is PUBLISHED)."""
    api = graph_api(sandbox, instagram.access_token)
    user = IGUser(IG_ID, api=api)
    container = user.create_media(params={"image_url": f"{sandbox}/sandbox/media/a.jpg", "caption": "Hello IG"})
    status = ShadowIGMediaBuilder(container["id"], api=api).api_get(fields=["status_code"])
    assert status["status_code"] == "FINISHED"
    media = user.create_media_publish(params={"creation_id": container["id"]})
    assert SandboxObject.objects.get(object_id=media["id"]).data["caption"] == "Hello IG"
    with pytest.raises(FacebookRequestError) as caught:
        user.create_media_publish(params={"creation_id": container["id"]})
    assert caught.value.api_error_code() == 9007
    status = ShadowIGMediaBuilder(container["id"], api=api).api_get(fields=["status_code"])
    assert status["status_code"] == "PUBLISHED"
    limit = user.get_content_publishing_limit(fields=["quota_usage", "config"])
    assert limit[0]["quota_usage"] == 1


def test_a_reel_is_polled_until_finished_and_a_carousel_takes_the_sdks_children_list(instagram, sandbox):
    """https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login/content-publishing
    (Reels: media_type=REELS and video_url, poll until FINISHED; carousels: is_carousel_item
    children, then media_type=CAROUSEL with children)."""
    api = graph_api(sandbox, instagram.access_token)
    user = IGUser(IG_ID, api=api)
    reel = user.create_media(params={"media_type": "REELS", "video_url": f"{sandbox}/sandbox/media/clip.mp4",
                                     "caption": "Behind the scenes"})
    polls = [ShadowIGMediaBuilder(reel["id"], api=api).api_get(fields=["status_code"])["status_code"]
             for _ in range(2)]
    assert polls == ["IN_PROGRESS", "FINISHED"]
    user.create_media_publish(params={"creation_id": reel["id"]})
    children = [user.create_media(params={"image_url": f"{sandbox}/sandbox/media/{n}.jpg",
                                          "is_carousel_item": True})["id"] for n in range(3)]
    carousel = user.create_media(params={"media_type": "CAROUSEL", "children": children, "caption": "Three"})
    published = user.create_media_publish(params={"creation_id": carousel["id"]})
    assert SandboxObject.objects.get(object_id=published["id"]).data["media_type"] == "CAROUSEL"
    with pytest.raises(FacebookRequestError) as caught:
        user.create_media(params={"media_type": "CAROUSEL", "children": [children[0], "17899999999999999"]})
    assert (caught.value.api_error_code(), caught.value.api_error_subcode()) == (100, 33)


def test_the_sdk_reads_metas_token_errors(page, sandbox):
    """https://developers.facebook.com/docs/graph-api/guides/error-handling/ (190 invalid token)."""
    with pytest.raises(FacebookRequestError) as caught:
        User(fbid="me", api=graph_api(sandbox, "EAAGnot-a-token")).api_get(fields=["id"])
    assert caught.value.http_status() == 400 and caught.value.api_error_code() == 190


def test_login_flow_with_requests_oauthlib(page, sandbox, oauthlib_env):
    """https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow (the dialog,
    code exchange with client_id and client_secret as parameters) and
    https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
    (Meta has no refresh token: grant_type=fb_exchange_token renews a valid token)."""
    oauth = facebook_compliance_fix(OAuth2Session(settings.META_APP_ID, redirect_uri=REDIRECT_URI,
                                                  scope=[",".join(SCOPES)]))
    url, state = oauth.authorization_url(f"{sandbox}/sandbox/meta/{VERSION}/dialog/oauth")
    callback = browser_consent(url, account_id=PAGE_ID)
    token = oauth.fetch_token(f"{sandbox}/sandbox/meta/{VERSION}/oauth/access_token", authorization_response=callback,
                              client_secret=settings.META_APP_SECRET, include_client_id=True)
    assert token["access_token"].startswith("EAAG") and 0 < token["expires_in"] <= 2 * 3600
    assert oauth.get(f"{sandbox}/sandbox/meta/{VERSION}/me", timeout=10).json()["id"] == page.partner_user_id
    long_lived = requests.get(f"{sandbox}/sandbox/meta/{VERSION}/oauth/access_token", timeout=10, params={
        "grant_type": "fb_exchange_token", "client_id": settings.META_APP_ID,
        "client_secret": settings.META_APP_SECRET, "fb_exchange_token": token["access_token"]}).json()
    assert long_lived["expires_in"] > 50 * 24 * 3600
    assert state in callback
