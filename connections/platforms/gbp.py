"""Google Business Profile connector: local posts on one location, over the v4 API.

Partner facts (hosts from partner_base_url; the sandbox serves them all under /sandbox/gbp):
- Consent: {oauth}/o/oauth2/v2/auth?client_id&redirect_uri&response_type=code&scope=<space list>
  &state&access_type=offline (a refresh token)&prompt=consent (a refresh token every time, and the
  scopes shown again)&include_granted_scopes=true (keep what was granted before)&login_hint=<the Google
  account's email address or sub>. login_hint names the Google user, never a location: a hint of
  another shape (a location name) is left out, so Google shows its account chooser.
- Code exchange: POST {token}/token grant_type=authorization_code, code, redirect_uri, client_id,
  client_secret -> {"access_token", "expires_in": 3599, "refresh_token", "scope", "token_type"}.
- Refresh: POST {token}/token grant_type=refresh_token -> a new access token (the refresh token
  stays; Google sends a new one only rarely, and we keep whichever is newest). A dead refresh
  token is {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}:
  Google's only revocation signal.
- Scopes of a token: POST {token}/tokeninfo access_token=<token> (in the form body, never the URL);
  with the `email` scope it also names the signed-in Google account ("email"), our login_hint.
- Accounts: GET {accounts}/v1/accounts; locations: GET {info}/v1/accounts/{a}/locations?readMask=name,title
  (v4's own accounts and locations methods answer "Method not found." since their migration).
- Local posts: POST {api}/v4/accounts/{a}/locations/{l}/localPosts {"languageCode", "summary",
  "topicType": "STANDARD", "media": [{"mediaFormat": "PHOTO", "sourceUrl"}], "callToAction"?}
  -> the LocalPost. HTTP 200 is not "published": `state` is PROCESSING, LIVE or REJECTED;
  GET .../localPosts/{p} reads it again, GET .../localPosts lists them (pageSize, pageToken).
- Health ping: GET .../localPosts?pageSize=1 on the connection's location: authenticated, and it
  fails as NOT_FOUND when the location is gone, which a plain accounts call would not notice.
- Errors: google.rpc.Status {"error": {"code", "message", "status", "details", "errors"}}.

The connection's external_account_id is the location's v4 name, "accounts/{a}/locations/{l}".
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
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

SCOPE = "https://www.googleapis.com/auth/business.manage"
# The signed-in Google account's email address in tokeninfo: stored at connect time, sent as login_hint on a reconnect.
EMAIL_SCOPE = "email"
SUPPORTED_KINDS = {"text", "image"}
# PROCESSING -> LIVE or REJECTED: read the post again this many times, waiting a little longer each time.
STATE_POLLS = 5
STATE_POLL_INTERVAL_S = 0.5
_LOCATION = re.compile(r"^accounts/(?P<account>[^/]+)/locations/(?P<location>[^/]+)$")
# What Google's login_hint takes: an email address, or the account's `sub` (its numeric Google ID).
_LOGIN_HINT = re.compile(r"^(?:[^@\s]+@[^@\s]+\.[^@\s]+|\d{6,30})$")


def _url(kind: str, path: str) -> str:
    return f"{partner_base_url('gbp', kind)}/{path.lstrip('/')}"


def _scopes(body: dict) -> list[str]:
    return [s for s in str(body.get("scope") or "").split() if s]


def split_location_name(name: str) -> tuple[str, str]:
    """("123", "456") from "accounts/123/locations/456"; ValueError for anything else."""
    match = _LOCATION.match(name or "")
    if not match:
        raise ValueError(f"{name!r} is not a location name (accounts/{{a}}/locations/{{l}}).")
    return match.group("account"), match.group("location")


class GbpConnector(Connector):
    platform = "gbp"
    supports_post_lookup = True
    kinds = frozenset(SUPPORTED_KINDS)

    @classmethod
    def default_scopes(cls, account_type: str = "") -> list[str]:
        return [SCOPE, EMAIL_SCOPE]

    # ------------------------------------------------------------ OAuth

    @classmethod
    def authorize_url(cls, *, state, redirect_uri, scopes, account_hint=""):
        params = {
            "client_id": settings.GBP_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(scopes or cls.default_scopes()),
            "state": state,
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "true",
        }
        if _LOGIN_HINT.match(account_hint or ""):
            params["login_hint"] = account_hint
        return f"{partner_base_url('gbp', 'oauth')}/o/oauth2/v2/auth?{urlencode(params)}"

    @classmethod
    def exchange_code(cls, *, code, redirect_uri):
        body = cls._request("POST", _url("token", "token"), data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": settings.GBP_CLIENT_ID,
            "client_secret": settings.GBP_CLIENT_SECRET,
        }).body
        return TokenSet(access_token=body["access_token"], refresh_token=body.get("refresh_token", ""),
                        expires_at=seconds_from_now(body.get("expires_in")), scopes=_scopes(body))

    def refresh(self) -> TokenSet:
        """A new access token from the refresh token; PartnerError(context="refresh") when Google refuses it."""
        body = self._request("POST", _url("token", "token"), context="refresh", data={
            "grant_type": "refresh_token",
            "refresh_token": self.connection.refresh_token,
            "client_id": settings.GBP_CLIENT_ID,
            "client_secret": settings.GBP_CLIENT_SECRET,
        }).body
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token") or self.connection.refresh_token,
            expires_at=seconds_from_now(body.get("expires_in")),
            refresh_expires_at=self.connection.refresh_token_expires_at,
            scopes=_scopes(body) if "scope" in body else list(self.connection.granted_scopes or []),
        )

    # ------------------------------------------------------------ account

    @property
    def _token(self) -> str:
        return self.connection.access_token

    def _location(self) -> tuple[str, str]:
        return split_location_name(self.connection.external_account_id)

    def _posts_url(self, suffix: str = "") -> str:
        account_id, location_id = self._location()
        return _url("api", f"v4/accounts/{account_id}/locations/{location_id}/localPosts{suffix}")

    def _tokeninfo(self) -> dict:
        return self._request("POST", _url("token", "tokeninfo"), data={"access_token": self._token}).body

    def granted_scopes(self) -> list[str]:
        return _scopes(self._tokeninfo())

    def account_info(self) -> AccountInfo:
        """The location this token manages: the connection's own if among them, else the first one."""
        accounts = self._request("GET", _url("accounts", "v1/accounts"), token=self._token).body.get("accounts", [])
        locations = []
        for account in accounts:
            account_id = account["name"].rsplit("/", 1)[-1]
            rows = self._request(
                "GET", _url("info", f"v1/accounts/{account_id}/locations"), token=self._token,
                params={"readMask": "name,title", "pageSize": 100},
            ).body.get("locations", [])
            for row in rows:
                location_id = row["name"].rsplit("/", 1)[-1]
                locations.append((f"accounts/{account_id}/locations/{location_id}", row.get("title", "")))
        if not locations:
            raise PartnerError("gbp", 200, {"accounts": accounts})  # the token manages no location
        wanted = self.connection.external_account_id
        name, title = next(((n, t) for n, t in locations if n == wanted), locations[0])
        info = self._tokeninfo()
        return AccountInfo(account_id=name, name=title, scopes=_scopes(info), email=str(info.get("email") or ""))

    def ping(self) -> AccountInfo:
        self._request("GET", self._posts_url(), token=self._token, params={"pageSize": 1})
        return AccountInfo(account_id=self.connection.external_account_id,
                           name=self.connection.external_account_name)

    # ------------------------------------------------------------ publishing

    def publish(self, post) -> PublishResult:
        """Create the local post and wait (briefly) for Google to decide.

        - LIVE: published. REJECTED: PartnerError(200, the LocalPost), which the classifier
          reads as CONTENT_REJECTED.
        - Still PROCESSING after the polls: reported as published with Google's name for it;
          Google has accepted it, and a late rejection shows on the location, not here.
        """
        if post.kind not in SUPPORTED_KINDS:
            raise PostRefused("gbp", f"A Google Business Profile local post cannot be a {post.kind} post.")
        body = {
            "languageCode": (settings.LANGUAGE_CODE or "en").split("-")[0],
            "summary": post.content or "",
            "topicType": "STANDARD",
        }
        media = post.media or []
        photos = [m["url"] for m in media if m.get("url") and m.get("type", "image") == "image"]
        if post.kind == "image":
            if not photos:
                raise PostRefused("gbp", "An image post needs a photo URL.", code="VALIDATION_ERROR")
            body["media"] = [{"mediaFormat": "PHOTO", "sourceUrl": photos[0]}]
        link = next((m["url"] for m in media if m.get("type") == "link" and m.get("url")), "")
        if link:
            body["callToAction"] = {"actionType": "LEARN_MORE", "url": link}
        local_post = self._request("POST", self._posts_url(), token=self._token, json=body).body
        local_post = self._wait_for_state(local_post)
        if local_post.get("state") == "REJECTED":
            raise PartnerError("gbp", 200, local_post)
        return PublishResult(partner_post_id=local_post["name"], url=local_post.get("searchUrl", ""))

    def _wait_for_state(self, local_post: dict) -> dict:
        for attempt in range(STATE_POLLS):
            if local_post.get("state") != "PROCESSING":
                break
            time.sleep(STATE_POLL_INTERVAL_S * (attempt + 1))
            local_post = self._request("GET", _url("api", f"v4/{local_post['name']}"), token=self._token).body
        return local_post

    def find_published(self, post) -> PublishResult | None:
        """The location's local post with the same summary, created since the post was scheduled."""
        since = post.scheduled_at - timedelta(minutes=5)
        page_token = ""
        for _ in range(5):  # the newest 500 posts are plenty for "did my last call land?"
            params = {"pageSize": 100}
            if page_token:
                params["pageToken"] = page_token
            body = self._request("GET", self._posts_url(), token=self._token, params=params).body or {}
            for row in body.get("localPosts", []):
                created = _parse_time(row.get("createTime"))
                if row.get("summary", "") == (post.content or "") and (created is None or created >= since):
                    if row.get("state") == "REJECTED":
                        return None
                    return PublishResult(partner_post_id=row["name"], url=row.get("searchUrl", ""))
            page_token = body.get("nextPageToken", "")
            if not page_token:
                break
        return None


def _parse_time(value):
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


CONNECTOR = GbpConnector
