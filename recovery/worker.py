"""The RQ worker and queue classes every process uses (settings.RQ WORKER_CLASS and QUEUE_CLASS, the Procfile).

- RecoveryWorker: RQ's SimpleWorker (no fork per job: our jobs are short
  partner calls, and forking costs 13-17 ms a job here, docs/pipeline.md)
  with maintenance every 60 s instead of RQ's 10 minutes, so a job abandoned
  by a killed worker is not left "started" that long; django-rq's rqworker
  has no flag for it, hence the subclass. While Redis is away it waits at
  most 10 s between attempts to reconnect (RQ: 60 s), so it is back at work
  within seconds of a Redis restart. One job at a time. Its default name
  is host.pid.random (RQ's is 32 hex characters, which the log filter masks
  as it would a token). Every job run is a unit of work of the logs
  (config/logs.py): its lines, RQ's own "Job OK" and tracebacks included,
  carry a new cycleId, the job's id, queue and function, and the requestId
  and parentCycleId of whatever enqueued it (from the job's meta); its queue
  wait (enqueued to started) is measured (recovery.queue.wait).
  A running job's heartbeat in RQ's StartedJobRegistry lasts
  RQ_JOB_HEARTBEAT_TTL_S (15 s) instead of RQ's job_timeout + 60 s for a
  SimpleWorker, and a thread of the worker renews it every third of that
  while the job runs (RQ's fork Worker does it from the parent process; a
  SimpleWorker never does), so a job blocked in a partner call keeps a live
  heartbeat as long as its process lives, and a job whose heartbeat ran out
  lost its worker: recovery.publish_queue.publish_jobs_fail_abandoned takes
  it over within seconds (docs/pipeline.md, "When a worker dies").
- ThreadedRecoveryWorker: RQ_WORKER_THREADS RecoveryWorkers in one process,
  each in its own thread with its own RQ registration, Redis and database
  connections, so a process has that many partner calls in flight for the
  memory of one (docs/pipeline.md, "Concurrency"). A publish job spends
  nearly all its time waiting on the partner, so threads share one core well;
  `rqworker-pool` runs one such process per core. RQ has no threaded worker
  (rq/rq#1804 is open), so each thread runs RQ's own unchanged work loop.

What changes for a job in a thread, and why the pipeline's guarantees hold:
- The job timeout is RQ's TimerDeathPenalty (SIGALRM reaches only the main
  thread): the timeout is raised in the job's thread when it next runs Python,
  so a job blocked in a socket read ends at most PARTNER_READ_TIMEOUT_S late;
  PUBLISH_LEASE_S allows for that (config/settings.py).
- The claim, the buckets, the breaker and RQ's per-tenant RateLimit live in
  PostgreSQL and Redis, not in the process, so threads contend for them as
  processes do. A SIGKILL takes all the process's jobs down at once; each is
  recovered like a single killed job (once its heartbeat runs out).
- The scheduler (`--with-scheduler`) is a process forked before the threads.
  RQ's worker maintenance restarts it when it has died, and takes over the
  lock of another process's dead scheduler; the threads here run no such
  check (each is a worker without a scheduler), so the main thread does it
  every SCHEDULER_CHECK_S (_keep_scheduler_running). Its loop lets a Redis
  ConnectionError out (rq/scheduler.py), so a Redis restart kills it; without
  this, planned retries and deferrals would wait until PUBLISH_LOST_JOB_GRACE_S.
- A thread whose RQ loop ends on a Redis error (RQ retries only its blocking
  dequeue; any other command failing ends the loop) is replaced, one a second.
- No per-thread pub/sub listener (RQ's stop-job and shutdown commands): it
  would double the Redis connections, and a SimpleWorker cannot stop a running
  job anyway. SIGTERM/SIGINT stop the process warmly: each thread finishes its
  job; a second signal stops it at once (what was running is recovered once its heartbeat runs out).

RecoveryQueue: django-rq's queue whose every job carries its enqueuer's
requestId and cycleId in its meta (config.logs.job_meta), whoever enqueues it
and on whichever queue, so no enqueue site has to remember to.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
from contextlib import contextmanager

import redis
from django.conf import settings
from django_rq.queues import DjangoRQ
from rq.registry import StartedJobRegistry
from rq.timeouts import TimerDeathPenalty
from rq.utils import now
from rq.worker import SimpleWorker

from config.logs import META_PARENT_CYCLE_ID, META_REQUEST_ID, job_meta, new_id, unit_of_work
from config.metrics import metrics

logger = logging.getLogger(__name__)

MAINTENANCE_INTERVAL_S = 60
# How often an idle worker thread looks up from Redis to see whether it was asked to stop.
STOP_CHECK_S = 5
# How often the main thread of a threaded worker checks that the scheduler process is alive.
SCHEDULER_CHECK_S = 5
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class RecoveryWorker(SimpleWorker):
    # RQ's blocking dequeue retries a lost Redis connection, waiting 1 s and doubling; RQ caps the
    # wait at 60 s, so after a long outage a worker could sit idle for a minute with Redis back.
    max_connection_wait_time = 10.0

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL_S)
        if not kwargs.get("name"):
            kwargs["name"] = f"{socket.gethostname()}.{os.getpid()}.{secrets.token_hex(2)}"
        super().__init__(*args, **kwargs)

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        """How long a running job's heartbeat lasts (RQ_JOB_HEARTBEAT_TTL_S), whatever the job's timeout."""
        return settings.RQ_JOB_HEARTBEAT_TTL_S

    def perform_job(self, job, queue, execution) -> bool:
        meta = job.meta or {}
        with unit_of_work(
            cycleId=new_id(),
            requestId=meta.get(META_REQUEST_ID),
            parentCycleId=meta.get(META_PARENT_CYCLE_ID),
            jobId=job.id,
            queue=queue.name,
            job=job.func_name,
        ):
            if job.enqueued_at is not None:
                waited_ms = max((now() - job.enqueued_at).total_seconds() * 1000, 0.0)
                metrics.timing("recovery.queue.wait", waited_ms, tags={"queue": queue.name})
            # The heartbeat covers the job's callbacks too: RQ runs them inside perform_job.
            with heartbeats(self, job, execution):
                return super().perform_job(job, queue, execution)


@contextmanager
def heartbeats(worker: RecoveryWorker, job, execution):
    """Renew the running job's heartbeat every third of RQ_JOB_HEARTBEAT_TTL_S, from a thread, until the block ends.

    A thread, because the job's own thread may be blocked in a partner call for
    longer than the heartbeat lasts; it runs whenever the process does, so only
    a dead (or frozen) process lets the heartbeat run out. RQ's own
    maintain_heartbeats renews the worker, the execution and its
    StartedJobRegistry entry; a renewal that comes after the job ended changes
    nothing (RQ only updates registry entries that still exist).
    """
    stop = threading.Event()
    every_s = settings.RQ_JOB_HEARTBEAT_TTL_S / 3

    def beat() -> None:
        while not stop.wait(every_s):
            try:
                worker.maintain_heartbeats(job, execution)
            except Exception:  # noqa: BLE001 - Redis unreachable: the next beat tries again
                logger.warning("job heartbeat not renewed", extra={"jobId": job.id}, exc_info=True)

    thread = threading.Thread(target=beat, name=f"heartbeat-{job.id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every_s)


class RecoveryQueue(DjangoRQ):
    def create_job(self, *args, meta: dict | None = None, **kwargs):
        return super().create_job(*args, meta={**job_meta(), **(meta or {})}, **kwargs)


class WorkerThread(RecoveryWorker):
    """One of a ThreadedRecoveryWorker's workers: RQ's work loop, run in a thread that is not the main one."""

    death_penalty_class = TimerDeathPenalty

    def _install_signal_handlers(self):
        pass  # the process's main thread takes the signals and stops every thread

    def subscribe(self):
        pass  # no pub/sub listener per thread (module docstring)

    def unsubscribe(self):
        pass

    def clean_registries(self):
        """RQ's maintenance, with the abandoned jobs' failure callbacks run under the thread-safe timer.

        RQ's StartedJobRegistry runs them under SIGALRM, which only the main
        thread may set: in a thread the callback would fail (logged and
        swallowed) and a dead worker's post would wait for its lease.
        """
        for queue in self.queues:
            StartedJobRegistry(queue=queue, death_penalty_class=TimerDeathPenalty).cleanup(
                exception_handlers=self._exc_handlers
            )
        super().clean_registries()

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        """RQ's blocking dequeue, woken every STOP_CHECK_S to honour a stop request (None then, as when idle)."""
        if timeout is None:  # burst: one non-blocking look
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        idle_since = time.monotonic()
        while not self._stop_requested:
            wait = STOP_CHECK_S if max_idle_time is None else max(1, min(STOP_CHECK_S, max_idle_time))
            result = super().dequeue_job_and_maintain_ttl(wait, max_idle_time=wait)
            if result is not None:
                return result
            if max_idle_time is not None and time.monotonic() - idle_since >= max_idle_time:
                return None
        return None


class ThreadedRecoveryWorker(RecoveryWorker):
    """settings.RQ_WORKER_THREADS WorkerThreads in this process; this object only starts, watches and stops them."""

    def work(self, burst: bool = False, logging_level: str | None = None, max_jobs: int | None = None,
             max_idle_time: int | None = None, with_scheduler: bool = False, **kwargs) -> bool:
        count = settings.RQ_WORKER_THREADS
        if count <= 1:
            return super().work(burst=burst, logging_level=logging_level, max_jobs=max_jobs,
                                max_idle_time=max_idle_time, with_scheduler=with_scheduler, **kwargs)
        run_options = {"burst": burst, "logging_level": logging_level, "max_jobs": max_jobs, "max_idle_time": max_idle_time,
                       **kwargs}
        if with_scheduler:
            # The scheduler runs in a forked process: fork it before any thread exists.
            self._start_scheduler(burst, logging_level)
        workers: dict[threading.Thread, WorkerThread] = {}
        worked = []
        stopping = threading.Event()

        def run(worker: WorkerThread) -> None:
            worked.append(worker.work(**run_options))

        def start_one() -> None:
            worker = WorkerThread(self.queues, connection=self.connection, job_class=self.job_class,
                                  queue_class=self.queue_class, serializer=self.serializer,
                                  exception_handlers=self._exc_handlers, worker_ttl=self.worker_ttl)
            thread = threading.Thread(target=run, args=(worker,), name=f"rq-{worker.name}", daemon=True)
            workers[thread] = worker
            thread.start()

        def request_stop(signum, frame):
            if stopping.is_set():
                raise SystemExit(1)  # second signal: cold stop (daemon threads end with the process)
            stopping.set()
            for worker in workers.values():
                worker._stop_requested = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        try:
            for _ in range(count):
                if not stopping.is_set():
                    start_one()
            missing = 0
            next_scheduler_check = time.monotonic() + SCHEDULER_CHECK_S
            while workers or missing:
                if with_scheduler and not burst and time.monotonic() >= next_scheduler_check and not stopping.is_set():
                    next_scheduler_check = time.monotonic() + SCHEDULER_CHECK_S
                    self._keep_scheduler_running()
                for thread in [thread for thread in workers if not thread.is_alive()]:
                    del workers[thread]
                    # A thread whose loop ended on an error is replaced, unless the process is ending.
                    if not (stopping.is_set() or burst or max_jobs or max_idle_time):
                        missing += 1
                if missing and not stopping.is_set():
                    # One a second, so a Redis outage does not spin threads up and down; a new worker
                    # registers in Redis, so while Redis is away it is tried again a second later.
                    try:
                        start_one()
                        missing -= 1
                    except REDIS_DOWN:
                        pass
                    time.sleep(1)
                elif stopping.is_set():
                    missing = 0
                time.sleep(0.2)
        finally:
            if self.scheduler:
                self.stop_scheduler()
        return any(worked)

    def _keep_scheduler_running(self) -> None:
        """Start the scheduler again if it died, once this process holds (or takes over) its lock.

        What RQ's worker maintenance does (BaseWorker.run_maintenance_tasks). The
        fork happens in a process that has threads: the child only runs
        RQScheduler.work on a connection of its own (RQScheduler.start drops the
        parent's before forking), and the logging module re-creates its locks
        after a fork.
        """
        scheduler = self.scheduler
        if scheduler is None or (scheduler._process is not None and scheduler._process.is_alive()):
            return
        try:
            scheduler.acquire_locks(auto_start=True)
        except REDIS_DOWN:
            pass  # Redis still away: the next check tries again
