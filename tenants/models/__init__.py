from tenants.models.consent import ConsentAttempt, Invite
from tenants.models.integration import Integration
from tenants.models.tenant import Tenant, TenantAccount, TenantStatusChange
from tenants.models.tokens import TenantToken

__all__ = [
    "ConsentAttempt",
    "Integration",
    "Invite",
    "Tenant",
    "TenantAccount",
    "TenantStatusChange",
    "TenantToken",
]
