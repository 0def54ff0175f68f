"""Client-side failures: no answer from the partner (docs/partners/errors.md §6, docs/classifier.md).

Rules, first match wins, over the exception, its cause/context chain and
urllib3's wrapped `reason`:
1. A timeout class (requests Timeout, urllib3 TimeoutError, socket.timeout /
   TimeoutError) or a timeout message ("Read timed out", "The handshake
   operation timed out", cURL 28) -> TIMEOUT. requests wraps read timeouts
   raised while streaming as ConnectionError, and a TLS handshake that times
   out is a timeout, not a certificate problem: the message decides.
2. An SSL class (ssl.SSLError, CertificateError, requests/urllib3 SSLError) or
   a certificate/TLS failure message -> SSL_ERROR.
3. A connection class (refused, reset, aborted, DNS, proxy; requests and
   urllib3 connection errors) or such a message -> NETWORK_ERROR.
4. Anything else -> UNKNOWN.

An exception can also be named by its dotted class name and message (the
classify command, dead letters): known names resolve to the real class
through an allow-list of modules (nothing is imported on the caller's say);
unknown names are read by their last part and the message.
"""

from __future__ import annotations

import builtins
import http.client
import re
import socket
import ssl
from typing import Iterable

import requests.exceptions
import urllib3.exceptions

from config.redaction import mask_text
from recovery.classifier.parsing import short
from recovery.taxonomy import ClassifiedError, ErrorCode

_MODULES = {
    "requests.exceptions": requests.exceptions,
    "requests": requests.exceptions,
    "urllib3.exceptions": urllib3.exceptions,
    "urllib3": urllib3.exceptions,
    "socket": socket,
    "ssl": ssl,
    "http.client": http.client,
    "builtins": builtins,
    "": builtins,
}

_TIMEOUT_CLASSES = (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError, socket.timeout)
_SSL_CLASSES = (ssl.SSLError, ssl.CertificateError, requests.exceptions.SSLError, urllib3.exceptions.SSLError)
_NETWORK_CLASSES = (
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.NameResolutionError,
    urllib3.exceptions.ProxyError,
    urllib3.exceptions.MaxRetryError,
    http.client.RemoteDisconnected,
    http.client.IncompleteRead,
    socket.gaierror,
    ConnectionError,  # refused, reset, aborted, broken pipe
)

_TIMEOUT_TEXT = re.compile(
    r"timed out|\btimeout\b|ETIMEDOUT|ESOCKETTIMEDOUT|deadline exceeded|curl error 28|connect timeout=|read timeout=",
    re.I,
)
_NETWORK_TEXT = re.compile(
    r"connection (refused|reset|aborted|closed)|reset by peer|broken pipe|name or service not known|"
    r"could not resolve|nodename nor servname|temporary failure in name resolution|getaddrinfo|"
    r"failed to establish a new connection|network is unreachable|no route to host|"
    r"remote end closed|socket disconnected|ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|"
    r"cannot connect to proxy|failed to connect|empty reply from server|recv failure|send failure",
    re.I,
)
_SSL_TEXT = re.compile(
    r"certificate verify failed|CERTIFICATE_VERIFY_FAILED|SSLError|SSL: |\[SSL|ssl module is not available|"
    r"hostname .* doesn't match|wrong version number|sslv3 alert|tlsv1 alert|handshake failure|"
    r"self[- ]signed certificate|unable to get local issuer certificate|certificate has expired|"
    r"ssl certificate problem|ssl connect error|ssl_connect|openssl",
    re.I,
)
_LEAF_TIMEOUT = re.compile(r"timeout|timedout", re.I)
_LEAF_SSL = re.compile(r"ssl|tls|certificate", re.I)
_LEAF_NETWORK = re.compile(r"connect|network|socket|proxy|resolution|dns|protocolerror|gaierror|reset|refused", re.I)


def classify_system_error(exc: BaseException, platform: str = "system") -> ClassifiedError:
    """A client-side failure (no answer), classified. Never raises."""
    try:
        chain = list(_exception_chain(exc))
        classes = [type(e) for e in chain]
        text = " ".join(_message(e) for e in chain)
        code = _rule(classes, text, leaf_names=[])
    except Exception:  # a broken __str__ or chain must not break the caller's error handling
        code = ErrorCode.UNKNOWN
        text = ""
    return ClassifiedError(
        code=code,
        platform=platform,
        partner_code=_dotted(type(exc)),
        partner_message=_masked(short(text or type(exc).__name__)),
    )


def classify_named_system_error(name: str, message: str, platform: str = "system") -> ClassifiedError:
    """A client-side failure given as a dotted class name and message (the classify command)."""
    name = (name or "").strip()
    message = message if isinstance(message, str) else str(message or "")
    cls = resolve_exception_class(name)
    code = _rule([cls] if cls else [], message, leaf_names=[] if cls else [name.rsplit(".", 1)[-1]])
    return ClassifiedError(code=code, platform=platform, partner_code=name, partner_message=_masked(short(message)))


def resolve_exception_class(name: str) -> type[BaseException] | None:
    """The class for a dotted name in an allow-listed module; None for anything else."""
    module_name, _, attr = name.rpartition(".")
    module = _MODULES.get(module_name)
    if module is None or not attr.isidentifier() or attr.startswith("_"):
        return None
    found = getattr(module, attr, None)
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def _is_timeout_class(cls: type) -> bool:
    # urllib3's NewConnectionError subclasses ConnectTimeoutError for history's
    # sake; a refused connection or a DNS failure is not a timeout.
    return issubclass(cls, _TIMEOUT_CLASSES) and not issubclass(cls, urllib3.exceptions.NewConnectionError)


def _rule(classes: list[type], text: str, leaf_names: list[str]) -> ErrorCode:
    if any(_is_timeout_class(c) for c in classes) or _TIMEOUT_TEXT.search(text):
        return ErrorCode.TIMEOUT
    if any(_LEAF_TIMEOUT.search(n) for n in leaf_names):
        return ErrorCode.TIMEOUT
    if any(issubclass(c, _SSL_CLASSES) for c in classes) or any(_LEAF_SSL.search(n) for n in leaf_names):
        return ErrorCode.SSL_ERROR
    if any(issubclass(c, _NETWORK_CLASSES) for c in classes) or any(_LEAF_NETWORK.search(n) for n in leaf_names):
        # requests wraps an SSL failure in a plain ConnectionError when it is raised late: the text says so.
        if _SSL_TEXT.search(text) and not _NETWORK_TEXT.search(text):
            return ErrorCode.SSL_ERROR
        return ErrorCode.NETWORK_ERROR
    if _NETWORK_TEXT.search(text):
        return ErrorCode.NETWORK_ERROR
    if _SSL_TEXT.search(text):
        return ErrorCode.SSL_ERROR
    return ErrorCode.UNKNOWN


def _exception_chain(exc: BaseException, limit: int = 10) -> Iterable[BaseException]:
    """The exception, what caused it, and what urllib3/requests wrapped in it (MaxRetryError.reason, args)."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < limit:
        current = todo.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.append(getattr(current, "reason", None) if isinstance(getattr(current, "reason", None), BaseException) else None)
        todo.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        todo.append(current.__cause__)
        todo.append(current.__context__)


def _message(exc: BaseException) -> str:
    try:
        return f"{type(exc).__name__}: {exc}"
    except Exception:
        return type(exc).__name__


def _dotted(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _masked(text: str) -> str:
    return mask_text(text)
