"""Offboarding's Connect step: remove every configuration the portal owns from the account."""

from typing import cast

from django.utils import timezone

from common.services import audit_record
from connect.models import SyncRecord, TenantConnectState
from connect.services.sync import ACTOR, Outcome, connect_sync_finish
from connect.services.templates import CONFIG_NAME_PREFIX
from tenants.docusign import docusign_client_for
from tenants.models import Tenant
from tenants.services.tokens import TokenTemporarilyUnavailable, TokenUnavailable, token_get_valid


def connect_offboard(*, tenant_id: int) -> int:
    """Delete every configuration the portal owns from the tenant's account; returns how many.

    A tenant whose token is dead cannot be cleaned up by us; that is recorded and not raised, so
    the rest of offboarding goes on.
    """
    started_at = timezone.now()
    tenant = Tenant.objects.select_related("integration").get(pk=tenant_id)
    try:
        token = token_get_valid(tenant_id=tenant.pk, actor_label=ACTOR)
    except TokenTemporarilyUnavailable:
        raise
    except TokenUnavailable as exc:
        connect_sync_finish(
            tenant=tenant,
            trigger=SyncRecord.Trigger.OFFBOARD,
            started_at=started_at,
            outcome=Outcome.SKIPPED,
            message=f"Could not remove the Connect configurations: {exc}",
        )
        return 0
    api = docusign_client_for(tenant.integration).connect(
        base_uri=token.base_uri, account_id=token.account_id, access_token=token.token
    )
    ours = [c for c in api.list() if c.name.startswith(CONFIG_NAME_PREFIX)]
    changes: list[dict] = []
    for config in ours:
        api.delete(cast(str, config.connect_id))  # a listed configuration always has its id
        changes.append(
            {
                "template": "",
                "name": config.name,
                "action": "delete_orphan",
                "connect_id": config.connect_id,
                "fields": [],
                "applied": True,
                "error": "",
            }
        )
    connect_sync_finish(
        tenant=tenant,
        trigger=SyncRecord.Trigger.OFFBOARD,
        started_at=started_at,
        outcome=Outcome.CHANGED if ours else Outcome.IN_SYNC,
        api_calls=1 + len(ours),
        message=f"Removed {len(ours)} Connect configuration(s).",
        changes=changes,
    )
    TenantConnectState.objects.filter(tenant=tenant).update(connect_ids={}, versions={})
    audit_record(
        action="connect.offboard",
        actor_label=ACTOR,
        target=tenant,
        message=f"Removed {len(ours)} Connect configuration(s).",
    )
    return len(ours)
