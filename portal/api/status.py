"""A tenant's status for the API, gathered from the selectors the staff tenant page uses (each
area owns its reading; this only picks the fields). A fixed number of queries per tenant."""

from connect.selectors import connect_tenant_panel
from events.selectors import events_tenant_panel
from tenants.models import Tenant
from tenants.selectors.attention import tenant_attention_reasons
from tenants.selectors.tenants import invite_state, tenant_consent_panel
from tenants.selectors.tokens import token_tenant_panel


def tenant_api_status(*, tenant: Tenant) -> dict:
    consent = tenant_consent_panel(tenant=tenant, viewer=None)
    token = token_tenant_panel(tenant=tenant)
    connect = connect_tenant_panel(tenant=tenant)
    delivery = events_tenant_panel(tenant=tenant)
    invite = consent["invite"]
    return {
        "tenant": tenant.pk,
        "slug": tenant.slug,
        "consent": {
            "status": tenant.status,
            "status_reason": tenant.status_reason,
            "status_changed_at": tenant.status_changed_at,
            "archived": tenant.is_archived,
            "invite": {
                "kind": invite.kind,
                "state": invite_state(invite)[0],
                "usable": invite.is_usable(),
                "sent_to": invite.sent_to,
                "created_at": invite.created_at,
                "expires_at": invite.expires_at,
                "sent_at": invite.sent_at,
                "opened_at": invite.opened_at,
                "completed_at": invite.completed_at,
            }
            if invite
            else None,
            "account_id": consent["account_id"],
            "account_name": consent["account_name"],
            "consented_by": consent["account_user_email"],
            "consented_at": consent["account_consented_at"],
            "scopes": consent["account_scopes"],
        },
        "token": {
            "health": token["health"],
            "level": token["health_badge"],
            "has_tokens": token["has_tokens"],
            "access_expires_at": token["access_expires_at"],
            "refresh_expires_at": token["refresh_expires_at"],
            "refreshed_at": token["refreshed_at"],
            "failure_count": token["failure_count"],
            "last_error_code": token["last_error_code"],
            "lapse_warning": token["lapse_warning"],
        },
        "connect": {
            "status": connect["status"],
            "last_sync_at": connect["last_sync_at"],
            "last_error": connect["last_error"],
            "consecutive_failures": connect["consecutive_failures"],
            "queued": connect["queued"],
            "templates": [
                {
                    "name": t["name"],
                    "config_name": t["config_name"],
                    "version": t["version"],
                    "carried_version": t["carried_version"],
                    "up_to_date": t["up_to_date"],
                    "connect_id": t["connect_id"],
                    "overridden": t["overridden"],
                }
                for t in connect["templates"]
            ],
        },
        "delivery": {
            key: delivery[key]
            for key in (
                "last_event_at",
                "events_total",
                "events_14_days",
                "failures_count",
                "failures_checked_at",
                "failures_error",
            )
        },
        "needs_human": tenant_attention_reasons(tenant_id=tenant.pk),
    }
