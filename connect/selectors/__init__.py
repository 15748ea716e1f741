"""Reads of Connect state, one module per concern: `templates`, `desired` (the rendered desired
state), `panel` (the tenant page), `fleet` (dashboard figures and due work). Import from the
module; the names below are re-exported so that `from connect.selectors import …` keeps working
for code written before the split."""

from connect.selectors.desired import (
    connect_desired_for_tenant,
    connect_event_notifications_for_tenant,
    connect_template_preview,
    connect_templates_for_tenant,
)
from connect.selectors.fleet import (
    SYNCABLE_STATUSES,
    connect_due_tenant_ids,
    connect_health_counts,
    connect_sync_outcomes_by_day,
    connect_sync_overdue,
    connect_tenant_ids_for_bulk,
)
from connect.selectors.panel import connect_tenant_panel
from connect.selectors.templates import (
    connect_assignment_list,
    connect_integrations,
    connect_partner_oauth_get,
    connect_template_auth_list,
    connect_template_basic_verify,
    connect_template_current_settings,
    connect_template_get,
    connect_template_list,
    connect_template_tenants,
)

__all__ = [
    "SYNCABLE_STATUSES",
    "connect_assignment_list",
    "connect_desired_for_tenant",
    "connect_due_tenant_ids",
    "connect_event_notifications_for_tenant",
    "connect_health_counts",
    "connect_integrations",
    "connect_partner_oauth_get",
    "connect_sync_outcomes_by_day",
    "connect_sync_overdue",
    "connect_template_auth_list",
    "connect_template_basic_verify",
    "connect_template_current_settings",
    "connect_template_get",
    "connect_template_list",
    "connect_template_preview",
    "connect_template_tenants",
    "connect_templates_for_tenant",
    "connect_tenant_ids_for_bulk",
    "connect_tenant_panel",
]
