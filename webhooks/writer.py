"""Receiving a verified webhook: stored (in groups, by one writer thread per process), answered, processed later.

`webhook_receive(delivery)` is what every receiver calls. Inside a transaction (a
caller's atomic block, a test) the row is stored in it and a drain is requested when it
commits. Otherwise the delivery goes through this process's writer:

Every delivery must be on disk before it is answered, and one INSERT and one commit
per delivery makes each request pay a statement, a commit and a round trip (and
Django's connection health check) while the partner waits. A web process serving
many requests at once (gunicorn threads) instead hands each verified delivery to
its writer thread and waits: the writer takes everything waiting, stores it with
one statement (webhooks.intake.webhook_events_store), requests one drain for the
group (webhooks.queue), and only then answers each request. Under load a
commit carries tens of deliveries; alone, a delivery waits for nothing but its own.

Rules:
- a request is answered only after the statement holding its row committed;
- a failed statement fails every request of its group (they answer 503 and the
  partners deliver again), and the writer's connection is dropped, so the next
  group reconnects; a writer that does not answer within WAIT_S fails the request too;
- the writer is started on first use in each process (after gunicorn's fork), and
  its connection follows CONN_MAX_AGE like a request's.
"""

from __future__ import annotations

import logging
import os
import queue
import threading

from django.db import connections, router

from config.metrics import metrics
from webhooks.intake import Stored, webhook_event_store, webhook_events_store
from webhooks.models import WebhookEvent
from webhooks.queue import request_drain, request_drain_on_commit
from webhooks.verification import Delivery

logger = logging.getLogger(__name__)

MAX_GROUP = 200  # rows in one statement
WAIT_S = 10.0  # a request waits this long for its group's commit, then answers 503


class StoreUnavailable(Exception):
    """The delivery could not be stored (the database refused or did not answer): answer 503, the partner retries."""


class _Waiter:
    """A request waiting for its group's commit: a bare lock the writer releases (threading.Condition,
    which Future uses, is Python code: waking through it costs a webhook 10% of its CPU)."""

    __slots__ = ("delivery", "done", "stored", "error")

    def __init__(self, delivery: Delivery):
        self.delivery = delivery
        self.done = threading.Lock()
        self.done.acquire()
        self.stored: Stored | None = None
        self.error: BaseException | None = None

    def answer(self, stored: Stored | None = None, error: BaseException | None = None) -> None:
        self.stored, self.error = stored, error
        self.done.release()


class _Writer:
    def __init__(self):
        self._waiting: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def store(self, delivery: Delivery) -> Stored:
        """Hand the delivery to this process's writer and wait until its row is committed."""
        self._ensure_running()
        waiter = _Waiter(delivery)
        self._waiting.put(waiter)
        if not waiter.done.acquire(timeout=WAIT_S):
            raise StoreUnavailable("the webhook writer did not answer in time")
        if waiter.error is not None:
            raise StoreUnavailable(f"the database refused the group: {type(waiter.error).__name__}") from waiter.error
        return waiter.stored

    def _ensure_running(self) -> None:
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                if self._pid != os.getpid():
                    self._waiting = queue.SimpleQueue()  # a forked child has none of its parent's waiters
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="webhook-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            group = [self._waiting.get()]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self._waiting.get_nowait())
                except queue.Empty:
                    break
            self._write(group)

    def _write(self, group: list[_Waiter]) -> None:
        db = connections[router.db_for_write(WebhookEvent)]
        try:
            results = webhook_events_store([waiter.delivery for waiter in group])
        except BaseException as exc:  # noqa: BLE001  every waiting request must get an answer
            logger.warning("webhook group not stored", extra={"count": len(group), "error": type(exc).__name__})
            db.close()
            for waiter in group:
                waiter.answer(error=exc)
            return
        try:
            if any(stored.created for stored in results):
                request_drain()  # committed: one ring for the whole group (Redis down: the sweeper's job)
        except Exception:  # noqa: BLE001  stored is stored: the requests are answered whatever Redis did
            logger.exception("webhook drain not requested")
        for waiter, stored in zip(group, results):
            waiter.answer(stored)
        # As a request's end does: a connection past CONN_MAX_AGE (or broken) is closed, and the next
        # group reconnects (with its health check).
        db.close_if_unusable_or_obsolete()


_writer = _Writer()


def webhook_receive(delivery: Delivery) -> Stored:
    """Store a verified delivery and have it processed (webhooks.queue); a redelivery is neither stored nor processed again.

    StoreUnavailable when the writer could not store it (the receiver answers 503).
    """
    db = connections[router.db_for_write(WebhookEvent)]
    if db.in_atomic_block:
        stored = webhook_event_store(delivery)
        if stored.created:
            request_drain_on_commit()
    else:
        stored = _writer.store(delivery)
    metrics.increment("recovery.webhook.received", tags={"platform": delivery.platform})
    return stored
