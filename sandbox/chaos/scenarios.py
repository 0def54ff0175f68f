"""The scenarios: each loads tenants of its own, injects its fault, lets the running stack recover, and returns its rows.

    auth            expire-tokens (Meta), remove-permission (LinkedIn), revoke (GBP) on one tenant; another untouched
    rate-limit      a 429 storm on one tenant's channels; two other tenants publish all through it
    webhooks        a webhook storm (access removed, redelivered, among ignored events) for one tenant
    silent-expiry   a channel with nothing to publish has its tokens expire; only a ping can find it
    partner-5xx     the partner answers 503 for 8 s, then recovers
    delete-target   a tenant's GBP location is gone at the partner; its Meta Page goes on
    worker-kill     every worker running one tenant's publish jobs is SIGKILLed mid-publish
    redis-restart   the Redis the product uses restarts empty while a tenant's backlog waits in it

Every scenario that stops a channel reconnects it through the product's real reconnect path over HTTP
(sandbox/chaos/reconnect.py) and checks that the backlog drains.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Callable

from django.conf import settings
from django.utils import timezone

from connections.models import Connection, ConnectionAudit, Post
from sandbox.chaos import disrupt
from sandbox.chaos.evidence import (
    accounting,
    all_published,
    connection_row,
    dead_letters_classified,
    faulted_calls,
    fresh,
    max_lag_s,
    never_retried,
    paused_with_reconnect_path,
    rate_limit_dead_letters,
    wait_until,
)
from sandbox.chaos.faults import fault_clear, fault_set
from sandbox.chaos.load import LoadTenant, load_tenant, schedule_posts
from sandbox.chaos.reconnect import ReconnectFailed, reconnect_over_http, sign_in
from sandbox.chaos.report import Row, within
from webhooks.models import WebhookEvent

PAUSE_LIMIT_S = 10  # "within seconds"
ON_TIME_LIMIT_S = 10  # a bystander's post goes out this soon after its time (the due-post tick is 1 s)
DRAIN_LIMIT_S = 60
WEBHOOK_LIMIT_S = 5
KILL_STALL_LIMIT_S = 30
REDIS_LIMIT_S = 60
STORM_S = 15  # how long the 429 storm lasts
SLACK_S = 15  # a planned retry runs and publishes within this of its time
REMOVAL_EVENTS = ("deauthorize", "authorization.removed")  # the event types of the storm's "access removed"


@dataclass
class Context:
    run_id: str

    def slug(self, scenario: str, role: str) -> str:
        return f"chaos-{scenario}-{role}-{self.run_id}"


def _reconnect_and_drain(name: str, loaded: LoadTenant, channels: list[Connection], posts: list[Post]) -> Row:
    """Reconnect each channel over HTTP as the tenant's owner; the seconds until every post is published."""
    criterion = "after clear and reconnect, publishing resumes and the backlog drains"
    began = time.monotonic()
    try:
        session = sign_in(loaded.username, loaded.password)
        for connection in channels:
            reconnect_over_http(session, connection.pk, connection.external_account_id)
    except ReconnectFailed as failed:
        return Row(name, criterion, False, "reconnect failed", f"<= {DRAIN_LIMIT_S} s", str(failed))
    drained = wait_until(lambda: all_published(posts), DRAIN_LIMIT_S + 30) is not None
    took = time.monotonic() - began  # from the first sign-in: the reconnects are part of the way back
    return within(name, criterion, round(took, 1) if drained else None, DRAIN_LIMIT_S, "s",
                  evidence=f"{len(channels)} channels reconnected over HTTP; {len(posts)} posts")


def auth(ctx: Context, rows: list[Row]) -> None:
    name = "auth"
    victim = load_tenant(ctx.slug(name, "victim"), ["meta", "linkedin", "gbp"])
    bystander = load_tenant(ctx.slug(name, "bystander"), ["meta", "linkedin"])
    # Each a fault no refresh can heal: Meta has no refresh tokens; a revoke kills the refresh token too.
    fault_set("expire-tokens", [victim.connection("meta")])
    fault_set("remove-permission", [victim.connection("linkedin")])
    fault_set("revoke", [victim.connection("gbp")])
    victim_posts = [p for channel in ("meta", "linkedin", "gbp") for p in schedule_posts(victim, channel, 3)]
    bystander_posts = [p for channel in ("meta", "linkedin") for p in schedule_posts(bystander, channel, 3)]
    channels = list(victim.channels.values())
    wait_until(lambda: all(connection_row(c).is_paused for c in channels), 40)
    wait_until(lambda: all_published(bystander_posts), 60)
    wait_until(lambda: not Post.objects.filter(pk__in=[p.pk for p in victim_posts],
                                               status__in=[Post.Status.SCHEDULED, Post.Status.PUBLISHING]).exists(), 20)
    rows += [
        never_retried(name, victim_posts, channels),
        paused_with_reconnect_path(name, channels, PAUSE_LIMIT_S),
        within(name, "other tenants' posts on time", max_lag_s(bystander_posts), ON_TIME_LIMIT_S, "s",
               evidence=f"{len(bystander_posts)} posts of the bystander tenant, latest after its time"),
    ]
    fault_clear(channels)
    rows.append(_reconnect_and_drain(name, victim, channels, victim_posts))
    rows.append(dead_letters_classified(name, [victim.tenant, bystander.tenant]))
    rows.append(accounting(name, victim_posts + bystander_posts, channels + list(bystander.channels.values())))


def rate_limit(ctx: Context, rows: list[Row]) -> None:
    name = "rate-limit"
    noisy = load_tenant(ctx.slug(name, "noisy"), ["linkedin", "gbp"])
    quiet = [load_tenant(ctx.slug(name, "quiet1"), ["meta", "linkedin"]), load_tenant(ctx.slug(name, "quiet2"), ["meta", "gbp"])]
    # 429 with Retry-After on every channel of the noisy tenant, for STORM_S; the others post all through it.
    fault_set("rate-limit", list(noisy.channels.values()), retry_after=5)
    noisy_posts = schedule_posts(noisy, "linkedin", 4) + schedule_posts(noisy, "gbp", 4)
    quiet_posts = [p for q in quiet for channel in q.channels for p in schedule_posts(q, channel, 3, spread_s=STORM_S)]
    began = time.monotonic()
    wait_until(lambda: all_published(quiet_posts), STORM_S + 40)
    time.sleep(max(0.0, STORM_S - (time.monotonic() - began)))
    throttled = sum(len(faulted_calls(c)) for c in noisy.channels.values())
    fault_clear(list(noisy.channels.values()))
    drained = wait_until(lambda: all_published(noisy_posts), DRAIN_LIMIT_S + 30)
    tenants = [noisy.tenant] + [q.tenant for q in quiet]
    channels = [c for t in [noisy, *quiet] for c in t.channels.values()]
    rows += [
        within(name, "other tenants' posts on time", max_lag_s(quiet_posts), ON_TIME_LIMIT_S, "s",
               evidence=f"{len(quiet_posts)} posts of 2 other tenants over the {STORM_S} s storm; "
                        f"the noisy tenant got {throttled} 429 answers"),
        rate_limit_dead_letters(name, tenants),
        within(name, "after the storm the backlog drains", None if drained is None else round(drained, 1),
               DRAIN_LIMIT_S, "s", evidence=f"{len(noisy_posts)} posts of the throttled tenant; attempts "
                                            f"{sorted(p.attempts for p in fresh(noisy_posts))}"),
        dead_letters_classified(name, tenants),
        accounting(name, noisy_posts + quiet_posts, channels),
    ]


def webhooks(ctx: Context, rows: list[Row]) -> None:
    name = "webhooks"
    target = load_tenant(ctx.slug(name, "target"), ["meta", "tiktok"])
    other = load_tenant(ctx.slug(name, "other"), ["meta"])
    channels = [target.connection("meta"), target.connection("tiktok")]
    since = timezone.now()
    storm = disrupt.webhook_storm(target.tenant, channels, duplicates=3, noise=20)
    wait_until(lambda: all(connection_row(c).status != Connection.Status.ACTIVE for c in channels), 15)
    worst, notes = None, []
    for connection in channels:
        changed = ConnectionAudit.objects.filter(connection_id=connection.pk, created_at__gte=since).exclude(
            action=ConnectionAudit.Action.PING_OK).order_by("created_at").first()
        event = WebhookEvent.objects.filter(platform=connection.platform, received_at__gte=since,
                                            event_type__in=REMOVAL_EVENTS).order_by("received_at").first()
        if changed is None or event is None:
            worst = None
            notes.append(f"{connection.platform}: no status change")
            break
        took = (changed.created_at - event.received_at).total_seconds()
        worst = max(worst or 0.0, took)
        notes.append(f"{connection.platform}: {changed.action} {took:.2f}s after arrival")
    removals = WebhookEvent.objects.filter(received_at__gte=since, event_type__in=REMOVAL_EVENTS).count()
    posts = schedule_posts(target, "meta", 3)
    wait_until(lambda: not Post.objects.filter(pk__in=[p.pk for p in posts], status=Post.Status.SCHEDULED).exists(), 20)
    other_changed = connection_row(other.connection("meta")).status != Connection.Status.ACTIVE
    rows += [
        within(name, "webhooks changed connection status within 5 s of arrival",
               None if worst is None else round(worst, 2), WEBHOOK_LIMIT_S, "s",
               evidence=f"{storm.sent} events sent, {storm.refused} refused; " + "; ".join(notes)),
        within(name, "duplicate deliveries stored once", removals - len(channels), 0,
               evidence=f"{removals} removal events stored for {len(channels)} channels, each sent 3 times"),
        within(name, "other tenants' channels untouched", int(other_changed), 0),
    ]
    rows.append(_reconnect_and_drain(name, target, [target.connection("meta")], posts))
    rows += [dead_letters_classified(name, [target.tenant, other.tenant]), accounting(name, posts, channels)]


def silent_expiry(ctx: Context, rows: list[Row]) -> None:
    name = "silent-expiry"
    quiet = load_tenant(ctx.slug(name, "quiet"), ["meta"])
    connection = quiet.connection("meta")  # Meta has no refresh tokens: an expired token stays expired
    # The first ping (due at once) must have passed, so what finds the expiry is a later, scheduled one.
    wait_until(lambda: ConnectionAudit.objects.filter(connection_id=connection.pk,
                                                      action=ConnectionAudit.Action.PING_OK).exists(), 30)
    fault_set("expire-tokens", [connection])
    set_at = timezone.now()
    sla = settings.PING_MAX_INTERVAL_S + settings.PING_TICK_INTERVAL_S + 5
    wait_until(lambda: connection_row(connection).is_paused, sla + 20)
    row = connection_row(connection)
    found = ConnectionAudit.objects.filter(connection_id=connection.pk, action=ConnectionAudit.Action.AUTO_PAUSE,
                                           details__found_by="ping", created_at__gte=set_at).exists()
    took = (row.paused_at - set_at).total_seconds() if row.is_paused and row.paused_at and found else None
    fault_clear([connection])
    rows.append(within(name, "a ping found the silent expiry within the SLA", None if took is None else round(took, 1),
                       sla, "s", evidence=f"pings every {settings.PING_MIN_INTERVAL_S}-{settings.PING_MAX_INTERVAL_S} s, "
                                          f"tick {settings.PING_TICK_INTERVAL_S} s; paused for {row.pause_reason or '-'}"))
    rows.append(_reconnect_and_drain(name, quiet, [connection], []))


def partner_5xx(ctx: Context, rows: list[Row]) -> None:
    name = "partner-5xx"
    hit = load_tenant(ctx.slug(name, "hit"), ["linkedin", "meta"])
    fault_set("partner-5xx", [hit.connection("linkedin")])
    posts = schedule_posts(hit, "linkedin", 4) + schedule_posts(hit, "meta", 3)
    time.sleep(8)
    answered = len(faulted_calls(hit.connection("linkedin")))
    fault_clear([hit.connection("linkedin")])
    # The retries planned so far (full-jitter backoff, PARTNER_5XX's policy) say when the last one runs:
    # the backlog must drain within SLACK_S of it, nothing later and nothing dropped.
    cleared = timezone.now()
    planned = [p.next_attempt_at for p in fresh(posts) if p.status == Post.Status.SCHEDULED and p.next_attempt_at]
    last_retry_s = max([(at - cleared).total_seconds() for at in planned] + [0.0])
    drained = wait_until(lambda: all_published(posts), last_retry_s + SLACK_S + 30)
    rows += [
        within(name, "after the partner recovers the backlog drains as planned",
               None if drained is None else round(drained, 1), round(last_retry_s + SLACK_S, 1), "s",
               evidence=f"{answered} 503 answers in 8 s; last planned retry {last_retry_s:.1f} s after the clear"),
        dead_letters_classified(name, [hit.tenant]),
        accounting(name, posts, list(hit.channels.values())),
    ]


def delete_target(ctx: Context, rows: list[Row]) -> None:
    name = "delete-target"
    owner = load_tenant(ctx.slug(name, "owner"), ["gbp", "meta"])
    location = owner.connection("gbp")
    fault_set("delete-target", [location])
    gone_posts = schedule_posts(owner, "gbp", 3)
    other_posts = schedule_posts(owner, "meta", 3)
    wait_until(lambda: connection_row(location).is_paused, 40)
    wait_until(lambda: all_published(other_posts), 30)
    wait_until(lambda: not Post.objects.filter(pk__in=[p.pk for p in gone_posts],
                                               status__in=[Post.Status.SCHEDULED, Post.Status.PUBLISHING]).exists(), 20)
    rows += [
        never_retried(name, gone_posts, [location], criterion="a target that is gone is never retried"),
        paused_with_reconnect_path(name, [location], PAUSE_LIMIT_S),
        within(name, "the tenant's other channel posts on time", max_lag_s(other_posts), ON_TIME_LIMIT_S, "s"),
    ]
    fault_clear([location])  # the location is back (or the user picked another one at the partner)
    rows.append(_reconnect_and_drain(name, owner, [location], gone_posts))
    rows += [dead_letters_classified(name, [owner.tenant]),
             accounting(name, gone_posts + other_posts, list(owner.channels.values()))]


def worker_kill(ctx: Context, rows: list[Row]) -> None:
    name = "worker-kill"
    killed_tenant = load_tenant(ctx.slug(name, "killed"), ["meta"])
    other = load_tenant(ctx.slug(name, "other"), ["meta"])
    fault_set("latency", [killed_tenant.connection("meta")], ms=1500)
    posts = schedule_posts(killed_tenant, "meta", 8)
    other_posts = schedule_posts(other, "meta", 3)
    kills = [disrupt.worker_kill(killed_tenant.tenant, wait_s=30)]
    # Every worker running one of the tenant's jobs: the tenant's slots are all held by dead jobs.
    while True:
        try:
            kills.append(disrupt.worker_kill(killed_tenant.tenant, wait_s=0, spare=frozenset(k.pid for k in kills)))
        except disrupt.ChaosRefused:
            break
    killed_at = kills[0].at
    in_flight = {k.post_id for k in kills} | set(Post.objects.filter(
        pk__in=[p.pk for p in posts], status=Post.Status.PUBLISHING).values_list("pk", flat=True))
    fault_clear([killed_tenant.connection("meta")])
    after = datetime.fromtimestamp(killed_at, tz=dt_timezone.utc)

    def next_published() -> bool:
        return Post.objects.filter(pk__in=[p.pk for p in posts], status=Post.Status.PUBLISHED,
                                   published_at__gt=after).exclude(pk__in=in_flight).exists()

    stall = wait_until(next_published, KILL_STALL_LIMIT_S + 60)
    drained = wait_until(lambda: all_published(posts + other_posts), 120)
    rows += [
        within(name, "a killed worker stalls its tenant's other posts < 30 s",
               None if stall is None else round(stall, 1), KILL_STALL_LIMIT_S, "s", op="<",
               evidence=f"{len(kills)} worker(s) killed mid-publish of posts {sorted(k.post_id for k in kills)}"),
        within(name, "every post published after the kill", None if drained is None else round(drained, 1), 120, "s"),
        accounting(name, posts + other_posts, [killed_tenant.connection("meta"), other.connection("meta")]),
    ]


def redis_restart(ctx: Context, rows: list[Row]) -> None:
    name = "redis-restart"
    backlog = load_tenant(ctx.slug(name, "backlog"), ["meta"])
    fault_set("latency", [backlog.connection("meta")], ms=1000)
    posts = schedule_posts(backlog, "meta", 10)
    wait_until(lambda: Post.objects.filter(pk__in=[p.pk for p in posts], status=Post.Status.PUBLISHED).count() >= 2, 60)
    down = disrupt.redis_restart()
    lost = list(Post.objects.filter(pk__in=[p.pk for p in posts]).exclude(status=Post.Status.PUBLISHED))
    fault_clear([backlog.connection("meta")])
    took = wait_until(lambda: all_published(lost), REDIS_LIMIT_S + 30)
    rows += [
        within(name, "after Redis restarts empty, lost jobs run again < 60 s",
               None if took is None else round(took, 1),
               REDIS_LIMIT_S, "s", op="<",
               evidence=f"Redis down {down:.1f} s; {len(lost)} posts waiting when it restarted, measured to published"),
        accounting(name, posts, [backlog.connection("meta")]),
    ]


@dataclass(frozen=True)
class Scenario:
    name: str
    core: bool
    run: Callable[[Context, list[Row]], None]  # appends its rows as it measures them
    about: str


SCENARIOS = {s.name: s for s in [
    Scenario("auth", True, auth, "expire-tokens, remove-permission, revoke on one tenant; never retried, paused, reconnected"),
    Scenario("rate-limit", True, rate_limit, "429 storm on one tenant; the others on time, nothing dead-lettered"),
    Scenario("webhooks", True, webhooks, "webhook storm with duplicates; status within 5 s, stored once"),
    Scenario("silent-expiry", True, silent_expiry, "tokens expire on an idle channel; a ping finds it"),
    Scenario("worker-kill", True, worker_kill, "workers SIGKILLed mid-publish; the tenant stalls < 30 s"),
    Scenario("redis-restart", True, redis_restart, "Redis restarts empty; lost jobs back < 60 s, exactly once"),
    Scenario("delete-target", False, delete_target, "a GBP location is gone; paused, not retried, reconnected"),
    Scenario("partner-5xx", False, partner_5xx, "503s for 8 s; retried with backoff, drained as planned"),
]}
