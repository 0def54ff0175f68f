"""What every sandbox partner module shares: answers, token checks, faults, the request log,
token issuing and the OAuth consent page. See sandbox/__init__.py for the API.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import wraps
from importlib import import_module
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox import faults as F
from sandbox.models import SandboxAccount, SandboxAuthCode, SandboxFault, SandboxRequest, SandboxToken

logger = logging.getLogger("sandbox")

REDACTED = "[redacted]"
# Request fields whose values are secrets wherever they appear (form, query, JSON).
SECRET_FIELDS = {
    "access_token", "refresh_token", "client_secret", "code", "fb_exchange_token",
    "input_token", "token", "code_verifier", "id_token", "apikey",
}
LOGGED_HEADERS = ("Content-Type", "LinkedIn-Version", "X-Restli-Protocol-Version")
EXCERPT_CHARS = 2000


@dataclass
class Answer:
    """What a sandbox partner answers: status, body (dict/list -> JSON, str -> text, None -> empty), headers."""

    status: int
    body: Any = None
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json; charset=UTF-8"
    fault: str = ""  # the fault kind that produced it, for the request log
    logged: bool = False  # already in the request log (the timeout fault logs before it sleeps)


@dataclass
class IssuedTokens:
    """Freshly minted tokens: the only moment the sandbox knows them in plaintext."""

    access_token: str
    refresh_token: str
    expires_in: int | None
    refresh_expires_in: int | None
    scopes: list[str]
    expires_at: datetime | None
    refresh_expires_at: datetime | None
    # The partner's id of the user who authorized, where it names users apart from accounts (Meta).
    user_id: str = ""

    def __repr__(self):  # never print tokens
        return f"IssuedTokens(expires_at={self.expires_at!r}, scopes={self.scopes!r})"


class SandboxPartner:
    """One sandbox partner. A subclass per partner module supplies its rules and its own answers.

    Answers return an `Answer` in the partner's real shape (status, body, headers).
    """

    platform = ""
    access_prefix = ""  # how the partner's access tokens start (e.g. meta "EAA")
    refresh_prefix = ""
    access_ttl: timedelta | None = timedelta(hours=1)  # None: never expires
    refresh_ttl: timedelta | None = None  # None with has_refresh_tokens: never expires
    has_refresh_tokens = False
    scope_separator = " "
    client_id_param = "client_id"
    # The authorize parameter hinting who signs in, where the partner has one (Google's login_hint).
    hint_param: str | None = None
    default_scopes: list[str] = []
    display_name = ""

    def client_id(self) -> str:
        raise NotImplementedError

    def client_secret(self) -> str:
        raise NotImplementedError

    def bearer_token(self, request: HttpRequest) -> str:
        """The access token of a request: the Authorization header (Bearer)."""
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() in ("bearer", "oauth") else ""

    # Whether the consent page lets the user untick requested scopes (LinkedIn: all or none).
    partial_grants = True
    # What the partner's authorize page says to a redirect_uri not registered for the client (the
    # partners whose page is public override it with their words; docs/partners/sandbox.md).
    redirect_uri_refused = "The redirect_uri is not one registered for this app."
    # Whether the token endpoint takes the client's id and secret in an HTTP Basic header
    # (RFC 6749 2.3.1), as well as in the form body. Only partners that document it.
    basic_client_auth = False

    def extra_headers(self) -> dict:
        """Headers the partner sends on every answer (request ids and the like)."""
        return {}

    def route(self, call: "Call", url_kwargs: dict) -> "Answer | None":
        """The partner's refusal of a path it cannot route, before it looks at the token (Meta: a
        Graph version it never had), or None. May set call.headers for the answer (the version served)."""
        return None

    def check_proof(self, call: "Call", token: str) -> "Answer | None":
        """The partner's refusal of how the token was presented (Meta: a wrong appsecret_proof), or None."""
        return None

    def unknown_path(self, request: HttpRequest) -> Answer:
        """The partner's own answer to a path it does not have (never Django's HTML 404)."""
        raise NotImplementedError

    def denied_params(self) -> dict:
        """What the partner appends to redirect_uri when the user refuses consent."""
        return {"error": "access_denied"}

    def user_id(self, account: SandboxAccount) -> str:
        """The partner's id of the user who authorizes `account`, where the partner's API and webhooks
        name users apart from accounts (Meta's app-scoped user id); "" for the others."""
        return ""

    def hinted_account(self, accounts: list, hint: str, remembered: str) -> str:
        """The account id the consent page preselects for the hint parameter's value, or "".

        Only partners with a hint_param override it, with the partner's own meaning of the hint.
        `remembered`: the account last chosen in this browser (preferred when the hint allows it).
        """
        return ""

    # The partner's own error answers.
    def invalid_token(self) -> Answer:
        raise NotImplementedError

    def expired_token(self) -> Answer:
        raise NotImplementedError

    def revoked_token(self, fault: SandboxFault | None) -> Answer:
        raise NotImplementedError

    def missing_scope(self, scope: str, request: HttpRequest) -> Answer:
        raise NotImplementedError

    def restricted(self) -> Answer:
        raise NotImplementedError

    def not_found(self, target: str, request: HttpRequest) -> Answer:
        raise NotImplementedError

    def server_error(self, status: int) -> Answer:
        raise NotImplementedError

    def rate_limited(self, fault: SandboxFault, account: SandboxAccount | None) -> Answer:
        raise NotImplementedError

    def bad_request(self) -> Answer:
        """The partner's answer to a request it cannot read (a body or parameter of the wrong shape)."""
        raise NotImplementedError


_PARTNERS: dict[str, SandboxPartner] = {}


def register(partner: SandboxPartner) -> SandboxPartner:
    """Called once by each partner module with its SandboxPartner instance."""
    _PARTNERS[partner.platform] = partner
    return partner


def get_partner(platform: str) -> SandboxPartner:
    if platform not in _PARTNERS:
        import_module(f"sandbox.{platform}")
    return _PARTNERS[platform]


# ---------------------------------------------------------------- tokens

def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _mint(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def issue_tokens(
    platform: str,
    account: SandboxAccount,
    scopes: list[str],
    *,
    access_ttl: timedelta | None | str = "default",
    refresh: bool | None = None,
    lifetime: str = "",
) -> IssuedTokens:
    """Mint an access token (and a refresh token where the partner has them) for `account`.

    - Only the hashes are stored; the plaintext is returned once.
    - access_ttl: the partner's default unless given (None: never expires).
    """
    partner = get_partner(platform)
    now = timezone.now()
    ttl = partner.access_ttl if access_ttl == "default" else access_ttl
    access = _mint(partner.access_prefix)
    expires_at = now + ttl if ttl else None
    SandboxToken.objects.create(
        platform=platform, token_hash=token_hash(access), kind=SandboxToken.Kind.ACCESS, account=account,
        scopes=list(scopes), expires_at=expires_at, lifetime=lifetime,
    )
    refresh_token, refresh_expires_at = "", None
    if partner.has_refresh_tokens if refresh is None else refresh:
        refresh_token = _mint(partner.refresh_prefix)
        refresh_expires_at = now + partner.refresh_ttl if partner.refresh_ttl else None
        SandboxToken.objects.create(
            platform=platform, token_hash=token_hash(refresh_token), kind=SandboxToken.Kind.REFRESH,
            account=account, scopes=list(scopes), expires_at=refresh_expires_at,
        )
    return IssuedTokens(
        access_token=access,
        refresh_token=refresh_token,
        expires_in=int(ttl.total_seconds()) if ttl else None,
        refresh_expires_in=int(partner.refresh_ttl.total_seconds()) if refresh_token and partner.refresh_ttl else None,
        scopes=list(scopes),
        expires_at=expires_at,
        refresh_expires_at=refresh_expires_at,
        user_id=partner.user_id(account),
    )


def find_token(platform: str, value: str, kind: str = SandboxToken.Kind.ACCESS) -> SandboxToken | None:
    if not value:
        return None
    return (
        SandboxToken.objects.select_related("account")
        .filter(platform=platform, token_hash=token_hash(value), kind=kind)
        .first()
    )


def token_state(token: SandboxToken, faults: list[SandboxFault]) -> tuple[str, SandboxFault | None]:
    """'ok', 'expired' or 'revoked' for a token, counting token faults set after it was issued."""
    for fault in faults:
        if fault.kind == F.REVOKE_TOKEN and fault.created_at >= token.created_at:
            return "revoked", fault
    if token.revoked:
        return "revoked", None
    for fault in faults:
        if fault.kind == F.EXPIRE_TOKEN and fault.created_at >= token.created_at:
            return "expired", fault
    if token.expires_at and token.expires_at <= timezone.now():
        return "expired", None
    return "ok", None


def effective_scopes(token: SandboxToken, faults: list[SandboxFault]) -> list[str]:
    """The token's scopes less those a remove_scope fault set after its issue took away."""
    removed = {
        f.params.get("scope") for f in faults if f.kind == F.REMOVE_SCOPE and f.created_at >= token.created_at
    }
    return [s for s in token.scopes if s not in removed]


def sandbox_open_account(
    platform: str, account_id: str, *, name: str = "", account_type: str = "", scopes: list[str] | None = None,
    extra: dict | None = None,
) -> IssuedTokens:
    """An account on the sandbox partner, as if its user had just authorized us: fresh tokens for it.

    - Creates the SandboxAccount for `account_id` unless it exists (an existing one is kept as it is),
      with `extra` (the partner's facts about it: GBP's signed-in "email", ...).
    - Issues tokens with `scopes` (default: the partner's default scopes) and returns them;
      storing them on a product connection is the product's business (sandbox/bridge.py).
    """
    partner = get_partner(platform)
    scopes = list(scopes if scopes is not None else partner.default_scopes)
    account, _ = SandboxAccount.objects.get_or_create(
        platform=platform,
        account_id=account_id,
        defaults={"name": name or account_id, "account_type": account_type, "scopes": scopes, "extra": dict(extra or {})},
    )
    return issue_tokens(platform, account, scopes, lifetime="long")


# ---------------------------------------------------------------- one request

def _bounded_sleep(seconds: float) -> None:
    time.sleep(max(0.0, min(seconds, settings.SANDBOX_MAX_SLEEP_S)))


class Call:
    """One request to a sandbox partner: authentication, faults, and the log line.

    Views get it as their first argument: call.account, call.token, call.scopes,
    call.params (query + form + JSON merged), call.json (the JSON body or None),
    call.data (the JSON body when it is an object, else {}), call.headers (headers to send with
    whatever answers, set by partner.route: Meta's facebook-api-version).
    """

    # A request the partner cannot read at all: a broken multipart form, a body over Django's size
    # limit, or a NUL byte in the path, a parameter or a JSON string (no partner takes one, and
    # PostgreSQL cannot store one). The view is never called; the partner's bad_request answers.
    unreadable = False

    def __init__(self, request: HttpRequest, partner: SandboxPartner):
        self.request = request
        self.partner = partner
        self.platform = partner.platform
        self.account: SandboxAccount | None = None
        self.token: SandboxToken | None = None
        self.scopes: list[str] = []
        self.faults: list[SandboxFault] = []
        self.headers: dict = {}  # set before the view (partner.route): sent with whatever answers
        self._secrets: set[str] = set()
        self.json = None
        # Read the raw body first: the request log needs it after the form is parsed.
        self.raw = b""
        form: dict[str, Any] = {}
        try:
            self.raw = request.body
            form = request.POST.dict()
        except (MultiPartParserError, SuspiciousOperation):  # SuspiciousOperation: too big, too many fields
            self.unreadable = True
        if request.content_type == "application/json" and self.raw:
            try:
                self.json = json.loads(self.raw)
            except (ValueError, RecursionError):  # invalid JSON or UTF-8, or nested past the parser's depth:
                self.json = None                   # the partner's bad request, if the view reads it
        self.params: dict[str, Any] = {**request.GET.dict(), **form}
        if isinstance(self.json, dict):
            self.params.update(self.json)
        if _holds_nul(request.path, self.params, self.json):
            self.unreadable = True
        for name, value in self.params.items():
            if name in SECRET_FIELDS and isinstance(value, str):
                self.secret(value)

    @property
    def data(self) -> dict:
        return self.json if isinstance(self.json, dict) else {}

    def secret(self, value: str) -> str:
        """Mark a value (a token this call received or issued) for redaction in the log."""
        if value:
            self._secrets.add(value)
        return value

    def load_faults(self, account: SandboxAccount | None) -> list[SandboxFault]:
        self.account = account
        self.faults = F.active_faults(self.platform, account)
        return self.faults

    def _used(self, fault: SandboxFault) -> None:
        F.consume(fault)

    def transport_faults(self) -> Answer | None:
        """latency, timeout, server_error: the faults that happen before the partner looks at the call."""
        for fault in self.faults:
            if fault.kind == F.LATENCY:
                self._used(fault)
                _bounded_sleep(float(fault.params.get("ms", 0)) / 1000)
        for fault in self.faults:
            if fault.kind == F.TIMEOUT:
                self._used(fault)
                answer = self.partner.server_error(504)
                answer.fault = F.TIMEOUT
                # Logged before the sleep: the partner did receive the call, and the client
                # (and the test that asserts on the log) has given up long before we answer.
                self._log(answer, _content(answer).decode(errors="replace"))
                answer.logged = True
                seconds = fault.params.get("seconds") or settings.PARTNER_READ_TIMEOUT_S + 1
                _bounded_sleep(float(seconds))
                return answer
        for fault in self.faults:
            if fault.kind == F.SERVER_ERROR:
                self._used(fault)
                answer = self.partner.server_error(int(fault.params.get("status", 500)))
                answer.fault = F.SERVER_ERROR
                return answer
        return None

    def authenticate(self) -> Answer | None:
        """Resolve the bearer token to an account; the partner's invalid/expired/revoked answer if it fails."""
        value = self.secret(self.partner.bearer_token(self.request))
        refused = self.partner.check_proof(self, value) if value else None
        if refused is not None:
            self.load_faults(None)
            return self.transport_faults() or refused
        token = find_token(self.platform, value)
        if token is None:
            self.load_faults(None)
            return self.transport_faults() or self.partner.invalid_token()
        self.token = token
        self.load_faults(token.account)
        answer = self.transport_faults()
        if answer:
            return answer
        state, fault = token_state(token, self.faults)
        if fault:
            self._used(fault)
        if state == "revoked":
            return _tag(self.partner.revoked_token(fault), F.REVOKE_TOKEN)
        if state == "expired":
            return _tag(self.partner.expired_token(), F.EXPIRE_TOKEN)
        self.scopes = effective_scopes(token, self.faults)
        return None

    def account_faults(self, scope: str | tuple | None = None, target: str | None = None) -> Answer | None:
        """rate_limit, restrict_account, remove_scope (a missing `scope`), delete_target (`target`), in that order."""
        for fault in self.faults:
            if fault.kind == F.RATE_LIMIT:
                self._used(fault)
                return _tag(self.partner.rate_limited(fault, self.account), F.RATE_LIMIT)
        restrict = next((f for f in self.faults if f.kind == F.RESTRICT_ACCOUNT), None)
        if restrict or (self.account and self.account.restricted):
            if restrict:
                self._used(restrict)
            return _tag(self.partner.restricted(), F.RESTRICT_ACCOUNT)
        if scope:
            answer = self.require_scope(scope)
            if answer:
                return answer
        if target is not None:
            delete = next((f for f in self.faults if f.kind == F.DELETE_TARGET), None)
            if delete or (self.account and self.account.deleted):
                if delete:
                    self._used(delete)
                return _tag(self.partner.not_found(target, self.request), F.DELETE_TARGET)
        return None

    def require_scope(self, scope: str | tuple) -> Answer | None:
        """The partner's missing-scope answer unless the token holds `scope` (a tuple: any one of them)."""
        needed = (scope,) if isinstance(scope, str) else tuple(scope)
        if self.token is None or any(s in self.scopes for s in needed):
            return None
        for fault in self.faults:
            if fault.kind == F.REMOVE_SCOPE and fault.params.get("scope") in needed:
                self._used(fault)
        return _tag(self.partner.missing_scope(needed[0], self.request), F.REMOVE_SCOPE)

    def respond(self, answer: Answer) -> HttpResponse:
        headers = {**self.partner.extra_headers(), **self.headers, **answer.headers}
        content = _content(answer)
        response = HttpResponse(content, status=answer.status, content_type=answer.content_type)
        for name, value in headers.items():
            response[name] = value
        if not answer.logged:
            self._log(answer, content.decode(errors="replace"))
        return response

    def _redact(self, text: str) -> str:
        for value in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(value, REDACTED)
        return text

    def _log(self, answer: Answer, response_text: str) -> None:
        request = self.request
        prefix = f"/sandbox/{self.platform}"
        path = request.path[len(prefix):] if request.path.startswith(prefix) else request.path
        query = request.META.get("QUERY_STRING", "")
        if query:
            path = f"{path}?{_redact_query(query)}"
        headers = {name: request.headers[name] for name in LOGGED_HEADERS if name in request.headers}
        if "Authorization" in request.headers:
            headers["Authorization"] = request.headers["Authorization"].split(" ", 1)[0] + " " + REDACTED
        textual = request.content_type.startswith(("text/", "application/json", "application/x-www-form"))
        if self.raw and not textual:
            body = f"<{len(self.raw)} bytes of {request.content_type}>"
        else:
            body = self.raw.decode(errors="replace")
        if request.content_type == "application/x-www-form-urlencoded" and body:
            body = _redact_query(body)
        row = SandboxRequest(
            platform=self.platform,
            method=_storable(request.method)[:10],
            path=_storable(self._redact(path))[:500],
            account=self.account,
            request_headers={name: _storable(value) for name, value in headers.items()},
            request_body=_storable(self._redact(body))[:EXCERPT_CHARS],
            status=answer.status,
            response_body=_storable(self._redact(response_text))[:EXCERPT_CHARS],
            fault=answer.fault,
        )
        try:
            row.save()
        except IntegrityError:
            # The account went away while we answered (a test database flushed under a slow
            # call): the partner still answers; the log line loses its account.
            row.account = None
            row.save()


def _storable(text: str) -> str:
    """Text PostgreSQL can store: without NUL bytes (the log keeps what it can of a request it refused)."""
    return text.replace("\x00", "")


def _holds_nul(*values: Any) -> bool:
    """Whether a NUL byte is in any of these strings, or in any key or string inside these dicts and lists."""
    pending = list(values)
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending += [*value.keys(), *value.values()]
        elif isinstance(value, list):
            pending += value
    return False


def _content(answer: Answer) -> bytes:
    if answer.body is None:
        return b""
    if isinstance(answer.body, (dict, list)):
        return json.dumps(answer.body).encode()
    return str(answer.body).encode()


def _tag(answer: Answer, kind: str) -> Answer:
    answer.fault = kind
    return answer


def _redact_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, REDACTED if k in SECRET_FIELDS else v) for k, v in pairs])


def endpoint(
    partner: SandboxPartner,
    *,
    scope: str | tuple | None = None,
    target: str | Callable[..., str] | None = None,
    auth: bool = True,
    methods: tuple[str, ...] = ("GET", "POST"),
):
    """Decorate a sandbox view `view(call, **url_kwargs) -> Answer`.

    With auth (the default) the request's bearer token must be one the partner issued;
    then faults apply in a fixed order: latency, timeout, server_error, token
    (invalid, revoked, expired), rate_limit, restrict_account, remove_scope (when
    `scope` is needed; a tuple means any one of them), delete_target (when the call
    names a `target`: a URL kwarg name, or a callable(call, **kwargs) -> target id).
    Without auth only the transport faults (latency, timeout, server_error) of the
    whole platform apply, and the view handles the rest (token endpoints).
    A request the view cannot read (a body or parameter of the wrong shape: a view raising
    ValueError, TypeError, AttributeError or KeyError) gets the partner's bad_request answer,
    as at the partner, never a 500; the traceback is logged.
    Every request is logged to SandboxRequest with its secrets redacted.
    """

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, **kwargs):
            call = Call(request, partner)
            try:
                answer = _answer(call, view, kwargs)
            except _UNREADABLE:
                logger.warning("sandbox %s could not read %s %s", partner.platform, request.method, request.path,
                               exc_info=True)
                answer = partner.bad_request()
            return call.respond(answer)

        def _answer(call, view, kwargs) -> Answer:
            refused = partner.route(call, kwargs)
            if refused is not None:
                return refused
            if call.request.method not in methods:
                return partner.not_found(call.request.path, call.request)
            if call.unreadable:
                return partner.bad_request()
            if not auth:
                call.load_faults(None)
                return call.transport_faults() or view(call, **kwargs)
            answer = call.authenticate()
            if answer is not None:
                return answer
            target_id = None
            if isinstance(target, str):
                target_id = kwargs.get(target)
            elif callable(target):
                target_id = target(call, **kwargs)
            return call.account_faults(scope, target_id) or view(call, **kwargs)

        return wrapper

    return decorate


# What a view raises on input of the wrong shape (int("abc"), a list where an object belongs).
_UNREADABLE = (ValueError, TypeError, AttributeError, KeyError)


def unknown_path_view(partner: SandboxPartner):
    """The last URL pattern of every partner: a path it does not have gets the partner's own
    answer (partner.unknown_path), logged like any call, never Django's HTML 404."""

    @endpoint(partner, auth=False, methods=("GET", "POST", "PUT", "PATCH", "DELETE"))
    def unknown(call, rest=""):
        return partner.unknown_path(call.request)

    return unknown


def client_credentials(call: Call) -> tuple[str, str]:
    """(client id, client secret) of a token endpoint call, as the partner takes them.

    - From the form body (the partner's client_id_param and client_secret), always.
    - From `Authorization: Basic base64(id:secret)` (RFC 6749 2.3.1) where the partner documents
      it (basic_client_auth); the header wins when both are sent. Elsewhere the header is ignored,
      so a client that only sends it is refused like one that sends nothing.
    """
    partner = call.partner
    client_id = str(call.params.get(partner.client_id_param, ""))
    secret = str(call.params.get("client_secret", ""))
    scheme, _, encoded = call.request.headers.get("Authorization", "").partition(" ")
    if partner.basic_client_auth and scheme.lower() == "basic" and encoded.strip():
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        basic_id, _, basic_secret = decoded.partition(":")
        client_id, secret = unquote_plus(basic_id), unquote_plus(basic_secret)
    call.secret(secret)
    return client_id, secret


# ---------------------------------------------------------------- OAuth

CODE_TTL = timedelta(minutes=10)


def create_auth_code(partner: SandboxPartner, account: SandboxAccount, scopes, client_id, redirect_uri) -> str:
    code = secrets.token_urlsafe(24)
    SandboxAuthCode.objects.create(
        platform=partner.platform, code_hash=token_hash(code), account=account, scopes=list(scopes),
        client_id=client_id, redirect_uri=redirect_uri, expires_at=timezone.now() + CODE_TTL,
    )
    return code


def redeem_code(platform: str, code: str, redirect_uri: str) -> tuple[SandboxAuthCode | None, str]:
    """Use an authorization code once. Returns (code, "") or (None, why: unknown|used|expired|redirect_uri)."""
    with transaction.atomic():
        row = (
            SandboxAuthCode.objects.select_for_update()
            .select_related("account")
            .filter(platform=platform, code_hash=token_hash(code or ""))
            .first()
        )
        if row is None:
            return None, "unknown"
        if row.used:
            return None, "used"
        if row.expires_at <= timezone.now():
            return None, "expired"
        if redirect_uri and row.redirect_uri != redirect_uri:
            return None, "redirect_uri"
        row.used = True
        row.save(update_fields=["used"])
        return row, ""


def _add_query(url: str, params: dict) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _cookie_name(platform: str) -> str:
    return f"sandbox_{platform}_account"


def registered_redirect_uris(platform: str) -> list[str]:
    """The redirect URIs registered for our app at this sandbox partner (settings.SANDBOX_REDIRECT_URIS).

    `{platform}` in an entry is the partner's name; an entry that is a path is on SITE_URL, read
    now (tests point SITE_URL at their live server).
    """
    site = settings.SITE_URL.rstrip("/")
    return [
        (site + uri if uri.startswith("/") else uri).replace("{platform}", platform)
        for uri in settings.SANDBOX_REDIRECT_URIS
    ]


def _authorize_error(request: HttpRequest, partner: SandboxPartner, problem: str, **context) -> HttpResponse:
    """The partner's own error page (400): `problem` is "client", "redirect_uri" or "request"."""
    page = render(request, "sandbox/authorize_error.html", {"partner": partner, "problem": problem, **context})
    return HttpResponseBadRequest(page.content)


def authorize_view(partner: SandboxPartner):
    """The partner's consent page: an account picker and the requested scopes.

    - Refused with the partner's error page (400), before anything else and never with a code or a
      redirect: an unknown client id, a redirect_uri that is not one registered for the client
      (registered_redirect_uris, compared exactly, as the partners do), or a parameter the partner
      cannot take (a NUL byte).
    - A form like every other (Django's CSRF check): a POST without the page's token is refused.
    - Preselects the account the partner's hint parameter names (partner.hinted_account), where
      the partner has one; otherwise the account last chosen in this browser (the partner's
      login session, a cookie), as Meta, LinkedIn, TikTok and Mailchimp do; else the first.
    - Allow: redirects to redirect_uri with code and state; Deny: with the partner's
      refusal parameters and state.
    - The user may untick requested scopes (declined) only where the partner allows it
      (partner.partial_grants; LinkedIn: all requested scopes or none).
    """

    def view(request, **url_kwargs):  # url_kwargs: e.g. the API version in the path
        source = request.POST if request.method == "POST" else request.GET
        client_id = source.get(partner.client_id_param, "")
        redirect_uri = source.get("redirect_uri", "")
        state = source.get("state", "")
        if _holds_nul(request.path, dict(request.GET.lists()), dict(source.lists())):
            return _authorize_error(request, partner, "request")
        if client_id != partner.client_id() or not redirect_uri:
            return _authorize_error(request, partner, "client", client_id=client_id)
        if redirect_uri not in registered_redirect_uris(partner.platform):
            return _authorize_error(request, partner, "redirect_uri", redirect_uri=redirect_uri)
        requested = [s for s in re.split(r"[ ,]+", source.get("scope", "")) if s]
        if request.method == "POST":
            if source.get("action") == "deny":
                return HttpResponseRedirect(_add_query(redirect_uri, {**partner.denied_params(), "state": state}))
            account = _chosen_account(partner, source)
            if account is None:
                return HttpResponseBadRequest("Choose an account (a new one's id, name and type must fit).")
            # Unticked scopes are declined, where the partner lets the user untick any.
            granted = [s for s in source.getlist("grant") if s in requested] if partner.partial_grants else requested
            code = create_auth_code(partner, account, granted, client_id, redirect_uri)
            response = HttpResponseRedirect(_add_query(redirect_uri, {"code": code, "state": state}))
            response.set_cookie(_cookie_name(partner.platform), account.account_id, samesite="Lax")
            return response
        accounts = list(
            SandboxAccount.objects.filter(platform=partner.platform, deleted=False).order_by("name", "account_id")
        )
        hint = source.get(partner.hint_param, "") if partner.hint_param else ""
        remembered = request.COOKIES.get(_cookie_name(partner.platform), "")
        preselected = (partner.hinted_account(accounts, hint, remembered) if hint else "") or remembered
        if not any(a.account_id == preselected for a in accounts):
            preselected = accounts[0].account_id if accounts else ""
        return render(
            request,
            "sandbox/authorize.html",
            {
                "partner": partner,
                "accounts": accounts,
                "preselected": preselected,
                "requested": requested,
                "partial_grants": partner.partial_grants,
                "scope": source.get("scope", ""),
                "client_id": client_id,
                "client_id_param": partner.client_id_param,
                "redirect_uri": redirect_uri,
                "state": state,
            },
        )

    return view


def _chosen_account(partner: SandboxPartner, source) -> SandboxAccount | None:
    """The account picked on the consent page, or a new one named there; None if none, or if a new
    one's id, name or type is longer than the sandbox keeps."""
    new_id = source.get("new_account_id", "").strip()
    if new_id:
        fields = {"account_id": new_id, "name": source.get("new_account_name", "").strip() or new_id,
                  "account_type": source.get("new_account_type", "").strip()}
        if any(len(value) > SandboxAccount._meta.get_field(name).max_length for name, value in fields.items()):
            return None
        account, _ = SandboxAccount.objects.get_or_create(
            platform=partner.platform, account_id=new_id,
            defaults={"name": fields["name"], "account_type": fields["account_type"]},
        )
        return account
    return SandboxAccount.objects.filter(
        platform=partner.platform, account_id=source.get("account", ""), deleted=False
    ).first()


# ---------------------------------------------------------------- objects

def numeric_id(digits: int = 17, prefix: str = "") -> str:
    """A partner-style numeric id (Meta, TikTok post ids)."""
    body = "".join(secrets.choice("0123456789") for _ in range(digits - len(prefix)))
    return prefix + body


def log_id() -> str:
    """A request id in the style TikTok and others put in their bodies."""
    return timezone.now().strftime("%Y%m%d%H%M%S") + secrets.token_hex(9).upper()
