"""Sandbox Google Business Profile: local posts (v4), the two v1 APIs that name accounts and
locations, Google's OAuth endpoints, and the Pub/Sub push that carries GBP notifications.

Paths (the prefix /sandbox/gbp stands for every Google host below; their paths do not collide):
  GET       /o/oauth2/v2/auth                    accounts.google.com: consent page (client_id, redirect_uri,
                                                 state, scope, access_type, prompt, login_hint: the
                                                 Google user's email or sub, from extra["email"/"sub"])
  POST      /token                               oauth2.googleapis.com: authorization_code | refresh_token
  POST      /tokeninfo                           oauth2.googleapis.com: access_token -> scope, expires_in
  GET       /oauth2/v3/certs                     www.googleapis.com: the JWKS of the Pub/Sub push OIDC tokens
  GET       /v1/accounts                         mybusinessaccountmanagement: the caller's accounts
  GET       /v1/accounts/{a}/locations           mybusinessbusinessinformation: readMask required
  GET       /v1/locations/{l}                    mybusinessbusinessinformation: readMask required
  GET|POST  /v4/accounts/{a}/locations/{l}/localPosts        list (pageSize, pageToken) | create
  GET       /v4/accounts/{a}/locations/{l}/localPosts/{p}    get

Rules it keeps, as Google does:
- A local post is created PROCESSING when it carries a photo, and turns LIVE on the next read;
  a summary with a phone number is REJECTED there (HTTP 200 with state REJECTED: created is
  not published). A text-only post is LIVE at once. Video media answers a bare 500 INTERNAL,
  as GBP has been seen to do. A summary over 1,500 characters is 400 INVALID_ARGUMENT.
- Errors are google.rpc.Status with ErrorInfo details and v4's legacy errors[] array.
- The token endpoint takes the client's id and secret in the form body or an HTTP Basic header
  (client_secret_post and client_secret_basic in Google's discovery document).
- Access tokens last an hour (expires_in 3599); refresh tokens do not expire on a timer and
  die with a revocation (invalid_grant "Token has been expired or revoked.", Google's only
  revocation signal: API calls with a revoked access token just say invalid credentials).

Simplification: a sandbox account is one location, "accounts/{a}/locations/{l}" (the
Connection's external_account_id), and a token belongs to it alone; at Google a token is
a user's and reaches every location the user manages. include_granted_scopes is accepted
and not modelled (a new grant holds what the consent page granted).

Faults (core.endpoint order): expire_token -> 401 ACCESS_TOKEN_EXPIRED; revoke_token -> 401
invalid credentials, and the refresh token dies (invalid_grant); remove_scope -> 403
ACCESS_TOKEN_SCOPE_INSUFFICIENT with WWW-Authenticate insufficient_scope; restrict_account
-> 400 FAILED_PRECONDITION OPERATION_UNSUPPORTED_UNDER_ACCOUNT_CONDITION; delete_target ->
404 NOT_FOUND "Requested entity was not found."; server_error(500|502|503|504); rate_limit
-> 429 RESOURCE_EXHAUSTED (usage="day" for the per-day quota; retry_after adds RetryInfo).

The notifications sender (`send_gbp_notification`) signs its OIDC token with an RSA key the
sandbox makes once and keeps in the cache, published at /oauth2/v3/certs: a receiver in a
local run must fetch Google's certificates from the sandbox (GOOGLE certs URL -> that path).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from datetime import timedelta

import requests
from django.conf import settings
from django.http import JsonResponse
from django.urls import path, re_path
from django.utils import timezone

from sandbox import core, signing
from sandbox.core import Answer
from sandbox.models import SandboxAccount, SandboxObject

SCOPE = "https://www.googleapis.com/auth/business.manage"
LEGACY_SCOPE = "https://www.googleapis.com/auth/plus.business.manage"
MANAGE = (SCOPE, LEGACY_SCOPE)
SUMMARY_MAX = 1500
ACCESS_TTL = timedelta(seconds=3599)
REALM = 'Bearer realm="https://accounts.google.com/"'
# Google's moderation refuses local posts with phone numbers in their summary.
PHONE = re.compile(r"(?:\+?\d[\s().-]?){7,}\d")
# The Pub/Sub push identity the sandbox signs as (a push subscription's service account).
PUSH_SERVICE_ACCOUNT = "gbp-push@sandbox-project.iam.gserviceaccount.com"
PUSH_KEY = "gbp-pubsub"  # the sandbox.signing key of the push tokens


def _status(code: int, status: str, message: str, *, details=None, errors=None, headers=None) -> Answer:
    """A google.rpc.Status answer; v4 also sends the legacy errors[] array."""
    error = {"code": code, "message": message}
    if errors is not None:
        error["errors"] = errors
    error["status"] = status
    if details:
        error["details"] = details
    return Answer(code, {"error": error}, headers or {})


def _error_info(reason: str, domain: str = "googleapis.com", **metadata) -> dict:
    info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": domain}
    if metadata:
        info["metadata"] = metadata
    return info


def _legacy(message: str, reason: str, domain: str = "global", **extra) -> list[dict]:
    return [{"message": message, "domain": domain, "reason": reason, **extra}]


INVALID_CREDENTIALS = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid "
    "authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)


class GbpPartner(core.SandboxPartner):
    platform = "gbp"
    display_name = "Google"
    redirect_uri_refused = "Error 400: redirect_uri_mismatch"
    access_prefix = "ya29.a0"
    refresh_prefix = "1//0g"
    access_ttl = ACCESS_TTL
    has_refresh_tokens = True
    refresh_ttl = None  # no timer: unused for 6 months, revoked, or a Testing-mode app (not modelled)
    scope_separator = " "
    hint_param = "login_hint"
    default_scopes = [SCOPE]
    # Google's discovery document lists client_secret_post and client_secret_basic for its token endpoint.
    basic_client_auth = True

    def client_id(self):
        return settings.GBP_CLIENT_ID

    def client_secret(self):
        return settings.GBP_CLIENT_SECRET

    def extra_headers(self):
        return {"Vary": "Origin, X-Origin, Referer", "Server": "ESF", "X-XSS-Protection": "0"}

    def denied_params(self):
        return {"error": "access_denied"}

    def hinted_account(self, accounts, hint, remembered):
        """login_hint names a Google user (email or sub), not a location: the locations that user
        manages (SandboxAccount.extra "email" / "sub"), the one last chosen in this browser first."""
        wanted = hint.strip().lower()
        managed = [a.account_id for a in accounts
                   if wanted in (str(a.extra.get("email", "")).lower(), str(a.extra.get("sub", "")))]
        return remembered if remembered in managed else (managed[0] if managed else "")

    def invalid_token(self):
        return _status(
            401, "UNAUTHENTICATED", INVALID_CREDENTIALS,
            errors=_legacy("Invalid Credentials", "authError", location="Authorization", locationType="header"),
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        )

    def expired_token(self):
        return _status(
            401, "UNAUTHENTICATED", INVALID_CREDENTIALS,
            errors=_legacy("Invalid Credentials", "authError", location="Authorization", locationType="header"),
            details=[_error_info("ACCESS_TOKEN_EXPIRED", service="mybusiness.googleapis.com",
                                 method="google.mybusiness.v4.LocalPosts")],
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        )

    def revoked_token(self, fault):
        # Google gives API calls no revocation signal: a revoked token is just not valid any more.
        return self.invalid_token()

    def missing_scope(self, scope, request):
        return _status(
            403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.",
            errors=_legacy("Insufficient Permission", "insufficientPermissions"),
            details=[_error_info("ACCESS_TOKEN_SCOPE_INSUFFICIENT", service="mybusiness.googleapis.com",
                                 method="google.mybusiness.v4.LocalPosts")],
            headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{SCOPE}"'},
        )

    def caller_lacks_permission(self):
        return _status(403, "PERMISSION_DENIED", "The caller does not have permission",
                       errors=_legacy("The caller does not have permission", "forbidden"))

    def restricted(self):
        return _status(
            400, "FAILED_PRECONDITION", "Precondition check failed.",
            errors=_legacy("Precondition check failed.", "failedPrecondition"),
            details=[_error_info("OPERATION_UNSUPPORTED_UNDER_ACCOUNT_CONDITION", "mybusiness.googleapis.com")],
        )

    def not_found(self, target, request):
        return _status(404, "NOT_FOUND", "Requested entity was not found.",
                       errors=_legacy("Requested entity was not found.", "notFound"))

    def unknown_path(self, request):
        # What Google's front end answers for a method its API does not have (v4's retired
        # accounts and locations methods too).
        return _status(404, "NOT_FOUND", "Method not found.")

    def bad_request(self):
        return _status(400, "INVALID_ARGUMENT", "Invalid JSON payload received.",
                       errors=_legacy("Invalid JSON payload received.", "badRequest"))

    def server_error(self, status):
        if status == 502:
            # Google's front end answers a bad gateway with its own HTML page, not JSON.
            html = ("<!DOCTYPE html><html lang=en><meta charset=utf-8><title>Error 502 (Server Error)!!1</title>"
                    "<p><b>502.</b> <ins>That's an error.</ins><p>The server encountered a temporary error and "
                    "could not complete your request.<p>Please try again in 30 seconds. <ins>That's all we "
                    "know.</ins></html>")
            return Answer(502, html, content_type="text/html; charset=UTF-8")
        # As the corpus has them: google.rpc.Status without the legacy errors[] array.
        if status == 503:
            return _status(503, "UNAVAILABLE", "The service is currently unavailable.")
        if status == 504:
            return _status(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete.")
        return _status(status, "INTERNAL", "Internal error encountered.")

    def rate_limited(self, fault, account):
        per_day = fault.params.get("usage") == "day"
        limit = "Requests per day" if per_day else "Requests per minute"
        limit_name = "DefaultRequestsPerDayPerProject" if per_day else "DefaultRequestsPerMinutePerProject"
        message = (f"Quota exceeded for quota metric 'Requests' and limit '{limit}' of service "
                   "'mybusiness.googleapis.com' for consumer 'project_number:100000000001'.")
        details = [_error_info("RATE_LIMIT_EXCEEDED", service="mybusiness.googleapis.com",
                               consumer="projects/100000000001",
                               quota_metric="mybusiness.googleapis.com/default_requests", quota_limit=limit_name,
                               quota_limit_value="300" if not per_day else "10000")]
        if fault.params.get("retry_after") is not None:
            # Google says when to retry in the body (RetryInfo), not in a Retry-After header.
            details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo",
                            "retryDelay": f"{int(fault.params['retry_after'])}s"})
        return _status(429, "RESOURCE_EXHAUSTED", message,
                       errors=_legacy(message, "rateLimitExceeded"), details=details)

    def oauth_error(self, status: int, error: str, description: str) -> Answer:
        return Answer(status, {"error": error, "error_description": description})


PARTNER = core.register(GbpPartner())


def _ok(body, status=200) -> Answer:
    return Answer(status, body)


def _location_name(account_id: str, location_id: str) -> str:
    return f"accounts/{account_id}/locations/{location_id}"


def _split(location_name: str) -> tuple[str, str]:
    match = re.fullmatch(r"accounts/([^/]+)/locations/([^/]+)", location_name or "")
    return (match.group(1), match.group(2)) if match else ("", location_name or "")


def _now() -> str:
    return timezone.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ---------------------------------------------------------------- OAuth


@core.endpoint(PARTNER, auth=False, methods=("POST",))
def token(call):
    """Google's token endpoint: authorization_code and refresh_token grants."""
    params = call.params
    client_id, client_secret = core.client_credentials(call)
    if client_id != settings.GBP_CLIENT_ID:
        return PARTNER.oauth_error(401, "invalid_client", "The OAuth client was not found.")
    if client_secret != settings.GBP_CLIENT_SECRET:
        return PARTNER.oauth_error(401, "invalid_client", "Unauthorized")
    grant = params.get("grant_type", "")
    if grant == "authorization_code":
        row, why = core.redeem_code("gbp", call.secret(params.get("code", "")), params.get("redirect_uri", ""))
        if row is None:
            if why == "redirect_uri":
                return PARTNER.oauth_error(400, "redirect_uri_mismatch", "Bad Request")
            return PARTNER.oauth_error(400, "invalid_grant", "Malformed auth code." if why == "unknown" else
                                       "Bad Request")
        call.load_faults(row.account)
        issued = core.issue_tokens("gbp", row.account, row.scopes)
        call.secret(issued.access_token)
        call.secret(issued.refresh_token)
        return _ok({"access_token": issued.access_token, "expires_in": issued.expires_in,
                    "refresh_token": issued.refresh_token, "scope": " ".join(issued.scopes),
                    "token_type": "Bearer"})
    if grant == "refresh_token":
        refresh = core.find_token("gbp", call.secret(params.get("refresh_token", "")), kind="refresh")
        if refresh is None:
            return PARTNER.oauth_error(400, "invalid_grant", "Bad Request")
        call.load_faults(refresh.account)
        state, fault = core.token_state(refresh, call.faults)
        # An expire_token fault ages the access tokens; refreshing is what heals that. A revocation
        # (or a refresh token that really expired) is final.
        if state == "revoked" or (state == "expired" and fault is None):
            return PARTNER.oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        # Scopes the user took away stay away: the new access token has what the grant has now.
        scopes = core.effective_scopes(refresh, call.faults)
        issued = core.issue_tokens("gbp", refresh.account, scopes, refresh=False)
        call.secret(issued.access_token)
        return _ok({"access_token": issued.access_token, "expires_in": issued.expires_in,
                    "scope": " ".join(scopes), "token_type": "Bearer"})
    return PARTNER.oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")


@core.endpoint(PARTNER, auth=False, methods=("GET", "POST"))
def tokeninfo(call):
    """Introspection: the access token in the form body (never the URL, in our connector)."""
    found = core.find_token("gbp", call.secret(str(call.params.get("access_token", ""))))
    if found is None:
        return PARTNER.oauth_error(400, "invalid_token", "Invalid Value")
    call.load_faults(found.account)
    state, _ = core.token_state(found, call.faults)
    if state != "ok":
        return PARTNER.oauth_error(400, "invalid_token", "Invalid Value")
    expires_in = int((found.expires_at - timezone.now()).total_seconds()) if found.expires_at else 0
    return _ok({"azp": settings.GBP_CLIENT_ID, "aud": settings.GBP_CLIENT_ID,
                "scope": " ".join(core.effective_scopes(found, call.faults)),
                "exp": str(int(time.time()) + expires_in), "expires_in": str(expires_in),
                "access_type": "offline"})


# ---------------------------------------------------------------- accounts and locations


def _read_mask_missing(call) -> Answer | None:
    if not call.params.get("readMask"):
        return _status(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", details=[{
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": "read_mask", "description": "Field is required"}],
        }])
    return None


@core.endpoint(PARTNER, scope=MANAGE, methods=("GET",))
def accounts(call):
    account_id, _ = _split(call.account.account_id)
    return _ok({"accounts": [{
        "name": f"accounts/{account_id}",
        "accountName": call.account.extra.get("account_name", call.account.name),
        "type": "LOCATION_GROUP",
        "role": "OWNER",
        "verificationState": "VERIFIED",
        "vettedState": "NOT_VETTED",
    }]})


def _location_body(call, account: SandboxAccount) -> dict:
    _, location_id = _split(account.account_id)
    values = {"name": f"locations/{location_id}", "title": account.name,
              "storeCode": account.extra.get("store_code", ""),
              "metadata": {"canHaveBusinessCalls": True, "hasVoiceOfMerchant": not account.restricted}}
    wanted = [f.strip().split(".")[0] for f in str(call.params.get("readMask", "")).split(",") if f.strip()]
    return {field: values[field] for field in wanted if field in values}


def _account_target(call, account_id):
    return f"accounts/{account_id}"


@core.endpoint(PARTNER, scope=MANAGE, methods=("GET",))
def account_locations(call, account_id):
    problem = _read_mask_missing(call)
    if problem:
        return problem
    mine, _ = _split(call.account.account_id)
    if account_id != mine:
        return PARTNER.caller_lacks_permission()
    if call.account.deleted:
        return _ok({})  # Google leaves the list out when it is empty
    return _ok({"locations": [_location_body(call, call.account)]})


def _location_target(call, location_id):
    return location_id


@core.endpoint(PARTNER, scope=MANAGE, target=_location_target, methods=("GET",))
def location(call, location_id):
    problem = _read_mask_missing(call)
    if problem:
        return problem
    _, mine = _split(call.account.account_id)
    if location_id != mine:
        return PARTNER.caller_lacks_permission()
    return _ok(_location_body(call, call.account))


# ---------------------------------------------------------------- local posts


def _posts_target(call, account_id, location_id, post_id=None):
    return _location_name(account_id, location_id)


def _wrong_location(call, account_id, location_id) -> Answer | None:
    if call.account.account_id != _location_name(account_id, location_id):
        return PARTNER.caller_lacks_permission()
    return None


def _public(post: SandboxObject) -> dict:
    return {key: value for key, value in post.data.items() if not key.startswith("_")}


@core.endpoint(PARTNER, scope=MANAGE, target=_posts_target)
def local_posts(call, account_id, location_id):
    wrong = _wrong_location(call, account_id, location_id)
    if wrong:
        return wrong
    if call.request.method == "GET":
        try:
            page_size = max(1, min(int(call.params.get("pageSize") or 20), 100))
            start = int(call.params.get("pageToken") or 0)
        except ValueError:
            return _invalid("page_token", "Invalid page token or size.")
        posts = list(SandboxObject.objects.filter(account=call.account, kind="local_post").order_by("-created_at"))
        body = {"localPosts": [_public(p) for p in posts[start:start + page_size]]} if posts else {}
        if start + page_size < len(posts):
            body["nextPageToken"] = str(start + page_size)
        return _ok(body)
    return _create_local_post(call, account_id, location_id)


def _create_local_post(call, account_id, location_id) -> Answer:
    data = call.data
    summary = str(data.get("summary") or "")
    media = [m for m in data.get("media") or [] if isinstance(m, dict)]
    topic = str(data.get("topicType") or "STANDARD")
    if not summary and not media:
        return _invalid("summary", "A post needs a summary or a photo.")
    if len(summary) > SUMMARY_MAX:
        return _invalid("summary", f"The summary is longer than {SUMMARY_MAX} characters.")
    if topic not in ("STANDARD", "EVENT", "OFFER", "ALERT"):
        return _invalid("topic_type", f"Invalid value at 'local_post.topic_type' ({topic}).")
    for item in media:
        if str(item.get("mediaFormat", "")).upper() == "VIDEO":
            # Seen at GBP: video on a local post fails with a bare INTERNAL, same body as an outage.
            return PARTNER.server_error(500)
        if not str(item.get("sourceUrl", "")).startswith(("http://", "https://")):
            return _status(400, "FAILED_PRECONDITION", "Precondition check failed.",
                           details=[_error_info("PHOTO_FETCH_FAILED", "mybusiness.googleapis.com")])
    post_id = str(secrets.randbelow(9 * 10**18) + 10**18)
    name = f"{_location_name(account_id, location_id)}/localPosts/{post_id}"
    now = _now()
    body = {
        "name": name,
        "languageCode": str(data.get("languageCode") or "en"),
        "summary": summary,
        "state": "PROCESSING" if media else ("REJECTED" if PHONE.search(summary) else "LIVE"),
        "updateTime": now,
        "createTime": now,
        "searchUrl": f"https://local.google.com/place?id={location_id}&use=posts&lpsid={post_id}",
        "topicType": topic,
    }
    if data.get("callToAction"):
        body["callToAction"] = data["callToAction"]
    if media:
        body["media"] = [{"name": f"{name}/media/{n}", "mediaFormat": "PHOTO",
                          "googleUrl": f"https://lh3.googleusercontent.com/p/sandbox-{post_id}-{n}"}
                         for n, _ in enumerate(media)]
    SandboxObject.objects.create(platform="gbp", account=call.account, object_id=name, kind="local_post",
                                 data={**body, "_final_state": "REJECTED" if PHONE.search(summary) else "LIVE"})
    return _ok(body)


def _invalid(field: str, message: str) -> Answer:
    return _status(400, "INVALID_ARGUMENT", "Request contains an invalid argument.",
                   errors=_legacy("Request contains an invalid argument.", "badRequest"),
                   details=[{"@type": "type.googleapis.com/google.mybusiness.v4.ValidationError",
                             "errorDetails": [{"code": 2, "field": field, "message": message}]}])


@core.endpoint(PARTNER, scope=MANAGE, target=_posts_target, methods=("GET",))
def local_post(call, account_id, location_id, post_id):
    wrong = _wrong_location(call, account_id, location_id)
    if wrong:
        return wrong
    name = f"{_location_name(account_id, location_id)}/localPosts/{post_id}"
    post = SandboxObject.objects.filter(platform="gbp", account=call.account, object_id=name).first()
    if post is None:
        return PARTNER.not_found(name, call.request)
    if post.data.get("state") == "PROCESSING":
        # Google processes the photo between two reads: the post is LIVE (or REJECTED) now.
        post.data.update(state=post.data.get("_final_state", "LIVE"), updateTime=_now())
        post.save(update_fields=["data"])
    return _ok(_public(post))


# ---------------------------------------------------------------- Pub/Sub push (notifications)


def certs(request):
    """Google's https://www.googleapis.com/oauth2/v3/certs, for the sandbox's push tokens."""
    response = JsonResponse(signing.jwks(PUSH_KEY))
    response["Cache-Control"] = "public, max-age=3600"
    return response


def push_token(audience: str, *, email: str = PUSH_SERVICE_ACCOUNT, lifetime_s: int = 3600,
               issuer: str = "https://accounts.google.com", key=None) -> str:
    """The OIDC JWT a Pub/Sub push subscription with authentication sends as its Bearer token."""
    now = int(time.time())
    claims = {"aud": audience, "azp": "113774264463038321964", "email": email, "email_verified": True,
              "exp": now + lifetime_s, "iat": now, "iss": issuer, "sub": "113774264463038321964"}
    return signing.sign(PUSH_KEY, claims, key=key)


def send_gbp_notification(url: str, notification_type: str, location_name: str, *, extra: dict | None = None,
                          audience: str | None = None, subscription: str = "projects/sandbox-project/subscriptions/gbp",
                          token: str | None = None) -> requests.Response:
    """A GBP notification as a Pub/Sub push: the envelope, signed with an OIDC token.

    - notification_type: GOOGLE_UPDATE, NEW_REVIEW, UPDATED_REVIEW, NEW_CUSTOMER_MEDIA, NEW_QUESTION,
      UPDATED_QUESTION, NEW_ANSWER, UPDATED_ANSWER, DUPLICATE_LOCATION, LOSS_OF_VOICE_OF_MERCHANT,
      VOICE_OF_MERCHANT_UPDATED.
    - The message data (base64 JSON) holds {"type", "location_name", ...extra}: the exact keys Google
      uses were not verified (docs/partners/sandbox.md).
    - audience: the token's `aud`, by default the push endpoint URL (Pub/Sub's default).
    - token: send this Bearer instead (e.g. a tampered one, to test a receiver refuses it).
    """
    data = {"type": notification_type, "location_name": location_name, **(extra or {})}
    message_id = str(secrets.randbelow(9 * 10**15) + 10**15)
    envelope = {
        "message": {
            "attributes": {"notificationType": notification_type},
            "data": base64.b64encode(json.dumps(data).encode()).decode(),
            "messageId": message_id,
            "message_id": message_id,
            "publishTime": timezone.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "publish_time": timezone.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
        "subscription": subscription,
    }
    bearer = token if token is not None else push_token(audience or url)
    return requests.post(url, data=json.dumps(envelope).encode(), timeout=(5, 10), headers={
        "Content-Type": "application/json",
        "Authorization": f"Bearer {bearer}",
        "User-Agent": "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)",
        "X-Goog-Pubsub-Delivery": str(uuid.uuid4()),
    })


ACCOUNT = r"(?P<account_id>[^/]+)"
LOCATION = r"(?P<location_id>[^/]+)"
urlpatterns = [
    path("o/oauth2/v2/auth", core.authorize_view(PARTNER), name="sandbox-gbp-authorize"),
    path("token", token),
    path("tokeninfo", tokeninfo),
    path("oauth2/v3/certs", certs, name="sandbox-gbp-certs"),
    path("v1/accounts", accounts),
    re_path(rf"^v1/accounts/{ACCOUNT}/locations$", account_locations),
    re_path(rf"^v1/locations/{LOCATION}$", location),
    re_path(rf"^v4/accounts/{ACCOUNT}/locations/{LOCATION}/localPosts$", local_posts),
    re_path(rf"^v4/accounts/{ACCOUNT}/locations/{LOCATION}/localPosts/(?P<post_id>[^/]+)$", local_post),
    re_path(r"^(?P<rest>.*)$", core.unknown_path_view(PARTNER)),
]
