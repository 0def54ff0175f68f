"""The RQ worker and queue classes every process uses (settings.RQ WORKER_CLASS and QUEUE_CLASS).

RecoveryWorker:
- RQ's default maintenance interval is 10 minutes, so a job abandoned by a
  killed worker would sit "started" that long before StartedJobRegistry
  cleanup recovers it. django-rq's rqworker has no flag for it, hence this
  subclass. SimpleWorker (no fork per job) because our jobs are short partner
  calls: forking costs 13-17 ms a job on this machine (docs/pipeline.md).
- Its default name is host.pid.random (RQ's is 32 hex characters, which the
  log filter masks as it would a token).
- Every job run is a unit of work of the logs (config/logs.py): its lines,
  RQ's own "Job OK" and tracebacks included, carry a new cycleId, the job's id,
  queue and function, and the requestId and parentCycleId of whatever enqueued
  it (from the job's meta). Its queue wait (enqueued to started) is measured
  (recovery.queue.wait).

RecoveryQueue: django-rq's queue whose every job carries its enqueuer's
requestId and cycleId in its meta (config.logs.job_meta), whoever enqueues it
and on whichever queue, so no enqueue site has to remember to.
"""

from __future__ import annotations

import os
import secrets
import socket

from django_rq.queues import DjangoRQ
from rq.utils import now
from rq.worker import SimpleWorker

from config.logs import META_PARENT_CYCLE_ID, META_REQUEST_ID, job_meta, new_id, unit_of_work
from config.metrics import metrics

MAINTENANCE_INTERVAL_S = 60


class RecoveryWorker(SimpleWorker):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL_S)
        if not kwargs.get("name"):
            kwargs["name"] = f"{socket.gethostname()}.{os.getpid()}.{secrets.token_hex(2)}"
        super().__init__(*args, **kwargs)

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
            return super().perform_job(job, queue, execution)


class RecoveryQueue(DjangoRQ):
    def create_job(self, *args, meta: dict | None = None, **kwargs):
        return super().create_job(*args, meta={**job_meta(), **(meta or {})}, **kwargs)
