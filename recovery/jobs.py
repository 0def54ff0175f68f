"""RQ entry points of the recovery app: take ids, load rows, call a service.

Each job first closes database connections that are too old or broken: the
worker is a long-lived process (SimpleWorker, no fork per job), so nothing
else does what a request's start does for a web process.
"""

from __future__ import annotations

import logging

from django.db import close_old_connections
from rq.exceptions import AbandonedJobError

from recovery.notifications import connection_back_mail_send, connection_pause_mail_send
from recovery.pings import connection_ping, pings_enqueue_due
from recovery.publish_queue import publish_jobs_fail_abandoned
from recovery.publishing import Abandoned, post_publish, post_recover_abandoned, post_recover_when_lease_ends
from recovery.sweeper import posts_enqueue_due, posts_sweep
from recovery.token_upkeep import token_refresh_planned, tokens_notify_expiring, tokens_refresh_due

logger = logging.getLogger(__name__)


def post_publish_job(post_id: int) -> str:
    """Publish one post (recovery.publishing.post_publish); returns the outcome's name."""
    close_old_connections()
    return post_publish(post_id).value


def post_publish_failed(job, connection, exc_type, exc_value, traceback) -> None:
    """RQ on_failure callback of the publish job: the job raised, or RQ found it abandoned.

    The post may be left `publishing`. Abandoned (AbandonedJobError: its heartbeat ran
    out, the worker died): recovered now, unless another live job of the post holds it
    (recovery.publishing.post_recover_abandoned). Raised: recovered once its lease ends
    (post_recover_when_lease_ends). The sweeper's lease check is the backstop of both.
    """
    close_old_connections()
    post_id = job.args[0] if job.args else None
    logger.warning(
        "publish job failed",
        extra={"postId": post_id, "jobId": job.id, "error": getattr(exc_type, "__name__", str(exc_type))},
    )
    if post_id is None:
        return
    if exc_type is not None and issubclass(exc_type, AbandonedJobError):
        post_recover_abandoned(post_id, Abandoned.WORKER_DIED)
    else:
        post_recover_when_lease_ends(post_id)


def post_recover_job(post_id: int) -> str | None:
    """Recover one post abandoned mid-publish (recovery.publishing.post_recover_abandoned)."""
    close_old_connections()
    outcome = post_recover_abandoned(post_id)
    return outcome.value if outcome else None


def publish_jobs_fail_abandoned_job() -> int:
    """Cron: fail the publish jobs whose worker died and recover their posts (publish_jobs_fail_abandoned)."""
    close_old_connections()
    return publish_jobs_fail_abandoned()


def posts_enqueue_due_job() -> int:
    """Cron: enqueue the posts that came due (recovery.sweeper.posts_enqueue_due)."""
    close_old_connections()
    return posts_enqueue_due()


def posts_sweep_job() -> dict:
    """Cron: recover abandoned publishes and re-enqueue lost jobs (recovery.sweeper.posts_sweep)."""
    close_old_connections()
    return posts_sweep()


def connection_pause_mail_job(connection_id: int, paused_at: str) -> int:
    """Mail the tenant's owners and admins about one pause (recovery.notifications.connection_pause_mail_send)."""
    close_old_connections()
    return connection_pause_mail_send(connection_id, paused_at)


def connection_back_mail_job(connection_id: int) -> int:
    """Mail the tenant's owners and admins that a channel is back (recovery.notifications.connection_back_mail_send)."""
    close_old_connections()
    return connection_back_mail_send(connection_id)
def pings_enqueue_due_job() -> int:
    """Cron: enqueue a ping for each connection that is due one (recovery.pings.pings_enqueue_due)."""
    close_old_connections()
    return pings_enqueue_due()


def connection_ping_job(connection_id: int) -> str:
    """Ping one connection and act on the answer (recovery.pings.connection_ping); returns the outcome's name."""
    close_old_connections()
    return connection_ping(connection_id).value


def tokens_refresh_due_job() -> int:
    """Cron: enqueue a refresh for each token about to expire (recovery.token_upkeep.tokens_refresh_due)."""
    close_old_connections()
    return tokens_refresh_due()


def token_refresh_job(connection_id: int) -> str:
    """Refresh one connection's token if it is due (recovery.token_upkeep.token_refresh_planned)."""
    close_old_connections()
    return token_refresh_planned(connection_id)


def tokens_notify_expiring_job() -> int:
    """Cron: tell users of connections that need them within 7 days (recovery.token_upkeep.tokens_notify_expiring)."""
    close_old_connections()
    return tokens_notify_expiring()
