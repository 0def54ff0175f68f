"""UNKNOWN partner errors are counted per body shape, with a masked sample, and never break classification.

The classifier is pure; the failure service (recovery.failures.classify_failure) records what it calls UNKNOWN.
"""

import json
import threading

import pytest
from django.db import connection, transaction

from config.redaction import MASK, mask_text
from connections.platforms.base import PartnerError
from recovery.classifier import classify_partner_error
from recovery.failures import classify_failure
from recovery.models import UnmappedError
from recovery.taxonomy import ErrorCode as E
from recovery.unmapped import (
    SAMPLE_MAX_BYTES,
    body_signature,
    record_unmapped_error,
    recording_disabled,
    sample_body,
    unmapped_mark_mapped,
)


def classify(platform, status, body):
    """A partner's answer classified the way every service classifies one (and records it when UNKNOWN)."""
    return classify_failure(PartnerError(platform, status, body))


def cancelled(publish_id, log_id, when):
    """A TikTok publish status nobody maps (developer-initiated cancel), with its own ids and times."""
    return {
        "data": {"status": "FAILED", "fail_reason": "publish_cancelled", "publish_id": publish_id, "updated_at": when},
        "error": {"code": "ok", "message": "", "log_id": log_id},
    }


@pytest.mark.django_db
def test_bodies_differing_only_in_ids_and_times_share_one_row():
    first = classify("tiktok", 200, cancelled("v_pub_url~v2.7309876543210", "20240101000000ABCDEF01", "2024-01-01T10:00:00Z"))
    second = classify("tiktok", 200, cancelled("v_pub_url~v2.7301234567899", "20240315121212FEDCBA99", "2024-03-15T12:12:12Z"))
    assert first.code is second.code is E.UNKNOWN
    row = UnmappedError.objects.get()
    assert (row.platform, row.http_status, row.count) == ("tiktok", 200, 2)
    assert row.last_seen_at >= row.first_seen_at


@pytest.mark.django_db
def test_text_bodies_differing_only_in_numbers_and_hex_share_one_row():
    classify("meta", 418, "Teapot 1234 refused request 9f86d081884c7d65 at 10:00")
    classify("meta", 418, "Teapot 99 refused request 0123456789abcdef at 23:59")
    assert UnmappedError.objects.get().count == 2


@pytest.mark.django_db
def test_a_different_shape_or_status_gets_its_own_row():
    classify("tiktok", 200, cancelled("a", "1", "2024-01-01T10:00:00Z"))
    classify("tiktok", 200, {"data": {"status": "FAILED", "fail_reason": "brand_new_reason"}, "error": {"code": "ok"}})
    classify("meta", 200, cancelled("a", "1", "2024-01-01T10:00:00Z"))
    classify("tiktok", 299, cancelled("a", "1", "2024-01-01T10:00:00Z"))
    assert UnmappedError.objects.count() == 4
    assert set(UnmappedError.objects.values_list("count", flat=True)) == {1}


def test_partner_codes_keep_signatures_apart_but_ids_do_not():
    assert body_signature({"error": {"code": 190, "id": 1}}) == body_signature({"error": {"code": 190, "id": 2}})
    assert body_signature({"error": {"code": 190}}) != body_signature({"error": {"code": 191}})
    assert body_signature({"error": {"code": 190, "user": 123456789012345}}) == body_signature(
        {"error": {"code": 190, "user": 987654321098765}}
    )
    # the same JSON as text or bytes is the same error
    body = {"error": {"code": 7, "message": "x"}}
    assert body_signature(body) == body_signature(json.dumps(body)) == body_signature(json.dumps(body).encode())


@pytest.mark.django_db
def test_tokens_are_masked_in_the_sample():
    secret = "EAAGm0PX4ZCpsBAKZCmZBq1xhg3v7Z8PZA"
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl"
    body = {
        "error": {
            "message": f"Bad request for /me?access_token={secret}&fields=id, sent with Authorization: Bearer {secret}",
            "debug": {"refresh_token": "plain-words-but-still-secret", "client_secret": "abc", "jwt": jwt},
            "contact": "owner@example.com",
        }
    }
    classify("meta", 299, body)
    sample = UnmappedError.objects.get().sample_body
    assert secret not in sample and jwt not in sample
    assert "plain-words-but-still-secret" not in sample and "owner@example.com" not in sample
    assert "Bad request for /me" in sample  # the rest stays readable for ops


def test_text_sample_masks_tokens_and_keeps_words():
    text = sample_body("401 OAuth ya29.a0AfH6SMBx1234567890abcdefghijklmnopQRSTUV rejected; api_key=0123456789abcdef0123456789abcdef-us6")
    assert "a0AfH6SMBx1234567890" not in text and "0123456789abcdef0123456789abcdef" not in text
    assert "rejected" in text


def test_sample_is_at_most_2_kb_even_for_huge_or_multibyte_bodies():
    assert len(sample_body("é" * 100_000).encode()) <= SAMPLE_MAX_BYTES
    assert len(sample_body({"items": ["x" * 50] * 10_000}).encode()) <= SAMPLE_MAX_BYTES
    assert sample_body(None) == "" and sample_body(b"\xff\xfe") != ""


@pytest.mark.django_db
def test_recording_disabled_writes_nothing():
    with recording_disabled():
        assert classify("tiktok", 200, cancelled("a", "1", "t")).code is E.UNKNOWN
    assert not UnmappedError.objects.exists()


def test_classification_works_without_a_database():
    # No django_db mark: any query raises; recording must swallow it.
    assert classify("tiktok", 200, cancelled("a", "1", "t")).code is E.UNKNOWN


@pytest.mark.django_db
def test_the_classifier_itself_records_nothing():
    assert classify_partner_error("tiktok", 200, cancelled("a", "1", "t")).code is E.UNKNOWN
    assert not UnmappedError.objects.exists()


@pytest.mark.django_db
def test_recording_inside_a_broken_transaction_does_not_raise():
    with transaction.atomic():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table")
        except Exception:
            pass
        # needs_rollback is only set by atomic on exit; mimic a caller mid-failure
        transaction.set_rollback(True)
        assert classify("tiktok", 200, cancelled("a", "1", "t")).code is E.UNKNOWN
    assert not UnmappedError.objects.exists()


@pytest.mark.django_db
def test_recording_does_not_touch_the_callers_transaction():
    with transaction.atomic():
        classify("tiktok", 200, cancelled("a", "1", "t"))
        transaction.set_rollback(True)  # the caller rolls back its own work...
    assert not UnmappedError.objects.exists()  # ...and the record goes with it, nothing half-written
    classify("tiktok", 200, cancelled("a", "1", "t"))
    assert UnmappedError.objects.get().count == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_sightings_count_every_one():
    """Workers that see a new error at the same moment: one row, no lost counts."""
    workers, per_worker = 6, 5
    barrier = threading.Barrier(workers)
    errors = []

    def work():
        try:
            barrier.wait()
            for _ in range(per_worker):
                record_unmapped_error("linkedin", 299, {"message": "brand new", "status": 299})
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    row = UnmappedError.objects.get()
    assert row.count == workers * per_worker


@pytest.mark.django_db
def test_mark_mapped():
    classify("tiktok", 200, cancelled("a", "1", "t"))
    classify("meta", 418, "teapot")
    assert unmapped_mark_mapped(UnmappedError.objects.filter(platform="meta")) == 1
    assert list(UnmappedError.objects.filter(mapped=True).values_list("platform", flat=True)) == ["meta"]


def test_prose_about_tokens_is_left_readable():
    text = "Error validating access token: Session has expired on Thursday. token=abc123secret"
    masked = mask_text(text)
    assert masked.startswith("Error validating access token: Session has expired")
    assert "abc123secret" not in masked
    assert mask_text('{"access_token": "short1"}') == f'{{"access_token": "{MASK}"}}'
