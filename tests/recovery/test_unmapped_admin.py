"""Ops' view of unmapped errors: list, filters, search, read-only masked sample, "mark mapped"."""

import pytest
from django.urls import reverse

from connections.platforms.base import PartnerError
from recovery.failures import classify_failure
from recovery.models import UnmappedError

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:recovery_unmappederror_changelist"


@pytest.fixture
def unmapped():
    classify_failure(PartnerError("tiktok", 200, {"data": {"status": "FAILED", "fail_reason": "publish_cancelled"}, "error": {"code": "ok"}}))
    classify_failure(PartnerError("meta", 418, "I'm a teapot, token=abcdef0123456789abcdef0123"))
    classify_failure(PartnerError("meta", 418, "I'm a teapot, token=fedcba9876543210fedcba9876"))
    return UnmappedError.objects.order_by("platform")


def test_changelist_shows_counts_in_constant_queries(client, operator, unmapped, django_assert_max_num_queries):
    client.force_login(operator)
    with django_assert_max_num_queries(12):
        response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    page = response.content.decode()
    assert "tiktok" in page and "meta" in page
    meta_row = unmapped.get(platform="meta")
    assert meta_row.count == 2


def test_filters_and_search(client, operator, unmapped):
    client.force_login(operator)
    response = client.get(reverse(CHANGELIST), {"platform": "meta", "mapped__exact": "0"})
    assert list(response.context["cl"].result_list) == [unmapped.get(platform="meta")]
    response = client.get(reverse(CHANGELIST), {"q": "teapot"})
    assert [r.platform for r in response.context["cl"].result_list] == ["meta"]


def test_sample_is_read_only_and_masked(client, operator, unmapped):
    row = unmapped.get(platform="meta")
    client.force_login(operator)
    url = reverse("admin:recovery_unmappederror_change", args=[row.pk])
    page = client.get(url).content.decode()
    assert "teapot" in page and "abcdef0123456789abcdef0123" not in page
    client.post(url, {"mapped": "on", "sample_body": "edited", "count": 99})
    row.refresh_from_db()
    assert row.mapped and row.count == 2 and row.sample_body != "edited"


def test_rows_cannot_be_added_by_hand(client, operator):
    client.force_login(operator)
    assert client.get(reverse("admin:recovery_unmappederror_add")).status_code == 403


def test_mark_mapped_action(client, operator, unmapped):
    client.force_login(operator)
    ids = [str(pk) for pk in unmapped.values_list("pk", flat=True)]
    response = client.post(reverse(CHANGELIST), {"action": "mark_mapped", "_selected_action": ids}, follow=True)
    assert "2 unmapped error(s) marked as mapped." in response.content.decode()
    assert not UnmappedError.objects.filter(mapped=False).exists()


def test_members_without_staff_cannot_see_it(client, member):
    client.force_login(member)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 302 and "login" in response["Location"]
