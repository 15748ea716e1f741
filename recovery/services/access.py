"""The DocuSign access every recovery service shares: a valid token for the tenant's account, the
client, and the budget reservation made before each call (connect.budget, shared with the sync)."""

from dataclasses import dataclass

from connect.budget import budget_reserve
from docusign_api import (
    ConnectAPI,
    DocuSignClient,
    DocuSignError,
    DocuSignRateLimited,
    EnvelopesAPI,
)
from tenants.docusign import docusign_client_for
from tenants.models import Tenant
from tenants.services.tokens import AccessToken, token_get_valid

ACTOR = "recovery"


@dataclass(frozen=True)
class AccountAccess:
    client: DocuSignClient
    token: AccessToken

    def reserve(self, calls: int = 1) -> None:
        """Spend from the portal's share of the account's budget, or raise BudgetExhausted."""
        budget_reserve(account_id=self.token.account_id, calls=calls)

    def connect(self) -> ConnectAPI:
        token = self.token
        return self.client.connect(
            base_uri=token.base_uri, account_id=token.account_id, access_token=token.token
        )

    def envelopes(self) -> EnvelopesAPI:
        token = self.token
        return self.client.envelopes(
            base_uri=token.base_uri, account_id=token.account_id, access_token=token.token
        )


def account_access(*, tenant: Tenant) -> AccountAccess:
    """Raises tenants' TokenUnavailable (and its subclasses) when no token can be had."""
    token = token_get_valid(tenant_id=tenant.pk, actor_label=ACTOR)
    return AccountAccess(client=docusign_client_for(tenant.integration), token=token)


def docusign_problem(exc: DocuSignError) -> str:
    """What DocuSign answered, for staff: status, errorCode and message (never a secret: the
    client scrubs tokens from messages)."""
    if isinstance(exc, DocuSignRateLimited):
        return f"DocuSign's rate limit ({exc.error_code or exc.status}); retried after the window."
    return f"DocuSign answered {exc}"[:300]


def retry_after(exc: Exception, default: float = 30.0) -> float:
    value = getattr(exc, "retry_after", None)
    return max(1.0, float(value)) if value else default
