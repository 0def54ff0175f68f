"""Dead-letter resolution time: from the last dead-lettering to a discard or resolve, or to the moment a
requeued letter's job succeeded; recorded on the letter and shown to ops."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from connections.models import Post
from recovery.deadletter import (
    JOB_KIND_POST_PUBLISH,
    dead_letter_create,
    dead_letter_discard,
    dead_letter_requeue,
    dead_letter_resolve,
)
from recovery.models import DeadLetter
from recovery.taxonomy import ClassifiedError, ErrorCode
from tests.factories import PostFactory
from tests.recovery.pipeline_helpers import due_post, page_connection, run_publish_worker


def letter_for(post, hours_ago: float, code="PARTNER_5XX") -> DeadLetter:
    return dead_letter_create(
        job_kind=JOB_KIND_POST_PUBLISH, payload={"post_id": post.pk}, tenant_id=post.tenant_id,
        connection_id=post.connection_id, post_id=post.pk, platform=post.connection.platform,
        classification=ClassifiedError(ErrorCode(code), post.connection.platform), attempts=6,
        failed_at=timezone.now() - timedelta(hours=hours_ago),
    )


@pytest.mark.django_db
def test_a_discarded_or_resolved_letter_records_how_long_it_waited(tenant, operator):
    discarded = letter_for(PostFactory(connection__tenant=tenant, status=Post.Status.DEAD), hours_ago=3)
    resolved = letter_for(PostFactory(connection__tenant=tenant, status=Post.Status.DEAD), hours_ago=30)
    open_letter = letter_for(PostFactory(connection__tenant=tenant, status=Post.Status.DEAD), hours_ago=1)

    dead_letter_discard([discarded.pk], user=operator)
    dead_letter_resolve([resolved.pk], user=operator)

    for letter, hours in ((discarded, 3), (resolved, 30)):
        letter.refresh_from_db()
        assert abs(letter.resolution_time - timedelta(hours=hours)) < timedelta(minutes=1)
    assert open_letter.resolution_time is None


@pytest.mark.django_db(transaction=True)
def test_a_requeued_letter_is_recovered_when_its_post_publishes(sandbox, tenant, operator, client):
    page = page_connection(tenant)
    post = due_post(page, status=Post.Status.DEAD, attempts=6, last_error_code="PARTNER_5XX")
    letter = letter_for(post, hours_ago=5)
    dead_letter_requeue([letter.pk], user=operator)
    letter.refresh_from_db()
    assert letter.status == DeadLetter.Status.REQUEUED and letter.resolution_time is None  # not yet: the job runs

    run_publish_worker()

    letter.refresh_from_db()
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert letter.recovered_at is not None and letter.recovered_at >= letter.resolved_at
    assert abs(letter.resolution_time - timedelta(hours=5)) < timedelta(minutes=1)
    client.force_login(operator)
    detail = client.get(reverse("admin:recovery_deadletter_change", args=[letter.pk])).content.decode()
    assert "Resolved in" in detail and "5\xa0hours" in detail


@pytest.mark.django_db
def test_a_letter_reopened_after_a_requeue_is_no_longer_recovered(tenant, django_capture_on_commit_callbacks):
    post = PostFactory(connection__tenant=tenant, status=Post.Status.DEAD, last_error_code="PARTNER_5XX")
    letter = letter_for(post, hours_ago=2)
    with django_capture_on_commit_callbacks(execute=True):
        dead_letter_requeue([letter.pk])
    DeadLetter.objects.filter(pk=letter.pk).update(recovered_at=timezone.now())
    Post.objects.filter(pk=post.pk).update(status=Post.Status.DEAD)

    again = letter_for(post, hours_ago=0, code="TIMEOUT")

    assert again.pk == letter.pk and again.status == DeadLetter.Status.OPEN
    assert again.recovered_at is None and again.resolution_time is None
