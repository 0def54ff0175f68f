"""The partners' API versions: which one we speak, when each came out, when the partner retires
it, and the page that says so (docs/partners/versions.md has the same table with its sources).

Plain data and small functions (no models, no settings beyond the two version overrides):
- `version_in_use(platform)`: the version the connectors send (settings.META_API_VERSION /
  LINKEDIN_API_VERSION when set, else CURRENT).
- `lifecycle(platform, version, today)`: a `Lifecycle` (status, release, sunset, whether the
  sunset is published or estimated, source). Statuses: ACTIVE, RETIRING (sunset within
  WARN_DAYS), RETIRED, UNRELEASED (a future version), UNKNOWN (not a version the partner has).
- `meta_oldest_active(today)`: Meta serves a retired version's calls with this one.
- `problems_in_use(today)`: the versions in use that are RETIRING, RETIRED, UNRELEASED or UNKNOWN,
  for the system check (config/checks.py) and the admin index note.

Partner rules kept here:
- Meta Graph API: each version lists its release and "available until" date on Meta's versions
  page; a call to a version past that date is served by the oldest version still available
  (Meta's Platform Versioning page), so retiring silently changes behaviour; a version Graph
  never had ("v99.0") is a path Graph cannot route.
- LinkedIn: monthly versions YYYYMM (and revisions YYYYMM.RR) in the LinkedIn-Version header,
  each supported "for a minimum of one year" (LinkedIn's versioning page); the migrations page
  gives each sunset date, mid-month a year after release. A version not on that page gets the
  same rule (the 15th, twelve months on) and is marked estimated. A sunset version is 426
  NONEXISTENT_VERSION.
- TikTok (v2), Google Business Profile (v4 local posts, v1 accounts and locations) and Mailchimp
  (3.0) version their paths and announce no dated sunsets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum

from django.conf import settings

WARN_DAYS = 90

META_VERSIONS_PAGE = "https://developers.facebook.com/docs/graph-api/changelog/versions/"
META_VERSIONING_PAGE = "https://developers.facebook.com/docs/graph-api/guides/versioning"
LINKEDIN_MIGRATIONS_PAGE = "https://learn.microsoft.com/en-us/linkedin/marketing/integrations/migrations"
LINKEDIN_VERSIONING_PAGE = "https://learn.microsoft.com/en-us/linkedin/marketing/versioning"
TIKTOK_V2_PAGE = "https://developers.tiktok.com/doc/tiktok-api-v2-introduction/"
GBP_LOCAL_POSTS_PAGE = "https://developers.google.com/my-business/reference/rest/v4/accounts.locations.localPosts"
MAILCHIMP_API_PAGE = "https://mailchimp.com/developer/marketing/api/"

# The versions the connectors speak unless settings pin another. Bump them here, with a row below.
CURRENT = {
    "meta": "v26.0",
    "linkedin": "202606",
    "tiktok": "v2",
    "gbp": "v4",
    "mailchimp": "3.0",
}
# The settings that pin another version (empty: CURRENT).
OVERRIDES = {"meta": "META_API_VERSION", "linkedin": "LINKEDIN_API_VERSION"}

# Meta's versions page: (release, available until; None: "TBD").
META = {
    "v26.0": (date(2026, 7, 29), None),
    "v25.0": (date(2026, 2, 18), date(2028, 7, 29)),
    "v24.0": (date(2025, 10, 8), date(2028, 2, 18)),
    "v23.0": (date(2025, 5, 29), date(2027, 10, 8)),
    "v22.0": (date(2025, 1, 21), date(2027, 5, 20)),
    "v21.0": (date(2024, 10, 2), date(2027, 1, 21)),
    "v20.0": (date(2024, 5, 21), date(2026, 9, 24)),
    "v19.0": (date(2024, 1, 23), date(2026, 5, 21)),
    "v18.0": (date(2023, 9, 12), date(2026, 1, 26)),
    "v17.0": (date(2023, 5, 23), date(2025, 9, 12)),
    "v16.0": (date(2023, 2, 2), date(2025, 5, 14)),
    "v15.0": (date(2022, 9, 15), date(2024, 11, 20)),
    "v14.0": (date(2022, 5, 25), date(2024, 9, 17)),
    "v13.0": (date(2022, 2, 8), date(2024, 5, 28)),
    "v12.0": (date(2021, 9, 14), date(2024, 2, 8)),
    "v11.0": (date(2021, 6, 8), date(2023, 9, 14)),
    "v10.0": (date(2021, 2, 23), date(2023, 6, 8)),
}

# LinkedIn's migrations page: version -> sunset date, where the page gives one.
LINKEDIN_SUNSETS = {
    "202407": date(2025, 7, 22),
    "202408": date(2025, 8, 18),
    "202409": date(2025, 9, 15),
    "202410": date(2025, 10, 15),
    "202411": date(2025, 11, 17),
    "202510": date(2026, 10, 15),
    "202511": date(2026, 11, 16),
    "202601": date(2027, 1, 15),
    "202602": date(2027, 2, 15),
    "202603": date(2027, 3, 16),
}

# Path-versioned partners: no dated sunset announced.
UNDATED = {
    "tiktok": ("v2", TIKTOK_V2_PAGE),
    "gbp": ("v4", GBP_LOCAL_POSTS_PAGE),
    "mailchimp": ("3.0", MAILCHIMP_API_PAGE),
}

_META_VERSION = re.compile(r"^v(\d+)\.(\d+)$")
_LINKEDIN_VERSION = re.compile(r"^(\d{4})(\d{2})(?:\.(\d{2}))?$")


class Status(str, Enum):
    ACTIVE = "active"
    RETIRING = "retiring"  # retired within WARN_DAYS
    RETIRED = "retired"
    UNRELEASED = "unreleased"
    UNKNOWN = "unknown"  # not a version the partner has (malformed, or never released)


@dataclass(frozen=True)
class Lifecycle:
    platform: str
    version: str
    status: Status
    released: date | None = None
    sunset: date | None = None  # None: no sunset announced
    estimated: bool = False  # the sunset follows the partner's rule, not a date it published
    source: str = ""

    def days_left(self, today: date) -> int | None:
        return (self.sunset - today).days if self.sunset else None

    def summary(self, today: date) -> str:
        """One sentence for ops: where this version stands on `today`."""
        estimated = " (estimated: the partner's one-year rule)" if self.estimated else ""
        name = f"{self.platform} API version {self.version}"
        if self.status is Status.ACTIVE:
            return f"{name} is active."
        if self.status is Status.RETIRING:
            return f"{name} is retired on {self.sunset.isoformat()}{estimated}, in {self.days_left(today)} days."
        if self.status is Status.RETIRED:
            return f"{name} was retired" + (f" on {self.sunset.isoformat()}{estimated}." if self.sunset else ".")
        return f"{name} is not a version {self.platform} serves ({self.status.value})."

    def hint(self) -> str:
        """What to do about it, and where the dates come from."""
        setting = OVERRIDES.get(self.platform)
        pinned = f", or the {setting} setting where it pins one" if setting else ""
        return f"Move to a current version (CURRENT in connections/platforms/versions.py{pinned}). Source: {self.source}"


def version_in_use(platform: str) -> str:
    """The version the connectors send to `platform`: the settings override, else CURRENT."""
    setting = OVERRIDES.get(platform)
    return (getattr(settings, setting, "") if setting else "") or CURRENT[platform]


def _status(released: date | None, sunset: date | None, today: date) -> Status:
    if released and released > today:
        return Status.UNRELEASED
    if sunset and sunset <= today:
        return Status.RETIRED
    if sunset and (sunset - today).days <= WARN_DAYS:
        return Status.RETIRING
    return Status.ACTIVE


def _meta(version: str, today: date) -> Lifecycle:
    if version in META:
        released, sunset = META[version]
        return Lifecycle("meta", version, _status(released, sunset, today), released, sunset, source=META_VERSIONS_PAGE)
    match = _META_VERSION.match(version)
    listed = sorted(tuple(int(n) for n in _META_VERSION.match(v).groups()) for v in META)
    if match and tuple(int(n) for n in match.groups()) < listed[0]:
        # Older than every version on the page: expired years ago.
        return Lifecycle("meta", version, Status.RETIRED, source=META_VERSIONS_PAGE)
    if match and tuple(int(n) for n in match.groups()) > listed[-1]:
        return Lifecycle("meta", version, Status.UNRELEASED, source=META_VERSIONS_PAGE)
    return Lifecycle("meta", version, Status.UNKNOWN, source=META_VERSIONS_PAGE)


def _linkedin(version: str, today: date) -> Lifecycle:
    match = _LINKEDIN_VERSION.match(version)
    if not match or not 1 <= int(match.group(2)) <= 12:
        return Lifecycle("linkedin", version, Status.UNKNOWN, source=LINKEDIN_VERSIONING_PAGE)
    year, month = int(match.group(1)), int(match.group(2))
    released = date(year, month, 1)
    month_version = f"{year:04d}{month:02d}"
    if month_version in LINKEDIN_SUNSETS:
        return Lifecycle("linkedin", version, _status(released, LINKEDIN_SUNSETS[month_version], today), released,
                         LINKEDIN_SUNSETS[month_version], source=LINKEDIN_MIGRATIONS_PAGE)
    sunset = date(year + 1, month, 15)  # supported at least a year; sunsets fall mid-month
    return Lifecycle("linkedin", version, _status(released, sunset, today), released, sunset, estimated=True,
                     source=LINKEDIN_VERSIONING_PAGE)


def lifecycle(platform: str, version: str, today: date) -> Lifecycle:
    """Where `version` of `platform` stands on `today`."""
    if platform == "meta":
        return _meta(version, today)
    if platform == "linkedin":
        return _linkedin(version, today)
    known, source = UNDATED[platform]
    return Lifecycle(platform, version, Status.ACTIVE if version == known else Status.UNKNOWN, source=source)


def meta_oldest_active(today: date) -> str:
    """The oldest Graph version still available on `today`: what serves a retired version's calls."""
    served = [v for v in META if lifecycle("meta", v, today).status in (Status.ACTIVE, Status.RETIRING)]
    return min(served, key=lambda v: META[v][0])


def problems_in_use(today: date) -> list[Lifecycle]:
    """The versions in use that ops must act on: retiring within WARN_DAYS, retired, or not the partner's."""
    found = []
    for platform in CURRENT:
        state = lifecycle(platform, version_in_use(platform), today)
        if state.status is not Status.ACTIVE:
            found.append(state)
    return found
