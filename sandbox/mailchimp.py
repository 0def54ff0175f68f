"""Sandbox Mailchimp: the Marketing API 3.0 (https://<dc>.api.mailchimp.com), its OAuth endpoints
(login.mailchimp.com) and its webhooks.

Paths (the prefix /sandbox/mailchimp stands for both hosts; their paths do not collide):
  GET       /oauth2/authorize                    consent page (response_type=code, client_id, redirect_uri, state)
  POST      /oauth2/token                        code -> {"access_token", "expires_in": 0, "scope": null}
  GET       /oauth2/metadata                     Authorization: OAuth <token> -> dc, api_endpoint, accountname
  GET       /3.0/ping                            {"health_status": "Everything's Chimpy!"}
  GET       /3.0/                                the account (root)
  GET       /3.0/lists, /3.0/lists/{list_id}     audiences
  GET|POST  /3.0/campaigns                       list (list_id, status, since_create_time, count) | create
  GET       /3.0/campaigns/{id}
  GET|PUT   /3.0/campaigns/{id}/content          html
  POST      /3.0/campaigns/{id}/actions/send     204
  POST      /3.0/campaigns/{id}/actions/schedule {"schedule_time"} on a quarter hour -> 204

Rules it keeps, as Mailchimp does:
- Errors are RFC 7807 problem+json {"type", "title", "status", "detail", "instance"} with
  Mailchimp's glossary titles; validation adds errors[{field, message}].
- OAuth tokens never expire (expires_in 0) and there is no refresh token. A revoked or deleted
  token is "API Key Invalid" (401): Mailchimp has no distinct expired or revoked answer, so the
  expire_token and revoke_token faults both answer that.
- Mailchimp has no scopes: a remove_scope fault stands for the user's role losing access
  (403 Forbidden "You are not permitted to access this resource.").
- restrict_account: 503 "Compliance Related" "This method has been disabled." (not transient);
  delete_target: 404 "Resource Not Found" for the audience (no webhook announces it);
  rate_limit: 429 "Too Many Requests" (10 simultaneous connections); server_error(500) is
  "Internal Server Error", 502/503/504 the edge's HTML page (not a problem body).
- Sending needs a subject, from name, reply-to and content: otherwise 400 "Bad Request"
  "Your Campaign is not ready to send.". Scheduling needs a future quarter hour.

Simplification: a sandbox account is one audience (the Connection's external_account_id is its
list id) and a token belongs to it; at Mailchimp a token is the whole account's. The
account's datacenter is extra["dc"] (default us19).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from datetime import timezone as dt_timezone
from functools import wraps
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.urls import path, re_path
from django.utils import timezone

from sandbox import core
from sandbox import faults as F
from sandbox.core import Answer
from sandbox.models import SandboxObject

PROBLEM = "application/problem+json; charset=utf-8"
ERRORS_DOC = "https://mailchimp.com/developer/marketing/docs/errors/"
DEFAULT_DC = "us19"
CAMPAIGN_TYPES = ("regular", "plaintext", "absplit", "rss", "variate")
SENT_STATUSES = ("sending", "sent")


def _problem(status: int, title: str, detail: str, *, errors=None, headers=None) -> Answer:
    body = {"type": ERRORS_DOC, "title": title, "status": status, "detail": detail, "instance": str(uuid.uuid4())}
    if errors is not None:
        body["errors"] = errors
    link = f'<https://{DEFAULT_DC}.api.mailchimp.com/schema/3.0/ProblemDetailDocument.json>; rel="describedBy"'
    return Answer(status, body, {"Link": link, **(headers or {})}, content_type=PROBLEM)


def _edge_page(status: int, reason: str) -> Answer:
    """What Mailchimp's edge (not the API) answers when the API behind it is down."""
    html = (f"<HTML><HEAD><TITLE>{reason}</TITLE></HEAD><BODY><H1>{reason}</H1>The server is temporarily "
            f"unable to service your request. Please try again later.<P>Reference&#32;&#35;{secrets.token_hex(8)}"
            "</BODY></HTML>")
    return Answer(status, html, content_type="text/html")


API_KEY_INVALID = "Your API key may be invalid, or you've attempted to access the wrong datacenter."


class MailchimpPartner(core.SandboxPartner):
    platform = "mailchimp"
    display_name = "Mailchimp"
    access_prefix = ""
    access_ttl = None  # Mailchimp OAuth tokens never expire
    has_refresh_tokens = False
    scope_separator = " "
    hint_param = None  # Mailchimp's authorize page takes no account hint
    default_scopes: list[str] = []

    def client_id(self):
        return settings.MAILCHIMP_CLIENT_ID

    def client_secret(self):
        return settings.MAILCHIMP_CLIENT_SECRET

    def extra_headers(self):
        return {"X-Request-Id": str(uuid.uuid4()), "Server": "openresty"}

    def denied_params(self):
        return {"error": "access_denied"}

    def invalid_token(self):
        return _problem(401, "API Key Invalid", API_KEY_INVALID)

    def expired_token(self):
        return self.invalid_token()  # tokens never expire: a dead one is just invalid

    def revoked_token(self, fault):
        return self.invalid_token()  # no distinct revoked answer either

    def missing_scope(self, scope, request):
        return _problem(403, "Forbidden", "You are not permitted to access this resource.")

    def restricted(self):
        return _problem(503, "Compliance Related", "This method has been disabled.")

    def not_found(self, target, request):
        if target == request.path:  # core's answer to a method the path does not take
            return self.method_not_allowed()
        return _problem(404, "Resource Not Found", "The requested resource could not be found.")

    def unknown_path(self, request):
        return _problem(404, "Resource Not Found", "The requested resource could not be found.")

    def method_not_allowed(self):
        return _problem(405, "Method Not Allowed", "The requested method and resource are not compatible. See the "
                        "Allow header for this resource's available methods.")

    def bad_request(self):
        return _problem(400, "JSON Parse Error", "We encountered an unspecified JSON parsing error.")

    def server_error(self, status):
        if status == 500:
            return _problem(500, "Internal Server Error", "An unexpected internal error has occurred. Please "
                            "contact Support for more information.")
        reasons = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out"}
        return _edge_page(status, reasons.get(status, "Service Unavailable"))

    def rate_limited(self, fault, account):
        headers = {}
        if fault.params.get("retry_after") is not None:
            headers["Retry-After"] = str(fault.params["retry_after"])
        return _problem(429, "Too Many Requests", "You have exceeded the limit of 10 simultaneous connections.",
                        headers=headers)

    def oauth_error(self, status: int, error: str, description: str) -> Answer:
        return Answer(status, {"error": error, "error_description": description})


PARTNER = core.register(MailchimpPartner())


def _ok(body, status=200) -> Answer:
    return Answer(status, body)


def _dc(account) -> str:
    return (account.extra or {}).get("dc", DEFAULT_DC)


def _role_lost(call) -> Answer | None:
    """Mailchimp has no scopes: a remove_scope fault set after the token was issued stands for
    the user's role losing access, and every call answers 403 Forbidden."""
    for fault in call.faults:
        if fault.kind == F.REMOVE_SCOPE and call.token is not None and fault.created_at >= call.token.created_at:
            F.consume(fault)
            answer = PARTNER.missing_scope(fault.params.get("scope", ""), call.request)
            answer.fault = F.REMOVE_SCOPE
            return answer
    return None


def api(**options):
    """core.endpoint for the Marketing API (3.0): a lost role answers every call, after the
    faults core applies and before the view."""

    def decorate(view):
        @wraps(view)
        def checked(call, **kwargs):
            return _role_lost(call) or view(call, **kwargs)

        return core.endpoint(PARTNER, **options)(checked)

    return decorate


def _timestamp(value: datetime | None = None) -> str:
    return (value or timezone.now()).astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


# ---------------------------------------------------------------- OAuth


@core.endpoint(PARTNER, auth=False, methods=("POST",))
def token(call):
    params = call.params
    if core.client_credentials(call) != (settings.MAILCHIMP_CLIENT_ID, settings.MAILCHIMP_CLIENT_SECRET):
        return PARTNER.oauth_error(401, "invalid_client", "Invalid client credentials")
    if params.get("grant_type") != "authorization_code":
        return PARTNER.oauth_error(400, "unsupported_grant_type", "Only authorization_code is supported")
    row, why = core.redeem_code("mailchimp", call.secret(params.get("code", "")), params.get("redirect_uri", ""))
    if row is None:
        if why == "redirect_uri":
            return PARTNER.oauth_error(400, "invalid_grant", "Invalid redirect_uri")
        return PARTNER.oauth_error(400, "invalid_grant", "Invalid authorization code")
    call.load_faults(row.account)
    issued = core.issue_tokens("mailchimp", row.account, [])
    call.secret(issued.access_token)
    return _ok({"access_token": issued.access_token, "expires_in": 0, "scope": None})


@core.endpoint(PARTNER, auth=False, methods=("GET",))
def metadata(call):
    """Who the token is and where its data lives. Answers like login.mailchimp.com: an OAuth error body."""
    found = core.find_token("mailchimp", call.secret(PARTNER.bearer_token(call.request)))
    if found is None:
        return PARTNER.oauth_error(401, "invalid_token", "Invalid token")
    call.load_faults(found.account)
    state, _ = core.token_state(found, call.faults)
    if state != "ok":
        return PARTNER.oauth_error(401, "invalid_token", "Invalid token")
    account = found.account
    dc = _dc(account)
    return _ok({
        "dc": dc,
        "role": "owner",
        "accountname": account.extra.get("account_name", account.name),
        "user_id": int(account.extra.get("user_id", 10000001)),
        "login": {"email": account.extra.get("email", "owner@example.com"), "avatar": None,
                  "login_id": int(account.extra.get("user_id", 10000001)),
                  "login_name": account.extra.get("login_name", "owner"),
                  "login_email": account.extra.get("email", "owner@example.com")},
        "login_url": "https://login.mailchimp.com",
        "api_endpoint": f"https://{dc}.api.mailchimp.com",
    })


# ---------------------------------------------------------------- account and audiences


@api(methods=("GET",))
def ping(call):
    return _ok({"health_status": "Everything's Chimpy!"})


@api(methods=("GET",))
def root(call):
    account = call.account
    return _ok({
        "account_id": account.extra.get("account_id", "8d3a3db4d97663a9074efcc16"),
        "login_id": str(account.extra.get("user_id", 10000001)),
        "account_name": account.extra.get("account_name", account.name),
        "email": account.extra.get("email", "owner@example.com"),
        "role": "owner",
        "pricing_plan_type": "monthly",
        "total_subscribers": account.extra.get("member_count", 1200),
    })


def _list_body(account) -> dict:
    return {
        "id": account.account_id,
        "web_id": int(account.extra.get("web_id", 100001)),
        "name": account.name,
        "campaign_defaults": {
            "from_name": account.extra.get("from_name", account.name),
            "from_email": account.extra.get("from_email", "news@example.com"),
            "subject": "",
            "language": "en",
        },
        "date_created": _timestamp(account.created_at),
        "stats": {"member_count": account.extra.get("member_count", 1200), "unsubscribe_count": 0},
    }


@api(methods=("GET",))
def lists(call):
    audiences = [] if call.account.deleted else [_list_body(call.account)]
    return _ok({"lists": audiences, "total_items": len(audiences)})


def _list_target(call, list_id):
    return list_id


@api(target=_list_target, methods=("GET",))
def audience(call, list_id):
    if list_id != call.account.account_id:
        return PARTNER.not_found(list_id, call.request)
    return _ok(_list_body(call.account))


# ---------------------------------------------------------------- campaigns


def _campaign_body(campaign: SandboxObject) -> dict:
    return {key: value for key, value in campaign.data.items() if not key.startswith("_")}


def _campaign(call, campaign_id) -> SandboxObject | None:
    return SandboxObject.objects.filter(platform="mailchimp", account=call.account, object_id=campaign_id,
                                        kind="campaign").first()


def _campaigns_target(call):
    # Creating a campaign names its audience: a deleted audience is a 404.
    if call.request.method == "POST":
        return (call.data.get("recipients") or {}).get("list_id") or None
    return None


@api(target=_campaigns_target)
def campaigns(call):
    if call.request.method == "GET":
        rows = SandboxObject.objects.filter(platform="mailchimp", account=call.account, kind="campaign")
        params = call.params
        found = []
        for row in rows.order_by("-created_at"):
            data = row.data
            if params.get("list_id") and data["recipients"]["list_id"] != params["list_id"]:
                continue
            if params.get("status") and data["status"] != params["status"]:
                continue
            if params.get("since_create_time") and data["create_time"] < params["since_create_time"]:
                continue
            found.append(_campaign_body(row))
        count = max(1, min(int(params.get("count") or 10), 1000))
        offset = int(params.get("offset") or 0)
        return _ok({"campaigns": found[offset:offset + count], "total_items": len(found)})
    return _create_campaign(call)


def _create_campaign(call) -> Answer:
    data = call.json
    if not isinstance(data, dict):
        return PARTNER.bad_request()
    kind = data.get("type")
    if kind not in CAMPAIGN_TYPES:
        return _problem(400, "Invalid Resource", "The resource submitted could not be validated. For field-specific "
                        "details, see the 'errors' array.",
                        errors=[{"field": "type", "message": "Data did not match any of the schemas described in "
                                 "anyOf."}])
    list_id = (data.get("recipients") or {}).get("list_id", "")
    if list_id and list_id != call.account.account_id:
        return PARTNER.not_found(list_id, call.request)
    settings_in = data.get("settings") or {}
    campaign_id = secrets.token_hex(5)
    web_id = secrets.randbelow(9 * 10**6) + 10**6
    body = {
        "id": campaign_id,
        "web_id": web_id,
        "type": kind,
        "create_time": _timestamp(),
        "archive_url": f"http://eepurl.com/sandbox{campaign_id}",
        "long_archive_url": f"https://{_dc(call.account)}.campaign-archive.com/?u=sandbox&id={campaign_id}",
        "status": "save",
        "emails_sent": 0,
        "send_time": "",
        "content_type": "template",
        "recipients": {"list_id": list_id, "list_is_active": bool(list_id),
                       "list_name": call.account.name if list_id else "", "recipient_count": 0},
        "settings": {
            "subject_line": settings_in.get("subject_line", ""),
            "preview_text": settings_in.get("preview_text", ""),
            "title": settings_in.get("title", ""),
            "from_name": settings_in.get("from_name", ""),
            "reply_to": settings_in.get("reply_to", ""),
            "to_name": settings_in.get("to_name", ""),
        },
    }
    SandboxObject.objects.create(platform="mailchimp", account=call.account, object_id=campaign_id,
                                 kind="campaign", data={**body, "_html": ""})
    return _ok(body)


@api(methods=("GET",))
def campaign(call, campaign_id):
    row = _campaign(call, campaign_id)
    return _ok(_campaign_body(row)) if row else PARTNER.not_found(campaign_id, call.request)


@api(methods=("GET", "PUT"))
def campaign_content(call, campaign_id):
    row = _campaign(call, campaign_id)
    if row is None:
        return PARTNER.not_found(campaign_id, call.request)
    if call.request.method == "PUT":
        data = call.data
        if row.data["status"] in SENT_STATUSES:
            return _problem(400, "Bad Request", "Cannot update the content of a campaign that has been sent.")
        html = data.get("html") or data.get("plain_text") or ""
        row.data["_html"] = html
        row.save(update_fields=["data"])
    html = row.data.get("_html", "")
    return _ok({"plain_text": "", "html": html, "archive_html": html})


def _not_ready(row: SandboxObject) -> bool:
    settings_ = row.data["settings"]
    return not (settings_.get("subject_line") and settings_.get("from_name") and settings_.get("reply_to")
                and row.data.get("_html") and row.data["recipients"].get("list_id"))


@api(methods=("POST",))
def campaign_send(call, campaign_id):
    row = _campaign(call, campaign_id)
    if row is None:
        return PARTNER.not_found(campaign_id, call.request)
    if row.data["status"] in SENT_STATUSES:
        return _problem(400, "Bad Request", "This campaign has already been sent.")
    if _not_ready(row):
        return _problem(400, "Bad Request", "Your Campaign is not ready to send.")
    row.data.update(status="sent", send_time=_timestamp(), emails_sent=call.account.extra.get("member_count", 1200))
    row.save(update_fields=["data"])
    return Answer(204, None)


@api(methods=("POST",))
def campaign_schedule(call, campaign_id):
    row = _campaign(call, campaign_id)
    if row is None:
        return PARTNER.not_found(campaign_id, call.request)
    raw = str(call.data.get("schedule_time", ""))
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return _problem(400, "Invalid Resource", "The resource submitted could not be validated. For field-specific "
                        "details, see the 'errors' array.",
                        errors=[{"field": "schedule_time", "message": "Schema describes string, NULL found instead"}])
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt_timezone.utc)
    if when.minute % 15 or when.second or when <= timezone.now() or _not_ready(row) or \
            row.data["status"] in SENT_STATUSES:
        return _problem(400, "Bad Request", "This campaign cannot be scheduled: .")
    row.data.update(status="schedule", send_time=_timestamp(when))
    row.save(update_fields=["data"])
    return Answer(204, None)


# ---------------------------------------------------------------- webhooks


def _flatten(prefix: str, value, out: list) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}[{key}]", inner, out)
    else:
        out.append((prefix, "" if value is None else str(value)))


def send_mailchimp_event(url: str, event_type: str, data: dict, *, fired_at: datetime | None = None) -> requests.Response:
    """A Mailchimp audience webhook: a form POST of type, fired_at ("Y-m-d H:i:s", UTC) and data[...].

    Event types: subscribe, unsubscribe (data[action]=unsub|delete, data[reason]), profile, upemail,
    cleaned (data[reason]=hard|abuse), campaign (data[status], data[id], data[subject]).
    Mailchimp signs nothing: the receiver's only check is the secret it put in `url`.
    """
    fields = [("type", event_type), ("fired_at", (fired_at or timezone.now()).astimezone(dt_timezone.utc)
                                     .strftime("%Y-%m-%d %H:%M:%S"))]
    _flatten("data", data, fields)
    return requests.post(url, data=urlencode(fields), timeout=(5, 10), headers={
        "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "MailChimp"})


def mailchimp_check_url(url: str) -> requests.Response:
    """The GET Mailchimp sends when a webhook is created: anything but a 2xx and creation fails
    ("We couldn't verify the URL is working. Please double check and try again. HTTP Code: NNN")."""
    return requests.get(url, timeout=(5, 10), headers={"User-Agent": "MailChimp.com WebHook Validator"})


CAMPAIGN = r"(?P<campaign_id>[0-9a-f]+)"
urlpatterns = [
    path("oauth2/authorize", core.authorize_view(PARTNER), name="sandbox-mailchimp-authorize"),
    path("oauth2/token", token),
    path("oauth2/metadata", metadata),
    path("3.0/ping", ping),
    path("3.0/", root),
    path("3.0/lists", lists),
    re_path(r"^3\.0/lists/(?P<list_id>[^/]+)$", audience),
    path("3.0/campaigns", campaigns),
    re_path(rf"^3\.0/campaigns/{CAMPAIGN}$", campaign),
    re_path(rf"^3\.0/campaigns/{CAMPAIGN}/content$", campaign_content),
    re_path(rf"^3\.0/campaigns/{CAMPAIGN}/actions/send$", campaign_send),
    re_path(rf"^3\.0/campaigns/{CAMPAIGN}/actions/schedule$", campaign_schedule),
    re_path(r"^(?P<rest>.*)$", core.unknown_path_view(PARTNER)),
]
