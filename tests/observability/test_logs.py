"""Structured logs: one JSON object a line, the request and cycle ids, the connection in hand, and no secret.

The processes themselves (gunicorn, rqworker, rqworker-pool, rqcron) are checked in test_log_processes.py.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import django_rq
import pytest
import requests
from django.utils import timezone

from config.logs import ContextFilter, RedactFilter, remember_secrets, unit_of_work
from connections.models import Connection, ConnectionAudit, Post
from connections.platforms.base import PartnerError, TokenSet, get_connector, get_connector_class
from connections.services import connection_store_tokens
from recovery.autopause import auto_pause_connection, resume_connection
from recovery.worker import RecoveryWorker
from sandbox import faults
from sandbox.core import token_hash
from sandbox.models import SandboxToken
from tests.factories import PostFactory
from tests.observability.log_helpers import captured_logs, configured_handler
from tests.recovery.pipeline_helpers import (
    due_post,
    enqueue_due,
    fast_forward,
    page_connection,
    publish_jobs_for,
    run_publish_worker,
)
from tests.sandbox.sandbox_helpers import consent, linked_connection

# Tokens no shape rule recognises (no partner prefix, no digit): only the filter's knowledge of the
# connection in hand can mask them.
PLAIN_ACCESS = "QuietPlainAccessTokenWithoutPrefixOrDigits"
PLAIN_REFRESH = "QuietPlainRefreshTokenWithoutPrefixOrDigits"
HEX_ID = r"[0-9a-f]{32}"


def handlers_reached(name: str) -> list[logging.Handler]:
    """The handlers a record of logger `name` reaches (pytest's own capture handlers left out)."""
    found, logger = [], logging.getLogger(name)
    while logger:
        found += [h for h in logger.handlers if not type(h).__module__.startswith("_pytest")]
        logger = logger.parent if logger.propagate else None
    return found


def test_every_logger_reaches_one_handler_which_prints_json_and_scrubs():
    # A worker's start first: RQ adds its own colour handler to any of its loggers that reaches none.
    django_rq.get_worker("default", worker_class=RecoveryWorker).work(burst=True)
    console = configured_handler()
    for name in ("django", "django.request", "django.server", "rq.worker", "rq.job", "rq.cron", "rq.scheduler",
                 "rq.worker_pool", "gunicorn.error", "py.warnings", "recovery.publishing", "connections.platforms",
                 "config.requests"):
        assert handlers_reached(name) == [console], name  # exactly one: nothing is printed twice
    loggers = [logging.getLogger()] + [item for item in logging.root.manager.loggerDict.values()
                                       if isinstance(item, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if type(handler).__module__.startswith("_pytest") or isinstance(handler, logging.NullHandler):
                continue
            kinds = [type(f) for f in handler.filters]
            assert ContextFilter in kinds and RedactFilter in kinds, (logger.name, handler)
            assert type(handler.formatter).__module__.startswith("pythonjsonlogger"), (logger.name, handler)


def test_a_line_carries_its_extra_fields_and_the_unit_of_works(db):
    with captured_logs() as logs, unit_of_work(cycleId="c-1", tenantId=7):
        logging.getLogger("recovery.test").warning("connection %s paused", 12, extra={"reasonCode": "AUTH_EXPIRED"})
    [line] = logs.lines()
    assert line["message"] == "connection 12 paused" and line["level"] == "WARNING"
    assert line["logger"] == "recovery.test" and line["timestamp"].endswith("+00:00")
    assert (line["reasonCode"], line["cycleId"], line["tenantId"]) == ("AUTH_EXPIRED", "c-1", 7)


def test_the_filter_masks_secret_shapes_known_values_secret_fields_and_exceptions(db, settings):
    with captured_logs() as logs, unit_of_work():
        remember_secrets(PLAIN_ACCESS)
        log = logging.getLogger("recovery.test")
        log.info("sent %s with Authorization: Bearer EAAB1x2y3z4w5v6u7t8s9r0q", PLAIN_ACCESS)
        log.info("callback", extra={"access_token": PLAIN_ACCESS, "note": f"got {PLAIN_ACCESS}", "body": {"x": PLAIN_ACCESS}})
        try:
            raise ValueError(f"refused {PLAIN_ACCESS}")
        except ValueError:
            log.exception("it failed")
        log.info("our app secret is %s", settings.META_APP_SECRET)
    text = logs.text()
    assert PLAIN_ACCESS in logs.raw() and settings.META_APP_SECRET in logs.raw()  # the records held them
    assert PLAIN_ACCESS not in text and "EAAB1x2y3z4w5v6u7t8s9r0q" not in text and settings.META_APP_SECRET not in text
    sent, callback, failed, secret = logs.lines()
    assert sent["message"] == "sent [redacted] with Authorization: Bearer [redacted]"
    assert callback["access_token"] == "[redacted]" and callback["note"] == "got [redacted]"
    assert "ValueError: refused [redacted]" in failed["exception"]
    assert secret["message"] == "our app secret is [redacted]"


def test_what_a_unit_of_work_remembers_ends_with_it(db):
    with captured_logs() as logs:
        with unit_of_work(requestId="r-1"):
            remember_secrets(PLAIN_ACCESS)
        with unit_of_work(requestId="r-2"):
            logging.getLogger("recovery.test").info("elsewhere: %s", PLAIN_ACCESS)
    [line] = logs.lines()
    assert line["requestId"] == "r-2" and PLAIN_ACCESS in line["message"]  # not this unit's secret: nothing to hide


# -- requests ---------------------------------------------------------------------------------------------


def test_a_request_carries_the_callers_request_id_and_echoes_it(client, db):
    with captured_logs() as logs:
        response = client.get("/accounts/login/", HTTP_X_REQUEST_ID="lb-7f3a.2026:req")
    assert response["X-Request-ID"] == "lb-7f3a.2026:req"
    [line] = logs.with_message("request")
    assert line["requestId"] == "lb-7f3a.2026:req"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/accounts/login/", 200)
    assert isinstance(line["latency_ms"], int)


@pytest.mark.parametrize("sent", ["", "two words", "x" * 129, "new\nline", "<script>", "ünïcode"])
def test_an_unusable_request_id_is_replaced_by_a_new_one(client, db, sent):
    with captured_logs() as logs:
        response = client.get("/accounts/login/", HTTP_X_REQUEST_ID=sent)
    [line] = logs.with_message("request")
    assert line["requestId"] == response["X-Request-ID"] != sent
    assert len(response["X-Request-ID"]) == 32 and int(response["X-Request-ID"], 16) >= 0


# -- jobs ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_job_carries_its_cycle_the_request_that_enqueued_it_and_the_connection_in_hand(sandbox, tenant, owner, client):
    page = page_connection(tenant)
    post = PostFactory(connection=page, tenant=tenant, status=Post.Status.UNCONFIRMED, content="Again, please",
                       scheduled_at=timezone.now() - timedelta(minutes=1))
    client.force_login(owner)
    with captured_logs() as logs:
        client.post(f"/posts/{post.pk}/publish-again/", HTTP_X_REQUEST_ID="req-from-the-user")
        faults.set_fault("meta", faults.SERVER_ERROR, status=503, count=1)
        run_publish_worker()
    [job] = publish_jobs_for(post)  # the retry the failed attempt planned
    first_cycle = logs.with_message("publish attempt")[0]["cycleId"]
    assert job.meta == {"requestId": "req-from-the-user", "parentCycleId": first_cycle}

    with captured_logs() as logs:
        fast_forward()
        run_publish_worker()
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    [attempt] = logs.with_message("publish attempt")
    assert attempt["requestId"] == "req-from-the-user" and attempt["parentCycleId"] == first_cycle
    assert attempt["cycleId"] != first_cycle and len(attempt["cycleId"]) == 32
    assert (attempt["tenantId"], attempt["connectionId"], attempt["platform"], attempt["postId"]) == (
        tenant.pk, page.pk, "meta", post.pk)
    assert attempt["outcome"] == "published" and attempt["queue"] == "publish" and attempt["jobId"] == job.id
    assert isinstance(attempt["latency_ms"], int)
    calls = logs.with_message("partner call")
    assert calls and all(call["status"] == 200 and isinstance(call["latency_ms"], int) for call in calls)
    assert all((call["tenantId"], call["connectionId"], call["platform"], call["cycleId"])
               == (tenant.pk, page.pk, "meta", attempt["cycleId"]) for call in calls)
    rq_lines = [line for line in logs.lines() if line["logger"] == "rq.worker" and "Job OK" in line["message"]]
    assert rq_lines and rq_lines[0]["cycleId"] == attempt["cycleId"]  # RQ's own lines carry the cycle too


# -- secrets --------------------------------------------------------------------------------------------------


def use_tokens(connection: Connection, access: str, refresh: str = "") -> None:
    """Give the connection these token values, and make its sandbox partner accept them in place of its own."""
    for old, new in ((connection.access_token, access), (connection.refresh_token, refresh)):
        if old and new:
            SandboxToken.objects.filter(token_hash=token_hash(old)).update(token_hash=token_hash(new))
    connection_store_tokens(connection.tenant_id, connection.pk, TokenSet(access_token=access, refresh_token=refresh),
                            action=ConnectionAudit.Action.REFRESH)
    connection.refresh_from_db()


@pytest.mark.django_db(transaction=True)
def test_a_failed_lookup_after_an_unknown_outcome_logs_its_exception_without_the_token(sandbox, tenant):
    """The known leak: requests quotes an invalid Authorization header (here a token with a stray newline) in its
    exception; the lookup that follows the unknown outcome logged that exception with its traceback."""
    page = page_connection(tenant)
    broken = PLAIN_ACCESS + "\n"
    connection_store_tokens(tenant.pk, page.pk, TokenSet(access_token=broken), action=ConnectionAudit.Action.REFRESH)
    post = due_post(page, content="A stray newline")
    enqueue_due()

    with captured_logs() as logs:
        run_publish_worker()

    assert PLAIN_ACCESS in logs.raw()  # without the filter, the token is in the log
    [warning] = logs.with_message("post lookup failed after an unknown outcome")
    assert "InvalidHeader" in warning["exception"] and "Bearer [redacted]" in warning["exception"]
    assert warning["postId"] == post.pk and warning["connectionId"] == page.pk
    assert PLAIN_ACCESS not in logs.text()
    post.refresh_from_db()
    assert PLAIN_ACCESS not in post.last_error_message  # nor on the posts page


def flow_publish(tenant, sandbox) -> list[str]:
    """A publish through a real worker: a 503 retried, then a read timeout, then published after a lookup."""
    page = page_connection(tenant)
    use_tokens(page, PLAIN_ACCESS)
    due_post(page, content="Fresh bread")
    enqueue_due()
    faults.set_fault("meta", faults.SERVER_ERROR, status=503, count=1)
    run_publish_worker()
    faults.set_fault("meta", faults.TIMEOUT, count=1, seconds=2.5)
    fast_forward()
    run_publish_worker()
    fast_forward()
    run_publish_worker()
    return [PLAIN_ACCESS]


def flow_refresh(tenant, sandbox) -> list[str]:
    """A token refresh as a job does it (the connector, then the store service), and a refused one."""
    connection = linked_connection("linkedin", tenant=tenant, external_account_id="li-refresh")
    use_tokens(connection, PLAIN_ACCESS, PLAIN_REFRESH)
    with unit_of_work(cycleId="refresh-cycle"):
        tokens = get_connector(connection).refresh()
        connection_store_tokens(tenant.pk, connection.pk, tokens, action=ConnectionAudit.Action.REFRESH)
    connection.refresh_from_db()
    faults.set_fault("linkedin", faults.REVOKE_TOKEN, account_id="li-refresh")
    with unit_of_work(cycleId="refused-cycle"), pytest.raises(PartnerError):
        get_connector(connection).refresh()
    return [PLAIN_ACCESS, PLAIN_REFRESH, tokens.access_token, tokens.refresh_token]


def flow_reconnect(tenant, sandbox) -> list[str]:
    """A paused connection reconnected: consent, code exchange, tokens stored, resumed (the services that exist)."""
    connection = linked_connection("linkedin", tenant=tenant, external_account_id="li-reconnect")
    use_tokens(connection, PLAIN_ACCESS, PLAIN_REFRESH)
    auto_pause_connection(tenant.pk, connection.pk, "AUTH_REVOKED")
    connector_class = get_connector_class("linkedin")
    redirect_uri = "https://app.example.com/connections/callback"
    url = connector_class.authorize_url(state="st", redirect_uri=redirect_uri,
                                        scopes=connector_class.default_scopes(""))
    code = consent(requests.Session(), url, account_id="li-reconnect")["code"]
    with unit_of_work(requestId="reconnect-request"):
        tokens = connector_class.exchange_code(code=code, redirect_uri=redirect_uri)
        connection_store_tokens(tenant.pk, connection.pk, tokens, action=ConnectionAudit.Action.RECONNECT)
        resume_connection(tenant.pk, connection.pk, actor="user:1")
    return [PLAIN_ACCESS, PLAIN_REFRESH, code, tokens.access_token, tokens.refresh_token]


# The flows whose logs must hold no token. A new flow (the reconnect view, token upkeep, pings, webhooks)
# adds itself here: a function (tenant, sandbox URL) -> the secret values it handled.
FLOWS = {"publish": flow_publish, "refresh": flow_refresh, "reconnect": flow_reconnect}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_no_token_in_the_logs_of_a_whole_flow(sandbox, tenant, flow):
    with captured_logs(level=logging.DEBUG) as logs:
        secrets = [secret for secret in FLOWS[flow](tenant, sandbox) if secret]
    lines = logs.lines()  # every line one JSON object
    assert any(line["message"] == "partner call" for line in lines)
    text = logs.text()
    for secret in secrets:
        assert secret not in text, (flow, secret[:6])


def test_every_way_of_enqueueing_carries_the_enqueuers_ids():
    queue = django_rq.get_queue("default", commit_mode="auto")
    with unit_of_work(requestId="req-1", cycleId="cycle-1"):
        one = queue.enqueue("recovery.jobs.posts_sweep_job")
        at = queue.enqueue_in(timedelta(minutes=5), "recovery.jobs.posts_sweep_job")
        many = queue.enqueue_many([queue.prepare_data("recovery.jobs.posts_sweep_job", meta={"mine": 1})])
    for job in (one, at, *many):
        assert {"requestId": "req-1", "parentCycleId": "cycle-1"}.items() <= job.meta.items()
    assert many[0].meta["mine"] == 1
    with unit_of_work():
        meta = queue.enqueue("recovery.jobs.posts_sweep_job").meta
        assert not {"requestId", "parentCycleId"} & set(meta)  # nothing of ours to carry (Sentry may add its trace)
