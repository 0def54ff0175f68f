"""Sandbox LinkedIn: www.linkedin.com (OAuth) and api.linkedin.com (/v2 and versioned /rest).

Paths:
  GET  /oauth/v2/authorization          consent page (response_type, client_id, redirect_uri, state, scope)
  POST /oauth/v2/accessToken            grant_type=authorization_code | refresh_token
  POST /oauth/v2/introspectToken        client_id, client_secret, token -> {"active", "scope", ...}
  GET  /v2/userinfo                     OpenID userinfo (openid + profile)
  POST /rest/posts                      201, x-restli-id: urn:li:share:N (LinkedIn-Version required)
  GET  /rest/posts?q=author&author=URN  the author's posts
  POST /rest/images?action=initializeUpload, PUT /dms-uploads/<id>: image upload
  GET  /rest/organizations/<id>, GET /rest/organizationAcls?q=roleAssignee

  GET  /oauth/openid/jwks                the keys the id_token is signed with

Access tokens last 60 days; refresh tokens 365 days and a refresh does not extend them
(the same refresh token comes back with what is left of its life). A code granted with the
openid scope also brings an id_token (RS256, iss https://www.linkedin.com/oauth, aud the client
id; "Sign In with LinkedIn using OpenID Connect"). The member accepts all the requested scopes or
none: the consent page has no per-scope choice.

Versions (connections/platforms/versions.py): /rest calls need a LinkedIn-Version header,
YYYYMM or YYYYMM.RR; a version out of the rolling window (released, not yet sunset: the
migrations page's date, else the 15th a year after release) is 426 NONEXISTENT_VERSION.
A path the sandbox does not model is 404 "Resource ... does not exist".
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.http import JsonResponse
from django.urls import path, re_path
from django.utils import timezone

from connections.platforms import versions
from sandbox import core, signing
from sandbox.core import Answer
from sandbox.models import SandboxAccount, SandboxObject, SandboxToken

ORGANIZATION = "organization"
ID_TOKEN_KEY = "linkedin-openid"  # the sandbox.signing key of the id_token
ID_TOKEN_ISSUER = "https://www.linkedin.com/oauth"


def _body(status: int, message: str, service_code: int | None = None, code: str | None = None) -> dict:
    body = {"status": status}
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    if code:
        body["code"] = code
    body["message"] = message
    return body


def _resource(request) -> str:
    """LinkedIn names the resource in permission errors as METHOD /resource."""
    relative = request.path.split("/sandbox/linkedin", 1)[-1]
    relative = re.sub(r"^/(rest|v2)", "", relative)
    return f"{request.method} {relative}"


class LinkedInPartner(core.SandboxPartner):
    platform = "linkedin"
    display_name = "LinkedIn"
    redirect_uri_refused = "The redirect_uri does not match the registered value"
    access_prefix = "AQV"
    refresh_prefix = "AQX"
    access_ttl = timedelta(days=60)
    refresh_ttl = timedelta(days=365)
    has_refresh_tokens = True
    scope_separator = " "
    default_scopes = ["openid", "profile", "email", "w_member_social"]
    partial_grants = False  # members accept all requested scopes or none

    def client_id(self):
        return settings.LINKEDIN_CLIENT_ID

    def client_secret(self):
        return settings.LINKEDIN_CLIENT_SECRET

    def extra_headers(self):
        return {"x-li-uuid": secrets.token_urlsafe(16), "x-li-fabric": "prod-lor1",
                "x-li-request-id": secrets.token_hex(8).upper(), "X-RestLi-Protocol-Version": "2.0.0"}

    def denied_params(self):
        return {"error": "user_cancelled_authorize", "error_description": "The user cancelled the authorization"}

    def invalid_token(self):
        return Answer(401, _body(401, "Invalid access token", 65600))

    def expired_token(self):
        return Answer(401, _body(401, "The token used in the request has expired", 65602, "EXPIRED_ACCESS_TOKEN"))

    def revoked_token(self, fault):
        return Answer(401, _body(401, "The token used in the request has been revoked by the user", 65601,
                                 "REVOKED_ACCESS_TOKEN"))

    def missing_scope(self, scope, request):
        return Answer(403, _body(403, f"Not enough permissions to access: {_resource(request)}", 100, "ACCESS_DENIED"))

    def restricted(self):
        # LinkedIn documents no body for a restricted member or organization (docs/partners/errors.md,
        # "Known gaps"); the sandbox answers the ACCESS_DENIED shape LinkedIn uses for refusals.
        return Answer(403, _body(403, "Member is restricted from this action", 100, "ACCESS_DENIED"))

    def not_found(self, target, request):
        return Answer(404, _body(404, f"Not Found: {target}", None, "NOT_FOUND"))

    def bad_request(self):
        return Answer(400, _body(400, "Request body or parameters could not be read"))

    def unknown_path(self, request):
        relative = request.path.split("/sandbox/linkedin", 1)[-1]
        resource = re.sub(r"^/(rest|v2)/", "", relative).strip("/").split("/")[0] or relative
        return Answer(404, _body(404, f"Resource {resource} does not exist"))

    def server_error(self, status):
        if status == 504:
            return Answer(504, None)
        return Answer(status, _body(status, "Internal Server Error" if status == 500 else "Service Unavailable"))

    def rate_limited(self, fault, account):
        headers = {}
        if fault.params.get("retry_after") is not None:
            headers["Retry-After"] = str(fault.params["retry_after"])
        status = int(fault.params.get("status") or 429)
        return Answer(status, _body(status, "Resource level throttle limit for calls to this resource is reached.",
                                    101), headers)


PARTNER = core.register(LinkedInPartner())


def _oauth_error(status: int, error: str, description: str) -> Answer:
    return Answer(status, {"error": error, "error_description": description})


def _urn(account: SandboxAccount) -> str:
    kind = "organization" if account.account_type == ORGANIZATION else "person"
    return f"urn:li:{kind}:{account.account_id}"


def _version_problem(call) -> Answer | None:
    version = call.request.headers.get("LinkedIn-Version", "")
    if not version:
        return Answer(400, _body(400, "A version must be present. Please specify a version by adding the "
                                 "LinkedIn-Version header.", None, "VERSION_MISSING"))
    state = versions.lifecycle("linkedin", version, timezone.now().date())
    if state.status not in (versions.Status.ACTIVE, versions.Status.RETIRING):
        # LinkedIn names the version as a day: 202510 -> 20251001 (202510.01 -> 20251001.01).
        named = re.sub(r"^(\d{6})", r"\g<1>01", version)
        return Answer(426, _body(426, f"Requested version {named} is not active", None, "NONEXISTENT_VERSION"))
    return None


# ---------------------------------------------------------------- OAuth

@core.endpoint(PARTNER, auth=False, methods=("POST",))
def access_token(call):
    params = call.params
    if core.client_credentials(call) != (settings.LINKEDIN_CLIENT_ID, settings.LINKEDIN_CLIENT_SECRET):
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    grant = params.get("grant_type")
    if grant == "authorization_code":
        row, why = core.redeem_code("linkedin", params.get("code", ""), params.get("redirect_uri", ""))
        if row is None:
            if why in ("unknown", "used"):
                return _oauth_error(401, "invalid_request",
                                    "Unable to retrieve access token: authorization code not found")
            return _oauth_error(400, "invalid_redirect_uri",
                                "Unable to retrieve access token: appid/redirect uri/code verifier does not match "
                                "authorization code. Or authorization code expired. Or external member binding exists")
        call.load_faults(row.account)
        issued = core.issue_tokens("linkedin", row.account, row.scopes)
        answer = _token_answer(call, issued.access_token, issued.expires_in, issued.refresh_token,
                               issued.refresh_expires_in, row.scopes)
        if "openid" in row.scopes:
            answer.body["id_token"] = call.secret(_id_token(row.account, row.scopes))
        return answer
    if grant == "refresh_token":
        value = params.get("refresh_token", "")
        refresh = core.find_token("linkedin", value, kind=SandboxToken.Kind.REFRESH)
        dead = _oauth_error(400, "invalid_request",
                            "The provided authorization grant or refresh token is invalid, expired or revoked")
        if refresh is None:
            return dead
        call.load_faults(refresh.account)
        answer = call.transport_faults()
        if answer:
            return answer
        state, _ = core.token_state(refresh, [f for f in call.faults if f.kind != "expire_token"])
        if state != "ok":
            return dead
        scopes = core.effective_scopes(refresh, call.faults)
        issued = core.issue_tokens("linkedin", refresh.account, scopes, refresh=False)
        left = int((refresh.expires_at - timezone.now()).total_seconds()) if refresh.expires_at else None
        return _token_answer(call, issued.access_token, issued.expires_in, value, left, scopes)
    return _oauth_error(400, "unsupported_grant_type", "The grant_type is not supported")


def _token_answer(call, access, expires_in, refresh, refresh_expires_in, scopes) -> Answer:
    call.secret(access)
    call.secret(refresh)
    body = {"access_token": access, "expires_in": expires_in}
    if refresh:
        body.update(refresh_token=refresh, refresh_token_expires_in=refresh_expires_in)
    body["scope"] = ",".join(scopes)
    body["token_type"] = "Bearer"
    return Answer(200, body)


def _member_claims(account: SandboxAccount, scopes) -> dict:
    """The OpenID claims of a member: profile ones with the profile scope, email with email."""
    given, _, family = account.name.partition(" ")
    claims = {"sub": account.account_id}
    if "profile" in scopes:
        claims.update(name=account.name, given_name=given, family_name=family,
                      picture="https://media.licdn.com/dms/image/sandbox", locale="en_US")
    if "email" in scopes:
        claims.update(email=account.extra.get("email", f"{account.account_id}@example.com"), email_verified=True)
    return claims


def _id_token(account: SandboxAccount, scopes) -> str:
    now = int(timezone.now().timestamp())
    claims = {"iss": ID_TOKEN_ISSUER, "aud": settings.LINKEDIN_CLIENT_ID, "iat": now, "exp": now + 3600,
              **_member_claims(account, scopes)}
    return signing.sign(ID_TOKEN_KEY, claims)


def jwks(request):
    """www.linkedin.com/oauth/openid/jwks: the public keys of the id_token."""
    return JsonResponse(signing.jwks(ID_TOKEN_KEY))


@core.endpoint(PARTNER, auth=False, methods=("POST",))
def introspect(call):
    params = call.params
    if core.client_credentials(call) != (settings.LINKEDIN_CLIENT_ID, settings.LINKEDIN_CLIENT_SECRET):
        return _oauth_error(401, "invalid_client", "Client authentication failed")
    token = core.find_token("linkedin", params.get("token", ""))
    if token is None:
        return Answer(200, {"active": False})
    call.load_faults(token.account)
    state, _ = core.token_state(token, call.faults)
    body = {"active": state == "ok", "client_id": settings.LINKEDIN_CLIENT_ID,
            "authorized_at": int(token.created_at.timestamp()), "created_at": int(token.created_at.timestamp()),
            "status": {"ok": "active", "expired": "expired", "revoked": "revoked"}[state],
            "expires_at": int(token.expires_at.timestamp()) if token.expires_at else None,
            "scope": ",".join(core.effective_scopes(token, call.faults)), "auth_type": "3L"}
    return Answer(200, body)


# ---------------------------------------------------------------- API

@core.endpoint(PARTNER, scope="profile", methods=("GET",))
def userinfo(call):
    account = call.account
    given, _, family = account.name.partition(" ")
    body = {"sub": account.account_id, "email_verified": True, "name": account.name, "given_name": given,
            "family_name": family, "locale": {"country": "US", "language": "en"},
            "picture": "https://media.licdn.com/dms/image/sandbox"}
    if "email" in call.scopes:
        body["email"] = account.extra.get("email", f"{account.account_id}@example.com")
    return Answer(200, body)


def _author_target(call):
    author = call.data.get("author") or call.params.get("author", "")
    return author or None


@core.endpoint(PARTNER, target=_author_target)
def posts(call):
    problem = _version_problem(call)
    if problem:
        return problem
    account = call.account
    if call.request.method == "GET":
        missing = call.require_scope(("r_organization_social", "r_member_social"))
        if missing:
            return missing
        rows = SandboxObject.objects.filter(account=account, kind="post").order_by("-created_at")[:50]
        return Answer(200, {"elements": [{"id": r.object_id, "author": _urn(account), **r.data} for r in rows],
                            "paging": {"start": 0, "count": 50, "links": []}})
    scope = "w_organization_social" if account.account_type == ORGANIZATION else "w_member_social"
    missing = call.require_scope(scope)
    if missing:
        return missing
    body = call.data
    if body.get("author") != _urn(account):
        # Posting for an author the token does not act for: LinkedIn's refusal.
        return Answer(403, _body(403, "Field Value validation failed in REQUEST_BODY: Data Processing Exception "
                                 "while processing fields [/author]", 100))
    commentary = body.get("commentary", "")
    missing_fields = [f for f in ("commentary", "visibility", "distribution", "lifecycleState") if f not in body]
    if missing_fields:
        return Answer(422, {"errorDetailType": "com.linkedin.common.error.BadRequest",
                            "message": f"Missing required fields: {', '.join(missing_fields)}",
                            "errorDetails": {"inputErrors": [{"description": "Required field is missing",
                                                              "input": {"inputPath": {"fieldPath": f}},
                                                              "code": "FIELD_VALUE_MISSING"}
                                                             for f in missing_fields]}, "status": 422})
    since = timezone.now() - timedelta(hours=24)
    earlier = SandboxObject.objects.filter(account=account, kind="post", created_at__gte=since,
                                           data__commentary=commentary).first()
    if earlier and commentary:
        return Answer(422, {"errorDetailType": "com.linkedin.common.error.BadRequest",
                            "message": "com.linkedin.content.common.exception.BadRequestResponseException: Content "
                                       f"is a duplicate of {earlier.object_id}",
                            "errorDetails": {"inputErrors": [{"description": "Duplicate post is detected",
                                                              "input": {}, "code": "DUPLICATE_POST"}]},
                            "status": 422})
    media = (body.get("content") or {}).get("media") or {}
    if media.get("id") and not SandboxObject.objects.filter(account=account, kind="image",
                                                            object_id=media["id"], data__uploaded=True).exists():
        return Answer(400, _body(400, "com.linkedin.publishing.util.common.ResponseException: One or more of the "
                                 "assets is not owned by the author. All assets must be owned by the author"))
    urn = f"urn:li:share:{core.numeric_id(19, '7')}"
    SandboxObject.objects.create(platform="linkedin", account=account, object_id=urn, kind="post",
                                 data={"commentary": commentary, "content": body.get("content") or {},
                                       "visibility": body.get("visibility"),
                                       "createdAt": int(timezone.now().timestamp() * 1000)})
    return Answer(201, None, {"x-restli-id": urn, "x-linkedin-id": urn})


@core.endpoint(PARTNER, methods=("POST",))
def images(call):
    problem = _version_problem(call)
    if problem:
        return problem
    if call.params.get("action") != "initializeUpload":
        return Answer(400, _body(400, "Unsupported action"))
    missing = call.require_scope(("w_member_social", "w_organization_social"))
    if missing:
        return missing
    owner = (call.data.get("initializeUploadRequest") or {}).get("owner")
    if owner != _urn(call.account):
        return Answer(403, _body(403, "Not enough permissions to access: POST /images", 100, "ACCESS_DENIED"))
    image_urn = f"urn:li:image:D{secrets.token_hex(10).upper()}"
    SandboxObject.objects.create(platform="linkedin", account=call.account, object_id=image_urn, kind="image",
                                 data={"uploaded": False})
    upload_url = call.request.build_absolute_uri(f"/sandbox/linkedin/dms-uploads/{image_urn.rsplit(':', 1)[-1]}")
    expires = int((timezone.now() + timedelta(days=1)).timestamp() * 1000)
    return Answer(200, {"value": {"uploadUrlExpiresAt": expires, "uploadUrl": upload_url, "image": image_urn}})


@core.endpoint(PARTNER, methods=("PUT", "POST"))
def upload(call, image_id):
    image = SandboxObject.objects.filter(account=call.account, kind="image",
                                         object_id=f"urn:li:image:{image_id}").first()
    if image is None:
        return PARTNER.not_found(image_id, call.request)
    image.data.update(uploaded=True, bytes=len(call.request.body))
    image.save(update_fields=["data"])
    return Answer(201, None)


@core.endpoint(PARTNER, target="organization_id", methods=("GET",))
def organization(call, organization_id):
    problem = _version_problem(call)
    if problem:
        return problem
    account = SandboxAccount.objects.filter(platform="linkedin", account_id=organization_id,
                                            account_type=ORGANIZATION, deleted=False).first()
    if account is None:
        return PARTNER.not_found(organization_id, call.request)
    return Answer(200, {"id": int(organization_id) if organization_id.isdigit() else organization_id,
                        "localizedName": account.name, "vanityName": account.extra.get("vanity_name", ""),
                        "name": {"localized": {"en_US": account.name},
                                 "preferredLocale": {"country": "US", "language": "en"}}})


@core.endpoint(PARTNER, scope=("rw_organization_admin", "r_organization_admin"), methods=("GET",))
def organization_acls(call):
    problem = _version_problem(call)
    if problem:
        return problem
    account = call.account
    elements = []
    if account.account_type == ORGANIZATION:
        elements.append({"organization": _urn(account), "role": "ADMINISTRATOR", "state": "APPROVED",
                         "roleAssignee": "urn:li:person:sandbox-admin"})
    return Answer(200, {"elements": elements, "paging": {"start": 0, "count": 10, "links": []}})


urlpatterns = [
    path("oauth/v2/authorization", core.authorize_view(PARTNER), name="sandbox-linkedin-authorize"),
    path("oauth/openid/jwks", jwks, name="sandbox-linkedin-jwks"),
    path("oauth/v2/accessToken", access_token),
    path("oauth/v2/introspectToken", introspect),
    path("v2/userinfo", userinfo),
    path("rest/posts", posts),
    path("rest/images", images),
    path("dms-uploads/<str:image_id>", upload),
    path("rest/organizationAcls", organization_acls),
    re_path(r"^rest/organizations/(?P<organization_id>[^/]+)$", organization),
    re_path(r"^(?P<rest>.*)$", core.unknown_path_view(PARTNER)),
]

