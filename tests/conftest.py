"""The cast every test can use, and real Redis isolation.

A named cast (STYLE.md): an owner and a member of one tenant, an outsider of
another tenant, and a staff operator.
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
