"""The contract every connector keeps, and what they share.

A connector talks to one partner for one connection (or, for the OAuth
class methods, for none yet). The pipeline, pings, token upkeep and the
reconnect flow only ever use this interface.

Failures:
- the partner answered with an error: `PartnerError` (status, body, headers),
  which the classifier takes as it is (`exc.classify()`);
- no answer (DNS, refused, reset, timeout, TLS): the `requests` exception
  propagates unchanged and goes through `classify_system_error`. For a publish,
  `requests.ReadTimeout` and a reset after sending mean the outcome is unknown.
Tokens never appear in URLs (they go in headers or form bodies), logs or
exception text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connections.models import Connection, Post
    from recovery.taxonomy import ClassifiedError


class PartnerError(Exception):
    """The partner answered, with an error. Carries exactly what it sent."""

    def __init__(self, platform: str, status: int | None, body: Any, headers: dict | None = None):
        self.platform = platform
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        super().__init__(f"{platform} answered HTTP {status}")

    def classify(self) -> "ClassifiedError":
        from recovery.classifier import classify_partner_error

        return classify_partner_error(self.platform, self.status, self.body, self.headers)


@dataclass
class PublishResult:
    partner_post_id: str
    url: str = ""


@dataclass
class TokenSet:
    access_token: str
    refresh_token: str = ""
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    scopes: list[str] = field(default_factory=list)

    def __repr__(self):  # never print tokens
        return f"TokenSet(expires_at={self.expires_at!r}, scopes={self.scopes!r})"


@dataclass
class AccountInfo:
    account_id: str
    name: str
    scopes: list[str] = field(default_factory=list)


class Connector:
    """One partner, one connection. Subclasses live in connections/platforms/<platform>.py."""

    platform: str = ""
    # Whether the partner lets us look a post up by our idempotency key or content
    # after a publish whose answer was lost (outcome unknown).
    supports_post_lookup: bool = False

    def __init__(self, connection: "Connection"):
        self.connection = connection

    def publish(self, post: "Post") -> PublishResult:
        raise NotImplementedError

    def find_published(self, post: "Post") -> PublishResult | None:
        """After an unknown outcome: the partner's copy of this post, or None if it has none."""
        raise NotImplementedError

    def ping(self) -> AccountInfo:
        """The partner's cheapest authenticated call; raises PartnerError when the connection is broken."""
        raise NotImplementedError

    def refresh(self) -> TokenSet:
        raise NotImplementedError

    @classmethod
    def authorize_url(cls, *, state: str, redirect_uri: str, scopes: list[str], account_hint: str = "") -> str:
        raise NotImplementedError

    @classmethod
    def exchange_code(cls, *, code: str, redirect_uri: str) -> TokenSet:
        raise NotImplementedError

    def account_info(self) -> AccountInfo:
        raise NotImplementedError


def get_connector_class(platform: str) -> type[Connector]:
    module = import_module(f"connections.platforms.{platform}")
    return module.CONNECTOR


def get_connector(connection: "Connection") -> Connector:
    return get_connector_class(connection.platform)(connection)
