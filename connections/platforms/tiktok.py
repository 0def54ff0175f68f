"""TikTok connector: video and photo posts through the Content Posting API (Direct Post).

Partner facts (hosts from partner_base_url):
- Authorization: {oauth}/v2/auth/authorize/?client_key&response_type=code&scope=<comma list>
  &redirect_uri&state. TikTok has no account hint: the signed-in creator decides.
- Tokens: POST {api}/v2/oauth/token/ (form) client_key, client_secret, code,
  grant_type=authorization_code, redirect_uri -> {"access_token", "expires_in", "open_id",
  "refresh_token", "refresh_expires_in", "scope", "token_type"}; grant_type=refresh_token rotates
  the refresh token (always keep the newest). Errors: {"error", "error_description", "log_id"}.
- Health ping and account: GET {api}/v2/user/info/?fields=open_id,display_name (scope user.info.basic).
  TikTok has no token-introspection call: the granted scopes are those of the token answer.
- Before a Direct Post: POST {api}/v2/post/publish/creator_info/query/ (privacy_level_options).
- Video: POST {api}/v2/post/publish/video/init/ {"post_info": {"title", "privacy_level", ...},
  "source_info": {"source": "PULL_FROM_URL", "video_url"}} -> {"data": {"publish_id"}}.
- Photos: POST {api}/v2/post/publish/content/init/ {"post_info": {"title", "description",
  "privacy_level"}, "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": 0,
  "photo_images": [...]}, "post_mode": "DIRECT_POST", "media_type": "PHOTO"}.
- Publishing is asynchronous: POST {api}/v2/post/publish/status/fetch/ {"publish_id"} ->
  data.status PROCESSING_* | PUBLISH_COMPLETE | FAILED (+ fail_reason), with HTTP 200.
- Every v2 answer: {"data": {...}, "error": {"code": "ok" | <code>, "message", "log_id"}}.
No lookup of a post whose init answer was lost (TikTok lists a creator's videos only with
another scope, and without our text), so supports_post_lookup is False.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings

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

SCOPES = ["user.info.basic", "video.publish", "video.upload"]
SUPPORTED_KINDS = {"video", "reel", "image", "carousel"}
STATUS_POLLS = 3
STATUS_POLL_INTERVAL_S = 1.0
TITLE_MAX = 90  # photo post titles; video titles take the caption (2,200)


def _api(path: str) -> str:
    return f"{partner_base_url('tiktok', 'api')}/{path.lstrip('/')}"


def _token_set(body: dict) -> TokenSet:
    return TokenSet(
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token", ""),
        expires_at=seconds_from_now(body.get("expires_in")),
        refresh_expires_at=seconds_from_now(body.get("refresh_expires_in")),
        scopes=[s for s in str(body.get("scope", "")).split(",") if s],
    )


class TikTokConnector(Connector):
    platform = "tiktok"
    supports_post_lookup = False

    @classmethod
    def body_is_error(cls, status, body):
        if not isinstance(body, dict):
            return False
        error = body.get("error")
        if isinstance(error, dict):
            return error.get("code", "ok") != "ok"
        return isinstance(error, str) and bool(error)  # the OAuth endpoint's {"error": "invalid_grant"}

    kinds = frozenset(SUPPORTED_KINDS)

    @classmethod
    def default_scopes(cls, account_type: str = "") -> list[str]:
        return list(SCOPES)

    # ------------------------------------------------------------ OAuth

    @classmethod
    def authorize_url(cls, *, state, redirect_uri, scopes, account_hint=""):
        query = urlencode({
            "client_key": settings.TIKTOK_CLIENT_KEY,
            "response_type": "code",
            "scope": ",".join(scopes),
            "redirect_uri": redirect_uri,
            "state": state,
        })
        return f"{partner_base_url('tiktok', 'oauth')}/v2/auth/authorize/?{query}"

    @classmethod
    def exchange_code(cls, *, code, redirect_uri):
        return _token_set(cls._request("POST", _api("v2/oauth/token/"), data={
            "client_key": settings.TIKTOK_CLIENT_KEY,
            "client_secret": settings.TIKTOK_CLIENT_SECRET,
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
        }).body)

    def refresh(self) -> TokenSet:
        return _token_set(self._request("POST", _api("v2/oauth/token/"), context="refresh", data={
            "client_key": settings.TIKTOK_CLIENT_KEY,
            "client_secret": settings.TIKTOK_CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": self.connection.refresh_token,
        }).body)

    # ------------------------------------------------------------ account

    def _user(self, fields: str) -> dict:
        return self._request("GET", _api("v2/user/info/"), token=self.connection.access_token,
                             params={"fields": fields}).body["data"]["user"]

    def ping(self) -> AccountInfo:
        user = self._user("open_id,display_name")
        return AccountInfo(account_id=user["open_id"], name=user.get("display_name", ""))

    def account_info(self) -> AccountInfo:
        user = self._user("open_id,union_id,display_name,avatar_url")
        return AccountInfo(account_id=user["open_id"], name=user.get("display_name", ""),
                           scopes=list(self.connection.granted_scopes or []))

    # ------------------------------------------------------------ publishing

    def _post(self, path: str, payload: dict) -> dict:
        return self._request("POST", _api(path), token=self.connection.access_token, json=payload,
                             headers={"Content-Type": "application/json; charset=UTF-8"}).body["data"]

    def _privacy_level(self) -> str:
        """The most public level the creator allows (unaudited apps get SELF_ONLY only)."""
        options = self._post("v2/post/publish/creator_info/query/", {}).get("privacy_level_options") or []
        for level in ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"):
            if level in options:
                return level
        return "SELF_ONLY"

    def publish(self, post) -> PublishResult:
        if post.kind not in SUPPORTED_KINDS:
            raise PostRefused("tiktok", f"TikTok cannot publish {post.kind} posts: it takes videos and photos.")
        media = [m for m in post.media or [] if m.get("url")]
        if post.kind in ("video", "reel"):
            video = next((m for m in media if m.get("type", "video") == "video"), None)
            if video is None:
                raise PostRefused("tiktok", "A TikTok video post needs a video URL.", code="VALIDATION_ERROR")
            data = self._post("v2/post/publish/video/init/", {
                "post_info": {"title": post.content, "privacy_level": self._privacy_level(), "disable_duet": False,
                              "disable_comment": False, "disable_stitch": False},
                "source_info": {"source": "PULL_FROM_URL", "video_url": video["url"]},
            })
        else:
            images = [m["url"] for m in media if m.get("type", "image") == "image"]
            if not images:
                raise PostRefused("tiktok", "A TikTok photo post needs at least one image URL.",
                                  code="VALIDATION_ERROR")
            data = self._post("v2/post/publish/content/init/", {
                "post_info": {"title": post.content[:TITLE_MAX], "description": post.content,
                              "privacy_level": self._privacy_level(), "disable_comment": False},
                "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": 0, "photo_images": images},
                "post_mode": "DIRECT_POST",
                "media_type": "PHOTO",
            })
        return self._await(data["publish_id"])

    def _await(self, publish_id: str) -> PublishResult:
        """Poll the publish status a few times: the post id when complete, PartnerError on FAILED,
        else the publish_id (TikTok finishes later and says so by webhook)."""
        for attempt in range(STATUS_POLLS):
            response = self._request("POST", _api("v2/post/publish/status/fetch/"),
                                     token=self.connection.access_token, json={"publish_id": publish_id})
            data = response.body["data"]
            if data["status"] == "FAILED":
                raise PartnerError("tiktok", response.status, response.body, response.headers)
            if data.get("status") == "PUBLISH_COMPLETE":
                ids = data.get("publicaly_available_post_id") or []  # sic: TikTok's spelling
                return PublishResult(partner_post_id=str(ids[0]) if ids else publish_id)
            if attempt + 1 < STATUS_POLLS:
                time.sleep(STATUS_POLL_INTERVAL_S)
        return PublishResult(partner_post_id=publish_id)


CONNECTOR = TikTokConnector
