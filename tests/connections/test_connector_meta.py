"""The Meta connector against the sandbox Meta over real HTTP: publishing, pings, tokens, OAuth, faults."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from connections.models import Connection
from connections.platforms.base import PartnerError, get_connector, get_connector_class
from connections.platforms.versions import CURRENT
from recovery.classifier import REFRESH_CONTEXT, classify_partner_error
from recovery.failures import classify_failure
from sandbox import faults
from sandbox.meta import meta_user
from sandbox.models import SandboxAccount, SandboxObject, SandboxRequest
from tests.factories import PostFactory
from tests.sandbox.sandbox_helpers import assert_secrets_absent, consent, consent_page, linked_connection

PAGE_ID = "104857600001"
IG_ID = "17841400000000001"
V = CURRENT["meta"]  # the Graph version the connector speaks
IMAGE = "{base}/sandbox/media/photo.jpg"
VIDEO = "{base}/sandbox/media/clip.mp4"


@pytest.fixture
def page(sandbox, tenant):
    return linked_connection("meta", tenant=tenant, account_type="facebook_page", external_account_id=PAGE_ID,
                             external_account_name="Acme Bakery")


@pytest.fixture
def instagram(sandbox, tenant):
    return linked_connection("meta", tenant=tenant, account_type="instagram_business", external_account_id=IG_ID,
                             external_account_name="acme.bakery", extra={"page_id": "", "username": "acme.bakery"})


def publish(connection, **post_fields):
    post = PostFactory(connection=connection, tenant=connection.tenant, **post_fields)
    return post, get_connector(connection).publish(post)


def received(path_part, method="POST"):
    return [r for r in SandboxRequest.objects.filter(method=method) if path_part in r.path]


# ------------------------------------------------------------------ publishing


def test_page_text_post_lands_on_the_page_feed_with_the_page_token(page):
    post, result = publish(page, content="Fresh bread at 7")

    assert result.partner_post_id.startswith(f"{PAGE_ID}_")
    stored = SandboxObject.objects.get(object_id=result.partner_post_id)
    assert stored.data["message"] == "Fresh bread at 7"
    [feed_call] = received(f"/{V}/{PAGE_ID}/feed")
    assert feed_call.status == 200 and "Fresh+bread+at+7" in feed_call.request_body
    # The page token was fetched first, with the user token in the header, not the URL.
    [token_call] = received(f"/{V}/{PAGE_ID}?fields=access_token", method="GET")
    assert token_call.request_headers["Authorization"] == "Bearer [redacted]"
    page_token = get_connector(page)._page_token()
    assert page_token != page.access_token
    assert_secrets_absent(page.access_token, page_token)


def test_page_image_post_uses_the_photos_edge(page, sandbox):
    _, result = publish(page, kind="image", content="Croissants", media=[{"url": IMAGE.format(base=sandbox),
                                                                          "type": "image"}])
    assert result.partner_post_id.startswith(f"{PAGE_ID}_")
    [call] = received(f"/{PAGE_ID}/photos")
    assert "photo.jpg" in call.request_body and "caption=Croissants" in call.request_body


def test_page_photo_set_attaches_unpublished_photos_to_one_feed_post(page, sandbox):
    images = [{"url": IMAGE.format(base=sandbox), "type": "image"} for _ in range(3)]
    _, result = publish(page, kind="carousel", content="Three loaves", media=images)

    photos = SandboxObject.objects.filter(kind="photo_unpublished")
    assert photos.count() == 3
    post = SandboxObject.objects.get(object_id=result.partner_post_id)
    assert sorted(post.data["attached_media"]) == sorted(p.object_id for p in photos)


def test_page_video_goes_to_the_video_host(page, sandbox, settings):
    _, result = publish(page, kind="video", content="Oven tour", media=[{"url": VIDEO.format(base=sandbox),
                                                                          "type": "video"}])
    video = SandboxObject.objects.get(object_id=result.partner_post_id, kind="video")
    assert video.data["message"] == "Oven tour" and video.data["file_url"].endswith("clip.mp4")
    assert received(f"/{V}/{PAGE_ID}/videos")
    settings.PARTNERS_USE_SANDBOX = False
    from connections.platforms.base import partner_base_url

    assert partner_base_url("meta", "video") == "https://graph-video.facebook.com"


def test_instagram_image_goes_through_a_container_then_media_publish(instagram, sandbox):
    _, result = publish(instagram, kind="image", content="Hello IG",
                        media=[{"url": IMAGE.format(base=sandbox), "type": "image"}])

    media = SandboxObject.objects.get(object_id=result.partner_post_id, kind="media")
    assert media.data["caption"] == "Hello IG"
    paths = [r.path.split("?")[0] for r in SandboxRequest.objects.all()]
    assert paths == [f"/{V}/{IG_ID}/media", f"/{V}/{media.data['creation_id']}",
                     f"/{V}/{IG_ID}/media_publish"]


def test_instagram_reel_waits_for_the_container_to_finish(instagram, sandbox):
    _, result = publish(instagram, kind="reel", content="Behind the scenes",
                        media=[{"url": VIDEO.format(base=sandbox), "type": "video"}])

    assert SandboxObject.objects.get(object_id=result.partner_post_id).data["media_type"] == "REELS"
    status_checks = [r for r in SandboxRequest.objects.filter(method="GET") if "status_code" in r.response_body]
    assert ['"IN_PROGRESS"' in r.response_body for r in status_checks] == [True, False]


def test_instagram_carousel_publishes_children_then_the_carousel(instagram, sandbox):
    images = [{"url": IMAGE.format(base=sandbox), "type": "image"} for _ in range(3)]
    _, result = publish(instagram, kind="carousel", content="Three loaves", media=images)

    containers = SandboxObject.objects.filter(kind="container", account__account_id=IG_ID)
    assert sorted(c.data["media_type"] for c in containers) == ["CAROUSEL", "IMAGE", "IMAGE", "IMAGE"]
    assert SandboxObject.objects.get(object_id=result.partner_post_id).data["media_type"] == "CAROUSEL"


def test_instagram_carousel_of_one_is_refused_by_the_partner(instagram, sandbox):
    with pytest.raises(PartnerError) as caught:
        publish(instagram, kind="carousel", content="One", media=[{"url": IMAGE.format(base=sandbox),
                                                                    "type": "image"}])
    assert caught.value.body["error"]["error_subcode"] == 2207028
    assert classify_failure(caught.value).code.value == "VALIDATION_ERROR"


def test_find_published_finds_a_post_whose_answer_was_lost(page):
    post, result = publish(page, content="Lost answer")
    other = PostFactory(connection=page, tenant=page.tenant, content="Never sent")
    connector = get_connector(page)

    assert connector.find_published(post).partner_post_id == result.partner_post_id
    assert connector.find_published(other) is None


def test_an_instagram_post_whose_answer_was_lost_is_looked_up_not_published_again(instagram, sandbox):
    post, result = publish(instagram, kind="image", content="Lost on the way back",
                           media=[{"url": IMAGE.format(base=sandbox), "type": "image"}])
    container = SandboxObject.objects.get(object_id=result.partner_post_id).data["creation_id"]
    # Meta publishes a container once (its status_code then reads PUBLISHED): a retry cannot lean on it.
    again = requests.post(f"{sandbox}/sandbox/meta/{V}/{IG_ID}/media_publish", data={"creation_id": container},
                          headers={"Authorization": f"Bearer {instagram.access_token}"}, timeout=10)
    assert again.status_code == 400 and again.json()["error"]["code"] == 9007
    # What the pipeline does after an unknown outcome: find the media by its caption.
    assert get_connector(instagram).find_published(post).partner_post_id == result.partner_post_id
    assert SandboxObject.objects.filter(kind="media").count() == 1


# ------------------------------------------------------------------ pings, tokens


def test_ping_reads_the_account(page, instagram):
    assert get_connector(page).ping().name == "Acme Bakery"
    assert get_connector(instagram).ping().account_id == IG_ID


def test_refresh_exchanges_the_token_for_a_new_long_lived_one(page):
    tokens = get_connector(page).refresh()

    assert tokens.access_token and tokens.access_token != page.access_token
    assert tokens.refresh_token == ""  # Meta has no refresh tokens
    assert tokens.expires_at > timezone.now() + timedelta(days=59)
    page.access_token = tokens.access_token
    assert get_connector(page).ping().account_id == PAGE_ID
    [call] = received("/oauth/access_token")
    assert "grant_type=fb_exchange_token" in call.request_body
    assert_secrets_absent(tokens.access_token, page.access_token)


def test_refresh_of_an_expired_token_fails_as_refresh_failed(page):
    faults.set_fault("meta", faults.EXPIRE_TOKEN, account_id=PAGE_ID)
    with pytest.raises(PartnerError) as caught:
        get_connector(page).refresh()
    assert caught.value.body["error"]["error_subcode"] == 463
    assert classify_failure(caught.value).code.value == "REFRESH_FAILED"
    error = caught.value
    assert classify_partner_error("meta", error.status, error.body, error.headers,
                                  context=REFRESH_CONTEXT).code.value == "REFRESH_FAILED"


# ------------------------------------------------------------------ OAuth


def test_oauth_round_trip_authorize_code_exchange_account_info(sandbox, tenant):
    SandboxAccount.objects.create(platform="meta", account_id="2001", name="Aardvark Page",
                                  account_type="facebook_page")
    SandboxAccount.objects.create(platform="meta", account_id="2002", name="Acme Page", account_type="facebook_page")
    connector_class = get_connector_class("meta")
    scopes = connector_class.default_scopes("facebook_page")
    redirect_uri = "https://app.example.com/connections/callback/meta"
    url = connector_class.authorize_url(state="st-123", redirect_uri=redirect_uri, scopes=scopes)
    assert url.startswith(f"{sandbox}/sandbox/meta/{V}/dialog/oauth?")

    browser = requests.Session()
    answer = consent(browser, url, account_id="2002")
    assert answer["state"] == "st-123"
    tokens = connector_class.exchange_code(code=answer["code"], redirect_uri=redirect_uri)
    assert tokens.expires_at > timezone.now() + timedelta(days=59)  # exchanged for a long-lived token

    connection = Connection(tenant=tenant, platform="meta", account_type="facebook_page",
                            access_token=tokens.access_token)
    info = connector_class(connection).account_info()
    assert (info.account_id, info.name) == ("2002", "Acme Page")
    assert sorted(info.scopes) == sorted(scopes)
    # The user who signed in (GET /me), whom Meta's user-level webhooks name: not the Page.
    assert info.user_id == meta_user(SandboxAccount.objects.get(account_id="2002"))[0] != "2002"

    # The partner's session remembers the account: the next consent page preselects it (the
    # second one offered: Meta's dialog takes no account hint, so this is how a reconnect lands on it).
    _, _, offered, preselected = consent_page(browser, url)
    assert offered == ["2001", "2002"] and preselected == "2002"
    assert consent_page(requests.Session(), url)[3] == "2001"  # another browser: no session
    # A code works once.
    with pytest.raises(PartnerError) as caught:
        connector_class.exchange_code(code=answer["code"], redirect_uri=redirect_uri)
    assert caught.value.body["error"]["error_subcode"] == 36009
    assert_secrets_absent(tokens.access_token, answer["code"], "dev-meta-app-secret")


def test_declined_permission_shows_in_account_info_scopes(sandbox, tenant):
    SandboxAccount.objects.create(platform="meta", account_id="2003", name="Page", account_type="facebook_page")
    connector_class = get_connector_class("meta")
    url = connector_class.authorize_url(state="s", redirect_uri="https://app.example.com/cb",
                                        scopes=["pages_show_list", "pages_manage_posts"])
    answer = consent(requests.Session(), url, grant=["pages_show_list"])
    tokens = connector_class.exchange_code(code=answer["code"], redirect_uri="https://app.example.com/cb")
    info = connector_class(Connection(platform="meta", access_token=tokens.access_token)).account_info()
    assert info.scopes == ["pages_show_list"]


def test_user_who_cancels_comes_back_with_metas_denial(sandbox):
    SandboxAccount.objects.create(platform="meta", account_id="2004", name="Page", account_type="facebook_page")
    url = get_connector_class("meta").authorize_url(state="s9", redirect_uri="https://app.example.com/cb",
                                                    scopes=["pages_show_list"])
    answer = consent(requests.Session(), url, action="deny")
    assert answer == {"error": "access_denied", "error_code": "200", "error_description": "Permissions error",
                      "error_reason": "user_denied", "state": "s9"}


# ------------------------------------------------------------------ faults


def test_business_use_case_throttle_says_when_to_retry(page):
    faults.set_fault("meta", faults.RATE_LIMIT, account_id=PAGE_ID, usage="business", regain_minutes=19)
    with pytest.raises(PartnerError) as caught:
        get_connector(page).ping()
    assert "x-business-use-case-usage" in {k.lower() for k in caught.value.headers}
    assert classify_failure(caught.value).retry_after_s == 1140


def test_instagram_missing_publish_scope_is_permission_insufficient(instagram, sandbox):
    faults.set_fault("meta", faults.REMOVE_SCOPE, account_id=IG_ID, scope="instagram_content_publish")
    with pytest.raises(PartnerError) as caught:
        publish(instagram, kind="image", content="x", media=[{"url": IMAGE.format(base=sandbox), "type": "image"}])
    assert caught.value.status == 403
    assert classify_failure(caught.value).code.value == "PERMISSION_INSUFFICIENT"


def test_unknown_token_is_auth_invalid(page):
    page.access_token = "EAAGnot-a-token-we-issued"
    with pytest.raises(PartnerError) as caught:
        get_connector(page).ping()
    assert caught.value.headers["WWW-Authenticate"].startswith('OAuth "Facebook Platform" "invalid_token"')
    assert classify_failure(caught.value).code.value == "AUTH_INVALID"


def test_a_fault_with_a_count_answers_that_many_calls(page):
    faults.set_fault("meta", faults.SERVER_ERROR, account_id=PAGE_ID, count=1)
    with pytest.raises(PartnerError):
        get_connector(page).ping()
    assert get_connector(page).ping().account_id == PAGE_ID
    assert faults.list_faults("meta") == []


