# The due-post enqueuer's two partial indexes (recovery/due_posts.py). On PostgreSQL they are built
# CONCURRENTLY, so the release step does not block writes to a large posts table while they build.

from django.db import migrations, models

UNPLANNED = models.Index(
    # The walk to the next tenant with an unplanned scheduled post (min tenant_id > cursor), then that
    # tenant's oldest due posts (scheduled_at <= now ORDER BY scheduled_at, id LIMIT share).
    condition=models.Q(("next_attempt_at__isnull", True), ("status", "scheduled")),
    fields=["tenant", "scheduled_at", "id"],
    name="post_unplanned_by_tenant_idx",
)
PLANNED = models.Index(
    # Scheduled posts whose planned job never ran (next_attempt_at < now - grace ORDER BY next_attempt_at).
    condition=models.Q(("next_attempt_at__isnull", False), ("status", "scheduled")),
    fields=["next_attempt_at"],
    name="post_planned_idx",
)


def add_indexes(apps, schema_editor):
    model = apps.get_model("connections", "Post")
    for index in (UNPLANNED, PLANNED):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.add_index(model, index, concurrently=True)
        else:
            schema_editor.add_index(model, index)


def remove_indexes(apps, schema_editor):
    model = apps.get_model("connections", "Post")
    for index in (UNPLANNED, PLANNED):
        schema_editor.remove_index(model, index)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [
        ("connections", "0004_ping_schedule_and_token_upkeep"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(model_name="post", index=UNPLANNED),
                migrations.AddIndex(model_name="post", index=PLANNED),
            ],
            database_operations=[migrations.RunPython(add_indexes, remove_indexes)],
        ),
    ]
