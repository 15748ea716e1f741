"""Staff mute (or unmute) one "needs a human" reason of a tenant for a while."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.views import View

from accounts.roles import Perm
from alerts.services.alerts import MUTE_CHOICES, REASON_LABELS, alert_mute, alert_unmute
from portal.views.mixins import StaffRequiredMixin
from tenants.models import Tenant


class TenantAlertMuteView(StaffRequiredMixin, View):
    permission = Perm.OPERATE
    action_permission = Perm.OPERATE
    http_method_names = ["post"]

    def post(self, request, tenant_id):
        tenant = get_object_or_404(Tenant, pk=tenant_id)
        reason = request.POST.get("reason", "")
        try:
            days = int(request.POST.get("days", ""))
        except ValueError:
            days = -1
        if reason not in REASON_LABELS or days not in (0, *dict(MUTE_CHOICES)):
            messages.error(request, "Choose a reason and how long to mute it.")
        elif days == 0:
            alert_unmute(tenant=tenant, reason=reason, actor=request.user, request=request)
            messages.success(request, f"“{REASON_LABELS[reason]}” is no longer muted.")
        else:
            mute = alert_mute(
                tenant=tenant, reason=reason, days=days, actor=request.user, request=request
            )
            messages.success(
                request,
                f"No notices about “{REASON_LABELS[reason]}” for {tenant.name} until "
                f"{mute.muted_until:%Y-%m-%d %H:%M} UTC.",
            )
        return redirect("tenant-detail", tenant_id=tenant.pk)
