"""The partner API version registry: statuses on a given day, the version in use, the system
check that `manage.py check` prints, and the admin index note."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse
from django.utils import timezone

from config.checks import check_partner_api_versions
from connections.platforms import versions
from connections.platforms.versions import Status, lifecycle

DAY = date(2026, 12, 1)


@pytest.mark.parametrize("platform, version, status", [
    ("meta", "v26.0", Status.ACTIVE),        # released 2026-07-29, expiry TBD
    ("meta", "v22.0", Status.ACTIVE),        # until 2027-05-20: 170 days
    ("meta", "v21.0", Status.RETIRING),      # until 2027-01-21: 51 days
    ("meta", "v20.0", Status.RETIRED),       # until 2026-09-24
    ("meta", "v2.8", Status.RETIRED),        # older than every version on Meta's page
    ("meta", "v27.0", Status.UNRELEASED),
    ("meta", "v21.5", Status.UNKNOWN),
    ("meta", "21.0", Status.UNKNOWN),
    ("linkedin", "202510", Status.RETIRED),  # sunset 2026-10-15 (migrations page)
    ("linkedin", "202511", Status.RETIRED),  # sunset 2026-11-16
    ("linkedin", "202601", Status.RETIRING),  # sunset 2027-01-15
    ("linkedin", "202603", Status.ACTIVE),   # sunset 2027-03-16: 105 days
    ("linkedin", "202606", Status.ACTIVE),   # estimated 2027-06-15
    ("linkedin", "202606.01", Status.ACTIVE),  # a revision of a version in the window
    ("linkedin", "202510.02", Status.RETIRED),
    ("linkedin", "202701", Status.UNRELEASED),
    ("linkedin", "202613", Status.UNKNOWN),
    ("linkedin", "2026-06", Status.UNKNOWN),
    ("tiktok", "v2", Status.ACTIVE),
    ("gbp", "v4", Status.ACTIVE),
    ("mailchimp", "3.0", Status.ACTIVE),
    ("mailchimp", "2.0", Status.UNKNOWN),
])
def test_a_versions_status_on_a_given_day(platform, version, status):
    assert lifecycle(platform, version, DAY).status is status


def test_linkedin_sunsets_come_from_the_migrations_page_else_the_one_year_rule():
    published = lifecycle("linkedin", "202603", DAY)
    assert (published.sunset, published.estimated, published.source) == (
        date(2027, 3, 16), False, versions.LINKEDIN_MIGRATIONS_PAGE)
    estimated = lifecycle("linkedin", "202606", DAY)
    assert (estimated.sunset, estimated.estimated, estimated.source) == (
        date(2027, 6, 15), True, versions.LINKEDIN_VERSIONING_PAGE)
    # The window rolls: what is active today is retired a year on.
    assert lifecycle("linkedin", "202606", date(2027, 6, 15)).status is Status.RETIRED
    assert lifecycle("linkedin", "202606", date(2027, 3, 17)).status is Status.RETIRING


def test_meta_serves_a_retired_version_with_the_oldest_one_still_available():
    assert versions.meta_oldest_active(DAY) == "v21.0"
    assert versions.meta_oldest_active(date(2027, 1, 21)) == "v22.0"


def test_the_defaults_are_current_versions_on_the_day_this_registry_was_checked():
    for platform, version in versions.CURRENT.items():
        assert lifecycle(platform, version, DAY).status is Status.ACTIVE, platform


def test_settings_pin_another_version(settings):
    assert versions.version_in_use("meta") == versions.CURRENT["meta"]
    settings.META_API_VERSION = "v24.0"
    assert versions.version_in_use("meta") == "v24.0"


def test_problems_in_use_name_the_retiring_and_the_retired(settings):
    settings.META_API_VERSION = "v21.0"
    settings.LINKEDIN_API_VERSION = "202510"
    found = {state.platform: state for state in versions.problems_in_use(DAY)}
    assert set(found) == {"meta", "linkedin"}
    assert found["meta"].summary(DAY) == "meta API version v21.0 is retired on 2027-01-21, in 51 days."
    assert found["linkedin"].summary(DAY) == "linkedin API version 202510 was retired on 2026-10-15."
    settings.META_API_VERSION = settings.LINKEDIN_API_VERSION = ""
    assert versions.problems_in_use(DAY) == []


def test_the_check_errs_once_a_version_in_use_is_retired(settings):
    settings.META_API_VERSION = "v2.8"  # retired whatever day the suite runs
    settings.LINKEDIN_API_VERSION = "202410"
    messages = check_partner_api_versions(None)
    assert [m.id for m in messages] == ["config.E010", "config.E010"]
    assert [m.msg for m in messages] == ["meta API version v2.8 was retired.",
                                         "linkedin API version 202410 was retired on 2025-10-15."]
    assert versions.LINKEDIN_MIGRATIONS_PAGE in messages[1].hint
    with pytest.raises(SystemCheckError, match="202410 was retired"):
        call_command("check", stdout=StringIO(), stderr=StringIO())


def test_manage_py_check_prints_a_warning_90_days_ahead_and_passes(settings):
    # The LinkedIn version released a year before the month after next: its sunset falls mid-month
    # then, 45 to 76 days from today, whatever today is.
    today = timezone.now().date()
    year, month = (today.year, today.month + 2) if today.month <= 10 else (today.year + 1, today.month - 10)
    settings.LINKEDIN_API_VERSION = f"{year - 1:04d}{month:02d}"
    out = StringIO()
    call_command("check", stdout=out, stderr=out)
    assert f"(config.W010) linkedin API version {settings.LINKEDIN_API_VERSION} is retired on" in out.getvalue()
    assert "System check identified 1 issue" in out.getvalue()


def test_the_admin_index_shows_a_note_for_a_retired_version(client, operator, settings):
    client.force_login(operator)
    assert "partner-version-notes" not in client.get(reverse("admin:index")).content.decode()
    settings.LINKEDIN_API_VERSION = "202410"
    page = client.get(reverse("admin:index")).content.decode()
    assert 'id="partner-version-notes"' in page
    assert '<li class="error">linkedin API version 202410 was retired on 2025-10-15.' in page
    assert versions.LINKEDIN_MIGRATIONS_PAGE in page
