"""The Advisor: a week's figures turned into advice a user can act on and issues ops can track.

Each insight says what happened in plain words, what to do about it (the remediation), and
links to where to act. They are ranked by impact (`rank`): first what stops a channel
publishing (a channel about to stop, channels that keep breaking: Level.STOPS), then what made
posts fail (Level.LOST), then what only delayed them (Level.DELAYED); within a level, by the
number of posts, pauses or errors it accounts for.

For a tenant (`tenant_insights`, stored with its weekly summary; `reconnect_soon_insights`
read live by the page and the mail, since it is about today, not the week):
- channels paused again and again (RECURRING_MIN_PAUSES in RECURRING_WEEKS), by kind of channel
  and reason, with the way out that lasts (REMEDIES);
- posts refused for the same rule (a capability rule with its limit: "trim to 600 seconds"), or
  by the partner for the same reason, in the week;
- posts held back by a partner's rate limits (RATE_LIMIT_ADVICE_MIN or more in the week);
- channels whose sign-in ends within 7 days unless someone reconnects them.

For ops (`overall_insights`, stored with the overall row): the failures that hit most, with
the tenants affected; channels that keep breaking across tenants; the week's new unmapped
error shapes and a rising share of UNKNOWN; a growing dead-letter queue; slow reconnects;
publishes held back by rate limits.

Pure functions of the figures and facts handed in (insights.weekly reads the database), but for
`reconnect_soon_insights`, which reads the tenant's connections.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from enum import IntEnum

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from connections.capabilities import get_profile
from connections.channels import network_name
from connections.models import Connection, Post
from insights.health import admin_list_url
from recovery.taxonomy import ErrorAction, ErrorCode, get_taxonomy_entry
from recovery.token_upkeep import connections_needing_user_soon

RECURRING_WEEKS = 8
RECURRING_MIN_PAUSES = 2
# Refusals whose cause is the post itself: the advice is about the content.
CONTENT_CODES = (
    ErrorCode.VALIDATION_ERROR,
    ErrorCode.CONTENT_REJECTED,
    ErrorCode.DUPLICATE_CONTENT,
    ErrorCode.MEDIA_ERROR,
    ErrorCode.CAPABILITY_UNSUPPORTED,
)
RATE_LIMIT_CODES = (ErrorCode.RATE_LIMIT_429.value, ErrorCode.QUOTA_EXCEEDED.value)
RATE_LIMIT_ADVICE_MIN = 10  # a tenant's publishes held back in a week before it is worth a word
OPS_RATE_LIMIT_MIN = 100  # the same, across tenants
OPS_TOP_FAILURES = 5
SLOW_RECONNECT_S = 48 * 3600  # the p90 time to reconnect above which ops are told
UNKNOWN_SHARE_RISE = 0.01  # one point
RECONNECT_AHEAD = timedelta(days=7)
AT_RISK_WINDOW = timedelta(days=30)  # posts scheduled this long after a sign-in ends count as at risk

PLATFORM_NAMES = {"meta": "Meta", "linkedin": "LinkedIn", "tiktok": "TikTok", "gbp": "Google Business Profile",
                  "mailchimp": "Mailchimp"}


class Level(IntEnum):
    DELAYED = 1  # posts went out late
    LOST = 2  # posts did not go out
    STOPS = 3  # a channel stops, or keeps stopping, publishing


@dataclass(frozen=True)
class Insight:
    """One piece of advice: the title says what happened, the remediation what to do, the link where."""

    kind: str
    level: int
    impact: int  # posts, pauses or errors it accounts for
    title: str
    remediation: str
    link: str
    link_label: str

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Insight":
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def rank(insights: list[Insight]) -> list[Insight]:
    """Most impact first: level, then impact, then title (a stable order for equal ones)."""
    return sorted(insights, key=lambda insight: (-insight.level, -insight.impact, insight.title))


# -- the facts beyond the figures (read by insights.weekly) --------------------------------------------


@dataclass(frozen=True)
class RecurringPause:
    """A connection paused `pauses` times for `reason` within RECURRING_WEEKS."""

    connection: Connection
    reason: str
    pauses: int


@dataclass(frozen=True)
class ContentFailure:
    """`count` failures of one connection's posts of one kind, with one code and partner code, in the week."""

    connection: Connection
    kind: str
    code: str
    partner_code: str
    count: int


@dataclass
class AdviceFacts:
    recurring: dict[int, list[RecurringPause]] = field(default_factory=dict)  # by tenant id
    content: dict[int, list[ContentFailure]] = field(default_factory=dict)

    def add_recurring(self, item: RecurringPause) -> None:
        self.recurring.setdefault(item.connection.tenant_id, []).append(item)

    def add_content(self, item: ContentFailure) -> None:
        self.content.setdefault(item.connection.tenant_id, []).append(item)

    def for_tenant(self, tenant_id: int) -> "AdviceFacts":
        return AdviceFacts({tenant_id: self.recurring.get(tenant_id, [])}, {tenant_id: self.content.get(tenant_id, [])})

    def all_recurring(self) -> list[RecurringPause]:
        return [item for items in self.recurring.values() for item in items]

    def all_content(self) -> list[ContentFailure]:
        return [item for items in self.content.values() for item in items]


# -- words ---------------------------------------------------------------------------------------------


def plural(n: int, word: str, many: str | None = None) -> str:
    """"1 post", "3 posts" (or `many`)."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {many or word + 's'}"


def _times(n: int) -> str:
    return "once" if n == 1 else "twice" if n == 2 else f"{n:,} times"


def _days(delta: timedelta) -> str:
    days = max(int(delta.total_seconds() // 86400), 0)
    return "less than a day" if days == 0 else plural(days, "day")


def _minutes_or_seconds(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds // 60:,} minutes ({seconds:,} seconds)"
    return plural(seconds, "second")


def _size(n_bytes: float) -> str:
    mib = n_bytes / 1024**2
    return f"{mib / 1024:g} GB" if mib >= 1024 else f"{mib:g} MB"


# Why a channel keeps pausing, by reason code: (what it loses, singular verb, plural verb).
FAMILIES = {
    ErrorCode.PERMISSION_INSUFFICIENT.value: "permissions",
    ErrorCode.AUTH_EXPIRED.value: "sign_in",
    ErrorCode.AUTH_INVALID.value: "sign_in",
    ErrorCode.REFRESH_FAILED.value: "sign_in",
    ErrorCode.AUTH_REVOKED.value: "access",
    ErrorCode.ACCOUNT_RESTRICTED.value: "restricted",
    ErrorCode.RESOURCE_NOT_FOUND.value: "gone",
}
FAMILY_VERBS = {
    "permissions": ("loses permissions", "lose permissions"),
    "sign_in": ("gets signed out", "get signed out"),
    "access": ("loses our access", "lose our access"),
    "restricted": ("gets restricted by the partner", "get restricted by the partner"),
    "gone": ("loses the page it posts to", "lose the page they post to"),
}
# The way out that lasts, by (kind of channel, family); else by family.
REMEDIES = {
    ("Instagram", "permissions"): (
        "Reconnect with the Instagram business account, signed in to Facebook as a full admin of the Page it is "
        "linked to, and approve every permission asked for: permissions given through a personal account or a "
        "partial Page role are taken back when that role changes."
    ),
    ("Facebook Page", "permissions"): (
        "Reconnect signed in as a full admin of the Page (not an editor or a task-based role) and approve every "
        "permission asked for."
    ),
    ("LinkedIn Page", "permissions"): (
        "Reconnect signed in as a super admin or content admin of the LinkedIn Page and approve every permission."
    ),
    ("Facebook Page", "sign_in"): (
        "Meta ends a sign-in when the person's password changes or a security check asks for a new login: reconnect "
        "with a shared admin account whose password is not changed often, rather than a personal one."
    ),
    ("Instagram", "sign_in"): (
        "Meta ends a sign-in when the person's password changes or a security check asks for a new login: reconnect "
        "with a shared admin account whose password is not changed often, rather than a personal one."
    ),
}
FAMILY_REMEDIES = {
    "permissions": "Reconnect and approve every permission asked for; if someone's role on the account changed, restore it first.",
    "sign_in": (
        "Reconnect with an account that stays with your company (not a personal one that changes its password or "
        "leaves), so the sign-in is not ended again."
    ),
    "access": (
        "Someone removes this app's access at the partner (its app or integration settings): ask your team to leave "
        "it connected, then reconnect."
    ),
    "restricted": (
        "The partner keeps restricting the account: read its messages on the partner's site (policy warnings, "
        "security checks) and clear the cause, not only the restriction, then resume the channel."
    ),
    "gone": "The page, location or audience keeps disappearing: reconnect to one that lasts, or find out who removes it.",
}


# -- links -----------------------------------------------------------------------------------------------


def _channels_url() -> str:
    return reverse("connections:channels")


def _posts_needing_you_url() -> str:
    return f"{reverse('connections:posts')}?show=attention"


# -- a tenant's advice ---------------------------------------------------------------------------------------


def tenant_insights(figures: dict, facts: AdviceFacts) -> list[Insight]:
    """A tenant's advice from its week's figures and facts, ranked."""
    insights = [*_recurring_pause_insights(facts.all_recurring(), for_ops=False), *_content_insights(facts.all_content())]
    for platform, held in _rate_limited_by_platform(figures).items():
        if held >= RATE_LIMIT_ADVICE_MIN:
            name = PLATFORM_NAMES.get(platform, platform)
            insights.append(Insight(
                kind="rate_limited",
                level=Level.DELAYED,
                impact=held,
                title=f"Posting to {name} was held back {_times(held)} by its rate limits",
                remediation=(
                    f"Nothing was lost: those posts went out later. To have them out on time, spread your {name} posts "
                    "over the day instead of scheduling many for the same minutes."
                ),
                link=_posts_needing_you_url(),
                link_label="Your posts",
            ))
    return rank(insights)


def _rate_limited_by_platform(figures: dict) -> dict[str, int]:
    """Publishes held back by a rate limit, and failures with a rate-limit code, per platform."""
    held = dict(figures["deferrals"].get("rate_limited_by_platform", {}))
    for key, n in figures["failures"]["by_platform_code"].items():
        platform, _, code = key.partition(":")
        if code in RATE_LIMIT_CODES:
            held[platform] = held.get(platform, 0) + n
    return held


def _recurring_pause_insights(items: list[RecurringPause], *, for_ops: bool) -> list[Insight]:
    groups: dict[tuple[str, str], list[RecurringPause]] = defaultdict(list)
    for item in items:
        family = FAMILIES.get(item.reason)
        if family:
            groups[(network_name(item.connection), family)].append(item)
    insights = []
    for (network, family), group in groups.items():
        channels = {item.connection.pk for item in group}
        pauses = sum(item.pauses for item in group)
        one, many = FAMILY_VERBS[family]
        verb = one if len(channels) == 1 else many
        remedy = REMEDIES.get((network, family), FAMILY_REMEDIES[family])
        if for_ops:
            tenants = {item.connection.tenant_id for item in group}
            title = (f"{plural(len(channels), network + ' channel')} in {plural(len(tenants), 'tenant')} {verb} "
                     f"every few weeks ({pauses:,} pauses in {RECURRING_WEEKS} weeks)")
            link = admin_list_url("connections_connection", id__in=sorted(channels)[:100])
            link_label = "These connections"
        else:
            who = f"Your {network} channel" if len(channels) == 1 else f"{len(channels):,} {network} channels"
            title = f"{who} {verb} every few weeks ({pauses:,} pauses in {RECURRING_WEEKS} weeks)"
            link, link_label = _channels_url(), "Your channels"
        insights.append(Insight("recurring_pauses", Level.STOPS, pauses, title, remedy, link, link_label))
    return insights


def _content_insights(items: list[ContentFailure]) -> list[Insight]:
    """One insight per (kind of channel, kind of post, rule) for our refusals, per (kind of channel, code) for the partner's."""
    groups: dict[tuple, list[ContentFailure]] = defaultdict(list)
    for item in items:
        if item.partner_code.startswith("capability:"):
            groups[(network_name(item.connection), item.kind, item.partner_code)].append(item)
        else:
            groups[(network_name(item.connection), "", item.code)].append(item)
    insights = []
    for (network, kind, rule), group in groups.items():
        count = sum(item.count for item in group)
        if rule.startswith("capability:"):
            words = _rule_words(rule.removeprefix("capability:"), group[0], count)
        else:
            words = _partner_refusal_words(network, rule, count)
        if words is not None:
            title, remediation = words
            insights.append(Insight("content", Level.LOST, count, title, remediation, _posts_needing_you_url(),
                                    "The posts that were not sent"))
    return insights


def _rule_words(rule: str, item: ContentFailure, count: int) -> tuple[str, str] | None:
    """(title, remediation) for posts our capability check refused under `rule`, with its limit where it has one."""
    connection = item.connection
    profile = get_profile(connection.platform, connection.account_type or "", connection.external_account_id or "")
    kind_rule = profile.kinds.get(item.kind) if profile else None
    limits = kind_rule.limits if kind_rule else (profile.limits if profile else {})
    network = network_name(connection)
    what = f"{network} {kind_rule.noun}" if kind_rule else f"{network} posts"
    limit = limits.get(rule)
    failed = f"failed {_times(count)}"
    if rule == "video_max_s" and limit:
        return (f"{what} over the length limit {failed}: trim to {limit:,} seconds",
                f"Trim each video to {_minutes_or_seconds(limit)} or less, then schedule the post again.")
    if rule == "video_min_s" and limit:
        return (f"{what} under the minimum length {failed}: make them at least {limit:,} seconds long",
                f"Use videos of at least {_minutes_or_seconds(limit)}, then schedule the post again.")
    if rule in ("video_max_bytes", "image_max_bytes") and limit:
        media = rule.split("_")[0]
        return (f"{what} with {media} files over {_size(limit)} {failed}",
                f"Export or compress each {media} below {_size(limit)}, then schedule the post again.")
    if rule in ("video_formats", "image_formats") and limit:
        media = rule.split("_")[0]
        formats = ", ".join(name.upper() for name in limit)
        return (f"{what} with a {media} format {network} does not take {failed}",
                f"Save each {media} as {formats}, then schedule the post again.")
    if rule in ("text_max_chars", "subject_max_chars") and limit:
        part = "texts" if rule == "text_max_chars" else "subject lines"
        return (f"{what} with {part} over {limit:,} characters {failed}",
                f"Shorten the {part[:-1]} to {limit:,} characters or fewer, then schedule the post again.")
    if rule == "hashtags_max" and limit is not None:
        return (f"{what} with more than {plural(limit, 'hashtag')} {failed}",
                f"Use at most {plural(limit, 'hashtag')} a post, then schedule it again.")
    if rule.endswith(("_max", "_min")) and limit is not None:
        thing = rule.rsplit("_", 1)[0].rstrip("s")
        bound = "at most" if rule.endswith("_max") else "at least"
        return (f"{what} with the wrong number of {thing}s {failed}",
                f"Give each post {bound} {plural(limit, thing)}, then schedule it again.")
    if rule in ("kind", "connector_kind", "account_type"):
        return (f"{what} cannot be published to {network} channels: {count:,} failed",
                "Choose a kind of post this channel takes (the post form lists them), or post it to another channel.")
    return None


def _partner_refusal_words(network: str, code: str, count: int) -> tuple[str, str] | None:
    try:
        entry = get_taxonomy_entry(code)
    except (ValueError, KeyError):
        return None
    return f"{network} refused {plural(count, 'post')}: {entry.happened[0].lower()}{entry.happened[1:].rstrip('.')}", entry.todo


def reconnect_soon_insights(tenant_id: int, now: datetime | None = None) -> list[Insight]:
    """Channels whose sign-in ends within 7 days unless someone reconnects them, by kind of channel. Two queries.

    Read when the page or the mail is made: it is about today, not the week summarised.
    """
    now = now or timezone.now()
    due = connections_needing_user_soon(tenant_id, RECONNECT_AHEAD)
    if not due:
        return []
    at_risk = dict(
        Post.objects.filter(
            connection_id__in=[item.connection.pk for item in due], status=Post.Status.SCHEDULED,
            scheduled_at__gte=now, scheduled_at__lt=now + RECONNECT_AHEAD + AT_RISK_WINDOW,
        )
        .values_list("connection_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    groups: dict[str, list] = defaultdict(list)
    for item in due:
        groups[network_name(item.connection)].append(item)
    insights = []
    for network, items in groups.items():
        first = min(item.stops_at for item in items)
        channels = f"your {network} channel" if len(items) == 1 else f"{len(items):,} {network} channels"
        posts = sum(at_risk.get(item.connection.pk, 0) for item in items)
        insights.append(Insight(
            kind="reconnect_soon",
            level=Level.STOPS,
            impact=max(posts, len(items)),
            title=f"The sign-in of {channels} ends in {_days(first - now)}: reconnect now",
            remediation=(
                f"Only a person can renew it: click Reconnect on your channels page before {first:%A %d %B}. "
                "Posts due after that wait until you do; nothing is lost."
            ),
            link=_channels_url(),
            link_label="Your channels",
        ))
    return rank(insights)


# -- ops' advice -------------------------------------------------------------------------------------------

# What ops do about a code that hits many, by the taxonomy's action.
OPS_REMEDIES = {
    ErrorAction.TRIGGER_RECONNECT: "Users must reconnect: check the pause mails went out and the reconnect flow works on this platform.",
    ErrorAction.PAUSE_CHANNEL: "Channels were paused for their users to fix at the partner; look for a change on the partner's side.",
    ErrorAction.RETRY_WITH_BACKOFF: "Retried automatically; if it lasts, check the partner's status page and the circuit breakers.",
    ErrorAction.RETRY_AFTER_DELAY: "Retried after the partner's delay; compare our rate limits with the partner's.",
    ErrorAction.NOTIFY_USER_FIX_CONTENT: "Users are told on their posts page; if one rule dominates, check it in the post form.",
    ErrorAction.SEND_TO_DLQ: "Work the dead letters: requeue once the cause is fixed.",
    ErrorAction.ESCALATE_TO_SUPPORT: "Look at the Sentry issues for it, and map the unmapped errors behind it.",
    ErrorAction.REFRESH_TOKEN: "Check token upkeep for this platform.",
}


def overall_insights(current, before, facts: AdviceFacts) -> list[Insight]:
    """Ops' advice from every tenant's week (`current`, `before`: insights.weekly.WeekFigures), ranked."""
    figures, previous = current.overall, before.overall
    start = datetime.combine(current.week_start, datetime.min.time(), tzinfo=dt_timezone.utc)
    end = start + timedelta(days=7)
    insights = [*_top_failure_insights(current, start, end), *_recurring_pause_insights(facts.all_recurring(), for_ops=True)]

    unmapped = figures.get("unmapped", {"new": 0, "errors": 0})
    if unmapped["new"]:
        insights.append(Insight(
            kind="unmapped",
            level=Level.LOST,
            impact=unmapped["errors"],
            title=(f"{plural(unmapped['new'], 'new partner error shape')} classified UNKNOWN this week "
                   f"({plural(unmapped['errors'], 'error')} so far)"),
            remediation=("Read each sample, add a classifier rule and a corpus case for it (the classify command checks "
                         "one), then mark it mapped."),
            link=admin_list_url("recovery_unmappederror", mapped__exact=0, first_seen_at__gte=start, first_seen_at__lt=end),
            link_label="The new unmapped errors",
        ))
    share, share_before = figures["unknown_share"], previous["unknown_share"]
    if share is not None and share > (share_before or 0) + UNKNOWN_SHARE_RISE:
        insights.append(Insight(
            kind="unknown_share",
            level=Level.LOST,
            impact=figures["unknown"],
            title=(f"The share of partner errors classified UNKNOWN rose from {_percent(share_before)} to {_percent(share)}"),
            remediation="Map the unmapped errors behind it: each is a failure whose users got no precise advice.",
            link=admin_list_url("recovery_unmappederror", mapped__exact=0),
            link_label="Unmapped errors",
        ))
    letters = figures["dead_letters"]
    if letters["in"] > letters["resolved"]:
        insights.append(Insight(
            kind="dead_letters",
            level=Level.LOST,
            impact=letters["in"] - letters["resolved"],
            title=(f"The dead-letter queue took {plural(letters['in'], 'letter')} and closed {letters['resolved']:,}: "
                   f"it grew by {letters['in'] - letters['resolved']:,}"),
            remediation="Work the open letters oldest first: requeue those whose cause is fixed, discard what users sent again.",
            link=admin_list_url("recovery_deadletter", status__exact="open"),
            link_label="Open dead letters",
        ))
    reconnect = figures["reconnect"]
    if reconnect["p90_s"] is not None and reconnect["p90_s"] > SLOW_RECONNECT_S:
        insights.append(Insight(
            kind="slow_reconnects",
            level=Level.STOPS,
            impact=reconnect["count"],
            title=f"Paused channels took {_days(timedelta(seconds=reconnect['p90_s']))} or more to come back (90th percentile)",
            remediation=("Check that pause mails reach the owners and admins, and look at the channels paused longest: "
                         "their tenants may need a word from support."),
            link=reverse("admin:connections_connection_paused"),
            link_label="Paused connections",
        ))
    for platform, held in sorted(figures["deferrals"].get("rate_limited_by_platform", {}).items()):
        if held >= OPS_RATE_LIMIT_MIN:
            insights.append(Insight(
                kind="rate_limited",
                level=Level.DELAYED,
                impact=held,
                title=f"{PLATFORM_NAMES.get(platform, platform)} publishes were held back {_times(held)} by rate limits",
                remediation="Compare PUBLISH_RATE_LIMITS with the partner's current limits; the tenants' posts went out late.",
                link=admin_list_url("recovery_failureevent", decision__exact="deferred", platform__exact=platform,
                                    created_at__gte=start, created_at__lt=end),
                link_label="These deferrals",
            ))
    return rank(insights)


def _percent(share: float | None) -> str:
    return "none" if share is None else f"{share * 100:.1f}%"


def _top_failure_insights(current, start: datetime, end: datetime) -> list[Insight]:
    """The platform:code pairs that failed most across tenants (content refusals apart: users are told of those)."""
    counts = current.overall["failures"]["by_platform_code"]
    tenants: dict[str, int] = defaultdict(int)
    for tenant_id, figures in current.by_tenant.items():
        if tenant_id is not None:
            for key in figures["failures"]["by_platform_code"]:
                tenants[key] += 1
    content = {code.value for code in CONTENT_CODES}
    chosen = sorted(((n, key) for key, n in counts.items() if key.partition(":")[2] not in content), reverse=True)
    insights = []
    for n, key in chosen[:OPS_TOP_FAILURES]:
        platform, _, code = key.partition(":")
        try:
            entry = get_taxonomy_entry(code)
        except (ValueError, KeyError):
            continue
        level = Level.STOPS if entry.pauses_channel else Level.DELAYED if entry.retryable else Level.LOST
        insights.append(Insight(
            kind="top_failure",
            level=level,
            impact=n,
            title=(f"{PLATFORM_NAMES.get(platform, platform)} {code}: {plural(n, 'failure')} in "
                   f"{plural(tenants[key], 'tenant')} ({entry.description.rstrip('.').lower()})"),
            remediation=OPS_REMEDIES.get(entry.action, entry.todo),
            link=admin_list_url("recovery_failureevent", platform__exact=platform, code__exact=code,
                                created_at__gte=start, created_at__lt=end),
            link_label="These failures",
        ))
    return insights
