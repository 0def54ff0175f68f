"""Ops edit a flag's rollout in the admin and see, on a tenant's page, which flags are on for it and why."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recovery.flags import (
    ALL_FLAGS,
    CHAOS_TESTS_ENABLED,
    RECONNECT_WIZARD_ENABLED,
    RECOVERY_AUTOPAUSE_ENABLED,
    SYNTHETIC_PINGS_ENABLED,
    WEEKLY_SUMMARY_ENABLED,
    flag_disable_for_tenant,
    flag_enable_for_tenant,
    flag_set_tenant_percent,
)
from recovery.models import TenantFlag
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/recovery/tenantflag/"


@pytest.fixture
def ops(client, operator):
    client.force_login(operator)
    return client


def flag_rows(html):
    """{flag name: [cell texts]} from the changelist's result table."""
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for name in ALL_FLAGS:
            if name in cells:
                rows[name] = cells
    return rows


def test_the_flag_list_shows_each_flags_rollout_in_a_fixed_number_of_queries(ops, tenant, other_tenant):
    with CaptureQueriesContext(connection) as before:
        assert ops.get(CHANGELIST).status_code == 200

    flag_set_tenant_percent(SYNTHETIC_PINGS_ENABLED, 25)
    for extra in [tenant, other_tenant, *(TenantFactory() for _ in range(5))]:
        flag_enable_for_tenant(CHAOS_TESTS_ENABLED, extra.pk)
        flag_enable_for_tenant(RECONNECT_WIZARD_ENABLED, extra.pk)
    flag_disable_for_tenant(RECONNECT_WIZARD_ENABLED, tenant.pk)

    with CaptureQueriesContext(connection) as after:
        response = ops.get(CHANGELIST)
    assert len(after) == len(before)
    rows = flag_rows(response.content.decode())
    assert set(rows) == set(ALL_FLAGS)
    assert "25.0" in rows[SYNTHETIC_PINGS_ENABLED]
    assert rows[CHAOS_TESTS_ENABLED][-4:-2] == ["7", "0"]  # listed on, listed off
    assert rows[RECONNECT_WIZARD_ENABLED][-4:-2] == ["6", "1"]


def test_the_change_form_offers_tenant_lists_and_percentage(ops):
    flag = TenantFlag.objects.get(name=RECOVERY_AUTOPAUSE_ENABLED)
    html = ops.get(f"{CHANGELIST}{flag.pk}/change/").content.decode()
    for field in ("id_tenants", "id_excluded_tenants", "id_tenant_percent", "id_everyone"):
        assert f'id="{field}"' in html
    assert "selectfilter" in html.lower()  # filter_horizontal for the tenant lists


def test_a_percentage_over_100_is_refused_in_the_admin(ops):
    flag = TenantFlag.objects.get(name=RECOVERY_AUTOPAUSE_ENABLED)
    response = ops.post(
        f"{CHANGELIST}{flag.pk}/change/",
        {"name": flag.name, "everyone": "unknown", "tenant_percent": "150", "superusers": "on", "users": ""},
    )
    assert response.status_code == 200
    assert "Give a share between 0 and 100." in response.content.decode()
    flag.refresh_from_db()
    assert flag.tenant_percent is None


def test_a_tenants_page_shows_each_flag_on_or_off_for_it_and_why(ops, tenant):
    flag_enable_for_tenant(CHAOS_TESTS_ENABLED, tenant.pk)
    flag_disable_for_tenant(WEEKLY_SUMMARY_ENABLED, tenant.pk)
    flag_set_tenant_percent(WEEKLY_SUMMARY_ENABLED, 100)
    flag_set_tenant_percent(SYNTHETIC_PINGS_ENABLED, 100)
    TenantFlag.objects.filter(name=RECONNECT_WIZARD_ENABLED).update(everyone=True)

    html = ops.get(f"/admin/connections/tenant/{tenant.pk}/change/").content.decode()
    table = html[html.index('class="tenant-flags"') :]
    rows = {
        cells[0]: cells[1:]
        for cells in (
            [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table[: table.index("</table>")], re.S)
        )
        if cells
    }
    assert rows[CHAOS_TESTS_ENABLED] == ["on", "listed on"]
    assert rows[WEEKLY_SUMMARY_ENABLED] == ["off", "listed off"]
    assert rows[RECONNECT_WIZARD_ENABLED] == ["on", "everyone on"]
    assert rows[SYNTHETIC_PINGS_ENABLED][0] == "on" and "inside 100.0%" in rows[SYNTHETIC_PINGS_ENABLED][1]
    assert rows[RECOVERY_AUTOPAUSE_ENABLED] == ["off", "no rule: off"]


def test_the_new_tenant_form_still_opens(ops):
    response = ops.get("/admin/connections/tenant/add/")
    assert response.status_code == 200
    assert "Shown once the tenant is saved." in response.content.decode()
