"""Background token upkeep. Tasks take tenant ids only (never a token) and return nothing: the
services write every outcome to the database and the audit log.

Beat runs the two `*_due` tasks (portal/celery.py); each selects what is due and fans out one
small task per tenant, routed to the `refresh` queue (CELERY_TASK_ROUTES).
"""

import logging
import random

from celery import shared_task

from common.leases import (
    DATABASE_ERRORS,
    broker_emptied,
    broker_mark,
    database_backoff_s,
    database_connection_discard,
    lease_seconds,
    retry_backoff_s,
)
from tenants.selectors.tokens import token_lapse_due_tenant_ids, token_refresh_due_tenant_ids
from tenants.services import consent as consent_services
from tenants.services import invite_nudges, token_failures, token_reminders
from tenants.services import tokens as token_services

logger = logging.getLogger(__name__)

REFRESH_MAX_RETRIES = 6


# Publishing one message costs a broker round trip; past this many tenants the fan-out itself is
# spread over the workers in chunks, so 5,000 due tenants are enqueued in parallel, not one by one.
FAN_OUT_CHUNK = 100


@shared_task(name="tenants.tasks.token_refresh_due", ignore_result=True)
def token_refresh_due() -> int:
    """Enqueue one refresh per tenant whose access token expires soon or whose refresh token has
    been idle for days, unless one is already on its way (its lease has not run out, and the broker
    still holds what it was given). A tenant
    enqueued twice is harmless: the second run finds it fresh."""
    emptied = broker_emptied(beat_task="token_refresh_due")
    tenant_ids = token_refresh_due_tenant_ids(all_queued_lost=emptied)
    if tenant_ids:
        token_services.token_refresh_queued_mark(tenant_ids=tenant_ids)
    if len(tenant_ids) <= FAN_OUT_CHUNK:
        _refresh_enqueue(tenant_ids)
    else:
        for start in range(0, len(tenant_ids), FAN_OUT_CHUNK):
            token_refresh_fan_out.delay(tenant_ids[start : start + FAN_OUT_CHUNK])
    if emptied:
        broker_mark(beat_task="token_refresh_due")
    if tenant_ids:
        logger.info("token refresh: %d tenants due", len(tenant_ids))
    return len(tenant_ids)


@shared_task(name="tenants.tasks.token_refresh_fan_out", ignore_result=True)
def token_refresh_fan_out(tenant_ids: list[int]) -> None:
    _refresh_enqueue(tenant_ids)


def _refresh_enqueue(tenant_ids: list[int]) -> None:
    with token_refresh.app.producer_or_acquire() as producer:
        for tenant_id in tenant_ids:
            # Expires with its lease: after that the next beat run enqueues a new one.
            token_refresh.apply_async((tenant_id,), expires=lease_seconds(), producer=producer)


@shared_task(bind=True, name="tenants.tasks.token_refresh", ignore_result=True, max_retries=None)
def token_refresh(self, tenant_id: int, tries: int = 0, database_tries: int = 0) -> None:
    """Refresh one tenant if still due. Transient DocuSign and database failures retry with
    backoff (the lease renewed to cover the wait); a terminal one has already flagged the tenant
    (needs re-consent) and is not retried."""
    try:
        token_services.token_refresh(tenant_id=tenant_id)
    except token_services.TokenTemporarilyUnavailable:
        if tries >= REFRESH_MAX_RETRIES:
            token_failures.token_refresh_gave_up(tenant_id=tenant_id)
            token_services.token_refresh_lease_release(tenant_id=tenant_id)
            return  # the next beat run tries again
        countdown = retry_backoff_s(tries) + random.uniform(0, 5)  # noqa: S311 - jitter
        token_services.token_refresh_queued_mark(tenant_ids=[tenant_id], after_s=countdown)
        raise self.retry(
            countdown=countdown,
            expires=countdown + lease_seconds(),
            args=(),
            kwargs={"tenant_id": tenant_id, "tries": tries + 1, "database_tries": database_tries},
        ) from None
    except token_services.TokenUnavailable as exc:
        # Not retryable (needs re-consent, not consented, configuration): recorded by the service.
        logger.info("token refresh for tenant %s skipped: %s", tenant_id, exc.code)
    except DATABASE_ERRORS as exc:
        database_connection_discard()
        logger.warning("token refresh for tenant %s: database error, retrying (%s)", tenant_id, exc)
        if database_tries >= REFRESH_MAX_RETRIES:
            return
        countdown = database_backoff_s(database_tries)
        raise self.retry(
            countdown=countdown,
            expires=countdown + lease_seconds(),
            args=(),
            kwargs={"tenant_id": tenant_id, "tries": tries, "database_tries": database_tries + 1},
        ) from None


@shared_task(name="tenants.tasks.token_lapse_reminders_due", ignore_result=True)
def token_lapse_reminders_due() -> int:
    tenant_ids = token_lapse_due_tenant_ids()
    for tenant_id in tenant_ids:
        token_lapse_remind.delay(tenant_id)
    return len(tenant_ids)


@shared_task(name="tenants.tasks.token_lapse_remind", ignore_result=True)
def token_lapse_remind(tenant_id: int) -> None:
    token_reminders.token_lapse_remind(tenant_id=tenant_id)


@shared_task(name="tenants.tasks.consent_attempts_purge", ignore_result=True)
def consent_attempts_purge() -> int:
    deleted = consent_services.consent_attempts_purge()
    if deleted:
        logger.info("consent attempts purged: %d", deleted)
    return deleted


@shared_task(name="tenants.tasks.invite_nudges_due", ignore_result=True)
def invite_nudges_due() -> int:
    """Enqueue one nudge per unanswered invite that is due a reminder."""
    invite_ids = invite_nudges.invites_due_for_nudge()
    for invite_id in invite_ids:
        invite_nudge.delay(invite_id)
    return len(invite_ids)


@shared_task(name="tenants.tasks.invite_nudge", ignore_result=True)
def invite_nudge(invite_id: int) -> None:
    invite_nudges.invite_nudge(invite_id=invite_id)
