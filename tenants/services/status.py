"""The tenant's status: one explicit state, with a reason and a history row for every move.

registered → invited → consented → active; and from anywhere: needs re-consent, error, suspended,
offboarded. Every area records moves through `tenant_status_set`, so the history is complete.
"""

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from common.services import audit_record, current_actor_label
from tenants.models import Tenant, TenantStatusChange


@transaction.atomic
def tenant_status_set(
    *, tenant: Tenant, to_status: str, reason: str, actor: User | None = None, actor_label: str = ""
) -> bool:
    """Move the tenant to `to_status`, recording why. Returns False (and writes nothing) when the
    tenant already has that status. The row is locked so two movers never interleave."""
    to_status = Tenant.Status(to_status)
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if locked.status == to_status:
        tenant.status = locked.status
        return False
    label = actor.get_username() if actor is not None and actor.is_authenticated else actor_label
    label = label or current_actor_label.get() or "system"
    now = timezone.now()
    from_status = locked.status
    Tenant.objects.filter(pk=tenant.pk).update(
        status=to_status, status_reason=reason[:300], status_changed_at=now, updated_at=now
    )
    TenantStatusChange.objects.create(
        tenant=locked,
        from_status=from_status,
        to_status=to_status,
        reason=reason[:300],
        actor_label=label[:150],
        changed_at=now,
    )
    audit_record(
        action="tenant.status",
        actor=actor,
        actor_label=label,
        target=locked,
        message=reason,
        before={"status": from_status},
        after={"status": str(to_status)},
    )
    tenant.status = to_status
    tenant.status_reason = reason[:300]
    tenant.status_changed_at = now
    return True
