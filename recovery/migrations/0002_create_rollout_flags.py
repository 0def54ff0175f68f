"""The five rollout flags, off for everyone until ops roll them out."""

from django.db import migrations

# Copied, not imported: migrations must not import app code.
FLAG_NAMES = [
    "RECOVERY_AUTOPAUSE_ENABLED",
    "RECONNECT_WIZARD_ENABLED",
    "SYNTHETIC_PINGS_ENABLED",
    "CHAOS_TESTS_ENABLED",
    "WEEKLY_SUMMARY_ENABLED",
]


def create_flags(apps, schema_editor):
    TenantFlag = apps.get_model("recovery", "TenantFlag")
    for name in FLAG_NAMES:
        TenantFlag.objects.get_or_create(name=name, defaults={"everyone": None, "note": "Per-tenant rollout."})


def delete_flags(apps, schema_editor):
    apps.get_model("recovery", "TenantFlag").objects.filter(name__in=FLAG_NAMES).delete()


class Migration(migrations.Migration):
    dependencies = [("recovery", "0001_initial")]
    operations = [migrations.RunPython(create_flags, delete_flags)]
