"""Meta connector: Facebook Page posts and Instagram content publishing, over the Graph API.

Partner facts (Graph API, version versions.version_in_use("meta"); hosts from partner_base_url):
- Login dialog: {oauth}/{v}/dialog/oauth?client_id&redirect_uri&state&scope=<comma list>
  &response_type=code&auth_type=rerequest (asks again for declined permissions). Meta has no
  account hint: the user's Facebook session decides who logs in, and our callback checks the account.
- Code exchange: POST {api}/{v}/oauth/access_token client_id, client_secret, redirect_uri, code
  -> {"access_token", "token_type", "expires_in"}: a short-lived user token (about 2 h).
- Long-lived token: POST {api}/{v}/oauth/access_token grant_type=fb_exchange_token, client_id,
  client_secret, fb_exchange_token -> about 60 days. No refresh tokens: refresh() exchanges the
  current (still valid) token again; an expired one cannot be exchanged (REFRESH_FAILED).
- Page token: GET /{page-id}?fields=access_token with the user token (never expires).
- Facebook Page (Page token): POST /{page-id}/feed message[, link] -> {"id": "<page>_<post>"};
  POST /{page-id}/photos url, caption -> {"id", "post_id"}; several photos: each with
  published=false, then /feed with attached_media[n]={"media_fbid": id}; video: POST
  {video host: graph-video.facebook.com}/{v}/{page-id}/videos file_url, description -> {"id"}.
  Page Reels and Stories (upload sessions on rupload.facebook.com) are not built yet.
- Instagram (user token): POST /{ig-user-id}/media image_url | video_url + media_type
  (REELS, STORIES, CAROUSEL with children, is_carousel_item for children), caption -> {"id"};
  poll GET /{container-id}?fields=status_code until FINISHED; POST /{ig-user-id}/media_publish
  creation_id -> {"id"}.
- Health ping: GET /{account-id}?fields=id,name (or id,username).
- Account and scopes: GET /me/accounts?fields=id,name,instagram_business_account{id,username},
  GET /me/permissions -> [{"permission", "status": "granted"|"declined"}], GET /me?fields=id -> the
  user's app-scoped id (not the Page's: the Deauthorize, Data Deletion and permissions webhooks name it).
- Lookup after an unknown outcome: GET /{page-id}/feed?fields=id,message,created_time, or
  GET /{ig-user-id}/media?fields=id,caption,timestamp, matched on the post's text.
- Errors: {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}, mostly HTTP 400,
  sometimes with HTTP 200 (body_is_error). Tokens go in `Authorization: Bearer` or POST bodies.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings

from connections.platforms import versions
from connections.platforms.base import (
    AccountInfo,
    Connector,
    PartnerError,
    PostRefused,
    PublishResult,
    TokenSet,
    partner_base_url,
    seconds_from_now,
)

PAGE = "facebook_page"
INSTAGRAM = "instagram_business"

SCOPES = {
    PAGE: ["pages_show_list", "pages_read_engagement", "pages_manage_posts"],
    INSTAGRAM: ["pages_show_list", "instagram_basic", "instagram_content_publish"],
}
# Post kinds each kind of Meta account can publish through this connector.
SUPPORTED_KINDS = {
    PAGE: {"text", "image", "carousel", "video"},
    INSTAGRAM: {"image", "video", "reel", "story", "carousel"},
}
CONTAINER_POLLS = 10
CONTAINER_POLL_INTERVAL_S = 1.0


def _version() -> str:
    return versions.version_in_use("meta")


def _api(path: str) -> str:
    return f"{partner_base_url('meta', 'api')}/{_version()}/{path.lstrip('/')}"


class MetaConnector(Connector):
    platform = "meta"
    supports_post_lookup = True

    @classmethod
    def body_is_error(cls, status, body):
        # Graph's error envelope, and the legacy {"error_code", "error_msg"} one, can come with HTTP 200.
        return isinstance(body, dict) and ("error" in body or "error_code" in body)

    @classmethod
    def supported_kinds(cls, account_type: str) -> set[str]:
        return SUPPORTED_KINDS.get(account_type or PAGE, set())

    @classmethod
    def default_scopes(cls, account_type: str = PAGE) -> list[str]:
        return list(SCOPES.get(account_type or PAGE, SCOPES[PAGE]))

    # ------------------------------------------------------------ OAuth

    @classmethod
    def authorize_url(cls, *, state, redirect_uri, scopes, account_hint=""):
        # account_hint: Meta's dialog takes none (see the module docstring).
        query = urlencode({
            "client_id": settings.META_APP_ID,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": ",".join(scopes),
            "response_type": "code",
            "auth_type": "rerequest",
        })
        return f"{partner_base_url('meta', 'oauth')}/{_version()}/dialog/oauth?{query}"

    @classmethod
    def exchange_code(cls, *, code, redirect_uri):
        short = cls._request("POST", _api("oauth/access_token"), data={
            "client_id": settings.META_APP_ID,
            "client_secret": settings.META_APP_SECRET,
            "redirect_uri": redirect_uri,
            "code": code,
        }).body
        return cls._exchange_long_lived(short["access_token"])

    @classmethod
    def _exchange_long_lived(cls, token: str, context: str | None = None) -> TokenSet:
        body = cls._request("POST", _api("oauth/access_token"), context=context, data={
            "grant_type": "fb_exchange_token",
            "client_id": settings.META_APP_ID,
            "client_secret": settings.META_APP_SECRET,
            "fb_exchange_token": token,
        }).body
        return TokenSet(access_token=body["access_token"], expires_at=seconds_from_now(body.get("expires_in")))

    def refresh(self) -> TokenSet:
        tokens = self._exchange_long_lived(self.connection.access_token, context="refresh")
        tokens.scopes = list(self.connection.granted_scopes or [])
        return tokens

    # ------------------------------------------------------------ account

    @property
    def _token(self) -> str:
        return self.connection.access_token

    @property
    def _account_type(self) -> str:
        return self.connection.account_type or PAGE

    def _get(self, path: str, token: str | None = None, **params):
        return self._request("GET", _api(path), token=token or self._token, params=params or None).body

    def _post(self, path: str, token: str | None = None, **data):
        return self._request("POST", _api(path), token=token or self._token, data=data).body

    def granted_scopes(self) -> list[str]:
        rows = self._get("me/permissions").get("data", [])
        return [row["permission"] for row in rows if row.get("status") == "granted"]

    def account_info(self) -> AccountInfo:
        """The Page (or its Instagram account) this token manages: the connection's own if it is
        among them, else the first one; `user_id` is the signed-in user's app-scoped id (GET /me)."""
        pages = self._get(
            "me/accounts", fields="id,name,instagram_business_account{id,username}"
        ).get("data", [])
        wanted = self.connection.external_account_id
        if self._account_type == INSTAGRAM:
            accounts = [
                (p["instagram_business_account"]["id"], p["instagram_business_account"].get("username", p.get("name", "")))
                for p in pages if p.get("instagram_business_account")
            ]
        else:
            accounts = [(p["id"], p.get("name", "")) for p in pages]
        if not accounts:
            # The token manages no such account. Only ids and names go in the error: the
            # answer's entries may carry Page tokens, and an error body reaches ops' pages.
            raise PartnerError("meta", 200, {"data": [{"id": p.get("id"), "name": p.get("name")} for p in pages]})
        account_id, name = next(((i, n) for i, n in accounts if i == wanted), accounts[0])
        user_id = str(self._get("me", fields="id")["id"])
        return AccountInfo(account_id=account_id, name=name, scopes=self.granted_scopes(), user_id=user_id)

    def ping(self) -> AccountInfo:
        fields = "id,username" if self._account_type == INSTAGRAM else "id,name"
        body = self._get(self.connection.external_account_id, fields=fields)
        return AccountInfo(account_id=body["id"], name=body.get("name") or body.get("username", ""))

    def _page_token(self) -> str:
        return self._get(self.connection.external_account_id, fields="access_token")["access_token"]

    # ------------------------------------------------------------ publishing

    def publish(self, post) -> PublishResult:
        if post.kind not in self.supported_kinds(self._account_type):
            raise PostRefused("meta", f"A Meta {self._account_type} cannot publish {post.kind} posts from this app.")
        if post.kind != "text":
            _media_urls(post)  # refused before any call when the post has no media file
        if self._account_type == INSTAGRAM:
            return self._publish_instagram(post)
        return self._publish_page(post)

    def _publish_page(self, post) -> PublishResult:
        page_id = self.connection.external_account_id
        token = self._page_token()
        if post.kind == "image":
            body = self._post(f"{page_id}/photos", token=token, url=_media_urls(post)[0], caption=post.content)
            post_id = body.get("post_id") or body["id"]
        elif post.kind == "carousel":
            # A multi-photo post: unpublished photos first, then one feed post attaching them.
            photo_ids = [self._post(f"{page_id}/photos", token=token, url=url, published="false")["id"]
                         for url in _media_urls(post)]
            data = {"message": post.content}
            data.update({f"attached_media[{n}]": json.dumps({"media_fbid": pid}) for n, pid in enumerate(photo_ids)})
            post_id = self._post(f"{page_id}/feed", token=token, **data)["id"]
        elif post.kind == "video":
            url = f"{partner_base_url('meta', 'video')}/{_version()}/{page_id}/videos"
            post_id = self._request("POST", url, token=token, data={
                "file_url": _media_urls(post)[0], "description": post.content,
            }).body["id"]
        else:
            data = {"message": post.content}
            link = next((m["url"] for m in post.media or [] if m.get("type") == "link"), "")
            if link:
                data["link"] = link
            post_id = self._post(f"{page_id}/feed", token=token, **data)["id"]
        return PublishResult(partner_post_id=post_id, url=f"https://www.facebook.com/{post_id}")

    def _publish_instagram(self, post) -> PublishResult:
        ig_user_id = self.connection.external_account_id
        media = post.media or []
        if post.kind == "carousel":
            children = [
                self._container(ig_user_id, _child_params(item))
                for item in media
            ]
            for child in children:
                self._wait_finished(child)
            container = self._container(ig_user_id, {
                "media_type": "CAROUSEL", "children": ",".join(children), "caption": post.content,
            })
        else:
            params = {"caption": post.content}
            item = media[0] if media else {}
            if post.kind in ("video", "reel"):
                params.update(media_type="REELS", video_url=item.get("url", ""))
            elif post.kind == "story":
                params["media_type"] = "STORIES"
                params["video_url" if item.get("type") == "video" else "image_url"] = item.get("url", "")
                params.pop("caption")  # stories take no caption
            else:
                params["image_url"] = item.get("url", "")
            container = self._container(ig_user_id, params)
        self._wait_finished(container)
        media_id = self._post(f"{ig_user_id}/media_publish", creation_id=container)["id"]
        return PublishResult(partner_post_id=media_id)

    def _container(self, ig_user_id: str, params: dict) -> str:
        return self._post(f"{ig_user_id}/media", **params)["id"]

    def _wait_finished(self, container_id: str) -> None:
        """Poll a container until FINISHED (bounded); an ERROR/EXPIRED container is the partner's failure.
        Still in progress after the polls: media_publish answers Meta's own "not ready" error."""
        for attempt in range(CONTAINER_POLLS):
            status = self._get(container_id, fields="status_code,status")["status_code"]
            if status == "FINISHED":
                return
            if status in ("ERROR", "EXPIRED"):
                raise PartnerError("meta", 200, {"id": container_id, "status_code": status})
            time.sleep(CONTAINER_POLL_INTERVAL_S * min(attempt + 1, 3))

    def find_published(self, post) -> PublishResult | None:
        """The post on the Page feed / Instagram media with the same text, published since it was scheduled."""
        account_id = self.connection.external_account_id
        since = post.scheduled_at - timedelta(minutes=5)
        if self._account_type == INSTAGRAM:
            rows = self._get(f"{account_id}/media", fields="id,caption,timestamp", limit=50).get("data", [])
            text_field, time_field = "caption", "timestamp"
        else:
            rows = self._get(f"{account_id}/feed", token=self._page_token(), fields="id,message,created_time",
                             limit=50).get("data", [])
            text_field, time_field = "message", "created_time"
        for row in rows:
            created = _parse_time(row.get(time_field))
            if row.get(text_field, "") == (post.content or "") and (created is None or created >= since):
                return PublishResult(partner_post_id=row["id"])
        return None


def _media_urls(post) -> list[str]:
    urls = [m["url"] for m in post.media or [] if m.get("url") and m.get("type") != "link"]
    if not urls:
        raise PostRefused("meta", f"A {post.kind} post needs a media URL.", code="VALIDATION_ERROR")
    return urls


def _child_params(item: dict) -> dict:
    if item.get("type") == "video":
        return {"media_type": "VIDEO", "video_url": item["url"], "is_carousel_item": "true"}
    return {"image_url": item["url"], "is_carousel_item": "true"}


def _parse_time(value):
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


CONNECTOR = MetaConnector
