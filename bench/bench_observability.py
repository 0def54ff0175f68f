"""What a log line and a metric cost: the JSON line with its filters against the plain line it replaced,
and a metric with and without an agent.

    .venv/bin/python bench/bench_observability.py

No database or Redis: settings are loaded for the redaction of settings' secrets and the metrics gate.
The log line is the pipeline's most frequent one ("partner call", five extra fields), written to
/dev/null through the handler settings.LOGGING builds, inside a job's unit of work (fields bound,
the connection's tokens remembered).
"""

import logging
import logging.config
import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from config.logs import remember_secrets, unit_of_work  # noqa: E402
from config.metrics import metrics  # noqa: E402

N = int(os.environ.get("BENCH_N", "20000"))
EXTRA = {"platform": "meta", "method": "POST", "path": "/v21.0/104857600001/feed", "status": 200, "latency_ms": 182}


def per_call_us(func, n=N) -> float:
    func()
    start = time.perf_counter()
    for _ in range(n):
        func()
    return (time.perf_counter() - start) / n * 1e6


def logger_with(handler_config: dict) -> logging.Logger:
    """A logger whose only handler is built by dictConfig from `handler_config`, writing to /dev/null."""
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": settings.LOGGING["formatters"],
        "filters": settings.LOGGING["filters"],
        "handlers": {"bench": {"class": "logging.FileHandler", "filename": os.devnull, **handler_config}},
        "loggers": {"bench": {"handlers": ["bench"], "level": "INFO", "propagate": False}},
    }
    logging.config.dictConfig(config)
    return logging.getLogger("bench")


def main():
    log = logger_with({})
    plain = per_call_us(lambda: log.info("partner call", extra=EXTRA))
    log = logger_with({"formatter": "json"})
    json_only = per_call_us(lambda: log.info("partner call", extra=EXTRA))
    log = logger_with({"formatter": "json", "filters": ["context", "redact"]})
    with unit_of_work(cycleId="c" * 32, jobId="j" * 32, queue="publish", tenantId=12, connectionId=345):
        remember_secrets("EAAB" + "x" * 180, "page-token-" + "y" * 100)
        full = per_call_us(lambda: log.info("partner call", extra=EXTRA))
        remember_secrets(*(f"token-{i:05d}-" + "z" * 40 for i in range(500)))
        crowded = per_call_us(lambda: log.info("partner call", extra=EXTRA), n=N // 10)

    settings.STATSD_HOST = ""
    no_agent = per_call_us(lambda: metrics.increment("recovery.partner.call", tags={"platform": "meta", "status": 200}))
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    settings.STATSD_HOST, settings.STATSD_PORT = "127.0.0.1", sink.getsockname()[1]
    agent = per_call_us(lambda: metrics.increment("recovery.partner.call", tags={"platform": "meta", "status": 200}))
    sink.close()

    print(f"log line, plain text (the old handler)      : {plain:7.1f} us")
    print(f"log line, JSON, no filter                   : {json_only:7.1f} us")
    print(f"log line, JSON + context + redaction        : {full:7.1f} us   ({full / plain:.1f}x plain)")
    print(f"  ... with 500 secrets remembered (the cap)  : {crowded:7.1f} us   ({crowded / full:.1f}x a job's)")
    print(f"metric, no agent (local run, tests)         : {no_agent:7.2f} us")
    print(f"metric, DogStatsD datagram to an agent      : {agent:7.1f} us   ({agent / no_agent:.0f}x no agent)")
    overhead_pct = (full + 2 * agent) / 100_000 * 100  # microseconds over a 100 ms partner call
    print(f"a partner call's line and 2 metrics, against a 100 ms partner call: {overhead_pct:.3f}%")


if __name__ == "__main__":
    main()
