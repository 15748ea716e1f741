import socket

from celery import shared_task
from django.utils import timezone

from common.models import WorkerHeartbeat


@shared_task(name="common.tasks.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> None:
    """Beat sends this every minute; the row it writes shows staff the workers are alive."""
    WorkerHeartbeat.objects.update_or_create(
        hostname=socket.gethostname(), defaults={"last_seen_at": timezone.now()}
    )


@shared_task(name="common.tasks.bulk_item_run", ignore_result=True)
def bulk_item_run(item_id: int) -> None:
    from common import bulk

    bulk.bulk_item_run(item_id=item_id)
