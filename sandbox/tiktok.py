"""Sandbox TikTok: open.tiktokapis.com (API, OAuth token) and www.tiktok.com (authorize page).

Paths:
  GET  /v2/auth/authorize/                   consent page (client_key, scope, response_type, redirect_uri, state)
  POST /v2/oauth/token/                      grant_type=authorization_code | refresh_token (refresh tokens rotate)
  POST /v2/oauth/revoke/                     client_key, client_secret, token
  GET  /v2/user/info/?fields=...             {"data": {"user": {...}}, "error": {"code": "ok", ...}}
  POST /v2/post/publish/creator_info/query/
  POST /v2/post/publish/video/init/          PULL_FROM_URL -> {"data": {"publish_id": "v_pub_url~v2..."}}
  POST /v2/post/publish/content/init/        photos (media_type PHOTO) -> {"data": {"publish_id": "p_pub_url~v2..."}}
  POST /v2/post/publish/status/fetch/        PROCESSING_DOWNLOAD (videos, first fetch), then PUBLISH_COMPLETE

Access tokens last 2 hours and refresh tokens 180 days, and a refresh returns a new refresh
token in place of the one sent (TikTok's "Manage OAuth Access Tokens" and "Refresh a User Access
Token" pages, updated November 2026; the older page said 24 h and 365 days: read expires_in and
refresh_expires_in from each answer). A token TikTok never issued is 401 access_token_invalid,
as the v2 error-handling page lists it; a path it does not have is 404 in the v2 envelope. A
media URL carrying `fail_reason=<reason>` makes the publish fail later, at status fetch, with
that fail_reason (the sandbox does not inspect media files).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.urls import path, re_path
from django.utils import timezone

from sandbox import core
from sandbox.core import Answer
from sandbox.models import SandboxObject, SandboxToken

PRIVACY_LEVELS = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"]


def _envelope(status: int, code: str, message: str, data: dict | None = None, headers: dict | None = None,
              with_data: bool = True) -> Answer:
    body = {"data": data if data is not None else {}} if with_data else {}
    body["error"] = {"code": code, "message": message, "log_id": core.log_id()}
    return Answer(status, body, headers or {})


def _ok(data: dict) -> Answer:
    return _envelope(200, "ok", "", data)


class TikTokPartner(core.SandboxPartner):
    platform = "tiktok"
    display_name = "TikTok"
    access_prefix = "act."
    refresh_prefix = "rft."
    access_ttl = timedelta(hours=2)
    refresh_ttl = timedelta(days=180)
    has_refresh_tokens = True
    scope_separator = ","
    client_id_param = "client_key"
    default_scopes = ["user.info.basic", "video.publish", "video.upload"]

    def client_id(self):
        return settings.TIKTOK_CLIENT_KEY

    def client_secret(self):
        return settings.TIKTOK_CLIENT_SECRET

    def extra_headers(self):
        return {"x-tt-logid": core.log_id()}

    def denied_params(self):
        return {"error": "access_denied", "error_description": "The user denied the authorization request."}

    def invalid_token(self):
        # TikTok's v2 error-handling page: access_token_invalid is HTTP 401, "invalid or not found".
        return _envelope(401, "access_token_invalid", "The access token is invalid or not found in the request.")

    def expired_token(self):
        # TikTok uses one code for expired and revoked tokens; a refresh tells them apart.
        return _envelope(401, "access_token_invalid", "Access token is invalid, please refresh token and retry")

    def revoked_token(self, fault):
        return self.expired_token()

    def missing_scope(self, scope, request):
        return _envelope(401, "scope_not_authorized",
                         "The user did not authorize the scope required for completing this request.",
                         with_data=False)

    def restricted(self):
        return _envelope(403, "spam_risk_user_banned_from_posting", "The user is banned from making new posts.")

    def not_found(self, target, request):
        return _envelope(400, "invalid_publish_id", "The publish_id does not exist")

    def bad_request(self):
        return _envelope(400, "invalid_param", "The request parameters or body could not be read.")

    def unknown_path(self, request):
        # TikTok documents no code for a path it does not have: the v2 envelope with HTTP 404.
        return _envelope(404, "not_found", "The requested API path does not exist.")

    def server_error(self, status):
        return _envelope(status, "internal_error", "TikTok server or network error. Try again later.")

    def rate_limited(self, fault, account):
        headers = {}
        if fault.params.get("retry_after") is not None:
            headers["Retry-After"] = str(fault.params["retry_after"])
        return _envelope(int(fault.params.get("status") or 429), "rate_limit_exceeded",
                         "The API rate limit was exceeded. Please try again later.", headers=headers)


PARTNER = core.register(TikTokPartner())


def _oauth_error(status: int, error: str, description: str) -> Answer:
    return Answer(status, {"error": error, "error_description": description, "log_id": core.log_id()})


def _open_id(account) -> str:
    return account.account_id


# ---------------------------------------------------------------- OAuth

@core.endpoint(PARTNER, auth=False, methods=("POST",))
def token(call):
    params = call.params
    if core.client_credentials(call) != (settings.TIKTOK_CLIENT_KEY, settings.TIKTOK_CLIENT_SECRET):
        return _oauth_error(401, "invalid_client", "Client key or secret is incorrect.")
    grant = params.get("grant_type")
    if grant == "authorization_code":
        row, why = core.redeem_code("tiktok", params.get("code", ""), params.get("redirect_uri", ""))
        if row is None:
            description = {"expired": "Authorization code is expired.",
                           "redirect_uri": "Redirect URI does not match the authorization request."}.get(
                why, "Authorization code is invalid.")
            return _oauth_error(400, "invalid_grant", description)
        call.load_faults(row.account)
        issued = core.issue_tokens("tiktok", row.account, row.scopes)
        return _token_answer(call, row.account, issued)
    if grant == "refresh_token":
        refresh = core.find_token("tiktok", params.get("refresh_token", ""), kind=SandboxToken.Kind.REFRESH)
        if refresh is None:
            return _oauth_error(400, "invalid_grant", "Refresh token is invalid or expired.")
        call.load_faults(refresh.account)
        answer = call.transport_faults()
        if answer:
            return answer
        state, _ = core.token_state(refresh, [f for f in call.faults if f.kind != "expire_token"])
        if state != "ok":
            return _oauth_error(400, "invalid_grant", "Refresh token is invalid or expired.")
        # Refresh tokens rotate: the one used is spent, a concurrent loser holds a dead token.
        spent = SandboxToken.objects.filter(pk=refresh.pk, revoked=False).update(revoked=True)
        if not spent:
            return _oauth_error(400, "invalid_grant", "Refresh token is invalid or expired.")
        issued = core.issue_tokens("tiktok", refresh.account, core.effective_scopes(refresh, call.faults))
        return _token_answer(call, refresh.account, issued)
    return _oauth_error(400, "unsupported_grant_type", "The grant type is not supported.")


def _token_answer(call, account, issued) -> Answer:
    call.secret(issued.access_token)
    call.secret(issued.refresh_token)
    return Answer(200, {"access_token": issued.access_token, "expires_in": issued.expires_in,
                        "open_id": _open_id(account), "refresh_expires_in": issued.refresh_expires_in,
                        "refresh_token": issued.refresh_token, "scope": ",".join(issued.scopes),
                        "token_type": "Bearer"})


@core.endpoint(PARTNER, auth=False, methods=("POST",))
def revoke(call):
    params = call.params
    if core.client_credentials(call) != (settings.TIKTOK_CLIENT_KEY, settings.TIKTOK_CLIENT_SECRET):
        return _oauth_error(401, "invalid_client", "Client key or secret is incorrect.")
    found = core.find_token("tiktok", params.get("token", ""))
    if found is not None:
        SandboxToken.objects.filter(account=found.account).update(revoked=True)
        call.load_faults(found.account)
    return Answer(200, {})


# ---------------------------------------------------------------- API

@core.endpoint(PARTNER, scope="user.info.basic", methods=("GET",))
def user_info(call):
    account = call.account
    values = {"open_id": _open_id(account), "union_id": f"u-{account.account_id}",
              "avatar_url": "https://p16-sign.tiktokcdn.com/sandbox.jpeg", "display_name": account.name,
              "username": account.extra.get("username", account.name)}
    fields = [f for f in call.params.get("fields", "open_id").split(",") if f]
    return _ok({"user": {f: values[f] for f in fields if f in values}})


def _privacy_options(account) -> list[str]:
    return account.extra.get("privacy_level_options", PRIVACY_LEVELS)


@core.endpoint(PARTNER, scope="video.publish", methods=("POST",))
def creator_info(call):
    account = call.account
    return _ok({"creator_avatar_url": "https://p16-sign.tiktokcdn.com/sandbox.jpeg",
                "creator_username": account.extra.get("username", account.name), "creator_nickname": account.name,
                "privacy_level_options": _privacy_options(account), "comment_disabled": False,
                "duet_disabled": False, "stitch_disabled": False, "max_video_post_duration_sec": 600})


def _check_post_info(call, post_info: dict) -> Answer | None:
    if post_info.get("privacy_level") not in _privacy_options(call.account):
        return _envelope(403, "privacy_level_option_mismatch",
                         "privacy_level is not specified or not among the options from the privacy_level_options "
                         "returned in /publish/creator_info/query/ API.")
    return None


def _fail_reason(urls: list[str]) -> str:
    for url in urls:
        reason = parse_qs(urlsplit(url).query).get("fail_reason")
        if reason:
            return reason[0]
    return ""


def _start_publish(call, prefix: str, kind: str, urls: list[str], post_info: dict) -> Answer:
    publish_id = f"{prefix}~v2.{core.numeric_id(19, '7')}"
    SandboxObject.objects.create(platform="tiktok", account=call.account, object_id=publish_id, kind="publish",
                                 data={"media_type": kind, "urls": urls, "post_info": post_info, "fetches": 0,
                                       "fail_reason": _fail_reason(urls)})
    return _ok({"publish_id": publish_id})


@core.endpoint(PARTNER, scope="video.publish", methods=("POST",))
def video_init(call):
    body = call.data
    post_info, source = body.get("post_info") or {}, body.get("source_info") or {}
    if source.get("source") != "PULL_FROM_URL" or not source.get("video_url"):
        return _envelope(400, "invalid_param", "The sandbox accepts source PULL_FROM_URL with a video_url.")
    return _check_post_info(call, post_info) or _start_publish(call, "v_pub_url", "VIDEO", [source["video_url"]],
                                                               post_info)


@core.endpoint(PARTNER, scope="video.publish", methods=("POST",))
def content_init(call):
    body = call.data
    post_info, source = body.get("post_info") or {}, body.get("source_info") or {}
    images = source.get("photo_images") or []
    if body.get("media_type") != "PHOTO" or source.get("source") != "PULL_FROM_URL" or not 1 <= len(images) <= 35:
        return _envelope(400, "invalid_param", "media_type PHOTO with 1 to 35 photo_images (PULL_FROM_URL) needed.")
    if body.get("post_mode") not in ("DIRECT_POST", "MEDIA_UPLOAD"):
        return _envelope(400, "invalid_param", "post_mode must be DIRECT_POST or MEDIA_UPLOAD.")
    if body.get("post_mode") == "DIRECT_POST":
        problem = _check_post_info(call, post_info)
        if problem:
            return problem
    return _start_publish(call, "p_pub_url", "PHOTO", images, post_info)


def _publish_target(call):
    return str(call.data.get("publish_id", "")) or "-"


@core.endpoint(PARTNER, scope=("video.publish", "video.upload"), target=_publish_target, methods=("POST",))
def status_fetch(call):
    publish_id = _publish_target(call)
    job = SandboxObject.objects.filter(account=call.account, kind="publish", object_id=publish_id).first()
    if job is None:
        return PARTNER.not_found(publish_id, call.request)
    fetches = job.data.get("fetches", 0) + 1
    job.data["fetches"] = fetches
    job.save(update_fields=["data"])
    data = {"uploaded_bytes": 10000, "publicaly_available_post_id": []}  # sic: TikTok's spelling
    if job.data["media_type"] == "VIDEO" and fetches == 1:
        data["status"] = "PROCESSING_DOWNLOAD"
    elif job.data.get("fail_reason"):
        data.update(status="FAILED", fail_reason=job.data["fail_reason"])
    else:
        post_id = job.data.setdefault("post_id", core.numeric_id(19, "7"))
        job.data["published_at"] = timezone.now().isoformat()
        job.save(update_fields=["data"])
        data.update(status="PUBLISH_COMPLETE", publicaly_available_post_id=[int(post_id)])
    return _ok(data)


urlpatterns = [
    path("v2/auth/authorize/", core.authorize_view(PARTNER), name="sandbox-tiktok-authorize"),
    path("v2/oauth/token/", token),
    path("v2/oauth/revoke/", revoke),
    path("v2/user/info/", user_info),
    path("v2/post/publish/creator_info/query/", creator_info),
    path("v2/post/publish/video/init/", video_init),
    path("v2/post/publish/content/init/", content_init),
    path("v2/post/publish/status/fetch/", status_fetch),
    re_path(r"^(?P<rest>.*)$", core.unknown_path_view(PARTNER)),
]
