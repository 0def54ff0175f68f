"""LinkedIn connector: member and organization posts through the versioned Posts API.

Partner facts (hosts from partner_base_url; LinkedIn-Version from versions.version_in_use("linkedin")):
- Authorization: {oauth}/oauth/v2/authorization?response_type=code&client_id&redirect_uri&state
  &scope=<space list>. LinkedIn has no account hint: the signed-in member decides.
- Tokens: POST {oauth}/oauth/v2/accessToken (form) grant_type=authorization_code, code, redirect_uri,
  client_id, client_secret -> {"access_token", "expires_in" (60 days), "refresh_token",
  "refresh_token_expires_in" (365 days), "scope"}; grant_type=refresh_token renews the access token
  (refresh tokens exist for approved apps only, and a refresh does not extend their life).
- Scopes of a token: POST {oauth}/oauth/v2/introspectToken client_id, client_secret, token.
- Member: GET {api}/v2/userinfo (OpenID; scopes openid profile) -> {"sub", "name", ...};
  author URN urn:li:person:<sub>. This is the health ping for members.
- Organization: GET {api}/rest/organizations/<id> (ping); GET {api}/rest/organizationAcls
  ?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED lists the organizations the member administers.
- Post: POST {api}/rest/posts, headers LinkedIn-Version: YYYYMM and X-Restli-Protocol-Version: 2.0.0,
  {"author", "commentary", "visibility": "PUBLIC", "distribution": {"feedDistribution": "MAIN_FEED",
  "targetEntities": [], "thirdPartyDistributionChannels": []}, "lifecycleState": "PUBLISHED",
  "isReshareDisabledByAuthor": false[, "content": {"article": {...}} | {"media": {"id": image URN}}]}
  -> 201 with the post URN in the x-restli-id header.
- Image: POST {api}/rest/images?action=initializeUpload {"initializeUploadRequest": {"owner"}}
  -> {"value": {"uploadUrl", "image"}}; PUT the bytes to uploadUrl; then post with content.media.
- Errors: {"status", "serviceErrorCode", "code", "message"}; OAuth errors {"error", "error_description"}.
Reading back a member's own posts needs a restricted permission, so no post lookup.
"""

from __future__ import annotations

from urllib.parse import urlencode

import requests
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
    partner_timeouts,
    seconds_from_now,
)

ORGANIZATION = "organization"
SCOPES = {
    "person": ["openid", "profile", "email", "w_member_social"],
    ORGANIZATION: ["openid", "profile", "rw_organization_admin", "w_organization_social"],
}
SUPPORTED_KINDS = {"text", "image"}


def _api(path: str) -> str:
    return f"{partner_base_url('linkedin', 'api')}/{path.lstrip('/')}"


def _oauth(path: str) -> str:
    return f"{partner_base_url('linkedin', 'oauth')}/{path.lstrip('/')}"


def _rest_headers() -> dict:
    return {"LinkedIn-Version": versions.version_in_use("linkedin"), "X-Restli-Protocol-Version": "2.0.0"}


def _token_set(body: dict, refresh_fallback: str = "") -> TokenSet:
    return TokenSet(
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token") or refresh_fallback,
        expires_at=seconds_from_now(body.get("expires_in")),
        refresh_expires_at=seconds_from_now(body.get("refresh_token_expires_in")),
        scopes=[s for s in str(body.get("scope", "")).replace(" ", ",").split(",") if s],
    )


class LinkedInConnector(Connector):
    platform = "linkedin"
    supports_post_lookup = False
    kinds = frozenset(SUPPORTED_KINDS)

    @classmethod
    def default_scopes(cls, account_type: str = "") -> list[str]:
        return list(SCOPES[ORGANIZATION if account_type == ORGANIZATION else "person"])

    # ------------------------------------------------------------ OAuth

    @classmethod
    def authorize_url(cls, *, state, redirect_uri, scopes, account_hint=""):
        query = urlencode({
            "response_type": "code",
            "client_id": settings.LINKEDIN_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": " ".join(scopes),
        })
        return f"{_oauth('oauth/v2/authorization')}?{query}"

    @classmethod
    def exchange_code(cls, *, code, redirect_uri):
        body = cls._request("POST", _oauth("oauth/v2/accessToken"), data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": settings.LINKEDIN_CLIENT_ID,
            "client_secret": settings.LINKEDIN_CLIENT_SECRET,
        }).body
        return _token_set(body)

    def refresh(self) -> TokenSet:
        body = self._request("POST", _oauth("oauth/v2/accessToken"), context="refresh", data={
            "grant_type": "refresh_token",
            "refresh_token": self.connection.refresh_token,
            "client_id": settings.LINKEDIN_CLIENT_ID,
            "client_secret": settings.LINKEDIN_CLIENT_SECRET,
        }).body
        tokens = _token_set(body, refresh_fallback=self.connection.refresh_token)
        if tokens.refresh_expires_at is None:
            tokens.refresh_expires_at = self.connection.refresh_token_expires_at
        return tokens

    # ------------------------------------------------------------ account

    @property
    def _is_organization(self) -> bool:
        return self.connection.account_type == ORGANIZATION

    @property
    def author_urn(self) -> str:
        kind = "organization" if self._is_organization else "person"
        return f"urn:li:{kind}:{self.connection.external_account_id}"

    def granted_scopes(self) -> list[str]:
        body = self._request("POST", _oauth("oauth/v2/introspectToken"), data={
            "client_id": settings.LINKEDIN_CLIENT_ID,
            "client_secret": settings.LINKEDIN_CLIENT_SECRET,
            "token": self.connection.access_token,
        }).body
        return [s for s in str(body.get("scope", "")).split(",") if s] if body.get("active") else []

    def _organization(self, organization_id: str) -> AccountInfo:
        body = self._request("GET", _api(f"rest/organizations/{organization_id}"), token=self.connection.access_token,
                             headers=_rest_headers()).body
        return AccountInfo(account_id=str(body["id"]), name=body.get("localizedName", ""))

    def account_info(self) -> AccountInfo:
        if self._is_organization:
            acls = self._request(
                "GET", _api("rest/organizationAcls"), token=self.connection.access_token, headers=_rest_headers(),
                params={"q": "roleAssignee", "role": "ADMINISTRATOR", "state": "APPROVED"},
            ).body.get("elements", [])
            ids = [acl["organization"].rsplit(":", 1)[-1] for acl in acls if acl.get("organization")]
            if not ids:
                raise PartnerError("linkedin", 200, {"elements": acls})  # the member administers none
            wanted = self.connection.external_account_id
            info = self._organization(wanted if wanted in ids else ids[0])
        else:
            body = self._request("GET", _api("v2/userinfo"), token=self.connection.access_token).body
            info = AccountInfo(account_id=body["sub"], name=body.get("name", ""))
        info.scopes = self.granted_scopes()
        return info

    def ping(self) -> AccountInfo:
        if self._is_organization:
            return self._organization(self.connection.external_account_id)
        body = self._request("GET", _api("v2/userinfo"), token=self.connection.access_token).body
        return AccountInfo(account_id=body["sub"], name=body.get("name", ""))

    # ------------------------------------------------------------ publishing

    def publish(self, post) -> PublishResult:
        if post.kind not in SUPPORTED_KINDS:
            raise PostRefused("linkedin", f"LinkedIn {post.kind} posts cannot be published from this app yet.")
        payload = {
            "author": self.author_urn,
            "commentary": post.content,
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        media = post.media or []
        if post.kind == "image":
            item = next((m for m in media if m.get("url") and m.get("type", "image") == "image"), None)
            if item is None:
                raise PostRefused("linkedin", "An image post needs an image URL.", code="VALIDATION_ERROR")
            payload["content"] = {"media": {"id": self._upload_image(item["url"]),
                                            "altText": item.get("alt", "")[:4086]}}
        else:
            link = next((m for m in media if m.get("type") == "link" and m.get("url")), None)
            if link:
                payload["content"] = {"article": {"source": link["url"], "title": link.get("title") or link["url"]}}
        response = self._request("POST", _api("rest/posts"), token=self.connection.access_token,
                                 headers=_rest_headers(), json=payload, expect_object=False)
        folded = {k.lower(): v for k, v in response.headers.items()}
        urn = folded.get("x-restli-id", "")
        if not urn:
            # LinkedIn names the new post only in this header: a 2xx without it is not LinkedIn's answer.
            raise PartnerError("linkedin", response.status, response.body, response.headers)
        return PublishResult(partner_post_id=urn, url=f"https://www.linkedin.com/feed/update/{urn}/")

    def _upload_image(self, media_url: str) -> str:
        """Register an upload, fetch the image from our media URL, PUT it to LinkedIn; the image URN."""
        value = self._request(
            "POST", _api("rest/images"), token=self.connection.access_token, headers=_rest_headers(),
            params={"action": "initializeUpload"}, json={"initializeUploadRequest": {"owner": self.author_urn}},
        ).body["value"]
        # Our own media store, not the partner: a failure here is a requests exception (no token sent).
        source = requests.get(media_url, timeout=partner_timeouts())
        source.raise_for_status()
        self._request("PUT", value["uploadUrl"], token=self.connection.access_token, data=source.content,
                      headers={"Content-Type": source.headers.get("Content-Type", "application/octet-stream")},
                      expect_object=False)
        return value["image"]


CONNECTOR = LinkedInConnector
