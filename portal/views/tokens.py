"""Token actions on the tenant page: send a re-consent invite, refresh the tokens now."""

from django.contrib import messages

from accounts.roles import Perm
from portal.views.mixins import TenantActionView
from tenants.services.invites import invite_reconsent_send
from tenants.services.tokens import (
    TokenReconsentRequired,
    TokenTemporarilyUnavailable,
    TokenUnavailable,
    token_refresh,
)


class TenantReconsentView(TenantActionView):
    """One click: a new re-consent invite (superseding older links) emailed to the client admin."""

    permission = Perm.OPERATE

    def act(self, request):
        tenant = self.tenant
        try:
            sent = invite_reconsent_send(tenant_id=tenant.pk, actor=request.user, request=request)
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            if sent.emailed:
                messages.success(
                    request, f"A re-consent invite was emailed to {tenant.admin_email}."
                )
            else:
                messages.warning(
                    request,
                    "The re-consent invite was created but the email could not be sent; "
                    "copy the link from the tenant page and send it yourself.",
                )


class TenantTokenRefreshView(TenantActionView):
    """Refresh the tenant's tokens now (after fixing an integration, or to test the grant)."""

    permission = Perm.OPERATE

    def act(self, request):
        tenant = self.tenant
        try:
            token = token_refresh(tenant_id=tenant.pk, force=True, actor=request.user)
        except TokenTemporarilyUnavailable:
            messages.warning(
                request,
                "DocuSign did not answer the refresh. Nothing was lost; the scheduler tries "
                "again shortly.",
            )
        except TokenReconsentRequired:
            messages.error(
                request,
                "DocuSign no longer accepts this tenant's grant. Send a re-consent invite.",
            )
        except TokenUnavailable as exc:
            messages.error(request, f"The tokens cannot be refreshed: {exc}")
        else:
            messages.success(
                request,
                f"Tokens refreshed; the access token is valid until "
                f"{token.expires_at:%Y-%m-%d %H:%M} UTC.",
            )
