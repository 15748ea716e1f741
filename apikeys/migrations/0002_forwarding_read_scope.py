"""Destinations and deliveries were readable with `events:read` before `forwarding:read` existed:
every key holding `events:read` gets `forwarding:read`, so no partner loses what it could read."""

from django.db import migrations


def grant_forwarding_read(apps, schema_editor):
    ApiKey = apps.get_model("apikeys", "ApiKey")
    # Checked in Python: SQLite (the embedded development database) has no JSON containment.
    for key in ApiKey.objects.only("scopes").iterator():
        if "events:read" in key.scopes and "forwarding:read" not in key.scopes:
            key.scopes = sorted({*key.scopes, "forwarding:read"})
            key.save(update_fields=["scopes"])


class Migration(migrations.Migration):
    dependencies = [("apikeys", "0001_api_keys_idempotency_rate_windows")]

    operations = [migrations.RunPython(grant_forwarding_read, migrations.RunPython.noop)]
