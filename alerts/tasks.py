"""Alert tasks: beat runs `alerts_evaluate` every minute and `alerts_digest` daily; each alert with
a notice due gets its own small `alert_notify` task (ids only, safe to run twice)."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from alerts.services.alerts import alert_notify as alert_notify_service
from alerts.services.alerts import alerts_digest_send, alerts_evaluate


@shared_task(name="alerts.tasks.alerts_evaluate", ignore_result=True)
def alerts_evaluate_task() -> int:
    evaluation = alerts_evaluate()
    for alert_id in evaluation.to_notify:
        alert_notify.delay(alert_id)
    return len(evaluation.to_notify)


@shared_task(name="alerts.tasks.alert_notify", ignore_result=True)
def alert_notify(alert_id: int) -> None:
    alert_notify_service(alert_id=alert_id)


@shared_task(name="alerts.tasks.alerts_digest", ignore_result=True)
def alerts_digest() -> None:
    now = timezone.now()
    if now.hour >= settings.ALERT_DIGEST_HOUR:  # once a day from that hour (the service dedups)
        alerts_digest_send(now=now)
