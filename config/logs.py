"""Structured logs: one JSON object a line, in every process (web, worker, cron), with the context of
the work in hand, and never a secret.

The pieces, all wired by `logging_config()` (settings.LOGGING, and gunicorn's own loggers through
config/gunicorn.py):

- python-json-logger's JsonFormatter: the record's own fields (timestamp, level, logger, message)
  and every `extra=` field, so `logger.info("partner call", extra={"status": 200})` prints
  `{"message": "partner call", "status": 200, ...}`.
- `ContextFilter`: adds the fields of the unit of work in hand (below) to every record that does
  not carry them already.
- `RedactFilter`: on every handler, after the context: scrubs the message (with its arguments
  merged), the formatted exception and the stack with config.redaction (`mask_text`, the secret
  shapes), and masks the exact secret values this unit of work has met (`mask_known`), whatever
  their shape, in those and in the extra fields. Extra fields hold ids, codes and numbers (free
  text goes in the message), so they get `mask_known` and the secret-name rule, not `mask_text`,
  which would mask the ids (a job id is a long run of letters and digits).

Units of work: a web request (config.request_logs), a job run or cron tick (recovery.worker).
- `unit_of_work(**fields)`: fields and remembered secrets start empty and end with the unit.
  Outside any unit (a shell, a management command) each thread has one that lasts as long as it.
- `bind(**fields)`: add fields to the unit in hand (the connection in hand: tenantId, connectionId,
  platform); `log_fields(**fields)`: for a block only.
- `remember_secrets(*values)`: exact values never to print in this unit (the tokens of the
  connection in hand, a page token a partner just sent). Settings that hold secrets (SECRET_KEY,
  the partners' client secrets, TOKEN_ENCRYPTION_KEYS, passwords in DATABASES and REDIS_URL) are
  masked in every unit.
- `job_meta()`: what an enqueued job carries of its enqueuer (requestId, the enqueuing cycle),
  read back by the worker (recovery.worker).

Pure: standard library, python-json-logger, config.redaction and (lazily) django.conf; no app code,
so settings and gunicorn's config import it.
"""

from __future__ import annotations

import logging
import logging.config
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from django.conf import settings
from pythonjsonlogger.core import RESERVED_ATTRS

from config.redaction import MASK, is_secret_key, mask_known, mask_text, mask_value

# Job meta keys: the request that started the chain, and the cycle (job run or tick) that enqueued this job.
META_REQUEST_ID = "requestId"
META_PARENT_CYCLE_ID = "parentCycleId"

# A request id we accept from a client or proxy (X-Request-ID): bounded, and only characters that
# cannot break a log line or a header. Anything else is replaced by a new id.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=/-]{0,127}")
# A unit of work remembers at most this many secret values (each spelling counts): a sweep over many
# connections keeps the newest (bench/bench_observability.py measures a line at the cap).
_MAX_SECRETS = 500
# Settings whose value is a secret (or a list of secrets).
_SECRET_SETTING = re.compile(r"(SECRET|SECRET_KEY|SECRET_KEY_FALLBACKS|_KEYS?|TOKEN|DSN|PASSWORD)$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STANDARD_ATTRS = frozenset(RESERVED_ATTRS) | {"message", "asctime", "taskName"}


def new_id() -> str:
    """A fresh id for a request or a cycle (32 hex characters)."""
    return uuid.uuid4().hex


def clean_request_id(value: str | None) -> str | None:
    """`value` if it is an acceptable request id (1-128 safe characters), else None."""
    if value and _REQUEST_ID.fullmatch(value):
        return value
    return None


# -- units of work ----------------------------------------------------------------------


@dataclass
class _Unit:
    fields: dict = field(default_factory=dict)
    secrets: dict = field(default_factory=dict)  # an ordered set: value -> None


_unit: ContextVar[_Unit | None] = ContextVar("log_unit", default=None)


def _current() -> _Unit:
    unit = _unit.get()
    if unit is None:
        unit = _Unit()
        _unit.set(unit)  # this thread's (or context's) own, for work outside any unit
    return unit


def _present(fields: dict) -> dict:
    return {key: value for key, value in fields.items() if value is not None and value != ""}


@contextmanager
def unit_of_work(**fields) -> Iterator[None]:
    """A request, a job run or a cron tick: its lines carry `fields`; what it remembers ends with it."""
    token = _unit.set(_Unit(fields=_present(fields)))
    try:
        yield
    finally:
        _unit.reset(token)


def bind(**fields) -> None:
    """Add fields to every later line of the unit in hand (None or "" leaves a field as it is)."""
    _current().fields.update(_present(fields))


@contextmanager
def log_fields(**fields) -> Iterator[None]:
    """Add fields to the lines logged inside the block; the unit's fields are as before afterwards."""
    unit = _current()
    before = {key: unit.fields[key] for key in fields if key in unit.fields}
    unit.fields.update(_present(fields))
    try:
        yield
    finally:
        for key in fields:
            unit.fields.pop(key, None)
        unit.fields.update(before)


def context_fields() -> dict:
    """The fields of the unit in hand (a copy)."""
    return dict(_current().fields)


def job_meta() -> dict:
    """The meta a job enqueued now carries: the requestId of the chain and the cycle that enqueued it."""
    fields = _current().fields
    return _present({META_REQUEST_ID: fields.get("requestId"), META_PARENT_CYCLE_ID: fields.get("cycleId")})


def remember_secrets(*values) -> None:
    """Never print these exact values in this unit of work (also stripped, repr-escaped and URL-quoted)."""
    secrets = _current().secrets
    for value in values:
        if not isinstance(value, str) or not value:
            continue
        for spelling in (value, value.strip(), repr(value)[1:-1], quote(value, safe="")):
            secrets.pop(spelling, None)
            secrets[spelling] = None
    while len(secrets) > _MAX_SECRETS:
        secrets.pop(next(iter(secrets)))


def remember_secrets_in(value, _depth: int = 0) -> None:
    """Remember every value under a secret name (access_token, refresh_token...) inside a partner's answer."""
    if _depth > 6:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and is_secret_key(key):
                remember_secrets(item)
            elif isinstance(item, (dict, list)):
                remember_secrets_in(item, _depth + 1)
    elif isinstance(value, list):
        for item in value[:200]:
            remember_secrets_in(item, _depth + 1)


def known_secrets() -> list[str]:
    """The exact values masked in this unit: what it remembered, and the settings' secrets."""
    return [*_current().secrets, *_settings_secrets()]


_settings_secret_values: tuple[str, ...] | None = None


def _settings_secrets() -> tuple[str, ...]:
    """The secret values in Django's settings (computed once settings are configured)."""
    global _settings_secret_values
    if _settings_secret_values is not None:
        return _settings_secret_values
    if not settings.configured:  # gunicorn's master logs before Django is set up
        return ()
    values: list[str] = []
    for name in dir(settings):
        if not (name.isupper() and _SECRET_SETTING.search(name)):
            continue
        value = getattr(settings, name, None)
        if isinstance(value, str):
            values.append(value)
        elif isinstance(value, (list, tuple)):
            values += [item for item in value if isinstance(item, str)]
    for database in getattr(settings, "DATABASES", {}).values():
        values.append(database.get("PASSWORD") or "")
    values.append(urlsplit(getattr(settings, "REDIS_URL", "") or "").password or "")
    _settings_secret_values = tuple(v for v in values if len(v) >= 6)
    return _settings_secret_values


# -- the filters -------------------------------------------------------------------------


class ContextFilter(logging.Filter):
    """Adds the fields of the unit of work in hand to the record (a field the call set itself wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _current().fields.items():
            if key not in record.__dict__:
                setattr(record, key, value)
        return True


class RedactFilter(logging.Filter):
    """Scrubs every secret from the record: message and arguments, exception, stack, extra fields.

    The record is changed in place (later handlers see it scrubbed too): the message becomes the
    merged, masked text with no arguments; a formatted, masked exception replaces exc_info.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed %-format must not lose the line
            message = f"{record.msg} {record.args!r}"
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        extras = {key: value for key, value in record.__dict__.items()
                  if key not in _STANDARD_ATTRS and not key.startswith("_")}
        # One pass over the known values finds the few (usually none) this record holds.
        haystack = "\0".join([message, record.exc_text or "", record.stack_info or "", *map(str, extras.values())])
        known = [value for value in known_secrets() if value in haystack]
        record.msg, record.args = scrub(_ANSI.sub("", message), known), ()
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, known)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, known)
        for key, value in extras.items():
            if is_secret_key(key) and isinstance(value, str) and value:
                setattr(record, key, MASK)
            elif isinstance(value, str) and known:
                setattr(record, key, mask_known(value, known))
            elif isinstance(value, (dict, list, tuple)):
                setattr(record, key, _mask_known_in(mask_value(value), known))
        return True


def scrub(text: str, known: list[str] | None = None) -> str:
    """`text` with every secret shape (config.redaction.mask_text) and every known value masked."""
    return mask_text(mask_known(text, known if known is not None else known_secrets()))


def _mask_known_in(value, known: list[str]):
    if isinstance(value, str):
        return mask_known(value, known)
    if isinstance(value, dict):
        return {key: _mask_known_in(item, known) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask_known_in(item, known) for item in value]
    return value


# -- configuration ------------------------------------------------------------------------

JSON_FORMATTER = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "{levelname}{name}{message}",
    "style": "{",
    "rename_fields": {"levelname": "level", "name": "logger", "exc_info": "exception"},
    "timestamp": True,
}
FILTERS = {"context": {"()": "config.logs.ContextFilter"}, "redact": {"()": "config.logs.RedactFilter"}}


def logging_config(level: str = "INFO") -> dict:
    """settings.LOGGING: one stderr handler, JSON lines, the context and redaction filters.

    stderr, not stdout: a management command's own output (`manage.py flags list`, `classify`)
    stays clean on stdout. Django's own loggers lose the handlers Django gives them (with DEBUG on,
    `django` printed every warning twice: once on its console handler, once on the root's) and
    propagate to the root; so do RQ's (`rq.worker` and the others are given no handler of their
    own, and RQ adds none when the root has one) and gunicorn's (config/gunicorn.py).
    """
    propagate = {"handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": JSON_FORMATTER},
        "filters": FILTERS,
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json",
                "filters": ["context", "redact"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {**propagate, "level": level},
            "django.server": propagate,
            "django.request": propagate,
            "rq": propagate,
            "rq.worker": propagate,
            "gunicorn.error": propagate,
            # gunicorn's access line repeats config.request_logs's "request" line, without the requestId.
            "gunicorn.access": {**propagate, "level": "WARNING"},
            "py.warnings": propagate,
            # django-axes announces its version at every process start: only its warnings (lockouts) matter.
            "axes": {**propagate, "level": "WARNING"},
            # redis-py gives this logger a plain handler of its own unless the logger already exists.
            "push_response": propagate,
            # Sentry's SDK gives its own logger a plain handler unless it has one: give it ours (warnings and up).
            "sentry_sdk.errors": {"handlers": ["console"], "propagate": False, "level": "WARNING"},
        },
    }


def configure_logging(config: dict) -> None:
    """settings.LOGGING_CONFIG: apply `config` and send Python warnings to the log (as JSON lines too)."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)
