"""The contract every connector keeps, and what they share.

A connector talks to one partner for one connection (or, for the OAuth
class methods, for none yet). The pipeline, pings, token upkeep and the
reconnect flow only ever use this interface.

Failures:
- the partner answered with an error: `PartnerError` (status, body, headers),
  which the services classify as it is (recovery.failures.classify_failure);
  connectors never classify;
- the partner answered 2xx with something it never sends (an empty body, a proxy's
  HTML page, JSON that is not an object, an object without a field it documents):
  also `PartnerError`, with that status and body; it classifies like any answer
  (usually UNKNOWN, which escalates), never a TypeError or KeyError;
- no answer (DNS, refused, reset, timeout, TLS): the `requests` exception
  propagates unchanged and goes through `classify_system_error`. For a publish,
  `requests.ReadTimeout` and a reset after sending mean the outcome is unknown;
- our side refused the post before any call (a kind or media the connector cannot
  send): `PostRefused`, a PartnerError with no status that carries the code it
  classifies as, CAPABILITY_UNSUPPORTED or VALIDATION_ERROR (never retried,
  nothing was sent).
Tokens never appear in URLs (they go in headers or form bodies), logs or
exception text: PartnerError's text is only "<platform> answered HTTP <status>",
and a body it carries from a 2xx answer has its tokens masked (config/redaction.py).

The connection in hand (config/logs.py): `get_connector(connection)` binds the
connection's tenantId, connectionId and platform to every later log line of the
job or request, and remembers its tokens so the log filter masks them whatever
their shape; every token a call sends or a partner answers with (a Page token, a
refreshed or exchanged token, a TokenSet) is remembered too. Each call logs one
"partner call" line (status or the exception's name, latency_ms) and sends
recovery.partner.call / recovery.partner.latency (config/metrics.py).

Shared helpers for connector modules:
- `partner_base_url(platform, kind)`: the partner's host for `kind` ("api", "oauth", ...)
  from settings (<PLATFORM>_<KIND>_BASE), or f"{SITE_URL}/sandbox/<platform>" when
  SANDBOX_ENABLED and PARTNERS_USE_SANDBOX are on. Read at call time, so tests can
  point it at the live server.
- `Connector._request(method, url, token=..., ...)`: one requests.Session per connector
  class, (PARTNER_CONNECT_TIMEOUT_S, PARTNER_READ_TIMEOUT_S) timeouts, the token in
  an `Authorization: Bearer` header, a tolerant JSON decode, and PartnerError on a
  non-2xx answer, on a 2xx whose body the partner marks as an error
  (`Connector.body_is_error`: Meta's error envelope, TikTok's error.code != "ok"), and
  on a 2xx that is not a JSON object (unless `expect_object=False`: 201/204 answers).
  The body's objects are `PartnerBody` dicts: `body["id"]` on an answer without "id"
  raises PartnerError, not KeyError.
- `seconds_from_now(value)`: an `expires_in` as a datetime (None when absent or not a number).
Each connector module exports CONNECTOR = <its Connector subclass>.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import import_module
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils import timezone
from requests.adapters import HTTPAdapter

from config.logs import bind, remember_secrets, remember_secrets_in
from config.metrics import metrics
from config.redaction import is_secret_key, mask_text, mask_value

if TYPE_CHECKING:
    from connections.models import Connection, Post


logger = logging.getLogger("connections.platforms")


def partner_base_url(platform: str, kind: str = "api") -> str:
    """Where a connector sends `kind` calls for `platform` (no trailing slash)."""
    if settings.SANDBOX_ENABLED and getattr(settings, "PARTNERS_USE_SANDBOX", False):
        return f"{settings.SITE_URL.rstrip('/')}/sandbox/{platform}"
    return getattr(settings, f"{platform.upper()}_{kind.upper()}_BASE").rstrip("/")


def partner_timeouts() -> tuple[float, float]:
    """(connect, read) seconds for every partner call."""
    return (settings.PARTNER_CONNECT_TIMEOUT_S, settings.PARTNER_READ_TIMEOUT_S)


@dataclass
class PartnerResponse:
    """A partner's 2xx answer: status, decoded body (dict, list, text or None) and headers."""

    status: int
    body: Any
    headers: dict


def decode_body(response: requests.Response) -> Any:
    """JSON when the body parses as JSON (whatever the Content-Type says), else the text, else None."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def seconds_from_now(value) -> datetime | None:
    """now + `value` seconds (a partner's expires_in); None when absent, zero or not a number."""
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return timezone.now() + timedelta(seconds=seconds) if seconds > 0 else None


class PartnerError(Exception):
    """The partner answered, with an error. Carries exactly what it sent."""

    def __init__(
        self, platform: str, status: int | None, body: Any, headers: dict | None = None, context: str | None = None
    ):
        self.platform = platform
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        # "refresh" when the call was a token refresh: the classifier then says REFRESH_FAILED
        # for what would otherwise be an expired/invalid/revoked token.
        self.context = context
        super().__init__(f"{platform} answered HTTP {status}")


class PostRefused(PartnerError):
    """Our side refused a post before any partner call: a kind or media this connector cannot send.

    The capability check (connections.capabilities.check_post) refuses these first; this is the
    connector's own guard. `code` is the taxonomy code it classifies as (CAPABILITY_UNSUPPORTED
    by default, or VALIDATION_ERROR for a post missing what its kind needs); `message` is for the user.
    """

    def __init__(self, platform: str, message: str, code: str = "CAPABILITY_UNSUPPORTED"):
        super().__init__(platform, None, {"message": message})
        self.message = message
        self.code = code
        self.args = (f"{platform}: {message}",)


class PartnerBody(dict):
    """A JSON object from a partner. A key the partner left out raises the PartnerError of the
    whole answer (a 2xx without what the partner documents is the partner's failure), not KeyError.
    That error's body leaves out the tokens a success answer may hold (it reaches ops' pages)."""

    __slots__ = ("_answer",)

    def __missing__(self, key):
        platform, status, body, headers, context = self._answer
        raise PartnerError(platform, status, mask_value(body), headers, context=context)


def _wrap(value: Any, answer: tuple) -> Any:
    if isinstance(value, dict):
        wrapped = PartnerBody((key, _wrap(item, answer)) for key, item in value.items())
        wrapped._answer = answer
        return wrapped
    if isinstance(value, list):
        return [_wrap(item, answer) for item in value]
    return value


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

    def __post_init__(self):
        remember_secrets(self.access_token, self.refresh_token)  # never printed in this job or request

    def __repr__(self):  # never print tokens
        return f"TokenSet(expires_at={self.expires_at!r}, scopes={self.scopes!r})"


@dataclass
class AccountInfo:
    account_id: str
    name: str
    scopes: list[str] = field(default_factory=list)
    # The signed-in user's email address where the partner tells it (Google's tokeninfo with the
    # `email` scope): the reconnect's account hint.
    email: str = ""
    # The partner's id of the signed-in user, where its webhooks name the user rather than the account
    # (Meta: the app-scoped user id of GET /me; a Page's id is another): stored as Connection.partner_user_id.
    user_id: str = ""


class Connector:
    """One partner, one connection. Subclasses live in connections/platforms/<platform>.py."""

    platform: str = ""
    # Whether the partner lets us look a post up by our idempotency key or content
    # after a publish whose answer was lost (outcome unknown).
    supports_post_lookup: bool = False

    # One Session per connector class (connection pooling per partner host), made on first use.
    _session: ClassVar[requests.Session | None] = None

    def __init__(self, connection: "Connection"):
        self.connection = connection

    @classmethod
    def session(cls) -> requests.Session:
        if cls.__dict__.get("_session") is None:
            session = requests.Session()
            session.headers["User-Agent"] = "connection-recovery/1.0"
            # Keep a connection to the partner's host per worker thread (requests keeps 10), so the
            # threads of a worker process do not open and drop connections in turn.
            adapter = HTTPAdapter(pool_maxsize=max(10, settings.RQ_WORKER_THREADS))
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            cls._session = session
        return cls._session

    # The Post kinds this connector can publish; a partner whose kinds depend on
    # the account type (Meta: Page or Instagram) overrides supported_kinds.
    kinds: frozenset[str] = frozenset()

    @classmethod
    def supported_kinds(cls, account_type: str = "") -> set[str]:
        """The Post kinds this connector can publish for that kind of account (check_post reads it)."""
        return set(cls.kinds)

    @classmethod
    def default_scopes(cls, account_type: str = "") -> list[str]:
        """The scopes a first connection asks for."""
        raise NotImplementedError

    @classmethod
    def body_is_error(cls, status: int, body: Any) -> bool:
        """Whether a 2xx answer is an error in the partner's own envelope. Overridden per partner."""
        return False

    @classmethod
    def _request(
        cls,
        method: str,
        url: str,
        *,
        token: str = "",
        params: dict | None = None,
        data: dict | None = None,
        json: Any = None,
        headers: dict | None = None,
        context: str | None = None,
        expect_object: bool = True,
    ) -> PartnerResponse:
        """Call the partner; PartnerError on an error answer, requests exceptions propagate.

        `token` goes in `Authorization: Bearer`, never in the URL; `params` must hold no secret.
        `context` ("refresh" for token refreshes) travels on the PartnerError to the classifier.
        `expect_object`: a 2xx must carry a JSON object (False for the 201/204 answers without one).
        """
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        remember_secrets(token, *_secret_values(data), *_secret_values(json))
        path = mask_text(urlsplit(url).path)
        started = time.monotonic()
        try:
            response = cls.session().request(
                method, url, params=params, data=data, json=json, headers=all_headers, timeout=partner_timeouts()
            )
        except requests.RequestException as exc:
            _count_call(cls.platform, method, path, started, "timeout" if isinstance(exc, requests.Timeout) else "no_answer",
                        error=type(exc).__name__)
            raise
        body = decode_body(response)
        remember_secrets_in(body)
        _count_call(cls.platform, method, path, started, response.status_code)
        status, response_headers = response.status_code, dict(response.headers)
        if (
            not 200 <= status < 300
            or cls.body_is_error(status, body)
            or (expect_object and not isinstance(body, dict))
        ):
            raise PartnerError(cls.platform, status, body, response_headers, context=context)
        answer = (cls.platform, status, body, response_headers, context)
        return PartnerResponse(status, _wrap(body, answer), response_headers)

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
        """The partner's consent page URL.

        `account_hint`: who should sign in, in the partner's own terms. Only Google has such a
        parameter (login_hint: the Google account's email or sub); Meta, LinkedIn, TikTok and
        Mailchimp have none and ignore it, so the reconnect callback must check the account that
        comes back (docs/partners/sandbox.md, "The account hint").
        """
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
    """The connector of `connection`, which becomes the connection in hand of this job or request's logs."""
    bind(tenantId=connection.tenant_id, connectionId=connection.pk, platform=connection.platform)
    # Only tokens already loaded: a row loaded without its token columns must not decrypt them here.
    remember_secrets(*(connection.__dict__.get(name) for name in ("access_token", "refresh_token")))
    return get_connector_class(connection.platform)(connection)


def _secret_values(payload) -> list[str]:
    """The values a request body sends under a secret name (client_secret, refresh_token, code...)."""
    if not isinstance(payload, dict):
        return []
    return [value for key, value in payload.items() if isinstance(value, str) and is_secret_key(key)]


def _count_call(platform: str, method: str, path: str, started: float, status, error: str | None = None) -> None:
    """One partner call: its log line and its metrics (status: the HTTP status, or timeout / no_answer)."""
    latency_ms = round((time.monotonic() - started) * 1000)
    fields = {"platform": platform, "method": method, "path": path, "status": status, "latency_ms": latency_ms}
    if error:
        logger.warning("partner call failed", extra={**fields, "error": error})
    else:
        logger.info("partner call", extra=fields)
    metrics.increment("recovery.partner.call", tags={"platform": platform, "status": status})
    metrics.timing("recovery.partner.latency", latency_ms, tags={"platform": platform})
