"""Mailchimp connector: email campaigns to one audience, over the Marketing API 3.0.

Partner facts (hosts from partner_base_url; the sandbox serves both under /sandbox/mailchimp):
- Consent: {oauth}/oauth2/authorize?response_type=code&client_id&redirect_uri&state. Mailchimp
  has no scopes (a token can do what the user's role can) and no account hint.
- Code exchange: POST {oauth}/oauth2/token grant_type=authorization_code, client_id,
  client_secret, redirect_uri, code -> {"access_token", "expires_in": 0, "scope": null}.
  Tokens never expire and there is no refresh token: refresh() raises RefreshNotSupported.
  A 401 later means the user disconnected the app or deleted the account: reconnect.
- Where the account lives: GET {oauth}/oauth2/metadata with `Authorization: OAuth <token>` ->
  {"dc": "us19", "api_endpoint", "accountname", ...}. The API base of a connection is
  settings.MAILCHIMP_API_BASE with {dc} filled in ("https://us19.api.mailchimp.com"); the dc
  is cached per token (it never changes for an account).
- Campaigns: POST /3.0/campaigns {"type": "regular", "recipients": {"list_id"}, "settings":
  {"subject_line", "title", "from_name", "reply_to"}} -> {"id", "archive_url", "status": "save"};
  PUT /3.0/campaigns/{id}/content {"html"}; POST /3.0/campaigns/{id}/actions/send (204) or
  .../actions/schedule {"schedule_time"} on a quarter hour (204; paid plans only).
- Health ping: GET /3.0/ping, then GET /3.0/lists/{list_id}: the only way to notice a deleted
  audience, which no webhook announces.
- Lookup after an unknown outcome: GET /3.0/campaigns?list_id&since_create_time, matched on the
  campaign's internal title, which carries the post's idempotency key (recipients never see it).
- Errors: problem+json {"type", "title", "status", "detail", "instance"}; match on title.

The connection's external_account_id is the audience (list) id. An email post's first line is
its subject line and the rest its body (connections.capabilities.split_email_content); the
from name and reply-to address are the audience's campaign defaults.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from html import escape
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from connections.capabilities import split_email_content
from connections.platforms.base import (
    AccountInfo,
    Connector,
    PartnerError,
    PostRefused,
    PublishResult,
    TokenSet,
    partner_base_url,
)

SUPPORTED_KINDS = {"email"}
# Statuses of a campaign that went, or will go, out.
DELIVERED_STATUSES = {"sending", "sent", "schedule", "paused"}
# A post due further ahead than this is handed to Mailchimp's scheduler instead of sent now.
SCHEDULE_AHEAD = timedelta(minutes=15)
_DC = re.compile(r"^[a-z]{2,4}\d{1,3}$")
_DC_CACHE_S = 24 * 3600


class RefreshNotSupported(NotImplementedError):
    """Mailchimp OAuth tokens never expire and come without a refresh token: there is nothing to refresh."""


def _oauth(path: str) -> str:
    return f"{partner_base_url('mailchimp', 'oauth')}/{path.lstrip('/')}"


def campaign_title(post) -> str:
    """The campaign's internal name: it carries the post's idempotency key, for the lookup."""
    return f"post-{post.idempotency_key}"


def _html(body: str) -> str:
    """The email's HTML: kept as written when it is HTML, else paragraphs of escaped text."""
    if body.lstrip().startswith("<"):
        return body
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
    return "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def _quarter_hour_at_or_after(when):
    when = when.replace(second=0, microsecond=0) + (timedelta(minutes=1) if when.second or when.microsecond else
                                                    timedelta(0))
    return when + timedelta(minutes=(-when.minute) % 15)


class MailchimpConnector(Connector):
    platform = "mailchimp"
    supports_post_lookup = True
    kinds = frozenset(SUPPORTED_KINDS)

    @classmethod
    def default_scopes(cls, account_type: str = "") -> list[str]:
        return []  # Mailchimp has no scopes

    # ------------------------------------------------------------ OAuth

    @classmethod
    def authorize_url(cls, *, state, redirect_uri, scopes, account_hint=""):
        # scopes and account_hint: Mailchimp's authorize page takes neither (module docstring).
        query = urlencode({
            "response_type": "code",
            "client_id": settings.MAILCHIMP_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "state": state,
        })
        return f"{_oauth('oauth2/authorize')}?{query}"

    @classmethod
    def exchange_code(cls, *, code, redirect_uri):
        body = cls._request("POST", _oauth("oauth2/token"), data={
            "grant_type": "authorization_code",
            "client_id": settings.MAILCHIMP_CLIENT_ID,
            "client_secret": settings.MAILCHIMP_CLIENT_SECRET,
            "redirect_uri": redirect_uri,
            "code": code,
        }).body
        # expires_in 0: the token never expires, so no expiry is stored and token upkeep leaves it alone.
        return TokenSet(access_token=body["access_token"], expires_at=None, scopes=[])

    def refresh(self) -> TokenSet:
        raise RefreshNotSupported(
            "Mailchimp tokens never expire and have no refresh token; a rejected token needs a reconnect."
        )

    @classmethod
    def metadata(cls, token: str) -> dict:
        """login.mailchimp.com's account metadata for a token (dc, api_endpoint, accountname)."""
        return cls._request("GET", _oauth("oauth2/metadata"), headers={"Authorization": f"OAuth {token}"}).body

    # ------------------------------------------------------------ account

    @property
    def _token(self) -> str:
        return self.connection.access_token

    def _dc(self) -> str:
        key = "mailchimp:dc:" + hashlib.sha256(self._token.encode()).hexdigest()[:24]
        dc = cache.get(key)
        if dc is None:
            body = self.metadata(self._token)
            dc = str(body.get("dc") or "")
            # The dc becomes part of a host name we send the token to: accept only Mailchimp's shape.
            if not _DC.match(dc):
                raise PartnerError("mailchimp", 200, {"dc": dc})  # only the dc: the rest names the user
            cache.set(key, dc, _DC_CACHE_S)
        return dc

    def _api(self, path: str) -> str:
        base = partner_base_url("mailchimp", "api").replace("{dc}", self._dc())
        return f"{base}/3.0/{path.lstrip('/')}"

    def _get(self, path: str, **params):
        return self._request("GET", self._api(path), token=self._token, params=params or None).body

    def _post(self, path: str, json=None):
        return self._request("POST", self._api(path), token=self._token, json=json).body

    def _action(self, campaign_id: str, action: str, json=None) -> None:
        """actions/send and actions/schedule: 204 No Content."""
        self._request("POST", self._api(f"campaigns/{campaign_id}/actions/{action}"), token=self._token,
                      json=json, expect_object=False)

    @property
    def _list_id(self) -> str:
        return self.connection.external_account_id

    def account_info(self) -> AccountInfo:
        """The audience this token reaches: the connection's own if among them, else the first one."""
        audiences = self._get("lists", count=1000, fields="lists.id,lists.name").get("lists", [])
        if not audiences:
            raise PartnerError("mailchimp", 200, {"lists": []})  # an account without an audience
        wanted = self._list_id
        chosen = next((a for a in audiences if a["id"] == wanted), audiences[0])
        return AccountInfo(account_id=chosen["id"], name=chosen.get("name", ""), scopes=[])

    def ping(self) -> AccountInfo:
        self._get("ping")
        audience = self._get(f"lists/{self._list_id}", fields="id,name")
        return AccountInfo(account_id=audience["id"], name=audience.get("name", ""))

    # ------------------------------------------------------------ publishing

    def publish(self, post) -> PublishResult:
        """Create a regular campaign to the audience, set its content, then send it (or schedule it).

        - A draft left by an earlier attempt (same title, status "save") is reused, not duplicated.
        - Due now (or within SCHEDULE_AHEAD): sent at once. Later: Mailchimp schedules it at the
          first quarter hour at or after post.scheduled_at (it takes only :00, :15, :30, :45).
        """
        if post.kind not in SUPPORTED_KINDS:
            raise PostRefused("mailchimp", f"Mailchimp sends email campaigns, not {post.kind} posts.")
        subject, body = split_email_content(post.content or "")
        existing = self._campaign_for(post)
        if existing and existing.get("status") in DELIVERED_STATUSES:
            return PublishResult(partner_post_id=existing["id"], url=existing.get("archive_url", ""))
        if existing:
            campaign = existing
        else:
            defaults = self._get(f"lists/{self._list_id}", fields="id,name,campaign_defaults")["campaign_defaults"]
            campaign = self._post("campaigns", json={
                "type": "regular",
                "recipients": {"list_id": self._list_id},
                "settings": {
                    "subject_line": subject,
                    "title": campaign_title(post),
                    "from_name": defaults.get("from_name", ""),
                    "reply_to": defaults.get("from_email", ""),
                },
            })
        campaign_id = campaign["id"]
        self._request("PUT", self._api(f"campaigns/{campaign_id}/content"), token=self._token,
                      json={"html": _html(body)})
        send_at = post.scheduled_at
        if send_at and send_at > timezone.now() + SCHEDULE_AHEAD:
            when = _quarter_hour_at_or_after(send_at)
            self._action(campaign_id, "schedule", {"schedule_time": when.strftime("%Y-%m-%dT%H:%M:%S+00:00")})
        else:
            self._action(campaign_id, "send")
        return PublishResult(partner_post_id=campaign_id, url=campaign.get("archive_url", ""))

    def _campaign_for(self, post) -> dict | None:
        since = (post.created_at or post.scheduled_at or timezone.now()) - timedelta(days=1)
        rows = self._get(
            "campaigns",
            list_id=self._list_id,
            since_create_time=since.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            count=1000,
            fields="campaigns.id,campaigns.status,campaigns.archive_url,campaigns.settings.title",
        ).get("campaigns", [])
        title = campaign_title(post)
        return next((row for row in rows if (row.get("settings") or {}).get("title") == title), None)

    def find_published(self, post) -> PublishResult | None:
        """The campaign created for this post, if it was sent or scheduled; a draft does not count."""
        campaign = self._campaign_for(post)
        if campaign and campaign.get("status") in DELIVERED_STATUSES:
            return PublishResult(partner_post_id=campaign["id"], url=campaign.get("archive_url", ""))
        return None


CONNECTOR = MailchimpConnector
