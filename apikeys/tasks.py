from celery import shared_task

from apikeys.services.idempotency import idempotency_prune
from apikeys.services.ratelimit import api_rate_windows_prune


@shared_task
def api_housekeeping() -> dict:
    """Forget idempotent answers older than 24 hours and spent rate-limit windows."""
    return {"idempotency": idempotency_prune(), "rate_windows": api_rate_windows_prune()}
