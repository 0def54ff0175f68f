"""The weekly learning loop: what broke in a week and how it recovered, per tenant and for all tenants
together, aggregated in the database and stored as WeeklySummary rows with their advice.

A week runs from Monday 00:00 UTC for seven days (`week_start`, a date). The cron job
(config/cron.py, Mondays 03:00 UTC) builds the week that has just ended; `manage.py weekly_summary`
rebuilds any past week, replacing its rows. docs/weekly-summary.md defines each figure.

Figures, per tenant and overall:
- failures: the classified failures the services acted on (recovery.failure_events, deferrals
  apart), by code, platform, source and platform:code;
- partner_errors, unknown, unknown_share: of those, the partner's errors (our own refusals before
  any call apart) and the share the classifier could only call UNKNOWN;
- deferrals: publishes held back by a rate limit or an open breaker, by platform and reason;
- pauses: the audit log's pauses (auto_pause, ops' pause, revoke) by cause (PAUSE_CAUSES: publish,
  ping, token_upkeep, webhook (actor "partner:<platform>"), ops, other), reason code and platform;
- reconnect: the week's resumes, and for each the time since the pause before it (median, p90);
- missed_posts: posts due in the week while their channel was paused, by what became of them
  (published, skipped, still waiting, other);
- dead_letters: letters made in the week, by code; letters closed in the week and their
  resolution time (DeadLetter.resolution_time; median, p90);
- early_catch: pauses by a ping, a webhook or token upkeep, how many came before a post of the
  channel was due within LEAD_HORIZON (the post that would otherwise have failed) and by how
  long (median, p90); and the pauses a failing post found (by_failing_post);
- overall only: the week's new unmapped error shapes (how many, and the largest with their ids),
  and the tenants with the most failures and pauses.
`changes` holds the headline numbers (HEADLINES) of the week before and the difference.

Cost: a fixed number of queries whatever the number of tenants or rows, each a GROUP BY in the
database over one week's rows found through an index; Python sees only the grouped rows. The
week before is aggregated the same way for the changes. Every tenant counts in the overall row;
tenants with WEEKLY_SUMMARY_ENABLED get a row of their own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone

from django.db import transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.utils import timezone

from connections.models import Connection, ConnectionAudit, Post, Tenant
from insights.advisor import (
    CONTENT_CODES,
    RECURRING_MIN_PAUSES,
    RECURRING_WEEKS,
    AdviceFacts,
    ContentFailure,
    RecurringPause,
    overall_insights,
    tenant_insights,
)
from insights.aggregates import PercentileDisc
from insights.models import WeeklySummary
from recovery.failure_events import DEFERRALS, OUR_REFUSALS
from recovery.flags import WEEKLY_SUMMARY_ENABLED, flag_tenants_on
from recovery.models import DeadLetter, FailureEvent, UnmappedError
from recovery.taxonomy import ErrorCode

logger = logging.getLogger(__name__)

WEEK = timedelta(days=7)
# How far after a ping's or webhook's pause a post of the channel counts as the one that would have failed.
LEAD_HORIZON = timedelta(days=14)
UNMAPPED_LISTED = 50
TOP_TENANTS = 10

Action = ConnectionAudit.Action
PAUSE_ACTIONS = (Action.AUTO_PAUSE, Action.PAUSE, Action.REVOKE)
# A connection's pauses and resumes: the condition of the audit_conn_state_idx index.
STATE_ACTIONS = (*PAUSE_ACTIONS, Action.RESUME)
PAUSE_CAUSES = ("publish", "ping", "token_upkeep", "webhook", "ops", "other")
PROACTIVE_CAUSES = ("ping", "webhook", "token_upkeep")
MISSED_OUTCOMES = {Post.Status.PUBLISHED: "published", Post.Status.SKIPPED: "skipped", Post.Status.WAITING_RECONNECT: "waiting"}


# -- weeks ----------------------------------------------------------------------------------------


def week_start_of(moment: datetime | date) -> date:
    """The Monday (UTC) of the week `moment` falls in."""
    day = moment.astimezone(dt_timezone.utc).date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


def last_full_week(now: datetime | None = None) -> date:
    """The Monday of the last week that has ended."""
    return week_start_of(now or timezone.now()) - WEEK


def week_bounds(week_start: date) -> tuple[datetime, datetime]:
    """[start, end) of the week starting on `week_start`, a Monday (ValueError otherwise)."""
    if week_start.weekday() != 0:
        raise ValueError(f"A week starts on a Monday; {week_start:%Y-%m-%d} is a {week_start:%A}.")
    start = datetime.combine(week_start, datetime.min.time(), tzinfo=dt_timezone.utc)
    return start, start + WEEK


# -- figures ---------------------------------------------------------------------------------------


def empty_figures() -> dict:
    """The figures of a week in which nothing happened (every figure of the module docstring)."""
    return {
        "failures": {"total": 0, "by_code": {}, "by_platform": {}, "by_source": {}, "by_platform_code": {}},
        "partner_errors": 0,
        "unknown": 0,
        "unknown_share": None,
        "deferrals": {"total": 0, "by_platform": {}, "by_reason": {}, "rate_limited_by_platform": {}},
        "pauses": {"total": 0, "by_cause": {}, "by_reason": {}, "by_platform": {}},
        "reconnect": {"count": 0, "median_s": None, "p90_s": None},
        "missed_posts": {"total": 0, "published": 0, "skipped": 0, "waiting": 0, "other": 0},
        "dead_letters": {"in": 0, "in_by_code": {}, "resolved": 0, "resolution_median_s": None, "resolution_p90_s": None},
        "early_catch": {
            **{cause: {"pauses": 0, "before_a_post": 0, "lead_median_s": None, "lead_p90_s": None} for cause in PROACTIVE_CAUSES},
            "by_failing_post": 0,
        },
    }


@dataclass
class WeekFigures:
    """One week's figures: by tenant id, and overall (key None)."""

    week_start: date
    by_tenant: dict[int | None, dict] = field(default_factory=dict)

    def of(self, tenant_id: int | None) -> dict:
        if tenant_id not in self.by_tenant:
            self.by_tenant[tenant_id] = empty_figures()
        return self.by_tenant[tenant_id]

    @property
    def overall(self) -> dict:
        return self.of(None)

    def both(self, tenant_id: int | None) -> Iterator[dict]:
        """The tenant's figures and the overall ones (only the overall ones for a row without a tenant)."""
        yield self.overall
        if tenant_id is not None:
            yield self.of(tenant_id)


def _add(counts: dict, key, n: int) -> None:
    key = str(key) if key not in (None, "") else "(none)"
    counts[key] = counts.get(key, 0) + n


def _seconds(duration: timedelta | None) -> float | None:
    return round(duration.total_seconds(), 1) if duration is not None else None


def week_figures(week_start: date) -> WeekFigures:
    """Every figure of the week, per tenant and overall: a fixed number of queries (module docstring)."""
    start, end = week_bounds(week_start)
    week = WeekFigures(week_start)
    _count_failures(week, start, end)
    _count_pauses(week, start, end)
    _time_reconnects(week, start, end)
    _count_missed_posts(week, start, end)
    _count_dead_letters(week, start, end)
    _time_early_catches(week, start, end)
    for figures in week.by_tenant.values():
        errors = figures["partner_errors"]
        figures["unknown_share"] = round(figures["unknown"] / errors, 4) if errors else None
    return week


def _count_failures(week: WeekFigures, start: datetime, end: datetime) -> None:
    # A deferral's reason and a refusal's rule are kept apart in the grouping; partner codes are not (too many).
    detail = Case(
        When(decision=FailureEvent.Decision.DEFERRED, then=F("partner_code")),
        When(OUR_REFUSALS, then=F("partner_code")),
        default=Value(""),
        output_field=CharField(),
    )
    rows = (
        FailureEvent.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(detail=detail)
        .values_list("tenant_id", "platform", "code", "source", "decision", "detail")
        .annotate(n=Count("id"))
        .order_by()
    )
    for tenant_id, platform, code, source, decision, detail, n in rows:
        for figures in week.both(tenant_id):
            if decision == FailureEvent.Decision.DEFERRED:
                deferrals = figures["deferrals"]
                deferrals["total"] += n
                _add(deferrals["by_platform"], platform, n)
                _add(deferrals["by_reason"], detail.removeprefix("deferred:"), n)
                if detail == DEFERRALS["rate_limit"][1]:
                    _add(deferrals["rate_limited_by_platform"], platform, n)
                continue
            failures = figures["failures"]
            failures["total"] += n
            _add(failures["by_code"], code, n)
            _add(failures["by_platform"], platform, n)
            _add(failures["by_source"], source, n)
            _add(failures["by_platform_code"], f"{platform}:{code}", n)
            if not detail:  # the partner's error, not our refusal before any call
                figures["partner_errors"] += n
                if code == ErrorCode.UNKNOWN.value:
                    figures["unknown"] += n


def pause_cause() -> Case:
    """What found the breakage a pause audit row records (PAUSE_CAUSES), from its actor and details."""
    return Case(
        When(actor__startswith="partner:", then=Value("webhook")),
        When(Q(action=Action.PAUSE) | Q(actor__startswith="ops:"), then=Value("ops")),
        When(details__found_by="ping", then=Value("ping")),
        When(details__found_by="token_upkeep", then=Value("token_upkeep")),
        When(details__has_key="post_id", then=Value("publish")),
        default=Value("other"),
        output_field=CharField(),
    )


def _pauses(start: datetime, end: datetime):
    return ConnectionAudit.objects.filter(action__in=PAUSE_ACTIONS, created_at__gte=start, created_at__lt=end).annotate(
        cause=pause_cause()
    )


def _count_pauses(week: WeekFigures, start: datetime, end: datetime) -> None:
    rows = (
        _pauses(start, end)
        .annotate(reason=KT("details__reason_code"))
        .values_list("connection__tenant_id", "connection__platform", "cause", "reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    for tenant_id, platform, cause, reason, n in rows:
        for figures in week.both(tenant_id):
            pauses = figures["pauses"]
            pauses["total"] += n
            _add(pauses["by_cause"], cause, n)
            _add(pauses["by_reason"], reason, n)
            _add(pauses["by_platform"], platform, n)
            if cause == "publish":
                figures["early_catch"]["by_failing_post"] += n


def _per_tenant_and_overall(queryset, group: str, **aggregates) -> Iterator[tuple[int | None, dict]]:
    """(tenant id, aggregates) for each tenant (`group`: the path to the tenant id), then (None, overall)."""
    for row in queryset.values(group).annotate(**aggregates).order_by():
        yield row[group], row
    yield None, queryset.aggregate(**aggregates)


def _time_reconnects(week: WeekFigures, start: datetime, end: datetime) -> None:
    pause_before = (
        ConnectionAudit.objects.filter(
            connection_id=OuterRef("connection_id"), action__in=PAUSE_ACTIONS, created_at__lte=OuterRef("created_at")
        )
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    resumes = (
        ConnectionAudit.objects.filter(action=Action.RESUME, created_at__gte=start, created_at__lt=end)
        .annotate(paused_at=Subquery(pause_before, output_field=DateTimeField()))
        .filter(paused_at__isnull=False)
        .annotate(waited=ExpressionWrapper(F("created_at") - F("paused_at"), output_field=DurationField()))
    )
    aggregates = {"n": Count("id"), "median": PercentileDisc("waited", 0.5), "p90": PercentileDisc("waited", 0.9)}
    for tenant_id, row in _per_tenant_and_overall(resumes, "connection__tenant_id", **aggregates):
        week.of(tenant_id)["reconnect"] = {"count": row["n"], "median_s": _seconds(row["median"]), "p90_s": _seconds(row["p90"])}


def _count_missed_posts(week: WeekFigures, start: datetime, end: datetime) -> None:
    # A post came due while its channel was paused when the channel's last pause-or-resume at that moment is a pause.
    state_then = (
        ConnectionAudit.objects.filter(
            connection_id=OuterRef("connection_id"), action__in=STATE_ACTIONS, created_at__lte=OuterRef("scheduled_at")
        )
        .order_by("-created_at")
        .values("action")[:1]
    )
    ever_paused = ConnectionAudit.objects.filter(action__in=PAUSE_ACTIONS, created_at__lt=end).values("connection_id")
    rows = (
        Post.objects.filter(scheduled_at__gte=start, scheduled_at__lt=end, connection_id__in=ever_paused)
        .annotate(state_then=Subquery(state_then))
        .filter(state_then__in=PAUSE_ACTIONS)
        .values_list("tenant_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for tenant_id, status, n in rows:
        for figures in week.both(tenant_id):
            missed = figures["missed_posts"]
            missed["total"] += n
            missed[MISSED_OUTCOMES.get(status, "other")] += n


def _count_dead_letters(week: WeekFigures, start: datetime, end: datetime) -> None:
    made = (
        DeadLetter.objects.filter(created_at__gte=start, created_at__lt=end)
        .values_list("tenant_id", "error_code")
        .annotate(n=Count("id"))
        .order_by()
    )
    for tenant_id, code, n in made:
        for figures in week.both(tenant_id):
            figures["dead_letters"]["in"] += n
            _add(figures["dead_letters"]["in_by_code"], code, n)
    status = DeadLetter.Status
    closed_at = Case(When(status=status.REQUEUED, then=F("recovered_at")), default=F("resolved_at"), output_field=DateTimeField())
    closed = DeadLetter.objects.filter(
        Q(status__in=[status.DISCARDED, status.RESOLVED], resolved_at__gte=start, resolved_at__lt=end)
        | Q(status=status.REQUEUED, recovered_at__gte=start, recovered_at__lt=end)
    ).annotate(waited=ExpressionWrapper(closed_at - F("last_failed_at"), output_field=DurationField()))
    aggregates = {"n": Count("id"), "median": PercentileDisc("waited", 0.5), "p90": PercentileDisc("waited", 0.9)}
    for tenant_id, row in _per_tenant_and_overall(closed, "tenant_id", **aggregates):
        letters = week.of(tenant_id)["dead_letters"]
        letters.update(resolved=row["n"], resolution_median_s=_seconds(row["median"]), resolution_p90_s=_seconds(row["p90"]))


def _time_early_catches(week: WeekFigures, start: datetime, end: datetime) -> None:
    next_post = (
        Post.objects.filter(
            connection_id=OuterRef("connection_id"),
            scheduled_at__gte=OuterRef("created_at"),
            scheduled_at__lt=ExpressionWrapper(OuterRef("created_at") + LEAD_HORIZON, output_field=DateTimeField()),
        )
        .order_by("scheduled_at")
        .values("scheduled_at")[:1]
    )
    caught = (
        _pauses(start, end)
        .filter(cause__in=PROACTIVE_CAUSES)
        .annotate(next_post_at=Subquery(next_post, output_field=DateTimeField()))
        .annotate(lead=ExpressionWrapper(F("next_post_at") - F("created_at"), output_field=DurationField()))
    )
    aggregates = {
        "n": Count("id"),
        "before_a_post": Count("next_post_at"),
        "median": PercentileDisc("lead", 0.5),
        "p90": PercentileDisc("lead", 0.9),
    }
    per_tenant = caught.values("connection__tenant_id", "cause").annotate(**aggregates).order_by()
    overall = caught.values("cause").annotate(**aggregates).order_by()
    for tenant_id, rows in [*((row["connection__tenant_id"], [row]) for row in per_tenant), (None, overall)]:
        for row in rows:
            week.of(tenant_id)["early_catch"][row["cause"]] = {
                "pauses": row["n"],
                "before_a_post": row["before_a_post"],
                "lead_median_s": _seconds(row["median"]),
                "lead_p90_s": _seconds(row["p90"]),
            }


def unmapped_shapes(week_start: date) -> dict:
    """The week's new unmapped error shapes: how many, their errors so far, and the largest (ids for the admin)."""
    start, end = week_bounds(week_start)
    new = UnmappedError.objects.filter(first_seen_at__gte=start, first_seen_at__lt=end)
    listed = new.order_by("-count", "pk").values("pk", "platform", "http_status", "count", "mapped")[:UNMAPPED_LISTED]
    return {"new": new.count(), "errors": new.aggregate(n=Sum("count"))["n"] or 0, "shapes": list(listed)}


def top_tenants(week: WeekFigures, limit: int = TOP_TENANTS) -> list[dict]:
    """The tenants with the most failures and pauses in the week, most first; one query for their names."""
    ranked = sorted(
        ((figures["failures"]["total"] + figures["pauses"]["total"], tenant_id) for tenant_id, figures in week.by_tenant.items()
         if tenant_id is not None),
        key=lambda item: (-item[0], item[1]),
    )
    chosen = [tenant_id for score, tenant_id in ranked[:limit] if score]
    names = dict(Tenant.objects.filter(pk__in=chosen).values_list("pk", "name"))
    return [
        {
            "tenant_id": tenant_id,
            "name": names.get(tenant_id, f"#{tenant_id}"),
            "failures": week.of(tenant_id)["failures"]["total"],
            "pauses": week.of(tenant_id)["pauses"]["total"],
            "missed_posts": week.of(tenant_id)["missed_posts"]["total"],
            "dead_letters_in": week.of(tenant_id)["dead_letters"]["in"],
        }
        for tenant_id in chosen
    ]


# -- week over week --------------------------------------------------------------------------------

# The numbers compared with the week before, and where each is in the figures.
HEADLINES = {
    "failures": lambda f: f["failures"]["total"],
    "pauses": lambda f: f["pauses"]["total"],
    "reconnect_median_s": lambda f: f["reconnect"]["median_s"],
    "missed_posts": lambda f: f["missed_posts"]["total"],
    "dead_letters_in": lambda f: f["dead_letters"]["in"],
    "deferrals": lambda f: f["deferrals"]["total"],
    "unknown_share": lambda f: f["unknown_share"],
    "caught_early": lambda f: sum(f["early_catch"][cause]["pauses"] for cause in PROACTIVE_CAUSES),
}


def week_changes(now: dict, before: dict) -> dict:
    """{headline: {"before", "now", "delta"}}; delta is None where either week has no value."""
    changes = {}
    for name, read in HEADLINES.items():
        current, previous = read(now), read(before)
        delta = None if current is None or previous is None else round(current - previous, 4)
        changes[name] = {"before": previous, "now": current, "delta": delta}
    return changes


# -- what the advice needs beyond the figures ------------------------------------------------------


def advice_facts(week_start: date) -> AdviceFacts:
    """Per tenant: channels paused again and again (RECURRING_WEEKS up to the week's end) and the
    week's content failures, each with its connection. Three queries."""
    start, end = week_bounds(week_start)
    recurring = list(
        ConnectionAudit.objects.filter(
            action__in=[Action.AUTO_PAUSE, Action.REVOKE], created_at__gte=end - RECURRING_WEEKS * WEEK, created_at__lt=end
        )
        .annotate(reason=KT("details__reason_code"))
        .values_list("connection_id", "reason")
        .annotate(n=Count("id"))
        .filter(n__gte=RECURRING_MIN_PAUSES)
        .order_by()
    )
    content = list(
        FailureEvent.objects.filter(created_at__gte=start, created_at__lt=end, code__in=[code.value for code in CONTENT_CODES])
        .exclude(decision=FailureEvent.Decision.DEFERRED)
        .values_list("connection_id", "post__kind", "code", "partner_code")
        .annotate(n=Count("id"))
        .order_by()
    )
    ids = {connection_id for connection_id, *_ in recurring} | {connection_id for connection_id, *_ in content}
    connections = {c.pk: c for c in Connection.objects.without_tokens().filter(pk__in=ids)}
    facts = AdviceFacts()
    for connection_id, reason, n in recurring:
        if connection_id in connections:
            facts.add_recurring(RecurringPause(connections[connection_id], reason or "", n))
    for connection_id, kind, code, partner_code, n in content:
        if connection_id in connections:
            facts.add_content(ContentFailure(connections[connection_id], kind or "", code, partner_code, n))
    return facts


# -- the build -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklyBuild:
    """What a build stored: the week, the tenant summaries' ids, and how long it took."""

    week_start: date
    overall_id: int
    tenant_summary_ids: dict[int, int]  # tenant id -> summary id
    seconds: float


def weekly_summaries_build(week_start: date, *, now: datetime | None = None) -> WeeklyBuild:
    """Aggregate the week starting `week_start` and store its summaries, replacing the week's earlier ones.

    1. The week's figures and the week before's, every tenant at once (week_figures).
    2. The advice's own facts (advice_facts), the overall row's unmapped shapes and top tenants.
    3. One row per tenant with WEEKLY_SUMMARY_ENABLED (a tenant without a failure gets a quiet week's
       figures) and the overall row, each with its changes and insights, written in one transaction
       that first deletes the week's rows of those tenants and the overall one: a rebuild replaces,
       never duplicates; a tenant whose flag is now off keeps what was built for it before.
    """
    started = time.monotonic()
    now = now or timezone.now()
    current = week_figures(week_start)
    before = week_figures(week_start - WEEK)
    facts = advice_facts(week_start)
    overall = current.overall
    overall["unmapped"] = unmapped_shapes(week_start)
    overall["top_tenants"] = top_tenants(current)
    tenant_ids = list(Tenant.objects.order_by("pk").values_list("pk", flat=True))
    chosen = sorted(flag_tenants_on(WEEKLY_SUMMARY_ENABLED, tenant_ids))

    rows = [
        WeeklySummary(
            tenant=None,
            week_start=week_start,
            figures=overall,
            changes=week_changes(overall, before.overall),
            insights=[insight.as_dict() for insight in overall_insights(current, before, facts)],
            built_at=now,
        )
    ]
    for tenant_id in chosen:
        figures = current.of(tenant_id)
        rows.append(
            WeeklySummary(
                tenant_id=tenant_id,
                week_start=week_start,
                figures=figures,
                changes=week_changes(figures, before.of(tenant_id)),
                insights=[insight.as_dict() for insight in tenant_insights(figures, facts.for_tenant(tenant_id))],
                built_at=now,
            )
        )
    with transaction.atomic():
        WeeklySummary.objects.filter(week_start=week_start).filter(Q(tenant__isnull=True) | Q(tenant_id__in=chosen)).delete()
        stored = WeeklySummary.objects.bulk_create(rows, batch_size=500)
    seconds = round(time.monotonic() - started, 3)
    logger.info(
        "weekly summaries built",
        extra={"week": week_start.isoformat(), "tenants": len(chosen), "seconds": seconds, "failures": overall["failures"]["total"]},
    )
    return WeeklyBuild(
        week_start=week_start,
        overall_id=stored[0].pk,
        tenant_summary_ids={row.tenant_id: row.pk for row in stored[1:]},
        seconds=seconds,
    )
