"""What the process's log handler writes, captured for a test.

    with captured_logs() as logs:
        ...                                    # run a publish, a request, a job
    logs.lines()                               # every line, parsed (each must be one JSON object)
    logs.text()                                # the JSON output as written
    logs.raw()                                 # the same records before any filter: what would leak without them

The capture handler copies the formatter and filters of the handler settings.LOGGING configures
(config/logs.py), so what a test reads is what the process prints. `raw` comes from a handler
placed before it, with a plain formatter and no filter.
"""

from __future__ import annotations

import io
import json
import logging
from contextlib import contextmanager

from config.logs import RedactFilter


def configured_handler() -> logging.Handler:
    """The root logger's handler from settings.LOGGING (the one with the redaction filter)."""
    return next(h for h in logging.getLogger().handlers if any(isinstance(f, RedactFilter) for f in h.filters))


class CapturedLogs:
    def __init__(self):
        self.stream, self.raw_stream = io.StringIO(), io.StringIO()

    def text(self) -> str:
        return self.stream.getvalue()

    def raw(self) -> str:
        return self.raw_stream.getvalue()

    def lines(self) -> list[dict]:
        parsed = []
        for line in self.text().splitlines():
            value = json.loads(line)
            assert isinstance(value, dict), line
            parsed.append(value)
        return parsed

    def with_message(self, message: str) -> list[dict]:
        return [line for line in self.lines() if line.get("message") == message]


class _RawFormatter(logging.Formatter):
    """The message, the exception's traceback and every field of the record, as they are."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{super().format(record)} {record.__dict__}"


@contextmanager
def captured_logs(level: int = logging.INFO):
    """Capture every log record of the process at `level` and above, as the configured handler writes it."""
    configured = configured_handler()
    logs = CapturedLogs()
    capture = logging.StreamHandler(logs.stream)
    capture.setFormatter(configured.formatter)
    for log_filter in configured.filters:
        capture.addFilter(log_filter)
    raw = logging.StreamHandler(logs.raw_stream)
    raw.setFormatter(_RawFormatter("%(name)s %(message)s"))
    root = logging.getLogger()
    previous_level = root.level
    root.setLevel(min(level, previous_level))
    root.handlers.insert(0, raw)  # first: it sees each record before any filter changes it
    root.addHandler(capture)
    try:
        yield logs
    finally:
        root.removeHandler(capture)
        root.removeHandler(raw)
        root.setLevel(previous_level)
