"""Access functions: a user sees their own tenant's connections and posts, and 404 for anyone else's."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from connections.queries import (
    connections_for_user,
    get_connection_for_user,
    get_post_for_user,
    posts_for_user,
    tenant_for_user,
)
from tests.factories import ConnectionFactory, MembershipFactory, PostFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ours(tenant):
    connection = ConnectionFactory(tenant=tenant)
    return connection, PostFactory(connection=connection)


@pytest.fixture
def theirs(other_tenant):
    connection = ConnectionFactory(tenant=other_tenant)
    return connection, PostFactory(connection=connection)


def test_a_users_tenant_is_their_first_membership(owner, member, outsider, operator, tenant, other_tenant):
    assert tenant_for_user(owner) == tenant
    assert tenant_for_user(member) == tenant
    assert tenant_for_user(outsider) == other_tenant
    assert tenant_for_user(operator) is None
    assert tenant_for_user(AnonymousUser()) is None

    later = TenantFactory()
    MembershipFactory(user=UserFactory(username="owner"), tenant=later)
    fresh_owner = UserFactory(username="owner")  # a new instance: nothing cached
    assert tenant_for_user(fresh_owner) == tenant


@pytest.mark.parametrize("who", ["owner", "member"])
def test_members_of_the_tenant_reach_its_connections_and_posts(request, who, ours, theirs):
    user = request.getfixturevalue(who)
    connection, post = ours

    assert list(connections_for_user(user)) == [connection]
    assert list(posts_for_user(user)) == [post]
    assert get_connection_for_user(user, connection.pk) == connection
    assert get_post_for_user(user, post.pk) == post


def test_an_outsider_gets_404_for_another_tenants_connection_and_post(outsider, ours, theirs):
    connection, post = ours

    with pytest.raises(Http404):
        get_connection_for_user(outsider, connection.pk)
    with pytest.raises(Http404):
        get_post_for_user(outsider, post.pk)
    assert list(connections_for_user(outsider)) == [theirs[0]]
    assert list(posts_for_user(outsider)) == [theirs[1]]


@pytest.mark.parametrize("pk", [987654, "not-a-number", None])
def test_a_missing_or_malformed_id_is_404(owner, pk):
    with pytest.raises(Http404):
        get_connection_for_user(owner, pk)
    with pytest.raises(Http404):
        get_post_for_user(owner, pk)


def test_a_user_without_a_tenant_sees_nothing(operator, ours):
    connection, post = ours

    assert not connections_for_user(operator).exists()
    assert not posts_for_user(operator).exists()
    with pytest.raises(Http404):
        get_connection_for_user(operator, connection.pk)
    with pytest.raises(Http404):
        get_post_for_user(operator, post.pk)
    assert not connections_for_user(AnonymousUser()).exists()


def test_listing_posts_takes_one_query_whatever_their_number(owner, tenant, django_assert_num_queries):
    connection = ConnectionFactory(tenant=tenant)
    PostFactory.create_batch(5, connection=connection)
    tenant_for_user(owner)  # the tenant is read once per user object

    with django_assert_num_queries(1):
        names = [post.connection.external_account_name for post in posts_for_user(owner)]
    assert len(names) == 5
