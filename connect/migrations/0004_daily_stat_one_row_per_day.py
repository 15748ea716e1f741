from django.db import migrations, models
from django.db.models import Sum


def shards_fold(apps, schema_editor):
    """Each day and outcome's shards become one row carrying their sum."""
    SyncDailyStat = apps.get_model("connect", "SyncDailyStat")
    totals = SyncDailyStat.objects.values("date", "outcome").annotate(total=Sum("count"))
    for row in totals:
        SyncDailyStat.objects.filter(date=row["date"], outcome=row["outcome"]).exclude(
            shard=0
        ).delete()
        SyncDailyStat.objects.update_or_create(
            date=row["date"], outcome=row["outcome"], shard=0, defaults={"count": row["total"]}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("connect", "0003_tenant_rate_limit_reading"),
    ]

    operations = [
        migrations.RunPython(shards_fold, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="syncdailystat",
            name="connect_daily_stat_shard_once",
        ),
        migrations.RemoveField(
            model_name="syncdailystat",
            name="shard",
        ),
        migrations.AlterModelOptions(
            name="syncdailystat",
            options={"ordering": ["-date", "outcome"]},
        ),
        migrations.AddConstraint(
            model_name="syncdailystat",
            constraint=models.UniqueConstraint(
                fields=("date", "outcome"), name="connect_daily_stat_once"
            ),
        ),
    ]
