"""An unmapped partner error, end to end: a real publish job meets an answer no rule knows.

The sandbox LinkedIn answers an odd status (418, its edge's HTML page): the
classifier can only call it UNKNOWN. The post is dead-lettered (UNKNOWN is
escalated, never retried), and the error is recorded once per body shape,
counted, and listed for ops in the admin.
"""

import pytest
from django.urls import reverse

from connections.models import Connection, Post
from recovery.models import DeadLetter, UnmappedError
from sandbox import faults
from tests.recovery.pipeline_helpers import due_post, enqueue_due, run_publish_worker
from tests.sandbox.sandbox_helpers import linked_connection

pytestmark = pytest.mark.django_db(transaction=True)

MEMBER = "782bbtaQ"


def test_an_unknown_answer_in_the_pipeline_is_dead_lettered_counted_and_listed_for_ops(
    sandbox, tenant, client, operator
):
    connection = linked_connection("linkedin", tenant=tenant, external_account_id=MEMBER)
    faults.set_fault("linkedin", faults.SERVER_ERROR, account_id=MEMBER, status=418)
    first, second = due_post(connection, content="First"), due_post(connection, content="Second")

    enqueue_due()
    run_publish_worker()

    for post in (first, second):
        post.refresh_from_db()
        assert (post.status, post.last_error_code) == (Post.Status.DEAD, "UNKNOWN")
        assert DeadLetter.objects.get(post=post).error_code == "UNKNOWN"
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE  # an unknown error pauses nothing
    [unmapped] = UnmappedError.objects.all()  # two failures, one body shape: one row
    assert (unmapped.platform, unmapped.http_status, unmapped.count, unmapped.mapped) == ("linkedin", 418, 2, False)
    assert unmapped.sample_body

    client.force_login(operator)
    listing = client.get(reverse("admin:recovery_unmappederror_changelist"), {"mapped__exact": "0"})
    row = next(line for line in listing.content.decode().splitlines() if unmapped.signature[:12] in line)
    assert "linkedin" in row and "418" in row and ">2<" in row
