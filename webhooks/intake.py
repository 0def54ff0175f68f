"""The receiving side of partner webhooks: read a body within bounds, store verified deliveries.

Rules (docs/webhooks.md):
- A body over WEBHOOK_MAX_BODY_BYTES is refused (413) from its Content-Length, before
  a byte of it is read, and never read past the limit whatever the header says.
- A verified delivery is stored once per (platform, event_id), with the others of its
  group in one statement that commits on its own (or with the caller's transaction).
  A redelivery of a stored event changes nothing: it is answered 2xx like the first.
  Who stores, and when a drain is requested: webhooks.writer.
- Storing never waits on Redis: with Redis down the event is stored pending and the
  sweeper (webhooks.services.webhook_events_sweep) has it processed later.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core import signing
from django.db import connections, router
from django.utils import timezone

from webhooks.models import WebhookEvent
from webhooks.verification import Delivery, Rejected

_READ_CHUNK = 64 * 1024


def read_body(request, limit: int) -> bytes:
    """The request's raw body, at most `limit` bytes; Rejected 413 past it, 400 for a broken Content-Length.

    Reads the WSGI stream itself (never request.body or request.POST): Django's own
    limits answer 400 where the partner must learn 413, and the signature is over these bytes.
    """
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not (declared.isascii() and declared.isdigit()):
        raise Rejected(400, "malformed", "broken Content-Length")
    if int(declared) > limit:
        raise Rejected(413, "oversized", "body over WEBHOOK_MAX_BODY_BYTES")
    chunks, size = [], 0
    while size <= limit:
        chunk = request.read(min(_READ_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise Rejected(413, "oversized", "body over WEBHOOK_MAX_BODY_BYTES")
    return b"".join(chunks)


@dataclass(frozen=True)
class Stored:
    event_id: int
    created: bool  # False: a redelivery of an event stored before


# The columns a receiver fills in; the rest start as the model's defaults, written as literals
# (fewer parameters to convert on every webhook).
_COLUMNS = ["platform", "event_id", "event_type", "payload", "received_at"]
_LITERALS = {"outcome": f"'{WebhookEvent.Outcome.PENDING}'", "attempts": "0", "last_error": "''", "details": "'{}'"}


_TABLE = WebhookEvent._meta.db_table
_INSERT_COLUMNS = ", ".join(f'"{WebhookEvent._meta.get_field(name).column}"' for name in [*_COLUMNS, *_LITERALS])
_ROW = "(" + ", ".join(["%s"] * len(_COLUMNS) + list(_LITERALS.values())) + ")"
_PAYLOAD, _RECEIVED_AT = WebhookEvent._meta.get_field("payload"), WebhookEvent._meta.get_field("received_at")


def webhook_events_store(deliveries: list[Delivery]) -> list[Stored]:
    """Store verified deliveries, each unless its (platform, event_id) is stored already; a Stored for each, in order.

    One statement for all of them, committed on its own (or with the caller's
    transaction): INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING RETURNING.
    A delivery stored before (or twice in the list) gets the stored row's id, created=False.

    Why SQL by hand: this is every webhook's path, answered while the partner waits.
    It is one round trip and one commit for a whole group of deliveries (PostgreSQL
    and SQLite), where the ORM's get_or_create is a SELECT, a savepoint and an INSERT
    per row, and bulk_create(ignore_conflicts=True) does not say which rows won.
    """
    db = connections[router.db_for_write(WebhookEvent)]
    received_at = _RECEIVED_AT.get_db_prep_save(timezone.now(), db)  # one arrival time for the group
    params = []
    for delivery in deliveries:
        # The three text columns go as they are (strings already); the payload through its field (JSON).
        params += [delivery.platform, delivery.event_id, delivery.event_type,
                   _PAYLOAD.get_db_prep_save(delivery.payload, db), received_at]
    sql = (f'INSERT INTO "{_TABLE}" ({_INSERT_COLUMNS}) VALUES {", ".join([_ROW] * len(deliveries))} '
           'ON CONFLICT ("platform", "event_id") DO NOTHING RETURNING "id", "platform", "event_id"')
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        created = {(platform, event_id): pk for pk, platform, event_id in cursor.fetchall()}
    keys = [(delivery.platform, delivery.event_id) for delivery in deliveries]
    missing = [key for key in keys if key not in created]
    existing = {}
    if missing:  # redeliveries: the row that was there first
        rows = WebhookEvent.objects.filter(event_id__in={event_id for _, event_id in missing})
        existing = {(platform, event_id): pk for pk, platform, event_id in rows.values_list("pk", "platform", "event_id")}
    stored, seen = [], set()
    for key in keys:
        first_time = key in created and key not in seen
        seen.add(key)
        stored.append(Stored(created[key] if key in created else existing[key], created=first_time))
    return stored


def webhook_event_store(delivery: Delivery) -> Stored:
    """Store one verified delivery (webhook_events_store)."""
    return webhook_events_store([delivery])[0]


# Meta's data-deletion confirmation code: the event's id, signed, so the public status page
# shows a request only to whoever holds its code (ids are not enumerable).
_DELETION_SIGNER = signing.Signer(salt="webhooks.meta.data-deletion", sep=".")


def data_deletion_code(event_id: int) -> str:
    return _DELETION_SIGNER.sign(str(event_id))


def data_deletion_request(code: str) -> WebhookEvent | None:
    """Meta's data-deletion request with this confirmation code, for its public status page; None for a wrong code."""
    try:
        event_id = int(_DELETION_SIGNER.unsign(code))
    except (signing.BadSignature, ValueError):
        return None
    return (
        WebhookEvent.objects.filter(pk=event_id, platform="meta", event_type="data_deletion")
        .only("received_at", "outcome", "processed_at")
        .first()
    )
