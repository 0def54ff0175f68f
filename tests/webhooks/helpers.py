"""Helpers for the webhook tests: a DogStatsD listener, Google's keys made locally, a real worker.

    metrics = StatsdListener(); ...; metrics.count("recovery.webhook.rejected", reason="signature")
    google = LocalGoogleKeys(); token = google.token(audience=...)      # served at google.base_url
    run_webhooks_worker()                                               # RecoveryWorker, burst, `webhooks` queue
    run_due_retries()                                                   # planned retries are due and run now
    with database_fault("connections_connection"): ...                  # every UPDATE of the table raises
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import django_rq
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection as db_connection
from django.utils import timezone
from jwt.algorithms import RSAAlgorithm
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from recovery.worker import RecoveryWorker
from webhooks.models import WebhookEvent
from webhooks.queue import webhooks_queue

PUSH_ACCOUNT = "push@our-project.iam.gserviceaccount.com"


class StatsdListener:
    """A UDP socket standing in for the Datadog agent: what config.metrics sent, as (name, value, tags)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []

    def _drain(self) -> None:
        while True:
            try:
                data = self.sock.recv(65535)
            except (TimeoutError, socket.timeout):
                return
            self.lines += [line for line in data.decode().splitlines() if line]

    def values(self, name: str, **tags) -> list[float]:
        """The values sent so far for `name` (a counter's increments, a timing's milliseconds) whose tags include `tags`."""
        self._drain()
        found = []
        for line in self.lines:
            metric, _, rest = line.partition(":")
            value, _, rest = rest.partition("|")
            sent_tags = dict(tag.split(":", 1) for part in rest.split("|") if part.startswith("#")
                             for tag in part[1:].split(","))
            if metric == name and all(sent_tags.get(key) == str(val) for key, val in tags.items()):
                found.append(float(value))
        return found

    def count(self, name: str, **tags) -> int:
        """The sum of `name`'s counter values sent so far whose tags include `tags`."""
        return int(sum(self.values(name, **tags)))

    def close(self) -> None:
        self.sock.close()


class LocalGoogleKeys:
    """An RSA key made here, its JWKS served at {base_url}/oauth2/v3/certs (what GBP_CERTS_BASE points at)."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex
        self.requests = 0
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.kid, alg="RS256", use="sig")
        body = json.dumps({"keys": [jwk]}).encode()
        keys = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                keys.requests += 1
                found = self.path == "/oauth2/v3/certs"
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body if found else b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, audience: str, *, email: str = PUSH_ACCOUNT, email_verified=True, issuer="https://accounts.google.com",
              lifetime_s: int = 3600, issued_at: float | None = None, key=None, kid: str | None = None,
              algorithm: str = "RS256", **claims) -> str:
        """A Pub/Sub push token as Google signs one (override any claim to forge a wrong one)."""
        now = int(issued_at if issued_at is not None else time.time())
        payload = {"aud": audience, "azp": "1234567890", "email": email, "email_verified": email_verified,
                   "exp": now + lifetime_s, "iat": now, "iss": issuer, "sub": "1234567890", **claims}
        signing_key = key or self.key
        if algorithm.startswith("HS"):
            signing_key = signing_key if isinstance(signing_key, str) else "a-shared-secret-of-32-bytes-or-more!"
        return jwt.encode(payload, signing_key, algorithm=algorithm, headers={"kid": kid or self.kid})

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_webhooks_worker() -> None:
    """Run the `webhooks` queue's jobs in this process with the production worker class, until it is empty."""
    django_rq.get_worker("webhooks", worker_class=RecoveryWorker).work(burst=True)


def scheduled_job_ids() -> list[str]:
    return ScheduledJobRegistry(queue=webhooks_queue()).get_job_ids()


def run_due_retries() -> int:
    """Make every planned retry due now, as if its time had come: the events' next attempt and the
    drains scheduled for it (moved to the queue); returns how many drains were moved."""
    WebhookEvent.objects.filter(outcome=WebhookEvent.Outcome.PENDING, next_attempt_at__isnull=False).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1))
    queue = webhooks_queue()
    registry = ScheduledJobRegistry(queue=queue)
    job_ids = registry.get_job_ids()
    for job_id in job_ids:
        job = Job.fetch(job_id, connection=queue.connection)
        registry.remove(job)
        queue.enqueue_job(job)
    return len(job_ids)


@contextlib.contextmanager
def database_fault(table: str, when: str = "TRUE", event: str = "UPDATE"):
    """A database fault: an `event` (UPDATE, INSERT) on `table` whose new row matches `when` raises, until the block ends."""
    with db_connection.cursor() as cursor:
        cursor.execute(f"""
            CREATE FUNCTION test_fault() RETURNS trigger AS $$
            BEGIN IF {when} THEN RAISE EXCEPTION 'read-only (test fault)'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_fault BEFORE {event} ON {table} FOR EACH ROW EXECUTE FUNCTION test_fault();
        """)
    try:
        yield
    finally:
        with db_connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS test_fault ON {table}; DROP FUNCTION IF EXISTS test_fault()")
