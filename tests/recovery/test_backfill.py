"""Backfill (recovery.backfill): the user's choice for each post missed while its channel was paused."""

from datetime import timedelta

import pytest
from django.utils import timezone

from connections.models import Post
from recovery.backfill import BackfillError, Choice, backfill_choose, backfill_choose_all, backfill_posts
from recovery.publish_queue import publish_queue
from tests.factories import ConnectionFactory, PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(tenant):
    return ConnectionFactory(tenant=tenant)  # active again after a reconnect with the wizard


def missed(channel, **fields):
    fields.setdefault("scheduled_at", timezone.now() - timedelta(hours=1))
    return PostFactory(connection=channel, status=Post.Status.WAITING_RECONNECT, **fields)


def test_each_choice_does_what_it_says(channel, owner, django_capture_on_commit_callbacks):
    now_post, later_post, skip_post, undecided = (missed(channel) for _ in range(4))
    when = timezone.now() + timedelta(days=1)

    with django_capture_on_commit_callbacks(execute=True):
        result = backfill_choose(owner, channel, [(now_post.pk, Choice.PUBLISH_NOW, None),
                                                  (later_post.pk, Choice.RESCHEDULE, when),
                                                  (skip_post.pk, Choice.SKIP, None)])

    assert (result.published, result.rescheduled, result.skipped) == ([now_post.pk], [later_post.pk], [skip_post.pk])
    for post in (now_post, later_post, skip_post, undecided):
        post.refresh_from_db()
    assert now_post.status == Post.Status.SCHEDULED and now_post.attempts == 0
    assert [job.args for job in publish_queue().get_jobs()] == [(now_post.pk,)]  # the normal pipeline job
    assert (later_post.status, later_post.scheduled_at, later_post.next_attempt_at) == (Post.Status.SCHEDULED, when, None)
    assert skip_post.status == Post.Status.SKIPPED and skip_post.skipped_by == owner and skip_post.skipped_at
    assert undecided.status == Post.Status.WAITING_RECONNECT  # nothing happens without a choice
    assert list(backfill_posts(channel)) == [undecided]


def test_a_post_chosen_twice_is_sent_to_the_pipeline_once(channel, owner, django_capture_on_commit_callbacks):
    post = missed(channel)

    with django_capture_on_commit_callbacks(execute=True):
        first = backfill_choose_all(owner, channel, Choice.PUBLISH_NOW)
        second = backfill_choose(owner, channel, [(post.pk, Choice.PUBLISH_NOW, None)])

    assert first.published == [post.pk] and second.unchanged == [post.pk]
    assert len(publish_queue().get_jobs()) == 1


def test_a_new_time_in_the_past_is_refused_and_nothing_changes(channel, owner):
    post, other = missed(channel), missed(channel)

    with pytest.raises(BackfillError):
        backfill_choose(owner, channel, [(other.pk, Choice.SKIP, None),
                                         (post.pk, Choice.RESCHEDULE, timezone.now() - timedelta(minutes=1))])

    assert set(Post.objects.values_list("status", flat=True)) == {Post.Status.WAITING_RECONNECT}


def test_nothing_is_chosen_while_the_channel_is_paused_or_for_another_channels_post(tenant, channel, owner):
    paused = ConnectionFactory(tenant=tenant, paused=True)
    waiting_for_reconnect = missed(paused)
    elsewhere = missed(ConnectionFactory(tenant=tenant))

    assert list(backfill_posts(paused)) == []
    result = backfill_choose(owner, paused, [(waiting_for_reconnect.pk, Choice.SKIP, None)])
    result_other = backfill_choose(owner, channel, [(elsewhere.pk, Choice.SKIP, None)])

    assert result.unchanged == [waiting_for_reconnect.pk] and result_other.unchanged == [elsewhere.pk]
    assert set(Post.objects.values_list("status", flat=True)) == {Post.Status.WAITING_RECONNECT}
