"""Sandbox Meta: the Graph API (graph.facebook.com) and the Login dialog (www.facebook.com).

Paths (a trailing slash too, as Graph and its SDK's object reads have it; any version vNN.N, or none):
  GET  /vNN.N/dialog/oauth                      consent page (client_id, redirect_uri, state, scope)
  GET|POST /vNN.N/oauth/access_token            code -> short-lived user token (2 h);
                                                grant_type=fb_exchange_token -> long-lived (60 days)
  GET  /vNN.N/debug_token?input_token=&access_token=<app_id|app_secret>
  GET  /vNN.N/me, /me/permissions, /me/accounts
  GET  /vNN.N/{id}?fields=...                   a Page (fields=access_token gives its Page token),
                                                an Instagram account, a container (status_code), a post
  GET|POST /vNN.N/{page-id}/feed                POST message[, link] -> {"id": "<page>_<post>"}
  POST /vNN.N/{page-id}/photos                  url, caption -> {"id", "post_id"}; published=false -> {"id"}
                                                (then /feed with attached_media[n]={"media_fbid": id})
  POST /vNN.N/{page-id}/videos                  graph-video host: file_url, description -> {"id"}
  GET|POST /vNN.N/{ig-user-id}/media            POST image_url|video_url, media_type, caption, children
  POST /vNN.N/{ig-user-id}/media_publish        creation_id -> {"id"}
  GET  /vNN.N/{ig-user-id}/content_publishing_limit

Versions (connections/platforms/versions.py, Meta's versions page): a version Meta lists and still
serves is served as itself; a retired one is served by the oldest version still available (Meta's
Platform Versioning page: calls to an expired version are defaulted to the next oldest usable
one); no version, likewise. The `facebook-api-version` header names the version that answered. A
version Graph never had (v99.0, v21.5) is 400 (#2500) "Unknown path components", as is any path
the sandbox does not model. A wrong `appsecret_proof` (HMAC-SHA256 of the token, keyed with the
app secret) is 400 (#100) "Invalid appsecret_proof provided in the API argument"; none is fine
(the app does not require it).

Simplification: a sandbox token belongs to the one account picked on the consent page
(a Page or an Instagram business account), where Meta's user token spans every Page the
user granted. Page tokens are derived from the user token and never expire, as at Meta.

The user: /me (and debug_token's user_id) answers the Facebook user who manages the account,
whose app-scoped id is never the Page's, as at Meta (`meta_user`): the account's
extra["user_id"] / ["user_name"] where set (several Pages of one user), else an id made from
the Page's id (an Instagram account's from its Page's). The Deauthorize, Data Deletion and
permissions webhooks name this id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import re_path
from django.utils import timezone

from connections.platforms import versions
from sandbox import core
from sandbox.core import Answer
from sandbox.models import SandboxAccount, SandboxObject, SandboxToken

PAGE = "facebook_page"
INSTAGRAM = "instagram_business"
SHORT_TTL = timedelta(hours=2)
LONG_TTL = timedelta(days=60)
IG_DAILY_PUBLISH_CAP = 50
IG_CAPTION_MAX = 2200
# A container's `status` text for each status_code (PUBLISHED: media_publish used it; it cannot be used again).
CONTAINER_STATUS = {
    "IN_PROGRESS": "In Progress: Media is still being processed.",
    "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
    "PUBLISHED": "Published: Media has been published.",
}
_PACIFIC = ZoneInfo("America/Los_Angeles")


def _trace() -> str:
    return secrets.token_urlsafe(8)


def _error(status: int, message: str, code: int, subcode: int | None = None, *, type_="OAuthException",
           headers: dict | None = None, **extra) -> Answer:
    error = {"message": message, "type": type_, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    error["fbtrace_id"] = _trace()
    return Answer(status, {"error": error}, headers or {})


def _www_authenticate(message: str) -> dict:
    return {"WWW-Authenticate": f'OAuth "Facebook Platform" "invalid_token" "{message}"'}


def _session_expired_message(expired_at) -> str:
    fmt = "%A, %d-%b-%y %H:%M:%S %Z"
    return (
        f"Error validating access token: Session has expired on {expired_at.astimezone(_PACIFIC).strftime(fmt)}. "
        f"The current time is {timezone.now().astimezone(_PACIFIC).strftime(fmt)}."
    )


def meta_user(account: SandboxAccount) -> tuple[str, str]:
    """(app-scoped id, name) of the Facebook user who manages `account` (module docstring)."""
    page_id = (account.extra.get("page_id") if account.account_type == INSTAGRAM else "") or account.account_id
    made = "1" + str(int(hashlib.sha256(f"meta-user:{page_id}".encode()).hexdigest(), 16))[:15]
    return str(account.extra.get("user_id") or made), str(account.extra.get("user_name") or "Sandbox Page Admin")


REVOKED_MESSAGES = {
    458: "Error validating access token: The user has not authorized application {app_id}.",
    460: "Error validating access token: The session has been invalidated because the user changed their "
    "password or Facebook has changed the session for security reasons.",
    467: "Error validating access token: The session is invalid because the user logged out.",
}


class MetaPartner(core.SandboxPartner):
    platform = "meta"
    display_name = "Facebook"
    redirect_uri_refused = (
        "URL Blocked: This redirect failed because the redirect URI is not whitelisted in the app's Client OAuth Settings."
    )
    access_prefix = "EAAG"
    access_ttl = LONG_TTL  # what sandbox_open_account stores: a long-lived user token
    has_refresh_tokens = False  # Meta has none: renew with fb_exchange_token or a new login
    scope_separator = ","
    default_scopes = [
        "pages_show_list", "pages_read_engagement", "pages_manage_posts",
        "instagram_basic", "instagram_content_publish",
    ]

    def client_id(self):
        return settings.META_APP_ID

    def user_id(self, account):
        return meta_user(account)[0]

    def client_secret(self):
        return settings.META_APP_SECRET

    def bearer_token(self, request):
        # Graph takes the token from the header or, as it also does, an access_token parameter.
        return super().bearer_token(request) or request.GET.get("access_token") or request.POST.get("access_token", "")

    def extra_headers(self):
        return {"x-fb-trace-id": _trace(), "x-fb-rev": "1019225465"}

    def route(self, call, url_kwargs):
        version = url_kwargs.get("version")
        today = timezone.now().date()
        state = versions.lifecycle("meta", version, today) if version else None
        if state and state.status in (versions.Status.UNKNOWN, versions.Status.UNRELEASED):
            return self.unknown_path(call.request)
        served = version if state and state.status in (versions.Status.ACTIVE, versions.Status.RETIRING) \
            else versions.meta_oldest_active(today)
        call.headers["facebook-api-version"] = served
        return None

    def check_proof(self, call, token):
        proof = call.params.get("appsecret_proof")
        if proof is None:
            return None
        expected = hmac.new(settings.META_APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(str(proof), expected):
            return None
        return _error(400, "Invalid appsecret_proof provided in the API argument", 100, type_="GraphMethodException")

    def unknown_path(self, request):
        relative = request.path.split("/sandbox/meta", 1)[-1]
        relative = re.sub(r"^/v\d+\.\d+(?=/)", "", relative)
        return _error(400, f"Unknown path components: {relative}", 2500)

    def denied_params(self):
        return {"error": "access_denied", "error_code": "200", "error_description": "Permissions error",
                "error_reason": "user_denied"}

    def invalid_token(self):
        message = "Invalid OAuth access token."
        return _error(400, message, 190, headers=_www_authenticate(message))

    def expired_token(self, expired_at=None):
        message = _session_expired_message(expired_at or timezone.now() - timedelta(hours=1))
        return _error(400, message, 190, 463, headers=_www_authenticate(message))

    def revoked_token(self, fault):
        subcode = int((fault.params.get("subcode") if fault else None) or 460)
        message = REVOKED_MESSAGES.get(subcode, REVOKED_MESSAGES[460]).format(app_id=settings.META_APP_ID)
        return _error(400, message, 190, subcode, headers=_www_authenticate(message))

    def missing_scope(self, scope, request):
        return _error(403, "(#200) The user hasn't authorized the application to perform this action", 200)

    def restricted(self):
        message = ("Error validating access token: You cannot access the app till you log in to "
                   "www.facebook.com and follow the instructions given.")
        return _error(400, message, 190, 459, headers=_www_authenticate(message))

    def not_found(self, target, request):
        verb = request.method.lower()
        return _error(
            400,
            f"Unsupported {verb} request. Object with ID '{target}' does not exist, cannot be loaded due to missing "
            "permissions, or does not support this operation. Please read the Graph API documentation at "
            "https://developers.facebook.com/docs/graph-api",
            100, 33, type_="GraphMethodException",
        )

    def bad_request(self):
        return _error(400, "(#100) Invalid parameter", 100)

    def server_error(self, status):
        if status == 500:
            return _error(500, "An unknown error has occurred.", 1, is_transient=True)
        return _error(status, "Service temporarily unavailable", 2, is_transient=True)

    def rate_limited(self, fault, account):
        params = fault.params
        headers = {}
        if params.get("retry_after") is not None:
            headers["Retry-After"] = str(params["retry_after"])
        status = int(params.get("status") or 400)
        if params.get("usage") == "app":
            headers["x-app-usage"] = json.dumps({"call_count": 100, "total_cputime": 27, "total_time": 31})
            return _error(status, "(#4) Application request limit reached", 4, is_transient=True, headers=headers)
        instagram = account is not None and account.account_type == INSTAGRAM
        minutes = int(params.get("regain_minutes") or 1)
        business_id = account.account_id if account else "0"
        headers["x-business-use-case-usage"] = json.dumps({business_id: [{
            "type": "instagram" if instagram else "pages", "call_count": 100, "total_cputime": 12,
            "total_time": 14, "estimated_time_to_regain_access": minutes}]})
        if instagram:
            return _error(status, "(#80002) There have been too many calls to this Instagram account. Wait a bit and "
                          "try again. For more info, please refer to "
                          "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.", 80002,
                          headers=headers)
        return _error(status, "(#80001) There have been too many calls to this Page account. Wait a bit and try "
                      "again. For more info, please refer to "
                      "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.", 80001, headers=headers)


PARTNER = core.register(MetaPartner())


def _ok(body, status=200) -> Answer:
    return Answer(status, body, {"x-app-usage": json.dumps({"call_count": 1, "total_cputime": 1, "total_time": 1})})


def _fields(call) -> list[str]:
    """The top-level names of a Graph `fields` parameter ("id,ig{id,username}" -> ["id", "ig"])."""
    top = re.sub(r"\{[^{}]*\}", "", str(call.params.get("fields", "")))
    return [f.strip() for f in top.split(",") if f.strip()]


# ---------------------------------------------------------------- OAuth

@core.endpoint(PARTNER, auth=False)
def access_token(call, version=None):
    """Code exchange, and fb_exchange_token (short- or long-lived -> long-lived)."""
    params = call.params
    if core.client_credentials(call) != (settings.META_APP_ID, settings.META_APP_SECRET):
        return _error(400, "Error validating client secret.", 1)
    if params.get("grant_type") == "fb_exchange_token":
        token = core.find_token("meta", call.secret(params.get("fb_exchange_token", "")))
        if token is None:
            return _error(400, "Invalid OAuth access token.", 190)
        call.load_faults(token.account)
        answer = call.transport_faults()
        if answer:
            return answer
        state, fault = core.token_state(token, call.faults)
        # The token endpoint answers without WWW-Authenticate (corpus: meta-fb-exchange-expired).
        if state == "revoked":
            answer = PARTNER.revoked_token(fault)
            answer.headers = {}
            return answer
        if state == "expired":
            return _error(400, _session_expired_message(token.expires_at or timezone.now()), 190, 463)
        issued = core.issue_tokens("meta", token.account, core.effective_scopes(token, call.faults),
                                   access_ttl=LONG_TTL, lifetime="long")
        call.secret(issued.access_token)
        return _ok({"access_token": issued.access_token, "token_type": "bearer", "expires_in": issued.expires_in})
    code = call.secret(params.get("code", ""))
    if not code:
        return _error(400, "Missing authorization code", 1)
    row, why = core.redeem_code("meta", code, params.get("redirect_uri", ""))
    if row is None:
        if why == "used":
            return _error(400, "This authorization code has been used.", 100, 36009)
        if why == "expired":
            return _error(400, "This authorization code has expired.", 100, 36007)
        if why == "redirect_uri":
            return _error(400, "Error validating verification code. Please make sure your redirect_uri is identical "
                          "to the one you used in the OAuth dialog request", 100, 36008)
        return _error(400, "Invalid verification code format.", 100)
    call.load_faults(row.account)
    issued = core.issue_tokens("meta", row.account, row.scopes, access_ttl=SHORT_TTL, lifetime="short")
    call.secret(issued.access_token)
    return _ok({"access_token": issued.access_token, "token_type": "bearer", "expires_in": issued.expires_in})


@core.endpoint(PARTNER, auth=False, methods=("GET",))
def debug_token(call, version=None):
    """Token introspection with an app token (app_id|app_secret), as Meta documents it."""
    if call.params.get("access_token") != f"{settings.META_APP_ID}|{settings.META_APP_SECRET}":
        return PARTNER.invalid_token()
    token = core.find_token("meta", call.secret(call.params.get("input_token", "")))
    if token is None:
        return _ok({"data": {"error": {"code": 190, "message": "Invalid OAuth access token."},
                             "is_valid": False, "scopes": []}})
    call.load_faults(token.account)
    state, _ = core.token_state(token, call.faults)
    data = {
        "app_id": settings.META_APP_ID,
        "type": "PAGE" if token.lifetime == "page" else "USER",
        "application": "Connection Recovery",
        "data_access_expires_at": int((token.created_at + timedelta(days=90)).timestamp()),
        "expires_at": int(token.expires_at.timestamp()) if token.expires_at else 0,
        "is_valid": state == "ok",
        "scopes": core.effective_scopes(token, call.faults),
        "user_id": meta_user(token.account)[0],
    }
    if state != "ok":
        data["error"] = {"code": 190, "subcode": 463 if state == "expired" else 460,
                         "message": "Error validating access token"}
    return _ok({"data": data})


# ---------------------------------------------------------------- reads

@core.endpoint(PARTNER, methods=("GET",))
def me(call, version=None):
    """The user the token was issued to (not the Page: meta_user); the fields asked for (default id, name)."""
    user_id, name = meta_user(call.account)
    wanted = _fields(call) or ["id", "name"]
    return _ok({key: value for key, value in {"id": user_id, "name": name}.items() if key in wanted or key == "id"})


@core.endpoint(PARTNER, methods=("GET",))
def me_permissions(call, version=None):
    granted = set(call.scopes)
    rows = [{"permission": s, "status": "granted"} for s in call.scopes]
    rows += [{"permission": s, "status": "declined"} for s in call.token.scopes if s not in granted]
    return _ok({"data": rows})


def _page_token(user_token: SandboxToken, page: SandboxAccount) -> str:
    """The Page token Meta derives from a user token: stable for that user token, never expiring."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"page:{user_token.token_hash}:{page.account_id}".encode(),
                      hashlib.sha256).hexdigest()
    value = "EAAP" + digest
    token, created = SandboxToken.objects.get_or_create(
        platform="meta", token_hash=core.token_hash(value),
        defaults={"kind": SandboxToken.Kind.ACCESS, "account": page, "scopes": user_token.scopes,
                  "expires_at": None, "lifetime": "page"},
    )
    if created:
        # A Page token dies with the user token's session, so it is as old as the user token.
        SandboxToken.objects.filter(pk=token.pk).update(created_at=user_token.created_at)
    return value


def _page_entry(call, account: SandboxAccount) -> dict:
    entry = {"id": account.account_id, "name": account.name,
             "access_token": call.secret(_page_token(call.token, account)),
             "category": "Brand", "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MODERATE", "MANAGE"]}
    return entry


@core.endpoint(PARTNER, scope="pages_show_list", methods=("GET",))
def me_accounts(call, version=None):
    account = call.account
    if account.account_type == INSTAGRAM:
        page_id = account.extra.get("page_id", "")
        page = SandboxAccount.objects.filter(platform="meta", account_id=page_id).first()
        entry = _page_entry(call, page) if page else {"id": page_id, "name": account.name}
        entry["instagram_business_account"] = {"id": account.account_id,
                                                "username": account.extra.get("username", account.name)}
        data = [entry]
    else:
        data = [_page_entry(call, account)]
        ig_id = account.extra.get("instagram_business_account")
        if ig_id:
            data[0]["instagram_business_account"] = {"id": ig_id}
    wanted = _fields(call)
    if wanted:  # Graph answers only the fields asked for: no Page token unless it was asked for
        data = [{key: value for key, value in entry.items() if key in wanted or key == "id"} for entry in data]
    return _ok({"data": data, "paging": {"cursors": {"before": "QVFIUk", "after": "QVFIUk"}}})


def _node_target(call, node_id, version=None):
    return node_id if node_id == call.account.account_id else None


@core.endpoint(PARTNER, target=_node_target, methods=("GET",))
def node(call, node_id, version=None):
    """A Page, an Instagram account, an Instagram container or a post, by id."""
    account = call.account
    fields = _fields(call)
    if node_id == account.account_id:
        body = {"id": account.account_id}
        if account.account_type == INSTAGRAM:
            wanted = fields or ["id", "username"]
            values = {"username": account.extra.get("username", account.name), "name": account.name,
                      "media_count": SandboxObject.objects.filter(account=account, kind="media").count()}
        else:
            wanted = fields or ["id", "name"]
            values = {"name": account.name, "category": "Brand"}
            if "access_token" in wanted:
                values["access_token"] = call.secret(_page_token(call.token, account))
        body.update({f: values[f] for f in wanted if f in values})
        return _ok(body)
    obj = SandboxObject.objects.filter(platform="meta", object_id=node_id, account=account).first()
    if obj is None:
        return PARTNER.not_found(node_id, call.request)
    if obj.kind == "container":
        checks = obj.data.get("checks", 0)
        status = obj.data.get("status_code", "FINISHED")
        if status == "IN_PROGRESS" and checks >= 1:
            status = "FINISHED"  # videos take one status check to process
        obj.data.update(checks=checks + 1, status_code=status)
        obj.save(update_fields=["data"])
        return _ok({"status_code": status, "status": CONTAINER_STATUS[status], "id": node_id})
    return _ok({"id": node_id, **{k: v for k, v in obj.data.items() if k != "checks"}})


# ---------------------------------------------------------------- Pages

def _page_target(call, page_id, version=None):
    return page_id


def _require_type(call, object_id, account_type) -> Answer | None:
    if call.account.account_id != object_id or call.account.account_type not in (account_type, ""):
        return PARTNER.not_found(object_id, call.request)
    return None


@core.endpoint(PARTNER, target=_page_target)
def page_feed(call, page_id, version=None):
    wrong = _require_type(call, page_id, PAGE)
    if wrong:
        return wrong
    if call.request.method == "GET":
        return call.require_scope("pages_read_engagement") or _feed_list(call, page_id)
    missing = call.require_scope("pages_manage_posts")
    if missing:
        return missing
    message, link = call.params.get("message", ""), call.params.get("link", "")
    attached = [value for name, value in sorted(call.params.items()) if name.startswith("attached_media[")]
    photo_ids = []
    for index, value in enumerate(attached):
        try:
            photo_ids.append(str(json.loads(value)["media_fbid"]))
        except (ValueError, KeyError, TypeError):
            return _error(400, f"(#100) param attached_media[{index}] must be an object with media_fbid", 100)
    held = set(SandboxObject.objects.filter(account=call.account, kind="photo_unpublished", object_id__in=photo_ids)
               .values_list("object_id", flat=True))
    unknown = [p for p in photo_ids if p not in held]
    if unknown:
        return PARTNER.not_found(unknown[0], call.request)
    if not message and not link and not photo_ids:
        return _error(400, "(#100) Missing message or attachment", 100)
    post_id = f"{page_id}_{core.numeric_id(16)}"
    SandboxObject.objects.create(platform="meta", account=call.account, object_id=post_id, kind="post",
                                 data={"message": message, "link": link, "attached_media": photo_ids,
                                       "created_time": timezone.now().strftime("%Y-%m-%dT%H:%M:%S+0000")})
    return _ok({"id": post_id})


def _feed_list(call, page_id):
    limit = min(int(call.params.get("limit") or 25), 100)
    posts = SandboxObject.objects.filter(account=call.account, kind__in=("post", "photo", "video"))
    posts = posts.order_by("-created_at")
    data = [{"id": p.object_id, "message": p.data.get("message", ""), "created_time": p.data.get("created_time")}
            for p in posts[:limit]]
    return _ok({"data": data, "paging": {"cursors": {"before": "QVFIU", "after": "QVFIU"}}})


@core.endpoint(PARTNER, scope="pages_manage_posts", target=_page_target, methods=("POST",))
def page_photos(call, page_id, version=None):
    wrong = _require_type(call, page_id, PAGE)
    if wrong:
        return wrong
    url = call.params.get("url", "")
    if not url:
        return _error(400, "(#324) Requires upload file", 324)
    photo_id = core.numeric_id(16)
    if str(call.params.get("published", "true")).lower() == "false":
        # An unpublished photo, to attach to a multi-photo feed post (attached_media).
        SandboxObject.objects.create(platform="meta", account=call.account, object_id=photo_id,
                                     kind="photo_unpublished", data={"url": url})
        return _ok({"id": photo_id})
    post_id = f"{page_id}_{core.numeric_id(16)}"
    SandboxObject.objects.create(platform="meta", account=call.account, object_id=post_id, kind="photo",
                                 data={"message": call.params.get("caption") or call.params.get("message", ""),
                                       "photo_id": photo_id, "url": url,
                                       "created_time": timezone.now().strftime("%Y-%m-%dT%H:%M:%S+0000")})
    return _ok({"id": photo_id, "post_id": post_id})


@core.endpoint(PARTNER, scope="pages_manage_posts", target=_page_target, methods=("POST",))
def page_videos(call, page_id, version=None):
    """graph-video.facebook.com/{page-id}/videos with file_url (the sandbox serves both hosts here)."""
    wrong = _require_type(call, page_id, PAGE)
    if wrong:
        return wrong
    if not call.params.get("file_url"):
        return _error(400, "(#100) file_url or source is required", 100)
    video_id = core.numeric_id(16)
    SandboxObject.objects.create(platform="meta", account=call.account, object_id=video_id, kind="video",
                                 data={"message": call.params.get("description", ""),
                                       "file_url": call.params["file_url"],
                                       "created_time": timezone.now().strftime("%Y-%m-%dT%H:%M:%S+0000")})
    return _ok({"id": video_id})


# ---------------------------------------------------------------- Instagram

def _children(value) -> list[str]:
    """Carousel children as Graph takes them: "id1,id2" or a JSON array (what the SDK sends)."""
    text = str(value or "").strip()
    if text.startswith("["):
        return [str(child) for child in json.loads(text)]
    return [child.strip() for child in text.split(",") if child.strip()]


def _ig_target(call, ig_user_id, version=None):
    return ig_user_id


@core.endpoint(PARTNER, target=_ig_target)
def ig_media(call, ig_user_id, version=None):
    wrong = _require_type(call, ig_user_id, INSTAGRAM)
    if wrong:
        return wrong
    missing = call.require_scope("instagram_basic" if call.request.method == "GET" else "instagram_content_publish")
    if missing:
        return missing
    if call.request.method == "GET":
        media = SandboxObject.objects.filter(account=call.account, kind="media").order_by("-created_at")[:25]
        return _ok({"data": [{"id": m.object_id, "caption": m.data.get("caption", ""),
                              "timestamp": m.data.get("timestamp")} for m in media]})
    params = call.params
    media_type = str(params.get("media_type", "IMAGE")).upper()
    caption = params.get("caption", "")
    if len(caption) > IG_CAPTION_MAX:
        return _error(400, f"The submitted image's caption was {len(caption)} characters long. The maximum number "
                      f"of characters permitted for a caption is {IG_CAPTION_MAX}. Please submit media with a "
                      "shorter caption.", 36004, 2207010, is_transient=False)
    if media_type == "CAROUSEL":
        children = _children(params.get("children", ""))
        if not 2 <= len(children) <= 10:
            return _error(400, "Your post won't work as a carousel. Carousels need at least 2 photos/videos and no "
                          "more than 10 photos/videos.", 100, 2207028, is_transient=False)
        held = set(SandboxObject.objects.filter(account=call.account, kind="container", object_id__in=children,
                                                data__is_carousel_item=True).values_list("object_id", flat=True))
        missing = [child for child in children if child not in held]
        if missing:
            return PARTNER.not_found(missing[0], call.request)
        status = "FINISHED"
    elif media_type in ("REELS", "VIDEO") or (media_type == "STORIES" and params.get("video_url")):
        if not params.get("video_url"):
            return _error(400, "(#100) The parameter video_url is required", 100)
        status = "IN_PROGRESS"
    elif media_type in ("IMAGE", "STORIES"):
        if not params.get("image_url"):
            return _error(400, "(#100) The parameter image_url is required", 100)
        status = "FINISHED"
    else:
        return _error(400, f"The media type {media_type} is unknown.", 100, 2207023, is_transient=False)
    container_id = core.numeric_id(17, "178")
    SandboxObject.objects.create(platform="meta", account=call.account, object_id=container_id, kind="container",
                                 data={"media_type": media_type, "caption": caption, "status_code": status,
                                       "is_carousel_item": str(params.get("is_carousel_item", "")).lower() == "true"})
    return _ok({"id": container_id})


@core.endpoint(PARTNER, scope="instagram_content_publish", target=_ig_target, methods=("POST",))
def ig_media_publish(call, ig_user_id, version=None):
    wrong = _require_type(call, ig_user_id, INSTAGRAM)
    if wrong:
        return wrong
    creation_id = str(call.params.get("creation_id", ""))
    container = SandboxObject.objects.filter(account=call.account, kind="container", object_id=creation_id).first()
    if container is None:
        return _error(400, f"The media builder with creation id = {creation_id} does not exist or has been expired.",
                      24, 2207008, is_transient=False)
    if container.data.get("status_code") == "PUBLISHED":
        # A container publishes once; its media exists already (Meta documents no distinct answer:
        # "Media ID is not available", as for a container that cannot be published).
        return _error(400, "Media ID is not available", 9007, 2207027, is_transient=False,
                      error_user_title="Media ID is not available",
                      error_user_msg="This media container has already been published.")
    if container.data.get("status_code") != "FINISHED":
        return _error(400, "The media is not ready for publishing, please wait for a moment", 9007, 2207027,
                      is_transient=False)
    since = timezone.now() - timedelta(hours=24)
    if SandboxObject.objects.filter(account=call.account, kind="media", created_at__gte=since).count() >= \
            IG_DAILY_PUBLISH_CAP:
        return _error(400, "You reached maximum number of posts that is allowed to be published by Content "
                      "Publishing API.", 9, 2207042, is_transient=False)
    media_id = core.numeric_id(17, "179")
    SandboxObject.objects.create(platform="meta", account=call.account, object_id=media_id, kind="media",
                                 data={"caption": container.data.get("caption", ""), "creation_id": creation_id,
                                       "media_type": container.data.get("media_type"),
                                       "timestamp": timezone.now().strftime("%Y-%m-%dT%H:%M:%S+0000")})
    container.data["status_code"] = "PUBLISHED"
    container.save(update_fields=["data"])
    return _ok({"id": media_id})


@core.endpoint(PARTNER, scope="instagram_basic", target=_ig_target, methods=("GET",))
def ig_publishing_limit(call, ig_user_id, version=None):
    since = timezone.now() - timedelta(hours=24)
    used = SandboxObject.objects.filter(account=call.account, kind="media", created_at__gte=since).count()
    return _ok({"data": [{"quota_usage": used, "config": {"quota_total": IG_DAILY_PUBLISH_CAP,
                                                          "quota_duration": 86400}}]})


V = r"^(?:(?P<version>v\d+\.\d+)/)?"
ID = r"(?P<{}>[0-9A-Za-z_]+)"
END = r"/?$"  # Graph answers a path with or without its trailing slash
urlpatterns = [
    re_path(V + r"dialog/oauth" + END, core.authorize_view(PARTNER), name="sandbox-meta-authorize"),
    re_path(V + r"oauth/access_token" + END, access_token),
    re_path(V + r"debug_token" + END, debug_token),
    re_path(V + r"me" + END, me),
    re_path(V + r"me/permissions" + END, me_permissions),
    re_path(V + r"me/accounts" + END, me_accounts),
    re_path(V + ID.format("page_id") + r"/feed" + END, page_feed),
    re_path(V + ID.format("page_id") + r"/photos" + END, page_photos),
    re_path(V + ID.format("page_id") + r"/videos" + END, page_videos),
    re_path(V + ID.format("ig_user_id") + r"/media" + END, ig_media),
    re_path(V + ID.format("ig_user_id") + r"/media_publish" + END, ig_media_publish),
    re_path(V + ID.format("ig_user_id") + r"/content_publishing_limit" + END, ig_publishing_limit),
    re_path(V + ID.format("node_id") + END, node),
    re_path(r"^(?P<rest>.*)$", core.unknown_path_view(PARTNER)),
]

