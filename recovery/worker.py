"""The RQ worker class every worker process runs (settings.RQ["WORKER_CLASS"]).

RQ's default maintenance interval is 10 minutes, so a job abandoned by a
killed worker would sit "started" that long before StartedJobRegistry
cleanup recovers it. django-rq's rqworker has no flag for it, hence this
subclass. SimpleWorker (no fork per job) because our jobs are short partner
calls: forking costs 13-17 ms a job on this machine (ecosystem.md §1.10).
"""

from rq.worker import SimpleWorker

MAINTENANCE_INTERVAL_S = 60


class RecoveryWorker(SimpleWorker):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL_S)
        super().__init__(*args, **kwargs)
