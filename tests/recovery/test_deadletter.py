"""The dead-letter queue: what lands there (every code of the taxonomy walked), requeue, discard, resolve, admin."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from connections.models import Connection, Post
from recovery.deadletter import (
    JOB_KIND_POST_PUBLISH,
    DeadLetterNotRequeueable,
    dead_letter_create,
    dead_letter_discard,
    dead_letter_requeue,
    dead_letter_resolve,
)
from recovery.models import DeadLetter
from recovery.publishing import Outcome, post_apply_failure
from recovery.taxonomy import TAXONOMY, ClassifiedError, ErrorCode
from sandbox.models import SandboxObject
from tests.factories import ConnectionFactory, PostFactory
from tests.recovery.pipeline_helpers import (
    autopause,
    due_post,
    page_connection,
    publish_jobs_for,
    run_publish_worker,
)

PAUSING = [code for code, entry in TAXONOMY.items() if entry.pauses_channel]
RETRYABLE = [code for code, entry in TAXONOMY.items() if entry.retryable]


def publishing_post(tenant, attempts=1, platform="meta"):
    """A post whose publish call just failed: claimed (publishing), the call counted."""
    connection = ConnectionFactory(tenant=tenant, platform=platform, account_type="facebook_page")
    return PostFactory(connection=connection, tenant=tenant, status=Post.Status.PUBLISHING, attempts=attempts)


def where_it_ends(post) -> str:
    post.refresh_from_db()
    post.connection.refresh_from_db()
    letters = DeadLetter.objects.filter(post=post, status=DeadLetter.Status.OPEN).count()
    if post.status == Post.Status.DEAD:
        assert letters == 1
        return "dead-lettered"
    assert letters == 0
    if post.status == Post.Status.WAITING_RECONNECT:
        assert post.connection.is_paused
        return "waiting for reconnect"
    assert post.status == Post.Status.SCHEDULED and post.connection.status == Connection.Status.ACTIVE
    assert post.next_attempt_at is not None and len(publish_jobs_for(post)) == 1
    return "retry scheduled"


def expected_end(entry, autopause_on: bool) -> str:
    """taxonomy.md's rules: pausing codes wait (auto-pause on), retryable ones retry, the rest are dead-lettered."""
    if entry.pauses_channel:
        return "waiting for reconnect" if autopause_on else "dead-lettered"  # never retried either way
    return "retry scheduled" if entry.retryable else "dead-lettered"


def test_the_walk_covers_all_22_codes():
    assert len(ErrorCode) == len(TAXONOMY) == 22
    assert len(PAUSING) == 7  # 5 auth and permission codes, ACCOUNT_RESTRICTED, RESOURCE_NOT_FOUND


@pytest.mark.parametrize("autopause_on", [True, False], ids=["autopause-on", "autopause-off"])
@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda code: code.value)
def test_every_code_of_the_taxonomy_ends_where_the_rules_say(
    code, autopause_on, tenant, django_capture_on_commit_callbacks
):
    autopause(tenant, on=autopause_on)
    post = publishing_post(tenant)
    entry = TAXONOMY[code]

    with django_capture_on_commit_callbacks(execute=True):
        post_apply_failure(post.pk, ClassifiedError(code, "meta"))

    expected = expected_end(entry, autopause_on)
    assert where_it_ends(post) == expected
    if expected == "dead-lettered":
        letter = DeadLetter.objects.get(post=post)
        assert letter.classification["code"] == code.value
        assert letter.classification["user_message"] == entry.user_message
        assert letter.job_kind == JOB_KIND_POST_PUBLISH and letter.payload == {"post_id": post.pk}
        assert post.connection.status == Connection.Status.ACTIVE  # without auto-pause the channel stays up


@pytest.mark.parametrize("code", RETRYABLE, ids=lambda code: code.value)
def test_a_retryable_code_out_of_retries_is_dead_lettered(code, tenant, django_capture_on_commit_callbacks):
    post = publishing_post(tenant, attempts=TAXONOMY[code].retry_policy.max_retries + 1)

    with django_capture_on_commit_callbacks(execute=True):
        assert post_apply_failure(post.pk, ClassifiedError(code, "meta")) == Outcome.DEAD

    assert where_it_ends(post) == "dead-lettered"
    assert DeadLetter.objects.get(post=post).attempts == post.attempts


def letter_for(tenant, code="VALIDATION_ERROR", **fields):
    post = fields.pop("post", None) or PostFactory(
        connection=ConnectionFactory(tenant=tenant, platform="meta"), tenant=tenant, status=Post.Status.DEAD
    )
    now = timezone.now()
    return dead_letter_create(
        job_kind=JOB_KIND_POST_PUBLISH, payload={"post_id": post.pk}, tenant_id=tenant.pk,
        connection_id=post.connection_id, post_id=post.pk, platform="meta",
        classification=ClassifiedError(ErrorCode(code), "meta"), attempts=fields.pop("attempts", 1),
        failed_at=fields.pop("failed_at", now),
    )


def test_a_job_failing_again_after_a_requeue_reopens_its_letter(tenant, django_capture_on_commit_callbacks):
    first_failure = timezone.now() - timedelta(days=2)
    letter = letter_for(tenant, code="PARTNER_5XX", failed_at=first_failure, attempts=6)
    with django_capture_on_commit_callbacks(execute=True):
        dead_letter_requeue([letter.pk])
    post = letter.post
    post.refresh_from_db()
    Post.objects.filter(pk=post.pk).update(status=Post.Status.DEAD)

    again = letter_for(tenant, code="TIMEOUT", post=post, attempts=5)

    assert again.pk == letter.pk and DeadLetter.objects.count() == 1
    assert again.status == DeadLetter.Status.OPEN and again.error_code == "TIMEOUT"
    assert again.first_failed_at == first_failure and again.last_failed_at > first_failure
    assert again.attempts == 11 and again.resolved_at is None


def test_discard_and_resolve_close_open_letters_with_who_and_when(tenant, operator):
    discarded, resolved, already = letter_for(tenant), letter_for(tenant), letter_for(tenant)
    DeadLetter.objects.filter(pk=already.pk).update(status=DeadLetter.Status.RESOLVED)

    assert dead_letter_discard([discarded.pk, already.pk], user=operator) == 1
    assert dead_letter_resolve([resolved.pk], user=operator) == 1

    for letter, status in ((discarded, "discarded"), (resolved, "resolved")):
        letter.refresh_from_db()
        assert letter.status == status and letter.resolved_by == operator and letter.resolved_at is not None
    already.refresh_from_db()
    assert already.resolved_by is None  # left as it was
    assert Post.objects.get(pk=discarded.post_id).status == Post.Status.DEAD


def test_a_kind_no_pipeline_knows_cannot_be_requeued(tenant):
    letter = DeadLetter.objects.create(
        job_kind="mystery", tenant=tenant, error_code="UNKNOWN", first_failed_at=timezone.now(),
        last_failed_at=timezone.now(),
    )
    with pytest.raises(DeadLetterNotRequeueable):
        dead_letter_requeue([letter.pk])
    letter.refresh_from_db()
    assert letter.status == DeadLetter.Status.OPEN


@pytest.mark.django_db(transaction=True)
def test_admin_requeue_sends_the_post_through_the_same_pipeline_again(sandbox, tenant, operator, client):
    page = page_connection(tenant)
    post = due_post(page, status=Post.Status.DEAD, attempts=6, last_error_code="PARTNER_5XX")
    letter = letter_for(tenant, code="PARTNER_5XX", post=post, attempts=6)
    client.force_login(operator)

    response = client.post(
        reverse("admin:recovery_deadletter_changelist"), {"action": "requeue", "_selected_action": [letter.pk]}
    )
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.status == Post.Status.SCHEDULED and post.attempts == 0
    run_publish_worker()

    post.refresh_from_db()
    letter.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert SandboxObject.objects.filter(object_id=post.partner_post_id).exists()
    assert letter.status == DeadLetter.Status.REQUEUED and letter.resolved_by == operator


# -- admin ---------------------------------------------------------------------------


@pytest.fixture
def ops(client, operator):
    client.force_login(operator)
    return client


def test_admin_list_filters_and_stays_at_a_fixed_number_of_queries(ops, tenant, other_tenant, django_assert_max_num_queries):
    for _ in range(3):
        letter_for(tenant, code="VALIDATION_ERROR")
    old = letter_for(other_tenant, code="MEDIA_ERROR", failed_at=timezone.now() - timedelta(days=9))
    url = reverse("admin:recovery_deadletter_changelist")

    with django_assert_max_num_queries(12):
        response = ops.get(url)
    assert response.status_code == 200 and response.context["cl"].result_count == 4
    for _ in range(20):
        letter_for(tenant)
    with django_assert_max_num_queries(12):
        assert ops.get(url).status_code == 200

    filtered = ops.get(url, {"error_code": "MEDIA_ERROR", "tenant__id__exact": other_tenant.pk, "status": "open",
                             "platform": "meta", "age": "older"})
    assert [row.pk for row in filtered.context["cl"].result_list] == [old.pk]
    recent = ops.get(url, {"age": "24h"})
    assert old.pk not in [row.pk for row in recent.context["cl"].result_list]


def test_admin_detail_shows_the_classification_and_the_payload(ops, tenant):
    letter = letter_for(tenant, code="CONTENT_REJECTED")

    response = ops.get(reverse("admin:recovery_deadletter_change", args=[letter.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "CONTENT_REJECTED" in body and "NOTIFY_USER_FIX_CONTENT" in body
    assert f"&quot;post_id&quot;: {letter.post_id}" in body
    assert "The partner refused this post under its content rules." in body


def test_admin_bulk_actions_requeue_discard_and_resolve(ops, tenant, operator, django_capture_on_commit_callbacks):
    requeue, discard, resolve = letter_for(tenant), letter_for(tenant), letter_for(tenant)
    url = reverse("admin:recovery_deadletter_changelist")

    with django_capture_on_commit_callbacks(execute=True):
        ops.post(url, {"action": "requeue", "_selected_action": [requeue.pk]})
    ops.post(url, {"action": "discard", "_selected_action": [discard.pk]})
    ops.post(url, {"action": "resolve", "_selected_action": [resolve.pk]})

    statuses = dict(DeadLetter.objects.values_list("pk", "status"))
    assert statuses == {requeue.pk: "requeued", discard.pk: "discarded", resolve.pk: "resolved"}
    assert Post.objects.get(pk=requeue.post_id).status == Post.Status.SCHEDULED
    assert len(publish_jobs_for(requeue.post)) == 1
    assert set(DeadLetter.objects.values_list("resolved_by", flat=True)) == {operator.pk}
    assert not DeadLetter.objects.filter(resolved_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_the_detail_page_requeues_and_then_shows_what_became_of_the_job(sandbox, tenant, operator, client):
    page = page_connection(tenant)
    post = due_post(page, status=Post.Status.DEAD, attempts=6, last_error_code="PARTNER_5XX")
    letter = letter_for(tenant, code="PARTNER_5XX", post=post, attempts=6)
    client.force_login(operator)
    detail = reverse("admin:recovery_deadletter_change", args=[letter.pk])
    assert reverse("admin:recovery_deadletter_requeue", args=[letter.pk]) in client.get(detail).content.decode()

    response = client.post(reverse("admin:recovery_deadletter_requeue", args=[letter.pk]), follow=True)
    run_publish_worker()

    assert f"Letter {letter.pk} requeued." in response.content.decode()
    after = client.get(detail).content.decode()
    assert f"post #{post.pk}: Published, 1 attempt" in after  # something ran, and it went out
    letter.refresh_from_db()
    assert (letter.status, letter.requeues) == (DeadLetter.Status.REQUEUED, 1)
    assert reverse("admin:recovery_deadletter_requeue", args=[letter.pk]) not in after  # no buttons once handled
    assert client.get(reverse("admin:recovery_deadletter_requeue", args=[letter.pk])).status_code == 405


def test_the_detail_buttons_discard_and_resolve_and_refuse_a_closed_letter(ops, tenant, operator):
    discard, resolve = letter_for(tenant), letter_for(tenant)

    ops.post(reverse("admin:recovery_deadletter_discard", args=[discard.pk]))
    ops.post(reverse("admin:recovery_deadletter_resolve", args=[resolve.pk]))
    again = ops.post(reverse("admin:recovery_deadletter_resolve", args=[discard.pk]), follow=True)

    assert dict(DeadLetter.objects.values_list("pk", "status")) == {discard.pk: "discarded", resolve.pk: "resolved"}
    assert "is discarded, not open: left as it is." in again.content.decode()


def test_bulk_messages_say_what_changed_and_what_was_left(ops, tenant):
    open_letters = [letter_for(tenant), letter_for(tenant)]
    closed = letter_for(tenant)
    dead_letter_resolve([closed.pk])

    response = ops.post(
        reverse("admin:recovery_deadletter_changelist"),
        {"action": "discard", "_selected_action": [*(letter.pk for letter in open_letters), closed.pk]},
        follow=True,
    )

    assert "2 letters discarded. 1 was not open and left as it was." in response.content.decode()
