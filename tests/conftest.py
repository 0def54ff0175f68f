"""The cast every test can use, and real Redis isolation.

A named cast (STYLE.md): an owner and a member of one tenant, an outsider of
another tenant, and a staff operator.

Signing in: `client.force_login(user)`, or a POST to the sign-in page. django-axes counts failed
sign-ins in the database, so each test starts with none; `client.login()` does not work (axes
needs the request: use `authenticate(request, ...)` where a test must call it).
"""

import django_rq
import pytest

from connections.models import Membership
from tests.factories import MembershipFactory, TenantFactory, UserFactory


@pytest.fixture(autouse=True)
def _clean_redis():
    """Every test starts with an empty Redis database (the test run's own db number)."""
    connection = django_rq.get_connection("default")
    connection.flushdb()
    yield
    connection.flushdb()


@pytest.fixture
def tenant(db):
    return TenantFactory(name="Acme", slug="acme")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(name="Globex", slug="globex")


@pytest.fixture
def owner(tenant):
    return MembershipFactory(tenant=tenant, role=Membership.Role.OWNER, user__username="owner").user


@pytest.fixture
def member(tenant):
    return MembershipFactory(tenant=tenant, role=Membership.Role.MEMBER, user__username="member").user


@pytest.fixture
def outsider(other_tenant):
    return MembershipFactory(tenant=other_tenant, role=Membership.Role.OWNER, user__username="outsider").user


@pytest.fixture
def operator(db):
    return UserFactory(username="operator", is_staff=True, is_superuser=True)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Drop waffle's own Flag link tables from the test database.

    WAFFLE_FLAG_MODEL swaps waffle's Flag out, but waffle's migration still creates
    waffle_flag_users / waffle_flag_groups, which reference auth_user / auth_group and
    are not flushed: every transactional test (live_server) then fails its teardown
    TRUNCATE. Nothing uses them.
    """
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS waffle_flag_users, waffle_flag_groups")


@pytest.fixture
def sandbox(live_server, settings):
    """The sandbox partners over real HTTP: connectors' base URLs point at the live server.

    Faults are cleared before and after. The read timeout is 2 s so the sandbox's
    `timeout` fault (read timeout + 1 s) stays quick; override settings.PARTNER_READ_TIMEOUT_S
    in a test to change it. Yields the live server's URL.
    """
    from sandbox.faults import clear_faults

    settings.SANDBOX_ENABLED = True
    settings.PARTNERS_USE_SANDBOX = True
    settings.SITE_URL = live_server.url
    settings.PARTNER_READ_TIMEOUT_S = 2
    clear_faults()
    yield live_server.url
    clear_faults()
